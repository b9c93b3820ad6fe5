"""Cut a vector frame (`tools.vectors.read_vectors`) to a raster window: features in the window's pixels.

`layers_for_window` is what a tiled scene calls once per window: it reprojects the frame to the raster's CRS
(once per frame and CRS, cached), finds the features that meet the window through the frame's spatial index,
converts them to pixels and clips them to the window plus a small margin (so roads and fills run to the edge).
Roads get the renderer's ``road_class`` and ``width_m`` (`tools.osm_tags.road_render_props`) unless the frame
already has them.
"""

from __future__ import annotations

import weakref
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from affine import Affine
from pyproj import CRS
from pyproj.exceptions import CRSError
from shapely.geometry import Polygon, box

from tools.coords import GeoRef, geometry_to_pixels
from tools.errors import InputError
from tools.osm_tags import road_render_props
from tools.scene import LayerFeature, layer_feature

CLIP_MARGIN_PX = 16.0
"""Lines and areas are clipped this far outside the window, so casings and fills reach its edge cleanly."""

_projected: dict[int, tuple[weakref.ref, dict[str, gpd.GeoDataFrame]]] = {}


def _crs(crs: Any) -> CRS:
    try:
        return CRS.from_user_input(crs)
    except CRSError as e:
        raise InputError(f"raster CRS {crs!r} is not a CRS pyproj knows ({e}); give e.g. EPSG:32633") from e


def frame_in_crs(gdf: gpd.GeoDataFrame, crs: Any) -> gpd.GeoDataFrame:
    """Return the frame in a CRS, reprojected once per frame and CRS (a tiled scene asks for every window).

    Raises:
        InputError: the frame has no CRS, or ``crs`` is not a CRS.
    """
    target = _crs(crs)
    if gdf.crs is None:
        raise InputError("the vector frame has no CRS; read it with tools.vectors.read_vectors, which sets one")
    if gdf.crs == target:
        return gdf
    hit = _projected.get(id(gdf))
    if hit is None or hit[0]() is not gdf:
        for k in [k for k, (ref, _) in _projected.items() if ref() is None]:
            del _projected[k]
        hit = (weakref.ref(gdf), {})
        _projected[id(gdf)] = hit
    cache = hit[1]
    key = target.to_wkt()
    if key not in cache:
        cache[key] = gdf.to_crs(target)
    return cache[key]


def window_polygon(transform: Affine, hw: tuple[int, int]) -> Polygon:
    """Return a raster window's outline in its CRS (the four pixel corners through the transform)."""
    h, w = hw
    return Polygon([transform @ (0, 0), transform @ (w, 0), transform @ (w, h), transform @ (0, h)])


def layers_for_window(
    gdf: gpd.GeoDataFrame, transform: Affine, crs: Any, hw: tuple[int, int], margin_px: float = CLIP_MARGIN_PX
) -> list[LayerFeature]:
    """Return the frame's features that meet a raster window, in the window's pixels.

    Args:
        gdf: a vector frame (`tools.vectors.read_vectors`).
        transform: the window's affine transform (pixel corner -> CRS), as rasterio gives it.
        crs: the raster's CRS (anything pyproj reads).
        hw: the window's (height, width) in pixels.
        margin_px: lines and areas are clipped to the window grown by this many pixels; points must lie inside.

    Returns:
        Layer features (ids are OSM ids, a file's ``id`` attribute or the row number), in frame order.

    Raises:
        InputError: the window size is not positive, or the CRS is not one.
    """
    h, w = (int(v) for v in hw)
    if h <= 0 or w <= 0:
        raise InputError(f"window size must be positive (height, width) pixels, got {tuple(hw)}")
    frame = frame_in_crs(gdf, crs)
    outline = window_polygon(transform, (h, w))
    rows = sorted(frame.sindex.query(outline, predicate="intersects").tolist())
    clip = box(-margin_px, -margin_px, w + margin_px, h + margin_px)
    inside = box(0, 0, w, h)
    if not rows:
        return []
    records = frame.drop(columns=frame.geometry.name).iloc[rows].to_dict("records")
    georef = GeoRef(crs=_crs(crs).to_string(), transform=transform)
    px = geometry_to_pixels(np.asarray(frame.geometry.values[rows]), georef)  # vectorised: shapely.transform
    points = shapely.get_type_id(px) == shapely.GeometryType.POINT
    kept = np.where(points, shapely.intersects(px, inside), True)
    clipped = np.where(points, px, shapely.intersection(px, clip))
    out: list[LayerFeature] = []
    for i, row, geom, keep in zip(rows, records, clipped, kept, strict=True):
        if not keep or geom.is_empty:
            continue
        feature = layer_feature(i, row, geom)
        if feature.kind == "road":
            feature.props = {**road_render_props(feature.props), **feature.props}
        out.append(feature)
    return out


def require_overlap(gdf: gpd.GeoDataFrame, transform: Affine, crs: Any, hw: tuple[int, int], source: str) -> None:
    """Raise `InputError` when no feature of a vector frame meets a raster (or window); call it once per raster.

    Args:
        gdf: the vector frame.
        transform: the raster's affine transform.
        crs: the raster's CRS.
        hw: the raster's (height, width).
        source: the vector file, named in the message.

    Raises:
        InputError: the frame is empty, or none of its features meets the raster: the message gives both extents
            in lon/lat and the likely fixes.
    """
    frame = frame_in_crs(gdf, crs)
    outline = window_polygon(transform, hw)
    if len(frame) and len(frame.sindex.query(outline, predicate="intersects")):
        return
    raster = gpd.GeoSeries([outline], crs=_crs(crs)).to_crs("EPSG:4326").total_bounds
    vectors = frame.to_crs("EPSG:4326").total_bounds if len(frame) else None
    where = ", ".join(f"{v:.5f}" for v in vectors) if vectors is not None else "no features at all"
    raise InputError(
        f"vector file {source} does not overlap the raster: its features lie at lon/lat {where}, the raster covers "
        f"{', '.join(f'{v:.5f}' for v in raster)}; give vectors of the same area, or check the raster's CRS "
        "(a raster without one cannot be placed on lon/lat vectors)"
    )
