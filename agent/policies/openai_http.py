"""The HTTP side of the OpenAI policy: one chat-completions call with retries, and every way a server can fail.

`ChatClient.create` (and `acreate`) sends one request through the openai SDK and returns the parsed
completion. What counts as what:

- transient (retried with exponential backoff, at most ``max_retries`` times): connection errors, timeouts,
  HTTP 408/409/429/5xx;
- a broken backend (a `BackendError` at once, exit 3): any other HTTP error status; an HTTP 200 whose body
  is not JSON (a proxy's or a web server's page), whose Content-Type is not JSON, or whose JSON is not a
  chat completion (no ``choices`` list); an answer cut off mid-body (after the retries). These are never
  model answers, so they are never counted as model format failures.

Every message names the server, what it answered (status, content type, the first characters of the body)
and a flag that exists on the commands that take this policy (``--base-url``, ``--timeout``,
``--max-retries``, ``--model``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import weakref
from typing import Any

from tools.errors import BackendError

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 409, 429})
"""HTTP statuses worth retrying besides every 5xx."""
SHOWN_BODY = 200
"""Characters of an unusable body quoted in a message."""


class ChatClient:
    """Send chat-completions requests to one server, with retries; turn its failures into `BackendError`s.

    Args:
        base_url: the server's API root (``http://HOST:PORT/v1``).
        model: the served model name (for messages).
        api_key: the API key.
        timeout: seconds per HTTP attempt.
        max_retries: retries after the first attempt for transient failures.
        backoff_s: first backoff; doubled after every retry, capped at ``max_backoff_s``.
        max_backoff_s: longest wait between two attempts.
    """

    def __init__(self, base_url: str, model: str, api_key: str, timeout: float, max_retries: int, backoff_s: float,
                 max_backoff_s: float) -> None:  # fmt: skip
        self.base_url, self.model, self.api_key = base_url, model, api_key
        self.timeout, self.max_retries = float(timeout), int(max_retries)
        self.backoff_s, self.max_backoff_s = float(backoff_s), float(max_backoff_s)
        self.top_k_refused = False
        self._client: Any = None
        self._async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------------------------------ calls

    def create(self, params: dict[str, Any]) -> tuple[Any, int, float]:
        """Send one request with retries; return the completion, the retries spent and the wall time."""
        client = self._sync_client()
        t0 = time.perf_counter()
        attempt = 0
        while True:
            try:
                raw = client.chat.completions.with_raw_response.create(**params)
                return self.checked(raw), attempt, time.perf_counter() - t0
            except BackendError:
                raise
            except Exception as e:
                if self.drop_top_k(e, params):
                    continue
                wait = self.after_failure(e, attempt)
                attempt += 1
                time.sleep(wait)

    async def acreate(self, params: dict[str, Any]) -> tuple[Any, int, float]:
        """`create` without blocking the event loop."""
        client = self._async_client()
        t0 = time.perf_counter()
        attempt = 0
        while True:
            try:
                raw = await client.chat.completions.with_raw_response.create(**params)
                return self.checked(raw), attempt, time.perf_counter() - t0
            except BackendError:
                raise
            except Exception as e:
                if self.drop_top_k(e, params):
                    continue
                wait = self.after_failure(e, attempt)
                attempt += 1
                await asyncio.sleep(wait)

    def checked(self, raw: Any) -> Any:
        """Return the parsed completion of an HTTP 200, or raise a `BackendError` when it is not one."""
        ctype = raw.headers.get("content-type") or "none"
        where = f"the policy server at {self.base_url}"
        if "json" not in ctype.lower():
            raise BackendError(f"{where} answered HTTP {raw.status_code} with Content-Type {ctype!r}, not a JSON "
                               f"chat completion ({_quote(raw.text)}); point --base-url at the OpenAI-compatible /v1 "
                               "root of the model server (not a web page or a proxy's login)")  # fmt: skip
        try:
            doc = json.loads(raw.content)
        except ValueError as e:
            raise BackendError(f"{where} answered HTTP {raw.status_code} with a body that is not valid JSON "
                               f"({e}; {_quote(raw.text)}); the server or a proxy in front of it is broken: check "
                               "its log and --base-url") from None  # fmt: skip
        if not isinstance(doc, dict) or not isinstance(doc.get("choices"), list):
            raise BackendError(f"{where} answered HTTP {raw.status_code} with JSON that is not a chat completion "
                               f"(no 'choices' list: {_quote(raw.text)}); check that --base-url is the server's /v1 "
                               f"root and that it serves --model {self.model}")  # fmt: skip
        return raw.parse()

    # ------------------------------------------------------------------------------------------------ failures

    def drop_top_k(self, error: Exception, params: dict[str, Any]) -> bool:
        """Take ``top_k`` out of a request a server refused because of it; return True to send it again.

        Servers outside vLLM/SGLang (hosted APIs) may answer HTTP 400 to the unknown field. Then it is left out of
        this and every later request, with a warning (the policy notes it in each reply's meta).
        """
        import openai

        extra = params.get("extra_body") or {}
        if not (isinstance(error, openai.APIStatusError) and error.status_code in (400, 422) and "top_k" in extra):
            return False
        if "top_k" not in body_text(error):
            return False
        self.top_k_refused = True
        log.warning("the policy server at %s refused top_k (%s); sending requests without it", self.base_url,
                    body_text(error))  # fmt: skip
        extra = {k: v for k, v in extra.items() if k != "top_k"}
        if extra:
            params["extra_body"] = extra
        else:
            params.pop("extra_body", None)
        return True

    def after_failure(self, error: Exception, attempt: int) -> float:
        """Return how long to wait before retrying ``error``, or raise a `BackendError` if it is final."""
        import openai

        where = f"the policy server at {self.base_url}"
        if isinstance(error, openai.APIStatusError):
            status = error.status_code
            if status not in RETRY_STATUSES and status < 500:
                raise BackendError(self.status_message(error)) from error
            if attempt >= self.max_retries:
                raise BackendError(
                    f"{where} kept failing: HTTP {status} after {attempt + 1} attempts ({body_text(error)}); "
                    "check the server's log, or allow more attempts with --max-retries"
                ) from error
            return self.backoff(attempt, retry_after(error))
        if isinstance(error, openai.APIConnectionError):
            if attempt >= self.max_retries:
                raise BackendError(self._connection_message(error, attempt)) from error
            return self.backoff(attempt, None)
        if isinstance(error, openai.OpenAIError):
            raise BackendError(f"{where} gave an unusable answer: {error}; check its log and --base-url") from error
        raise BackendError(f"{where} gave an answer the client could not read ({type(error).__name__}: "
                           f"{error}); check its log and --base-url") from error  # fmt: skip

    def _connection_message(self, error: Exception, attempt: int) -> str:
        import openai

        where, tries = f"the policy server at {self.base_url}", f"after {attempt + 1} attempts"
        cause = type(error.__cause__).__name__ if error.__cause__ is not None else ""
        if isinstance(error, openai.APITimeoutError):
            return (f"{where} timed out {tries}: no answer within --timeout {self.timeout:g} s; it may be "
                    "overloaded or hung: check it, or give a longer --timeout")  # fmt: skip
        if cause in ("RemoteProtocolError", "ReadError", "IncompleteRead") or "incomplete" in str(error.__cause__):
            return (f"{where} closed the connection before the answer was complete, {tries} ({cause}: "
                    f"{error.__cause__}); the server or a proxy in front of it cut the response: check its log "
                    "(out of memory, a crash, a proxy's size or time limit)")  # fmt: skip
        return (f"{where} could not be reached {tries}: {str(error).rstrip('.')}. Is the server up (e.g. "
                "`vllm serve MODEL`)? Point --base-url (or SOCIO_OPENAI_BASE_URL) at its /v1 root")  # fmt: skip

    def backoff(self, attempt: int, retry_after_s: float | None) -> float:
        """Return the wait before retry ``attempt`` (exponential, at least the server's Retry-After)."""
        wait = min(self.backoff_s * (2**attempt), self.max_backoff_s)
        if retry_after_s is not None:
            wait = min(max(wait, retry_after_s), self.max_backoff_s)
        return wait

    def status_message(self, error: Any) -> str:
        """Return the message for a final HTTP error status, with its likely fix."""
        status = error.status_code
        hint = {
            400: "the server refused the request; check that it serves a vision model that accepts 2 images "
            "(vLLM: --limit-mm-per-prompt '{\"image\": 2}') and that --max-tokens fits its context",
            401: "the API key was refused; set OPENAI_API_KEY (or name another variable with --api-key-env)",
            403: "the API key may not use this model; check OPENAI_API_KEY and --model",
            404: f"no such model or endpoint; check the model name, --model ({self.model!r}, see GET "
            f"{self.base_url}/models) and that --base-url ends with /v1",
        }.get(status, "check the request and the server's log")
        return f"the policy server at {self.base_url} answered HTTP {status}: {body_text(error)}; {hint}"

    # ------------------------------------------------------------------------------------------------ clients

    def _sync_client(self) -> Any:
        with self._lock:
            if self._client is None:
                import openai

                self._client = openai.OpenAI(base_url=self.base_url, api_key=self.api_key, timeout=self.timeout,
                                             max_retries=0)  # fmt: skip
            return self._client

    def _async_client(self) -> Any:
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._async_clients.get(loop)
            if client is None:
                import openai

                client = openai.AsyncOpenAI(base_url=self.base_url, api_key=self.api_key, timeout=self.timeout,
                                            max_retries=0)  # fmt: skip
                self._async_clients[loop] = client
            return client

    def close(self) -> None:
        """Close the synchronous HTTP client (the next call makes a new one)."""
        with self._lock:
            if self._client is not None:
                self._client.close()
            self._client = None

    async def aclose(self) -> None:
        """Close the async client of the running event loop (and the sync client)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._async_clients.pop(loop, None)
        if client is not None:
            await client.close()
        self.close()


def _quote(text: str) -> str:
    t = " ".join(str(text).split())
    return f"it began {t[:SHOWN_BODY]!r}" + ("..." if len(t) > SHOWN_BODY else "") if t else "an empty body"


def body_text(error: Any) -> str:
    """Return an HTTP error's body (at most 500 characters)."""
    body = getattr(error, "body", None)
    if body is None:
        try:
            body = error.response.text
        except Exception:
            body = str(error)
    text = str(body)
    return text if len(text) <= 500 else text[:500] + "..."


def retry_after(error: Any) -> float | None:
    """Return the seconds of an error response's Retry-After header, if any."""
    try:
        value = error.response.headers.get("retry-after")
        return float(value) if value is not None else None
    except (AttributeError, TypeError, ValueError):
        return None
