"""Draw an answer (``answer.png``): the answer features in red and the sets they were related to in blue.

Over the satellite image for scene and raster data; over a map rendered from the vectors (`tools.map_from_vectors`)
around the answer for vector data.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from affine import Affine
from PIL import Image, ImageDraw
from shapely.geometry.base import BaseGeometry

from agent.chat.data import ChatData
from agent.chat.executor import Execution
from tools.coords import geometry_to_pixels

MAX_SIDE = 1024
"""The longest side of a map drawn for vector data, in pixels."""
ANSWER_RGB = (228, 26, 28)
REFERENCE_RGB = (31, 120, 220)


def _polys(geom: BaseGeometry) -> list[BaseGeometry]:
    return list(getattr(geom, "geoms", [geom]))


def _draw(draw: ImageDraw.ImageDraw, geom: BaseGeometry, rgb: tuple[int, int, int], width: int) -> None:
    for g in _polys(geom):
        if g.is_empty:
            continue
        if g.geom_type == "Polygon":
            draw.polygon([tuple(c) for c in np.asarray(g.exterior.coords)], fill=(*rgb, 70), outline=(*rgb, 255),
                         width=width)  # fmt: skip
        elif g.geom_type == "LineString":
            draw.line([tuple(c) for c in np.asarray(g.coords)], fill=(*rgb, 255), width=width)
        elif g.geom_type == "Point":
            r = 2 * width + 2
            draw.ellipse([g.x - r, g.y - r, g.x + r, g.y + r], fill=(*rgb, 200), outline=(255, 255, 255, 255))
        else:
            _draw(draw, g, rgb, width)


def _window(frames: list[gpd.GeoDataFrame], data: ChatData) -> tuple[Affine, tuple[int, int]]:
    shown = [f for f in frames if f is not None and len(f)]
    bounds = np.array([f.total_bounds for f in shown]) if shown else np.array([data.features.total_bounds])
    x0, y0 = bounds[:, 0].min(), bounds[:, 1].min()
    x1, y1 = bounds[:, 2].max(), bounds[:, 3].max()
    pad = max(60.0, 0.08 * max(x1 - x0, y1 - y0))
    x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    gsd = max(x1 - x0, y1 - y0) / MAX_SIDE
    w, h = max(1, round((x1 - x0) / gsd)), max(1, round((y1 - y0) / gsd))
    return Affine(gsd, 0.0, x0, 0.0, -gsd, y1), (h, w)


def answer_image(data: ChatData, ex: Execution) -> np.ndarray:
    """Return the answer drawn over the image (scene, raster) or over a map of the vectors, as (H, W, 3) uint8."""
    from tools.coords import GeoRef

    if data.scene is not None and data.scene.georef is not None:
        base = data.scene.sat
        georef = data.scene.georef

        def to_px(frame: gpd.GeoDataFrame) -> list[BaseGeometry]:
            return [geometry_to_pixels(g, georef) for g in frame.to_crs(georef.crs).geometry]
    else:
        transform, hw = _window([ex.features, ex.references], data)
        base = _vector_map(data, transform, hw)
        grid = GeoRef(crs=data.crs.to_string(), transform=transform)

        def to_px(frame: gpd.GeoDataFrame) -> list[BaseGeometry]:
            return [geometry_to_pixels(g, grid) for g in frame.to_crs(data.crs).geometry]

    img = Image.fromarray(base).convert("RGBA")
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    width = max(2, round(max(img.size) / 400))
    if ex.references is not None and len(ex.references):
        for g in to_px(ex.references):
            _draw(draw, g, REFERENCE_RGB, width)
    for g in to_px(ex.features):
        _draw(draw, g, ANSWER_RGB, width)
    return np.asarray(Image.alpha_composite(img, layer).convert("RGB"))


def _vector_map(data: ChatData, transform: Affine, hw: tuple[int, int]) -> np.ndarray:
    """Render the vectors' base map of a window in the metric CRS (white when the data has no source frame).

    Points of interest are left out of the base (the answer draws its own): labelling thousands of named POIs
    took 6 of the 7 s of a Helsinki-wide map on this machine.
    """
    if data.vectors is None:
        return np.full((*hw, 3), 255, np.uint8)
    from tools.map_from_vectors import render_window_map
    from tools.vector_window import layers_for_window

    crs = data.crs.to_string()
    base = [f for f in layers_for_window(data.vectors, transform, crs, hw) if f.kind != "poi"]
    return render_window_map(data.vectors, transform, crs, hw, layers=base)
