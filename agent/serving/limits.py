"""The rules every serving front end (``socio mcp``, ``socio serve``) applies to the people it serves.

One module, so that the MCP server and the web app refuse the same things the same way:

- **Files**: only under the ``--root`` folders (`tools.sandbox.resolve_under`: ``..`` and symlinks followed, then
  checked), never a URL; outputs only under one output root (`ServeLimits.output_dir`).
- **Sizes**: images up to ``--max-pixels`` (read from the header before decoding), files up to
  ``--max-file-bytes``, request bodies up to ``--max-body-bytes`` (`BodyLimitMiddleware`, HTTP 413).
- **Time**: every call runs in a worker thread under ``--call-timeout`` (`run_limited`); a call past it is
  cancelled (the client gets an error at once; the worker stops at its next step, `CancelToken.check`), and at
  most ``--max-concurrent`` calls work at once.
- **Network**: the HTTP transports bind to localhost by default; any other address needs a bearer token
  (`check_bind`), and a token, when set, is checked on every request (`BearerTokenMiddleware`, HTTP 401).

>>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("::1"), is_loopback("0.0.0.0")
(True, True, True, False)
>>> safe_name("Parks near ../../etc")
'Parks-near-etc'
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import re
import threading
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from pydantic import BaseModel, ConfigDict, Field

from tools.errors import InputError, ToolError
from tools.registry import ToolContext
from tools.sandbox import refuse_url, resolve_roots, resolve_under
from tools.scene_store import SceneStore
from tools.segmenters import Segmenter

T = TypeVar("T")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_MAX_PIXELS = 16_000_000
"""4000 x 4000: larger rasters belong to ``socio segment --raster`` (window by window), not to a served call."""
DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
"""The MCP SDK's own cap on a streamable-HTTP body; tool arguments are paths and ids, never pixels."""
DEFAULT_CALL_TIMEOUT_S = 120.0
DEFAULT_MAX_CONCURRENT = 4


class CallLimitError(ToolError):
    """A call went past a server limit (its time limit); the message names the limit and the flag."""


class CallCancelled(Exception):  # noqa: N818  (a signal, not an error a caller sees)
    """Raised inside a worker at its next step after its call was cancelled (the caller has moved on)."""


