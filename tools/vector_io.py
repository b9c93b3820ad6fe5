"""Masks to polygons, and polygons out as GeoJSON (scene CRS or RFC 7946 lon/lat) and GeoPackage, with provenance."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from shapely.geometry import Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry

from tools.coords import GeoRef, geometry_to_crs


def mask_polygons(mask: np.ndarray, min_area_px: float = 4.0, simplify_px: float = 0.0) -> list[Polygon]:
    """Return the polygons of a boolean mask, in image pixels (pixel-edge outlines, holes kept).

    Args:
        mask: (H, W) bool.
        min_area_px: drop polygons smaller than this many square pixels.
        simplify_px: Douglas-Peucker tolerance in pixels (0 keeps the exact staircase outline).
    """
    from affine import Affine
    from rasterio.features import shapes

    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return []
    y0, x0 = int(rows[0]), int(cols[0])
    m = np.ascontiguousarray(mask[y0 : rows[-1] + 1, x0 : cols[-1] + 1], dtype=np.uint8)  # the mask's bounding box
    polys = []
    # 4-connectivity: pixels touching only at a corner become separate polygons, so no ring self-intersects
    for geom, value in shapes(m, mask=m.astype(bool), connectivity=4, transform=Affine.translation(x0, y0)):
        if value != 1:
            continue
        poly = shape(geom)
        if simplify_px > 0:
            poly = poly.simplify(simplify_px, preserve_topology=True)
        if poly.area >= min_area_px:
            polys.append(poly)
    return sorted(polys, key=lambda p: (-p.area, p.bounds))


def instances_geojson(
    polygons: list[BaseGeometry], properties: list[dict[str, Any]], georef: GeoRef | None
) -> dict[str, Any]:
    """Return a FeatureCollection of instance polygons, in the scene CRS when georeferenced, else pixels.

    The ``crs`` member names the CRS (GeoJSON 2008 style, which GDAL reads) so projected coordinates are
    never mistaken for WGS84; without georeferencing, coordinates are image pixels and ``crs`` is absent.
    """
    feats = []
    for geom, props in zip(polygons, properties, strict=True):
        g = geometry_to_crs(geom, georef) if georef is not None else geom
        feats.append({"type": "Feature", "properties": props, "geometry": mapping(g)})
    fc: dict[str, Any] = {"type": "FeatureCollection", "features": feats}
    if georef is not None:
        fc["crs"] = {"type": "name", "properties": {"name": georef.crs}}
    return fc


def write_gpkg(
    path: str | Path, records: list[dict[str, Any]], geoms: list[BaseGeometry], crs: str, layer: str = "instances"
) -> Path:
    """Write geometries with their fields as one GeoPackage layer in ``crs``, atomically.

    The file is written under a temporary name beside ``path`` and renamed into place, so a reader never sees
    half a GeoPackage. An empty list writes an empty layer.
    """
    import geopandas as gpd

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.stem}.tmp{p.suffix}")  # GDAL wants the .gpkg extension
    tmp.unlink(missing_ok=True)
    gdf = (
        gpd.GeoDataFrame(records, geometry=list(geoms), crs=crs)
        if records
        else gpd.GeoDataFrame({"query": []}, geometry=[], crs=crs)
    )
    try:
        gdf.to_file(tmp, driver="GPKG", layer=layer, engine="pyogrio")
        os.replace(tmp, p)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return p


def instances_geojson_lonlat(records: list[dict[str, Any]], geoms: list[BaseGeometry], crs: str) -> dict[str, Any]:
    """Return instance polygons as an RFC 7946 FeatureCollection: reprojected to lon/lat (WGS 84), no ``crs`` member."""
    import geopandas as gpd

    if not records:
        return {"type": "FeatureCollection", "features": []}
    gdf = gpd.GeoDataFrame(records, geometry=list(geoms), crs=crs).to_crs("EPSG:4326")
    return json.loads(gdf.to_json(drop_id=True))
