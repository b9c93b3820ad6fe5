"""Vector layers of a SynthCity tile, as a real map source would give them (never the truth outlines).

- POIs are points (``kind="poi"``) with ``name``, ``class`` and ``function``; about 10% of places have none and
  about 12% sit tens of metres off (possibly outside their site). Shops, cafes, bus stops and the like are
  POIs with no class.
- Roads are centrelines (``kind="road"``) with ``road_class`` and ``width_m``; railways are ``kind="other"``
  with ``railway="rail"``.
- Land-use fills (``kind="landuse"``) exist for some classes only, shrunk, jittered and sometimes chamfered,
  so they never follow the site boundary; unnamed lawns and ponds are land use with no class.

Geometries are in image pixels; `to_geojson` writes them in the scene CRS.
"""

from __future__ import annotations

import json

import numpy as np
from shapely import make_valid
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box, mapping

from evals.synthcity.drawing import rect
from evals.synthcity.layout import CityLayout
from evals.synthcity.names import NameGenerator
from tools.coords import GeoRef, geometry_to_crs
from tools.scene import LayerFeature
from tools.taxonomy import CLASSES

P_POI_MISSING = 0.10
P_POI_OFFSET = 0.12
P_LANDUSE = {
    "school": 0.6,
    "university": 0.75,
    "kindergarten": 0.2,
    "hospital": 0.55,
    "clinic": 0.1,
    "park": 0.9,
    "zoo": 0.8,
    "stadium": 0.6,
    "shopping_mall": 0.35,
    "office_park": 0.35,
    "residential_compound": 0.5,
    "factory": 0.4,
    "warehouse": 0.3,
    "railway_station": 0.6,
    "parking_lot": 0.4,
    "water_works": 0.5,
    "cemetery": 0.8,
}
"""Probability that a place of each class has a land-use fill on the map."""


def site_polygon(lay: CityLayout, k: int) -> np.ndarray:
    """Return the (4, 2) footprint of site k in image pixels."""
    return lay.px(rect(*lay.sites[k].rect))


def _landuse(lay: CityLayout, k: int, rng: np.random.Generator) -> Polygon | None:
    u0, v0, u1, v1 = lay.sites[k].rect
    s = rng.uniform(1.0, 8.0, 4)
    u0, v0, u1, v1 = u0 + s[0], v0 + s[1], u1 - s[2], v1 - s[3]
    if u1 - u0 < 8 or v1 - v0 < 8:
        return None
    pts = rect(u0, v0, u1, v1)
    if rng.random() < 0.35:  # a chamfered corner, as hand-digitised outlines often have
        i = int(rng.integers(4))
        c, prev, nxt = pts[i], pts[i - 1], pts[(i + 1) % 4]
        cut = rng.uniform(0.1, 0.3)
        pts = np.insert(np.delete(pts, i, 0), i, [c + (prev - c) * cut, c + (nxt - c) * cut], 0)
    pts = pts + rng.normal(0, 2.5, pts.shape) + rng.normal(0, 3.0, 2)
    return _valid(Polygon(lay.px(pts)))


def _valid(poly: Polygon) -> Polygon | MultiPolygon:
    """Return a valid polygonal version of a hand-made polygon (jitter can make it cross itself)."""
    if poly.is_valid:
        return poly
    fixed = make_valid(poly)
    parts = [g for g in getattr(fixed, "geoms", [fixed]) if isinstance(g, Polygon) and g.area > 0]
    return max(parts, key=lambda g: g.area) if parts else Polygon()


