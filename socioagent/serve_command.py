"""``socio serve``: the web app (chat box and map) on a local HTTP server.

Registered by `socioagent.cli`; the app is `agent.serving.web_app.serve_app`. The limits are ``socio mcp``'s
(`agent.serving.limits.ServeLimits`, the same flags): files only under ``--root``, outputs under ``--out``, image,
file and body sizes, a time limit per call; the server binds to 127.0.0.1 unless given ``--token``.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Annotated

import typer

from agent.backends import BackendConfig
from agent.serving.limits import (
    DEFAULT_CALL_TIMEOUT_S,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_CONCURRENT,
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_MAX_PIXELS,
)
from socioagent.options import backend_options

LIMITS = "Limits"


@backend_options()
def serve_command(
    backend: BackendConfig,
    root: Annotated[list[Path], typer.Option(help="a folder the app may read scenes from (repeatable)")],
    out: Annotated[Path, typer.Option(help="the folder downloads are written under")] = Path("socio_serve_out"),
    host: Annotated[str, typer.Option(help="address to listen on; other than loopback needs --token")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port (0: any free port; the URL is printed)")] = 8765,
    token: Annotated[str | None, typer.Option(help="bearer token every request must carry", envvar="SOCIO_TOKEN",
                                              show_envvar=True)] = None,
    scene: Annotated[Path | None, typer.Option(help="scene folder to show first (under a --root)")] = None,
    max_pixels: Annotated[int, typer.Option(help="largest image a scene may have, width x height",
                                            rich_help_panel=LIMITS)] = DEFAULT_MAX_PIXELS,
    max_file_bytes: Annotated[int, typer.Option(help="largest file a scene may read, in bytes",
                                                rich_help_panel=LIMITS)] = DEFAULT_MAX_FILE_BYTES,
    max_body_bytes: Annotated[int, typer.Option(help="largest HTTP request body, in bytes",
                                                rich_help_panel=LIMITS)] = DEFAULT_MAX_BODY_BYTES,
    call_timeout: Annotated[float, typer.Option(help="seconds a scene load or a question may take (then HTTP 504)",
                                                rich_help_panel=LIMITS)] = DEFAULT_CALL_TIMEOUT_S,
    max_concurrent: Annotated[int, typer.Option(help="calls working at once", rich_help_panel=LIMITS)] = (
        DEFAULT_MAX_CONCURRENT
    ),
) -> None:  # fmt: skip
    """Serve the web app: ask about places in a scene and see them on a map (http://HOST:PORT/)."""
    import uvicorn

    from agent.serving.limits import ServeLimits
    from agent.serving.web_app import serve_app
    from agent.serving.workspace import Workspace
    from tools.sandbox import resolve_under

    limits = ServeLimits.create(root, out, host=host, token=token, max_pixels=max_pixels,
                                max_file_bytes=max_file_bytes, max_body_bytes=max_body_bytes,
                                call_timeout_s=call_timeout, max_concurrent=max_concurrent)  # fmt: skip
    first = resolve_under(scene, limits.roots, "scene folder", must_exist=False) if scene is not None else None
    workspace = Workspace(backend, limits)
    sock = _bind(host, port)
    shown = f"[{host}]" if ":" in host else host
    query = f"?scene={first}" if first is not None else ""
    sys.stdout.write(f"socio serve: http://{shown}:{sock.getsockname()[1]}/{query}\n")
    if token:
        sys.stdout.write("  open it once with ?token=TOKEN (the page keeps it in a cookie); API clients send "
                         "'Authorization: Bearer TOKEN'\n")  # fmt: skip
    sys.stdout.flush()
    uvicorn.Server(uvicorn.Config(serve_app(workspace), log_level="warning", lifespan="off")).run(sockets=[sock])


def _bind(host: str, port: int) -> socket.socket:
    """Bind the listening socket here, so that ``--port 0`` can print the port it got."""
    from tools.errors import InputError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as e:
        sock.close()
        raise InputError(f"cannot listen on {host}:{port} ({e.strerror}); pick another --port, or --port 0") from e
    sock.listen(128)
    return sock
