"""socioagent's tools as an MCP server (the ``mcp`` SDK 2.x `MCPServer`), over stdio or streamable HTTP.

Every tool of `agent.toolbox.AGENT_REGISTRY` becomes an MCP tool whose input and output JSON Schemas are the
registry's own (``socio tools --format mcp`` prints the same), so a tool is still written once. The SDK's
``@server.tool()`` derives schemas from a function signature; ours come from the registry's pydantic models,
so each tool is handed to `MCPServer` as a prebuilt `mcp.server.mcpserver.tools.Tool` whose argument model is
the registry's input model.

A call:

1. runs in a worker thread under the server's time limit and work slots (`agent.serving.limits.run_limited`);
   a call past the limit is answered with a tool error at once and its worker stops at its next step;
2. goes through `tools.registry.ToolRegistry.call` with the server's context: files only under the roots, images
   up to the pixel limit (`agent.serving.limits.ServeLimits.tool_context`), outputs under the output root;
3. answers the output model as ``structured_content`` (and as JSON text, or a one-line note when that JSON is
   over `MAX_TEXT_BYTES`), plus one PNG image content block per image the tool made (``image_id``, ``image_ids``,
   ``overlay_image_id`` fields: ``segment``'s overlay, ``render_overlay``, ``zoom``, ``draw_box``) at the image's
   size; the images of one answer share `MAX_IMAGE_BYTES` (`image_block_png`: an image over its share goes as a
   256-colour PNG, halved in size only if still over), so an answer stays under the SDK client's 1 MiB SSE event
   limit; the full-quality overlay is in the call's output folder;
4. a user's mistake (a path outside the roots, a missing scene, an image too large) or a failing backend is a
   tool error (``is_error``) whose text names the problem and the fix, never a traceback.

The segmenter is shared by all calls: ``sam_segment`` holds its lock over encode and predict. Scenes are cached by
content (`tools.load_scene`). Over HTTP the app is wrapped in the body limit and, when a token is set, the
bearer-token check on every request (`agent.serving.limits.guard`). The SDK's own auth is an OAuth 2.1 resource
server (issuer and metadata routes); a static token needs only a constant-time compare, shared with the web app.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from pydantic import BaseModel, create_model

from agent.backends import Backends
from agent.serving.limits import CancelToken, ServeLimits, guard, is_loopback, run_limited
from agent.toolbox import AGENT_REGISTRY, AgentToolContext
from tools.errors import SocioError
from tools.files import png_bytes
from tools.registry import ToolRegistry, ToolSpec
from tools.scene_store import SceneStore

SERVER_NAME = "socioagent"
INSTRUCTIONS = (
    "socioagent finds socially defined places (a named campus, 'schools', 'places for healthcare') in satellite "
    "imagery by reading a digital map and the image together. Call load_scene with the satellite image and map "
    "paths (files under the server's allowed folders) to get a scene_id, then segment with a query for the whole "
    "search (instances, polygons, scores and an overlay image), or map_lookup, sam_segment, zoom and "
    "render_overlay step by step."
)
MAX_IMAGE_BYTES = 600_000
"""PNG bytes of all the image blocks of one answer (base64 makes them 4/3 as large on the wire)."""
MAX_TEXT_BYTES = 32_000
"""Larger JSON goes in structured_content alone (the text block says so), not twice."""
STORE_SCENES = 16
STORE_ITEMS = 64
STORE_IMAGES = 24
"""Masks and images kept per scene (the oldest go first), so a long-running server's memory stays bounded; a
768-px scene's rendered image is 1.7 MB, a mask 0.6 MB. Both stay above what the concurrent calls on one scene
hold at once (`ServeLimits.max_concurrent` queries of a few masks and three images each)."""


def _image_ids(output: BaseModel) -> list[str]:
    ids: list[str] = []
    for name in type(output).model_fields:
        value = getattr(output, name)
        if name.endswith("image_id") and isinstance(value, str):
            ids.append(value)
        elif name.endswith("image_ids") and isinstance(value, list):
            ids.extend(v for v in value if isinstance(v, str))
    return ids


def image_block_png(image: np.ndarray, budget: int) -> bytes:
    """Return an (H, W, 3) image as PNG bytes within ``budget``: as is, else 256 colours, else halved until it fits.

    >>> noise = np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    >>> len(png_bytes(noise)) > 150_000 >= len(image_block_png(noise, 150_000))
    True
    """
    from PIL import Image

    data = png_bytes(image)
    picture = Image.fromarray(image)
    while len(data) > budget:
        buf = io.BytesIO()
        picture.quantize(256, method=Image.Quantize.FASTOCTREE).save(buf, format="PNG", compress_level=6)
        data = buf.getvalue()
        if len(data) <= budget or min(picture.size) <= 16:
            break
        picture = picture.resize((picture.width // 2, picture.height // 2), Image.Resampling.BOX)
    return data


def _mcp_tool(spec: ToolSpec, registry: ToolRegistry, ctx: AgentToolContext, limits: ServeLimits,
              slots: threading.Semaphore) -> Any:  # fmt: skip
    from mcp.server.mcpserver.exceptions import ToolError as MCPToolError
    from mcp.server.mcpserver.tools import Tool
    from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
    from mcp.types import CallToolResult, ImageContent, TextContent, ToolAnnotations

    arg_model = create_model(f"{spec.name}_arguments", __base__=(spec.input_model, ArgModelBase))

    def work(arguments: dict[str, Any], token: CancelToken) -> tuple[BaseModel, list[bytes]]:
        call_ctx = dataclasses.replace(ctx, check_cancelled=token.check)
        out = registry.call(spec.name, arguments, call_ctx)
        ids = _image_ids(out)
        return out, [image_block_png(ctx.store.get_image(i), MAX_IMAGE_BYTES // len(ids)) for i in ids]

    async def handler(**arguments: Any) -> Any:
        try:
            out, images = await run_limited(lambda token: work(arguments, token), limits.call_timeout_s,
                                            f"the {spec.name} call", slots)  # fmt: skip
        except SocioError as e:
            raise MCPToolError(str(e)) from None
        structured = out.model_dump(mode="json")
        content: list[Any] = [ImageContent(type="image", data=base64.b64encode(png).decode(), mime_type="image/png")
                              for png in images]  # fmt: skip
        text = json.dumps(structured)
        if len(text) > MAX_TEXT_BYTES:
            text = f"{spec.name} answered {len(text):,} bytes of JSON: read the structured content"
        content.append(TextContent(type="text", text=text))
        return CallToolResult(content=content, structured_content=structured)

    schema = spec.mcp_schema()
    return Tool(
        fn=handler, name=spec.name, description=spec.description, parameters=schema["inputSchema"],
        fn_metadata=FuncMetadata(arg_model=arg_model, output_model=spec.output_model,
                                 output_schema=schema["outputSchema"]),
        is_async=True, context_kwarg=None,
        annotations=ToolAnnotations(read_only_hint=spec.read_only, open_world_hint=False),
    )  # fmt: skip


def build_context(backends: Backends, limits: ServeLimits, store: SceneStore | None = None) -> AgentToolContext:
    """Return the tool context of a server: the backends, a bounded scene store, the roots and limits, outputs."""
    n = limits.max_concurrent
    store = store or SceneStore(max_scenes=STORE_SCENES, max_items=max(STORE_ITEMS, 16 * n),
                                max_images=max(STORE_IMAGES, 6 * n))  # fmt: skip
    base = limits.tool_context(store, backends.segmenter)
    out: Callable[[str, str], Any] = limits.output_dir
    return AgentToolContext(**{f.name: getattr(base, f.name) for f in dataclasses.fields(base)}, backends=backends,
                            output_dir=out)  # fmt: skip


def build_server(
    backends: Backends, limits: ServeLimits, registry: ToolRegistry = AGENT_REGISTRY, store: SceneStore | None = None
) -> Any:
    """Return an `mcp.server.mcpserver.MCPServer` serving every tool of ``registry`` under ``limits``."""
    from mcp.server.mcpserver import MCPServer

    ctx = build_context(backends, limits, store)
    slots = limits.slots()
    tools = [_mcp_tool(spec, registry, ctx, limits, slots) for spec in registry.list()]
    return MCPServer(SERVER_NAME, instructions=INSTRUCTIONS, tools=tools, log_level="WARNING")


def http_app(server: Any, limits: ServeLimits, path: str = "/mcp") -> Any:
    """Return the streamable-HTTP ASGI app of ``server``, wrapped in the body limit and the token check."""
    from mcp.server.transport_security import TransportSecuritySettings

    security = None  # on a loopback address the SDK checks the Host and Origin headers (DNS rebinding)
    if not is_loopback(limits.host):  # reachable from elsewhere under any name: the token guards it (check_bind)
        security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    app = server.streamable_http_app(streamable_http_path=path, max_request_body_size=limits.max_body_bytes,
                                     host=limits.host, transport_security=security)  # fmt: skip
    return guard(app, limits)


def serve_http(server: Any, limits: ServeLimits, port: int, on_ready: Callable[[str], None] | None = None) -> None:
    """Serve ``server`` over streamable HTTP at ``http://HOST:PORT/mcp`` until interrupted."""
    import anyio
    import uvicorn

    config = uvicorn.Config(http_app(server, limits), host=limits.host, port=port, log_level="warning",
                            lifespan="on")  # fmt: skip
    http = uvicorn.Server(config)

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(http.serve)
            while not http.started and not http.should_exit:
                await anyio.sleep(0.05)
            if http.started and on_ready is not None:
                bound = http.servers[0].sockets[0].getsockname()[1] if http.servers else port  # port 0: the one picked
                host = f"[{limits.host}]" if ":" in limits.host else limits.host
                on_ready(f"http://{host}:{bound}/mcp")

    anyio.run(main)


def serve_stdio(server: Any) -> None:
    """Serve ``server`` over stdio (for desktop assistants) until the client closes it."""
    server.run("stdio")
