"""The web app's guards: the shared serving limits (`agent.serving.limits.guard`), plus what a browser needs.

The token and the body limit are `agent.serving.limits`' middlewares, as for ``socio mcp``: every request must
carry ``Authorization: Bearer TOKEN`` when a token is set, and a body over the limit gets 413. A browser cannot add
that header to a page load, an ``<img>`` or a download link, so two small adapters sit in front of them:

- `BrowserTokenAdapter`: a request without an ``Authorization`` header but with the ``socio_token`` cookie (which
  the page sets from ``/?token=TOKEN``: HTTP-only, same-site strict, so other sites' pages never send it), or a
  ``GET /?token=TOKEN``, is handed on with that value as its bearer token; the shared check then decides.
- `LoopbackHostMiddleware`: with no token the server listens on loopback only, and a request whose ``Host`` is not
  a loopback name is refused (421), so a web page elsewhere cannot reach the server through a rebound DNS name.
"""

from __future__ import annotations

import json
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs

from agent.serving.limits import ASGIApp, Receive, Scope, Send, ServeLimits, guard, is_loopback

COOKIE = "socio_token"


def _headers(scope: Scope) -> dict[bytes, bytes]:
    return {k.lower(): v for k, v in scope.get("headers") or []}


def host_name(host_header: str) -> str:
    """Return the host of a ``Host`` header, without its port.

    >>> host_name("127.0.0.1:8765"), host_name("[::1]:80"), host_name("localhost")
    ('127.0.0.1', '::1', 'localhost')
    """
    if host_header.startswith("["):
        return host_header[1:].split("]", 1)[0]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def browser_token(scope: Scope) -> str | None:
    """Return the token a browser request carries in the cookie (or, for ``GET /``, in ``?token=``), if any."""
    headers = _headers(scope)
    cookie = headers.get(b"cookie")
    if cookie:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(cookie.decode("latin-1"))
        except CookieError:
            jar = SimpleCookie()
        if COOKIE in jar:
            return jar[COOKIE].value
    if scope.get("path") == "/" and scope.get("method") == "GET":
        values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
        return values[0] if values else None
    return None


class BrowserTokenAdapter:
    """ASGI middleware: hand a browser's cookie (or ``/?token=``) token on as ``Authorization: Bearer``."""

    def __init__(self, app: ASGIApp) -> None:
        """Wrap ``app`` (the shared bearer-token check)."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the header when the request has none and carries the token the browser way."""
        if scope["type"] == "http" and b"authorization" not in _headers(scope):
            token = browser_token(scope)
            if token is not None:
                scope = dict(scope)
                scope["headers"] = [*scope.get("headers", []), (b"authorization", f"Bearer {token}".encode())]
        await self.app(scope, receive, send)


class LoopbackHostMiddleware:
    """ASGI middleware: refuse (421) a request whose ``Host`` header is not a loopback name."""

    def __init__(self, app: ASGIApp) -> None:
        """Wrap ``app``."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass a request for a loopback host on; refuse any other."""
        if scope["type"] == "http":
            host = _headers(scope).get(b"host", b"").decode("latin-1")
            if not is_loopback(host_name(host)):
                body = json.dumps({"error": f"this server answers only on localhost, not {host!r}; to serve other "
                                            "hosts start socio serve with --host and --token"}).encode()  # fmt: skip
                await send({"type": "http.response.start", "status": 421,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode())]})  # fmt: skip
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def guarded(app: ASGIApp, limits: ServeLimits) -> ASGIApp:
    """Wrap the web app in the shared limits (body size; bearer token when set) and the browser adapters."""
    wrapped = guard(app, limits)
    if limits.token:
        return BrowserTokenAdapter(wrapped)
    return LoopbackHostMiddleware(wrapped)
