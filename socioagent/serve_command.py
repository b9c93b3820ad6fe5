"""``socio serve``: the web app (chat box and map) on a local HTTP server.

Registered by `socioagent.cli`; the app is `agent.serving.web_app.build_app`. The server binds to 127.0.0.1 by
default; any other address needs ``--token`` (checked on every request). Files are read only under ``--root``.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer

from agent.backends import BackendConfig
from socioagent.options import backend_options

LIMITS = "Limits"


def is_loopback(host: str) -> bool:
    """Return whether ``host`` names this machine only (127.0.0.0/8, ::1, localhost).

    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0"), is_loopback("::1")
    (True, True, False, True)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@backend_options()
def serve_command(
    backend: BackendConfig,
    root: Annotated[list[Path], typer.Option(help="a folder the app may read scenes from (repeatable)")],
    host: Annotated[str, typer.Option(help="address to listen on; other than loopback needs --token")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port (0: any free port; the URL is printed)")] = 8765,
    token: Annotated[str | None, typer.Option(help="bearer token every request must carry", envvar="SOCIO_TOKEN",
                                              show_envvar=True)] = None,
    scene: Annotated[Path | None, typer.Option(help="scene folder to show first (under a --root)")] = None,
    max_pixels: Annotated[int, typer.Option(help="largest scene image in pixels (width x height)",
                                            rich_help_panel=LIMITS)] = 25_000_000,
    max_body: Annotated[int, typer.Option(help="largest request body in bytes", rich_help_panel=LIMITS)] = 1_000_000,
    time_limit: Annotated[float, typer.Option(help="seconds a scene load or question may take (then 504)",
                                              rich_help_panel=LIMITS)] = 120.0,
) -> None:  # fmt: skip
    """Serve the web app: ask about places in a scene and see them on a map (http://HOST:PORT/)."""
    import uvicorn

    from agent.serving.guards import Guards
    from agent.serving.web_app import build_app
    from agent.serving.workspace import ServeSettings, Workspace
    from tools.errors import InputError

    if not is_loopback(host) and not token:
        raise InputError(f"--host {host} serves other machines: give --token TOKEN (or $SOCIO_TOKEN), which every "
                         "request must then carry, or keep the default --host 127.0.0.1")  # fmt: skip
    if token is not None and len(token) < 8:
        raise InputError("--token is too short to guess safely; use at least 8 characters, e.g. $(openssl rand -hex 16)")
    for name, value in (("--max-pixels", max_pixels), ("--max-body", max_body), ("--time-limit", time_limit)):
        if not value > 0:
            raise InputError(f"{name} {value}: give a positive number")
    roots = tuple(r.expanduser().resolve() for r in root)
    for r in roots:
        if not r.is_dir():
            raise InputError(f"--root {r} is not a folder; give a folder that holds your scenes")
    workspace = Workspace(backend, ServeSettings(roots=roots, max_pixels=max_pixels))
    if scene is not None:
        workspace.ctx.resolve_path(scene, "scene folder")
    app = build_app(workspace, Guards(token=token, max_body_bytes=max_body), time_limit_s=time_limit)
    sock = _bind(host, port)
    bound_port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    query = f"?scene={scene.resolve()}" if scene is not None else ""
    sys.stdout.write(f"socio serve: http://{shown}:{bound_port}/{query}\n")
    if token:
        sys.stdout.write("  open it once with ?token=TOKEN (the page keeps it in a cookie); API calls send "
                         "'Authorization: Bearer TOKEN'\n")  # fmt: skip
    sys.stdout.flush()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    server.run(sockets=[sock])


def _bind(host: str, port: int) -> socket.socket:
    """Bind the listening socket here, so that --port 0 can print the port it got."""
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
    sock.set_inheritable(True)
    return sock
