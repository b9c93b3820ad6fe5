"""The one home of coordinate conversion: model frame <-> image pixels <-> map CRS.

Conventions:

- **Image pixels** (the frame everything else speaks): x to the right, y down, continuous coordinates
  with the origin at the top-left *corner* of the top-left pixel, so pixel (row i, col j) covers
  ``[j, j+1) x [i, i+1)``. Boxes are XYXY.
- **Model frames** (what a vision-language model reads and writes):
  ``pixel``: image pixels (the rule policy); ``abs``: absolute pixels of the resized image the model
  was shown (Qwen2.5-VL); ``rel1000``: 0..1000 relative to the image (Qwen3-VL). A frame may have a
  ``window``: the model was shown a crop of the scene (a zoom), and its numbers are relative to that crop.
- **Map CRS**: the scene's georeferencing is an affine transform from pixel corners to CRS coordinates
  (GDAL/rasterio convention) plus the CRS itself.

>>> f = ModelFrame(kind="abs", model_hw=(756, 756))
>>> box_to_pixels([378, 0, 756, 378], f, image_hw=(768, 768)).as_list()
[384.0, 0.0, 768.0, 384.0]
>>> box_from_pixels(Box(x1=384, y1=0, x2=768, y2=384), ModelFrame(kind="rel1000"), image_hw=(768, 768))
[500.0, 0.0, 1000.0, 500.0]
>>> smart_resize(768, 768)
(756, 756)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from affine import Affine
from shapely import transform as shapely_transform
from shapely.geometry.base import BaseGeometry

from tools.schemas import Box, Point

FrameKind = Literal["pixel", "abs", "rel1000"]


@dataclass(frozen=True)
class ModelFrame:
    """The coordinate frame a model speaks.

    Attributes:
        kind: ``pixel``, ``abs`` (absolute pixels of the resized image the model saw) or ``rel1000``.
        model_hw: (height, width) of the image the model saw; required for ``abs``.
        window: ``(x1, y1, x2, y2)`` in scene pixels when the model saw that crop of the scene (a zoom);
            its numbers then speak of the crop: ``x_pixels = x1 + x_model * sx``.

    >>> zoom = ModelFrame(kind="abs", model_hw=(100, 100), window=(200.0, 300.0, 400.0, 500.0))
    >>> box_to_pixels([0, 0, 50, 100], zoom, image_hw=(768, 768)).as_list()
    [200.0, 300.0, 300.0, 500.0]
    >>> box_from_pixels(Box(x1=200, y1=300, x2=300, y2=500), zoom, image_hw=(768, 768))
    [0.0, 0.0, 50.0, 100.0]
    """

    kind: FrameKind = "pixel"
    model_hw: tuple[int, int] | None = None
    window: tuple[float, float, float, float] | None = None

    def __post_init__(self) -> None:
        if self.kind == "abs" and self.model_hw is None:
            raise ValueError("ModelFrame(kind='abs') needs model_hw, the (height, width) the model was shown")
        if self.window is not None and not (self.window[2] > self.window[0] and self.window[3] > self.window[1]):
            raise ValueError(f"a frame's window must have x2 > x1 and y2 > y1, got {self.window}")

    def offset(self) -> tuple[float, float]:
        """Return the scene pixel of the frame's origin (the window's corner, or (0, 0))."""
        return (self.window[0], self.window[1]) if self.window is not None else (0.0, 0.0)

    def scale(self, image_hw: tuple[int, int]) -> tuple[float, float]:
        """Return (sx, sy) such that ``x_pixels = x_model * sx`` (plus the window's offset)."""
        h, w = image_hw
        if self.window is not None:
            x1, y1, x2, y2 = self.window
            h, w = y2 - y1, x2 - x1
        if self.kind == "pixel":
            return 1.0, 1.0
        if self.kind == "rel1000":
            return w / 1000.0, h / 1000.0
        mh, mw = self.model_hw  # type: ignore[misc]
        return w / mw, h / mh

    def extent(self, image_hw: tuple[int, int]) -> tuple[float, float]:
        """Return the (width, height) of the image (or of the window) in this frame's units."""
        sx, sy = self.scale(image_hw)
        if self.window is not None:
            x1, y1, x2, y2 = self.window
            return (x2 - x1) / sx, (y2 - y1) / sy
        return image_hw[1] / sx, image_hw[0] / sy


def xy_to_pixels(x: float, y: float, frame: ModelFrame, image_hw: tuple[int, int]) -> tuple[float, float]:
    """Convert one point from a model frame to image pixels."""
    sx, sy = frame.scale(image_hw)
    ox, oy = frame.offset()
    return ox + x * sx, oy + y * sy


def xy_from_pixels(x: float, y: float, frame: ModelFrame, image_hw: tuple[int, int]) -> tuple[float, float]:
    """Convert one point from image pixels to a model frame."""
    sx, sy = frame.scale(image_hw)
    ox, oy = frame.offset()
    return (x - ox) / sx, (y - oy) / sy


def box_to_pixels(box: Sequence[float], frame: ModelFrame, image_hw: tuple[int, int]) -> Box:
    """Convert an ordered XYXY box from a model frame to image pixels (no clipping)."""
    x1, y1 = xy_to_pixels(box[0], box[1], frame, image_hw)
    x2, y2 = xy_to_pixels(box[2], box[3], frame, image_hw)
    return Box(x1=x1, y1=y1, x2=x2, y2=y2)


def box_from_pixels(box: Box, frame: ModelFrame, image_hw: tuple[int, int], ndigits: int = 1) -> list[float]:
    """Convert a box from image pixels to a model frame, rounded to ``ndigits``."""
    x1, y1 = xy_from_pixels(box.x1, box.y1, frame, image_hw)
    x2, y2 = xy_from_pixels(box.x2, box.y2, frame, image_hw)
    return [round(v, ndigits) for v in (x1, y1, x2, y2)]


def point_to_pixels(xy: Sequence[float], frame: ModelFrame, image_hw: tuple[int, int], label: int = 1) -> Point:
    """Convert an [x, y] point from a model frame to an image-pixel `Point`."""
    x, y = xy_to_pixels(xy[0], xy[1], frame, image_hw)
    return Point(x=x, y=y, label=1 if label else 0)


def smart_resize(
    height: int, width: int, factor: int = 28, min_pixels: int = 56 * 56, max_pixels: int = 768 * 768
) -> tuple[int, int]:
    """Return the (height, width) a Qwen-VL processor resizes an image to.

    Both sides become multiples of ``factor`` (28 for Qwen2.5-VL, 32 for Qwen3-VL) and the area is
    brought within [min_pixels, max_pixels] keeping the aspect ratio, as the Qwen-VL processors do.
    """
    if height <= 0 or width <= 0:
        raise ValueError(f"image size must be positive, got {height}x{width}")
    if max(height, width) / min(height, width) > 200:
        raise ValueError(f"aspect ratio of {height}x{width} is over 200, which Qwen-VL processors refuse")
    h = max(factor, round(height / factor) * factor)
    w = max(factor, round(width / factor) * factor)
    if h * w > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h = max(factor, math.floor(height / beta / factor) * factor)
        w = max(factor, math.floor(width / beta / factor) * factor)
    elif h * w < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h = math.ceil(height * beta / factor) * factor
        w = math.ceil(width * beta / factor) * factor
    return h, w


@dataclass(frozen=True)
class GeoRef:
    """Georeferencing of a scene: pixel corners -> CRS coordinates.

    Attributes:
        crs: any CRS string pyproj understands (``"EPSG:32633"``, WKT).
        transform: affine transform from (col, row) pixel-corner coordinates to CRS (x, y).
        ground_m: the ground size of a pixel in metres, when measured (`tools.raster_window.ground_resolution`:
            EPSG:4326 pixels are degrees, EPSG:3857 metres are not ground metres).
    """

    crs: str
    transform: Affine
    ground_m: float | None = None

    def to_crs(self, x: float, y: float) -> tuple[float, float]:
        """Convert an image-pixel point to CRS coordinates."""
        return self.transform @ (x, y)

    def to_pixels(self, x: float, y: float) -> tuple[float, float]:
        """Convert a CRS point to image-pixel coordinates."""
        return ~self.transform @ (x, y)

    @property
    def pixel_size(self) -> float:
        """Mean ground size of one pixel: ``ground_m`` when measured, else in CRS units (metres for UTM)."""
        if self.ground_m is not None:
            return self.ground_m
        return math.sqrt(abs(self.transform.determinant))


def geometry_to_crs(geom: BaseGeometry, georef: GeoRef) -> BaseGeometry:
    """Return a shapely geometry converted from image pixels to the scene CRS."""
    t = georef.transform
    return shapely_transform(geom, lambda c: _affine_apply(t, c))


def geometry_to_pixels(geom: BaseGeometry, georef: GeoRef) -> BaseGeometry:
    """Return a shapely geometry converted from the scene CRS to image pixels."""
    t = ~georef.transform
    return shapely_transform(geom, lambda c: _affine_apply(t, c))


def _affine_apply(t: Affine, coords):
    import numpy as np

    x, y = coords[:, 0], coords[:, 1]
    return np.column_stack([t.a * x + t.b * y + t.c, t.d * x + t.e * y + t.f])
