"""Read what OSM tags say beyond a feature's class: its kind, whether a closed way is an area, how to draw a road.

The class comes from the taxonomy's one tag table (`tools.taxonomy.class_for_osm`); this module answers the
map's questions, from the tags (and the geometry type) alone:

>>> feature_kind({"highway": "residential"}, "LineString"), feature_kind({"building": "yes"}, "Polygon")
('road', 'building')
>>> feature_kind({"natural": "water"}, "MultiPolygon"), feature_kind({"amenity": "cafe"}, "Point")
('water', 'poi')
>>> is_area({"highway": "residential"}), is_area({"leisure": "park"}), is_area({"area": "yes", "highway": "x"})
(False, True, True)
>>> road_render_props({"highway": "primary"})
{'road_class': 'arterial', 'width_m': 16.0}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

Kind = Literal["poi", "landuse", "road", "building", "water", "other"]
"""What a map feature is drawn as: a point of interest, a land-use fill, a road, a building, water, other."""

KINDS: tuple[str, ...] = ("poi", "landuse", "road", "building", "water", "other")

ROAD_WIDTHS_M: dict[str, float] = {
    "motorway": 24.0, "trunk": 20.0, "primary": 16.0, "secondary": 13.0, "tertiary": 11.0,
    "motorway_link": 9.0, "trunk_link": 9.0, "primary_link": 9.0, "secondary_link": 8.0, "tertiary_link": 8.0,
    "unclassified": 7.0, "residential": 7.0, "living_street": 6.0, "busway": 7.0, "road": 7.0,
    "service": 4.5, "pedestrian": 5.0, "track": 3.5, "cycleway": 2.5, "footway": 2.0, "path": 1.5,
    "bridleway": 2.0, "steps": 2.0,
}  # fmt: skip
"""The ``highway=*`` values drawn as roads, with a typical carriageway width in metres (a ``width`` tag wins)."""

ROAD_CLASSES: dict[str, str] = {
    "motorway": "arterial", "trunk": "arterial", "primary": "arterial", "motorway_link": "arterial",
    "trunk_link": "arterial", "primary_link": "arterial", "secondary": "collector", "tertiary": "collector",
    "secondary_link": "collector", "tertiary_link": "collector",
}  # fmt: skip
"""The renderer's road class of each ``highway=*`` value; every other road value is ``local``."""

AREA_KEYS: frozenset[str] = frozenset((
    "building", "landuse", "amenity", "leisure", "shop", "tourism", "healthcare", "office", "historic", "military",
    "place", "craft", "emergency", "aeroway", "power", "man_made", "natural", "public_transport", "railway",
    "waterway", "sport", "boundary",
))  # fmt: skip
"""Keys that make a closed way an area (unless `LINEAR_VALUES` says its value is a line, or ``area=no``)."""

LINEAR_VALUES: dict[str, frozenset[str]] = {
    "natural": frozenset(("coastline", "cliff", "ridge", "arete", "tree_row", "valley", "earth_bank")),
    "man_made": frozenset(("embankment", "cutline", "pipeline", "breakwater", "groyne", "dyke")),
    "waterway": frozenset(("river", "stream", "canal", "ditch", "drain", "weir", "dam")),
    "railway": frozenset(("rail", "tram", "subway", "light_rail", "narrow_gauge", "abandoned", "disused")),
    "aeroway": frozenset(("runway", "taxiway")),
    "power": frozenset(("line", "minor_line", "cable")),
    "boundary": frozenset(("administrative", "political", "postal_code", "census")),
    "leisure": frozenset(("track",)),
    "historic": frozenset(("citywalls",)),
}
"""Values of area keys that are lines even on a closed way (a closed ``leisure=track`` is a running track)."""

_WATER_NATURAL = frozenset(("water", "bay", "strait", "coastline"))
_WATER_LANDUSE = frozenset(("reservoir", "basin", "water"))
_WATERWAY_AREAS = frozenset(("riverbank", "dock", "boatyard"))


def is_area(tags: Mapping[str, str]) -> bool:
    """Return whether a closed way with these tags is an area (``area=yes`` wins, ``area=no`` loses)."""
    area = tags.get("area")
    if area == "yes":
        return True
    if area == "no":
        return False
    for key in AREA_KEYS:
        value = tags.get(key)
        if value is not None and value != "no" and value not in LINEAR_VALUES.get(key, frozenset()):
            return True
    return False


def is_water(tags: Mapping[str, str]) -> bool:
    """Return whether the tags describe water: a lake, a river, a reservoir, a stream, the sea."""
    return (
        tags.get("natural") in _WATER_NATURAL
        or tags.get("landuse") in _WATER_LANDUSE
        or "waterway" in tags
        or "water" in tags
    )


def feature_kind(tags: Mapping[str, str], geom_type: str) -> Kind:
    """Return a feature's kind from its OSM tags and its geometry type (``Point``, ``LineString``, ...).

    In order: a ``highway=*`` line of `ROAD_WIDTHS_M` is a road; anything with ``building=*`` (not ``no``) a
    building; water tags (`is_water`) water; any other point a POI; any other polygon a land-use fill; the rest
    (railways, barriers, power lines, ...) other.
    """
    lines = geom_type in ("LineString", "MultiLineString")
    if lines and tags.get("highway") in ROAD_WIDTHS_M:
        return "road"
    if tags.get("building", "no") != "no":
        return "building"
    if is_water(tags):
        return "water"
    if geom_type in ("Point", "MultiPoint"):
        return "poi"
    if geom_type in ("Polygon", "MultiPolygon"):
        return "landuse"
    return "other"


def _metres(text: str) -> float | None:
    try:
        value = float(text.strip().removesuffix("m").strip())
    except ValueError:
        return None
    return value if 0.5 <= value <= 100 else None


def road_render_props(tags: Mapping[str, str]) -> dict[str, object]:
    """Return the renderer's ``road_class`` and ``width_m`` for a road's tags (`tools.map_render`)."""
    highway = str(tags.get("highway", "road"))
    width = _metres(str(tags["width"])) if "width" in tags else None
    return {"road_class": ROAD_CLASSES.get(highway, "local"), "width_m": width or ROAD_WIDTHS_M.get(highway, 7.0)}