class CancelToken:
    """Set when a call is cancelled; long work calls `check` between its steps to stop early."""

    def __init__(self) -> None:
        """Create a token that is not cancelled."""
        self._event = threading.Event()

    def cancel(self) -> None:
        """Mark the call cancelled."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """Whether the call was cancelled."""
        return self._event.is_set()

    def check(self) -> None:
        """Raise `CallCancelled` if the call was cancelled."""
        if self._event.is_set():
            raise CallCancelled


def is_loopback(host: str) -> bool:
    """Return whether ``host`` is this machine only (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to bind an HTTP server to an address other machines reach unless a bearer token guards it.

    Raises:
        InputError: ``host`` is not a loopback address and no token is given.
    """
    if not is_loopback(host) and not token:
        raise InputError(
            f"--host {host} lets other machines reach the server, so it needs a bearer token: give --token TOKEN "
            "(or $SOCIO_TOKEN; clients send 'Authorization: Bearer TOKEN'), or bind to --host 127.0.0.1"
        )


def safe_name(text: str, max_len: int = 60) -> str:
    """Return ``text`` as one safe path component (letters, digits, ``.``, ``_``, ``-``; no ``..``)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")
    name = re.sub(r"\.{2,}", "-", name)
    name = re.sub(r"-{2,}", "-", name)
    return name[:max_len].strip("-.") or "out"


class ServeLimits(BaseModel):
    """The limits of one serving front end; every field has its flag (``--root``, ``--max-pixels``, ...)."""

    model_config = ConfigDict(frozen=True)

    roots: tuple[Path, ...] = Field(description="folders clients may read files from (resolved)")
    out_root: Path = Field(description="the one folder outputs are written under (resolved)")
    max_pixels: int = Field(DEFAULT_MAX_PIXELS, ge=1, description="largest image a call may read, width x height")
    max_file_bytes: int = Field(DEFAULT_MAX_FILE_BYTES, ge=1, description="largest file a call may read, in bytes")
    max_body_bytes: int = Field(DEFAULT_MAX_BODY_BYTES, ge=1024, description="largest HTTP request body, in bytes")
    call_timeout_s: float = Field(DEFAULT_CALL_TIMEOUT_S, gt=0, description="seconds a call may take")
    max_concurrent: int = Field(DEFAULT_MAX_CONCURRENT, ge=1, description="calls working at once")
    host: str = Field("127.0.0.1", description="address the HTTP transport binds to")
    token: str | None = Field(None, repr=False, description="bearer token every HTTP request must carry")

    @classmethod
    def create(
        cls, roots: Sequence[str | Path], out_root: str | Path, *, host: str = "127.0.0.1",
        token: str | None = None, **limits: Any,
    ) -> ServeLimits:  # fmt: skip
        """Resolve and check the roots and the output root, check the bind address, and build the limits.

        Raises:
            InputError: no root, a root that is not a folder, a non-local ``host`` without a token, a bad limit.
        """
        if not roots:
            raise InputError("give at least one --root DIR: the folders whose files clients may read")
        resolved = resolve_roots(roots)
        refuse_url(out_root, "output folder")
        out = Path(out_root).expanduser().resolve()
        if out.exists() and not out.is_dir():
            raise InputError(f"--out {out_root} is a file; give a folder for the outputs")
        check_bind(host, token)
        from pydantic import ValidationError

        try:
            return cls(roots=resolved, out_root=out, host=host, token=token or None,
                       **{k: v for k, v in limits.items() if v is not None})  # fmt: skip
        except ValidationError as e:
            from agent.backends import describe_validation_error

            raise InputError(describe_validation_error(e)) from None

    def tool_context(self, store: SceneStore, segmenter: Segmenter | None = None) -> ToolContext:
        """Return a tool context that enforces these roots and size limits."""
        return ToolContext(store=store, segmenter=segmenter, roots=self.roots, max_pixels=self.max_pixels,
                           max_file_bytes=self.max_file_bytes)  # fmt: skip

    def resolve_input(self, path: str | Path, what: str = "file") -> Path:
        """Return a client's file path resolved, if it lies under a root (see `tools.sandbox.resolve_under`).

        Raises:
            InputError: a URL, a path outside the roots, or a missing file.
        """
        return resolve_under(path, self.roots, what)

    def output_dir(self, *parts: str) -> Path:
        """Return (and create) a folder under the output root named by ``parts`` (each made a safe name)."""
        d = self.out_root.joinpath(*(safe_name(p) for p in parts)) if parts else self.out_root
        d = d.resolve()
        if not d.is_relative_to(self.out_root):  # cannot happen with safe names; kept as the invariant
            raise InputError(f"output folder {d} is outside the output root {self.out_root}")
        d.mkdir(parents=True, exist_ok=True)
        return d

    def slots(self) -> threading.BoundedSemaphore:
        """Return a semaphore of `max_concurrent` work slots, for `run_limited`."""
        return threading.BoundedSemaphore(self.max_concurrent)


async def run_limited(
    fn: Callable[[CancelToken], T],
    timeout_s: float,
    what: str,
    slots: threading.Semaphore | None = None,
) -> T:
    """Run ``fn(token)`` in a worker thread, giving up after ``timeout_s`` seconds.

    The caller gets `CallLimitError` at the deadline; the worker is told through its `CancelToken` and stops at
    its next `CancelToken.check` (a thread cannot be killed, so its current step finishes and is thrown away).
    The work slot (``slots``) is held by the worker thread until it really ends, so abandoned work still counts
    against the concurrency limit.

    Raises:
        CallLimitError: the call took longer than ``timeout_s`` (waiting for a slot included).
    """
    token = CancelToken()

    def work() -> T:
        if slots is not None:
            while not slots.acquire(timeout=0.05):
                token.check()
        try:
            token.check()
            return fn(token)
        finally:
            if slots is not None:
                slots.release()

    try:
        with anyio.fail_after(timeout_s):
            return await anyio.to_thread.run_sync(work, abandon_on_cancel=True)
    except TimeoutError:
        token.cancel()
        raise CallLimitError(
            f"{what} took longer than this server's time limit of {timeout_s:g} s and was cancelled; ask for less "
            "(a smaller scene, fewer refine rounds) or start the server with a larger --call-timeout"
        ) from None
    except CallCancelled:
        raise CallLimitError(f"{what} was cancelled") from None


def _header(scope: Scope, name: bytes) -> bytes | None:
    for k, v in scope.get("headers") or []:
        if k.lower() == name:
            return v
    return None


async def _send_json(send: Send, status: int, message: str, headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *headers]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


class BearerTokenMiddleware:
    """ASGI middleware: every HTTP (and websocket) request must carry ``Authorization: Bearer <token>``.

    The token is compared in constant time (`hmac.compare_digest`); a request without it, or with another, gets
    HTTP 401 with a ``WWW-Authenticate: Bearer`` header and nothing reaches the app.
    """

    def __init__(self, app: ASGIApp, token: str) -> None:
        """Wrap ``app``; ``token`` must not be empty."""
        if not token:
            raise ValueError("BearerTokenMiddleware needs a non-empty token")
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the token, then pass the request on."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"authorization") or b""
        if hmac.compare_digest(given, self._expected):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        why = "no bearer token" if not given else "a wrong bearer token"
        await _send_json(send, 401, f"unauthorized: the request carries {why}; send 'Authorization: Bearer TOKEN' "
                                    "with the server's --token", [(b"www-authenticate", b"Bearer")])  # fmt: skip


class BodyLimitMiddleware:
    """ASGI middleware: an HTTP request body over ``max_bytes`` gets HTTP 413 and never reaches the app.

    A declared ``Content-Length`` over the limit is refused before reading; otherwise the body is read (up to the
    limit) and handed to the app as it came.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        """Wrap ``app``."""
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self, size: int | None) -> str:
        got = f"{size:,} bytes" if size is not None else "more"
        return (f"request body too large: {got}, over this server's limit of {self.max_bytes:,} bytes; pass file "
                "paths and ids, not file contents, or start the server with a larger --max-body-bytes")  # fmt: skip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse an oversized body, else pass the request on with its body replayed."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await _send_json(send, 400, "bad Content-Length header")
                return
            if size > self.max_bytes:
                await _send_json(send, 413, self._too_large(size))
                return
        chunks: list[Message] = []
        total = 0
        while True:
            message = await receive()
            chunks.append(message)
            if message["type"] != "http.request":
                break
            total += len(message.get("body", b""))
            if total > self.max_bytes:
                await _send_json(send, 413, self._too_large(None))
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return chunks.pop(0) if chunks else await receive()

        await self.app(scope, replay, send)


def guard(app: ASGIApp, limits: ServeLimits) -> ASGIApp:
    """Wrap an ASGI app in the body limit and, when the limits have a token, the bearer-token check (outermost)."""
    wrapped: ASGIApp = BodyLimitMiddleware(app, limits.max_body_bytes)
    if limits.token:
        wrapped = BearerTokenMiddleware(wrapped, limits.token)
    return wrapped
