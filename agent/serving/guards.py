"""The web app's guards, as one ASGI middleware: bearer token, Host check and a request-body cap.

- Token: when set, every request must carry ``Authorization: Bearer T``, or the ``socio_token`` cookie the page
  gets from ``/?token=T`` (same-site strict, HTTP-only), or (``GET /`` only) ``?token=T``; compared in constant
  time; otherwise 401.
- Host: with no token, the server listens on loopback only, and a request whose Host header is not a loopback
  name is refused (421): a web page elsewhere cannot reach the server through a rebound DNS name.
- Body: a request body over ``max_body_bytes`` is refused (413), by its Content-Length or while it streams.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
COOKIE = "socio_token"


@dataclass(frozen=True)
class Guards:
    """The rules a request must pass.

    Attributes:
        token: the bearer token every request must carry (None: no token, loopback only).
        max_body_bytes: the largest request body accepted.
        cookie_name: the cookie that carries the token for the page.
    """

    token: str | None = None
    max_body_bytes: int = 1_000_000
    cookie_name: str = COOKIE


def _host_name(host_header: str) -> str:
    if host_header.startswith("["):
        return host_header.split("]", 1)[0] + "]"
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def _token_of(scope: Scope, headers: dict[str, str], cookie_name: str) -> str | None:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    if "cookie" in headers:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(headers["cookie"])
        except Exception:  # a malformed cookie header carries no token
            return None
        if cookie_name in jar:
            return jar[cookie_name].value
    if scope.get("path") == "/" and scope.get("method") == "GET":
        values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
        return values[0] if values else None
    return None


class GuardMiddleware:
    """Pure ASGI middleware applying `Guards` to every HTTP request."""

    def __init__(self, app: ASGIApp, guards: Guards) -> None:
        """Wrap ``app``."""
        self.app = app
        self.guards = guards

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse a request that fails a guard; pass the others on, with their body counted."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        g = self.guards
        if g.token is None:
            if _host_name(headers.get("host", "")) not in LOOPBACK_HOSTS:
                await _refuse(send, 421, "this server answers only on 127.0.0.1/localhost; to serve other hosts, "
                                         "start socio serve with --host and --token")  # fmt: skip
                return
        else:
            given = _token_of(scope, headers, g.cookie_name)
            if given is None or not hmac.compare_digest(given.encode(), g.token.encode()):
                what = "a wrong token" if given is not None else "no token"
                await _refuse(send, 401, f"this server needs its token and the request had {what}; send "
                                         "'Authorization: Bearer TOKEN', or open /?token=TOKEN in the browser",
                              {"www-authenticate": "Bearer"})  # fmt: skip
                return
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > g.max_body_bytes:
            await _refuse(send, 413, _too_large(g.max_body_bytes))
            return
        await self.app(scope, _counted(receive, g.max_body_bytes), send)


class BodyTooLargeError(Exception):
    """A streamed request body went past the limit."""


def _counted(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLargeError(_too_large(limit))
        return message

    return wrapped


def _too_large(limit: int) -> str:
    return f"the request body is over this server's limit of {limit:,} bytes; send less, or raise --max-body"


async def _refuse(send: Send, status: int, detail: str, extra: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def guard_middleware(app: Any, guards: Guards) -> None:
    """Install the guards on a FastAPI/Starlette app (outermost, so nothing runs before them)."""
    app.add_middleware(GuardMiddleware, guards=guards)
