"""The load_scene tool: image and layer files in, a scene id out (the first call any remote client makes).

The other tools take a ``scene_id``; this one creates it from files, so a client that holds no pixels (an
LLM assistant over MCP) can use every tool. Paths are checked against the context's allowed roots. A scene
id not given is derived from the files' contents, so loading the same files twice gives the same id and
reuses the segmenter's encoding of the image.
"""

from __future__ import annotations

import hashlib

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


@register(read_only=False, name="load_scene")
def load_scene_tool(args: LoadSceneInput, ctx: ToolContext) -> LoadSceneOutput:
    """Load a scene from a satellite image, its digital map and optional vector layers; return its id.

    The other tools take this id. Files must lie under the folders the server allows.
    """
    sat = ctx.resolve_path(args.sat, "satellite image")
    map_path = ctx.resolve_path(args.map, "map image")
    layers = ctx.resolve_path(args.layers, "layers file") if args.layers else None
    scene = load_scene(sat, map_path, layers)
    scene.scene_id = args.scene_id or content_id(scene)
    if scene.scene_id not in ctx.store or ctx.store.get(scene.scene_id) is not scene:
        ctx.store.put(scene)
    h, w = scene.hw
    return LoadSceneOutput(
        scene_id=scene.scene_id,
        width=w,
        height=h,
        crs=scene.georef.crs if scene.georef else None,
        pixel_size_m=scene.georef.pixel_size if scene.georef else None,
        layer_features=len(scene.layers),
    )
