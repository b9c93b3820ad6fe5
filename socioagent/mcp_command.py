"""The ``socio mcp`` command: socioagent's tools as an MCP server, over stdio (desktop assistants) or HTTP.

Registered by `socioagent.cli`; the server itself is `agent.serving.mcp_server`, its limits
`agent.serving.limits`. Over stdio, stdout carries the protocol: everything else goes to stderr.
"""

from __future__ import annotations

import contextlib
import socket
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


def _check_port(host: str, port: int) -> None:
    from tools.errors import InputError

    if not 0 <= port <= 65535:
        raise InputError(f"--port {port}: give a port between 1 and 65535 (0: any free port)")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            raise InputError(f"cannot listen on {host}:{port} ({e.strerror}); choose another --port or --host") from e


@backend_options()
def mcp_command(
    backend: BackendConfig,
    root: Annotated[list[Path], typer.Option(help="a folder whose files clients may read (repeat for several)")],
    transport: Annotated[str, typer.Option(help="stdio (desktop assistants) or http (streamable HTTP at /mcp)")] = (
        "stdio"
    ),
    host: Annotated[str, typer.Option(help="http: address to bind; other than localhost needs --token")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="http: port to listen on (0: any free port)")] = 8765,
    out: Annotated[Path, typer.Option(help="the one folder outputs are written under")] = Path("socio_mcp_out"),
    token: Annotated[
        str | None,
        typer.Option(envvar="SOCIO_TOKEN", help="http: bearer token every request must carry ($SOCIO_TOKEN)"),
    ] = None,
    max_pixels: Annotated[
        int, typer.Option(help="largest image a call may read (width x height)", rich_help_panel=LIMITS)
    ] = DEFAULT_MAX_PIXELS,
    max_file_bytes: Annotated[
        int, typer.Option(help="largest file a call may read, in bytes", rich_help_panel=LIMITS)
    ] = DEFAULT_MAX_FILE_BYTES,
    max_body_bytes: Annotated[
        int, typer.Option(help="http: largest request body, in bytes", rich_help_panel=LIMITS)
    ] = DEFAULT_MAX_BODY_BYTES,
    call_timeout: Annotated[
        float, typer.Option(help="seconds one tool call may take before it is cancelled", rich_help_panel=LIMITS)
    ] = DEFAULT_CALL_TIMEOUT_S,
    max_concurrent: Annotated[
        int, typer.Option(help="tool calls working at once (others wait)", rich_help_panel=LIMITS)
    ] = DEFAULT_MAX_CONCURRENT,
) -> None:
    """Serve the tools (load_scene, segment, map_lookup, render_overlay, ...) to an MCP client."""
    from agent.serving.limits import ServeLimits
    from agent.serving.mcp_server import build_server, serve_http, serve_stdio
    from tools.errors import InputError

    if transport not in ("stdio", "http"):
        raise InputError(f"unknown --transport {transport!r}; choose stdio or http")
    if transport == "stdio" and token:
        raise InputError("--token guards the http transport; a stdio server is reached only by the client that "
                         "started it: leave --token out, or use --transport http")  # fmt: skip
    limits = ServeLimits.create(root, out, host=host, token=token, max_pixels=max_pixels,
                                max_file_bytes=max_file_bytes, max_body_bytes=max_body_bytes,
                                call_timeout_s=call_timeout, max_concurrent=max_concurrent)  # fmt: skip
    if transport == "http":
        _check_port(host, port)
    server = build_server(backend.build(), limits)
    if transport == "stdio":
        serve_stdio(server)
        return

    def ready(url: str) -> None:
        guarded = "bearer token required" if limits.token else "localhost only, no token"
        typer.secho(f"socio mcp: serving on {url} ({guarded}); roots: {', '.join(map(str, limits.roots))}; "
                    f"outputs under {limits.out_root}", err=True)  # fmt: skip

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C stops the server; nothing is half-written
        serve_http(server, limits, port, on_ready=ready)
