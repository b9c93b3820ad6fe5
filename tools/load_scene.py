"""The load_scene tool: image and layer files in, a scene id out (the first call any remote client makes).

The other tools take a ``scene_id``; this one creates it from files, so a client that holds no pixels (an
LLM assistant over MCP) can use every tool. Paths are checked against the context's allowed roots. A scene
id not given is derived from the files' contents, so loading the same files twice gives the same id and
reuses the segmenter's encoding of the image. Scenes are cached by content: a scene whose id is already in the
store is reused as it is (its masks stay valid for calls still running on it), and files already loaded once
(same resolved path, size and modification time) are not decoded again.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from tools.registry import ToolContext, register
from tools.scene import Scene, load_scene


class LoadSceneInput(BaseModel):
    """Arguments of load_scene."""

    sat: str = Field(description="satellite image file: PNG, JPEG or GeoTIFF (its CRS is kept)")
    map: str = Field(description="digital map image of the same window and size")
    layers: str | None = Field(None, description="vector layers (GeoJSON, GeoPackage) for the map-layer lookup")
    scene_id: str | None = Field(None, description="id to give the scene (default: derived from the files' contents)")


class LoadSceneOutput(BaseModel):
    """The loaded scene's id and what it holds."""

    scene_id: str
    width: int
    height: int
    crs: str | None = Field(None, description="the satellite image's CRS, when it is georeferenced")
    pixel_size_m: float | None = Field(None, description="ground size of a pixel, when georeferenced")
    layer_features: int = Field(0, description="features read from the layers file")


def content_id(scene: Scene) -> str:
    """Return an id that names a scene's pixels and layers: the same files give the same id."""
    h = hashlib.blake2b(digest_size=8)
    for image in (scene.sat, scene.map):
        h.update(str(image.shape).encode())
        h.update(np.ascontiguousarray(image[::3, ::3]).tobytes())
    for f in scene.layers:
        h.update(f"{f.id}|{f.kind}|{f.name}|{f.cls}|{f.geometry.wkb_hex}".encode())
    return "scene-" + h.hexdigest()


_FILE_IDS: OrderedDict[tuple[tuple[str, int, int], ...], str] = OrderedDict()
"""Content ids of the files loaded last, keyed by (resolved path, modification time, size) of each file."""
_FILE_IDS_LOCK = threading.Lock()
_FILE_IDS_MAX = 256


def _file_key(paths: list[Path]) -> tuple[tuple[str, int, int], ...]:
    stats = [p.stat() for p in paths]
    return tuple((str(p), st.st_mtime_ns, st.st_size) for p, st in zip(paths, stats, strict=True))


@register(read_only=False, name="load_scene")
def load_scene_tool(args: LoadSceneInput, ctx: ToolContext) -> LoadSceneOutput:
    """Load a scene from a satellite image, its digital map and optional vector layers; return its id.

    The other tools take this id. Files must lie under the folders the server allows.
    """
    sat = ctx.resolve_image(args.sat, "satellite image")
    map_path = ctx.resolve_image(args.map, "map image")
    layers = ctx.resolve_path(args.layers, "layers file") if args.layers else None
    key = _file_key([sat, map_path] + ([layers] if layers else []))
    scene = None
    if args.scene_id is None:
        with _FILE_IDS_LOCK:
            known = _FILE_IDS.get(key)
        if known is not None and known in ctx.store:
            scene = ctx.store.get(known)  # the same files, already decoded and held
    if scene is None:
        scene = load_scene(sat, map_path, layers)
        scene.scene_id = args.scene_id or content_id(scene)
        if args.scene_id is None and scene.scene_id in ctx.store:
            scene = ctx.store.get(scene.scene_id)  # the same pixels under another path: keep the held scene
        else:
            ctx.store.put(scene)
        if args.scene_id is None:
            with _FILE_IDS_LOCK:
                _FILE_IDS[key] = scene.scene_id
                _FILE_IDS.move_to_end(key)
                while len(_FILE_IDS) > _FILE_IDS_MAX:
                    _FILE_IDS.popitem(last=False)
    h, w = scene.hw
    return LoadSceneOutput(
        scene_id=scene.scene_id,
        width=w,
        height=h,
        crs=scene.georef.crs if scene.georef else None,
        pixel_size_m=scene.georef.pixel_size if scene.georef else None,
        layer_features=len(scene.layers),
    )
