"""The zoom tool: a window of a scene around some boxes, cropped from its map and satellite image.

A policy that sees the whole 768-px scene at ~112-168 px cannot see a place's extent (one vision token covers
~100-190 scene pixels). Zooming into the region the map says the place is in — the union of the candidate
boxes, grown by a margin and made at least ``min_side`` pixels wide — shows it at several times the
resolution. `zoom_window` computes the window, `crop` cuts and resizes an image to it; the ``zoom`` tool
stores the two crops in the scene store (any policy or remote client can call it).

>>> zoom_window([(300, 300, 400, 360)], (768, 768), pad=0.25, min_side=192)
(254.0, 234.0, 446.0, 426.0)
>>> zoom_window([], (768, 1024))
(0.0, 0.0, 1024.0, 768.0)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, Field

from tools.images import resize_rgb
from tools.registry import ToolContext, register
from tools.schemas import Box

Window = tuple[float, float, float, float]


def zoom_window(
    boxes: Sequence[Sequence[float]], hw: tuple[int, int], pad: float = 0.25, min_side: float = 192.0
) -> Window:
    """Return a square-ish window (x1, y1, x2, y2, scene pixels) holding every box with a margin.

    The union of the boxes grows by ``pad`` of its larger side on every side, becomes square (its larger
    side), at least ``min_side`` wide and at most the scene, and is shifted to lie inside the scene. No boxes:
    the whole scene.
    """
    h, w = hw
    if not boxes:
        return 0.0, 0.0, float(w), float(h)
    b = np.asarray(boxes, float)
    x1, y1, x2, y2 = b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()
    side = max(x2 - x1, y2 - y1) * (1 + 2 * pad)
    if side > min(w, h):  # the boxes span more than a square of the scene can hold
        return 0.0, 0.0, float(w), float(h)
    side = min(max(side, min_side), float(min(w, h)))
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    wx = min(max(cx - side / 2, 0.0), w - side)
    wy = min(max(cy - side / 2, 0.0), h - side)
    return float(round(wx)), float(round(wy)), float(round(wx + side)), float(round(wy + side))


def crop(image: np.ndarray, window: Window, out_hw: tuple[int, int] | None = None) -> np.ndarray:
    """Return the window of an (H, W, 3) image, resized to ``out_hw`` (bicubic) when given."""
    x1, y1, x2, y2 = (round(v) for v in window)
    part = np.ascontiguousarray(image[y1:y2, x1:x2])
    return resize_rgb(part, out_hw) if out_hw is not None else part


class ZoomInput(BaseModel):
    """Arguments of zoom."""

    scene_id: str = Field(description="the scene to zoom into")
    boxes: list[Box] = Field(default_factory=list, description="boxes (image pixels) the window must hold")
    size: int = Field(256, ge=28, le=2048, description="side of the returned crops, in pixels")
    pad: float = Field(0.25, ge=0, le=2, description="margin around the boxes, as a fraction of their extent")


class ZoomOutput(BaseModel):
    """The window and the ids of its map and satellite crops in the scene store."""

    window: Box
    image_ids: list[str]


@register(read_only=False)
def zoom(args: ZoomInput, ctx: ToolContext) -> ZoomOutput:
    """Crop a scene's map and satellite image to a window around some boxes, at a higher resolution.

    Returns the window in image pixels and the ids of the [map, satellite] crops in the scene store.
    """
    scene = ctx.store.get(args.scene_id)
    window = zoom_window([b.as_list() for b in args.boxes], scene.hw, args.pad)
    ids = [ctx.store.put_image(scene.scene_id, crop(im, window, (args.size, args.size)), "zoom")
           for im in (scene.map, scene.sat)]  # fmt: skip
    return ZoomOutput(window=Box(x1=window[0], y1=window[1], x2=window[2], y2=window[3]), image_ids=ids)
