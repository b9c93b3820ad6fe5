"""Write a SynthCity city to a folder: the image, its map layers, its truth places and its settings.

``<out>/city.tif``
    RGB uint8 GeoTIFF (tiled, deflate) in the city's UTM CRS, painted chunk by chunk (`evals.synthcity.city_render`).
``<out>/layers.gpkg`` (layer ``layers``)
    What a map gives, never the truth outlines (as for tiles, `evals.synthcity.layers`): POIs with ``name``,
    ``class``, ``function``; land-use fills for some places (shrunk and jittered), lawns and water; roads with
    ``road_class`` and ``width_m``; shop POIs with a ``category``. Every feature has ``kind`` and ``id``.
``<out>/truth.gpkg`` (layer ``truth``)
    Every place: ``id``, ``name``, ``class``, ``function``, ``area_px`` and its site polygon, clipped to the city.
``<out>/city.json``
    Seed, size, ground resolution, CRS, transform, generator version and counts.

Every file is written under a temporary name and renamed into place.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shapely.geometry import LineString, Polygon, box

from evals.synthcity.city import CityPlan, _stream, site_rect_px
from evals.synthcity.layers import build_layers
from evals.synthcity.names import NameGenerator
from evals.synthcity.sample import GENERATOR_VERSION, MIN_VISIBLE_PX
from tools.coords import GeoRef, geometry_to_crs
from tools.errors import InputError
from tools.files import atomic_write_bytes
from tools.scene import LayerFeature
from tools.taxonomy import CLASSES
from tools.vector_io import write_gpkg

CITY_MIN_SIZE = 256
CITY_MAX_SIZE = 60_000

LAYER_FIELDS = ("id", "kind", "name", "class", "function", "road_class", "width_m", "landuse", "category")
"""The columns of layers.gpkg."""


@dataclass
class CityReport:
    """What `write_city` wrote."""

    root: Path
    size: int
    places: int
    features: int
    seconds: float


def city_features(city: CityPlan) -> tuple[list[LayerFeature], list[dict[str, Any]]]:
    """Build the city's map layers (city pixels) and its truth places (site polygons in city pixels).

    Blocks are visited in order with one city-wide name source, so names are unique in the city.
    """
    names = NameGenerator(_stream(city.seed, 6))
    frame = box(0, 0, city.size, city.size)
    feats: list[LayerFeature] = []
    truth: list[dict[str, Any]] = []
    for key, road in city.major_roads:
        ln = LineString([road.p0 / city.gsd, road.p1 / city.gsd]).intersection(frame)
        if not ln.is_empty and ln.length >= 2:
            props = {"road_class": road.road_class, "width_m": round(road.width, 2)}
            feats.append(LayerFeature(f"major-{key[0]}-{key[1]}-{key[2]}", "road", ln, road.name, None, None, props))
    for blk in city.blocks:
        content = city.block(blk, names=names)
        lay = content.layout
        site_names = [names.place(s.cls) for s in lay.sites]
        u0, v0, u1, v1 = blk.rect
        area_km2 = (u1 - u0) * (v1 - v0) / 1e6
        rng = _stream(city.seed, 9, blk.row, blk.col)
        prefix = f"b{blk.row}-{blk.col}-"
        for f in build_layers(lay, site_names, set(), rng, names, shop_area_km2=area_km2):
            f.id = prefix + f.id
            feats.append(f)
        for k, site in enumerate(lay.sites):
            poly = Polygon(site_rect_px(site, city.gsd)).intersection(frame)
            if poly.area < MIN_VISIBLE_PX:
                continue
            truth.append({"id": f"{prefix}place-{k + 1}", "name": site_names[k], "class": site.cls,
                          "function": CLASSES[site.cls].function, "area_px": round(poly.area, 1),
                          "geometry": poly})  # fmt: skip
    return feats, truth


def check_city_args(seed: int, size: int, gsd: float) -> None:
    """Raise `InputError` naming the flag when a city argument is out of range."""
    if seed < 0:
        raise InputError(f"--seed must be a non-negative integer, got {seed}")
    if not CITY_MIN_SIZE <= size <= CITY_MAX_SIZE:
        raise InputError(f"--size must be between {CITY_MIN_SIZE} and {CITY_MAX_SIZE} pixels for --city, got {size}")
    if not 0.1 <= gsd <= 5.0:
        raise InputError(f"--gsd must be between 0.1 and 5 metres per pixel, got {gsd}; SocioSeg-like imagery is 0.6")


def write_city(
    out: str | Path,
    seed: int = 0,
    size: int = 8192,
    gsd: float = 0.6,
    on_chunk: Callable[[int, int], None] | None = None,
) -> CityReport:
    """Generate a city; write city.tif, layers.gpkg, truth.gpkg and city.json under ``out`` (see the module docstring).

    Raises:
        InputError: an argument is out of range.
    """
    from evals.synthcity.city_render import write_city_geotiff

    check_city_args(seed, size, gsd)
    t0 = time.perf_counter()
    root = Path(out)
    city = CityPlan(seed=seed, size=size, gsd=gsd)
    georef = GeoRef(city.crs, city.transform)
    feats, truth = city_features(city)
    layer_rows = []
    for f in feats:
        row = {"id": f.id, "kind": f.kind, "name": f.name, "class": f.cls, "function": f.function}
        row.update({k: f.props.get(k) for k in LAYER_FIELDS if k not in row})
        layer_rows.append(row)
    layer_geoms = [geometry_to_crs(f.geometry, georef) for f in feats]
    truth_rows = [{k: v for k, v in t.items() if k != "geometry"} for t in truth]
    truth_geoms = [geometry_to_crs(t["geometry"], georef) for t in truth]
    write_gpkg(root / "layers.gpkg", layer_rows, layer_geoms, city.crs, layer="layers")
    write_gpkg(root / "truth.gpkg", truth_rows, truth_geoms, city.crs, layer="truth")
    write_city_geotiff(city, root / "city.tif", on_chunk)
    t = city.transform
    settings = {"generator_version": GENERATOR_VERSION, "kind": "city", "seed": seed, "size": size, "gsd": gsd,
                "crs": city.crs, "transform": [t.a, t.b, t.c, t.d, t.e, t.f], "season": city.season,
                "blocks": len(city.blocks), "places": len(truth), "features": len(feats)}  # fmt: skip
    atomic_write_bytes(root / "city.json", json.dumps(settings, indent=2).encode())
    return CityReport(root, size, len(truth), len(feats), time.perf_counter() - t0)