def build_layers(
    lay: CityLayout,
    names: list[str],
    keep_poi: set[int],
    rng: np.random.Generator,
    namegen: NameGenerator,
    shop_area_km2: float | None = None,
) -> list[LayerFeature]:
    """Build the map layers of a tile in image pixels.

    Args:
        lay: the layout.
        names: one name per site.
        keep_poi: sites whose POI must be shown (name-level targets): never missing, moved into the tile.
        rng: random stream for omissions, offsets and jitter.
        namegen: name source for roads' and shops' names already drawn, and for shop POIs.
        shop_area_km2: the area the layout's shop points come from (default: the whole tile); a city block
            (`evals.synthcity.city`) passes its own.
    """
    size = lay.size
    tile = box(0, 0, size, size)
    feats: list[LayerFeature] = []
    for k, site in enumerate(lay.sites):
        cls = site.cls
        function = CLASSES[cls].function
        footprint = Polygon(site_polygon(lay, k)).intersection(tile)
        if rng.random() < P_LANDUSE[cls]:
            lu = _landuse(lay, k, rng)
            lu = lu.intersection(tile) if lu is not None else None
            if lu is not None and not lu.is_empty and lu.area > 50:
                feats.append(LayerFeature(f"lu-{k + 1}", "landuse", lu, None, cls, function, {"landuse": cls}))
        must = k in keep_poi
        if not must and rng.random() < P_POI_MISSING:
            continue
        xy = lay.px(site.anchor)
        if rng.random() < P_POI_OFFSET:
            ang, dist = rng.uniform(0, 2 * np.pi), rng.uniform(20, 60) / lay.gsd
            xy = xy + dist * np.array([np.cos(ang), np.sin(ang)])
        pt = Point(xy)
        if not tile.buffer(-4).contains(pt):
            if not must and rng.random() < 0.5:
                continue
            inner = footprint.buffer(-3)
            pt = (inner if not inner.is_empty else footprint).representative_point()
            if pt.is_empty:  # the site lies outside the tile (small tiles): no point to show
                continue
        feats.append(LayerFeature(f"poi-{k + 1}", "poi", pt, names[k], cls, function, {}))
    for i, (poly, kind) in enumerate(lay.greens):
        g = _valid(Polygon(lay.px(poly))).intersection(tile)
        if not g.is_empty and g.area > 80:
            feats.append(LayerFeature(f"green-{i}", "landuse", g, None, None, None, {"landuse": kind}))
    for i, r in enumerate(lay.roads):
        ln = LineString(lay.px(np.array([r.p0, r.p1]))).intersection(tile)
        if ln.is_empty or ln.length < 2:
            continue
        if r.road_class == "rail":
            feats.append(
                LayerFeature(f"rail-{i}", "other", ln, None, None, None, {"railway": "rail", "tracks": r.tracks})
            )
        else:
            props = {"road_class": r.road_class, "width_m": round(r.width, 2)}
            feats.append(LayerFeature(f"road-{i}", "road", ln, r.name, None, None, props))
    feats += _shop_pois(lay, rng, namegen, tile, shop_area_km2)
    return feats


def _shop_pois(
    lay: CityLayout, rng: np.random.Generator, namegen: NameGenerator, tile: Polygon, area_km2: float | None = None
) -> list[LayerFeature]:
    if area_km2 is None:
        area_km2 = (lay.size * lay.gsd) ** 2 / 1e6
    n = int(rng.poisson(45 * area_km2))
    pts = [lay.px(p) for p in lay.shop_points]
    pts = [p for p in pts if 6 < p[0] < lay.size - 6 and 6 < p[1] < lay.size - 6]
    out = []
    for j in rng.permutation(len(pts))[:n]:
        name, cat = namegen.clutter_poi()
        out.append(LayerFeature(f"shop-{len(out)}", "poi", Point(pts[int(j)]), name, None, None, {"category": cat}))
    return out


def to_geojson(feats: list[LayerFeature], georef: GeoRef) -> dict:
    """Return the layers as a GeoJSON FeatureCollection in the georef's CRS, with a ``crs`` member."""
    epsg = georef.crs.split(":")[-1]
    out = []
    for f in feats:
        props: dict = {"id": f.id, "kind": f.kind, "name": f.name, "class": f.cls, "function": f.function}
        props.update(f.props)
        out.append({"type": "Feature", "properties": props, "geometry": mapping(geometry_to_crs(f.geometry, georef))})
    return {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{epsg}"}},
        "features": json.loads(json.dumps(out)),
    }
