"""The socio-class and socio-function taxonomy: one table for the generator, the query reader and the map.

A *socio-class* is a kind of place (``school``); a *socio-function* groups classes by what they are for
(``education``). Every class belongs to exactly one function, and may be a kind of a broader class
(``bakery`` is a kind of ``shop``). Keys are snake_case and stable: they are written into datasets and results.

`CLASSES` is the one table: SynthCity's 17 core classes first (`tools.taxonomy.core`, their words fixed), then
OSM's common vocabulary (`tools.taxonomy.osm_places`, `osm_shops`, `osm_land`): about 300 of the most used
values of amenity, leisure, landuse, shop, tourism, healthcare, public_transport, building and a few other keys,
each with a natural-language name and synonyms. Every OSM tag belongs to at most one class; `class_for_osm`
reads a feature's tags in `OSM_KEY_ORDER`, so ``amenity=school`` + ``building=yes`` is a school.

>>> CLASSES["school"].function
'education'
>>> {"hospital", "clinic", "pharmacy"} <= {c.key for c in classes_of("healthcare")}
True
>>> class_for_osm({"building": "yes"}), class_for_osm({"leisure": "pitch", "sport": "soccer"})
('building', 'pitch')
>>> sorted(class_members("house"))
['bungalow', 'detached_house', 'farmhouse', 'house', 'semidetached_house', 'terraced_house']

Reading queries against this table (synonyms, plurals) is `tools.query`'s job.
"""

from __future__ import annotations

from functools import cache, lru_cache

from tools.taxonomy.core import CORE_CLASSES
from tools.taxonomy.functions import FUNCTIONS
from tools.taxonomy.model import SocioClass, SocioFunction
from tools.taxonomy.osm_land import OSM_LAND_CLASSES
from tools.taxonomy.osm_places import OSM_PLACE_CLASSES
from tools.taxonomy.osm_shops import OSM_SHOP_CLASSES

__all__ = [
    "CLASSES",
    "FUNCTIONS",
    "KIND_CLASSES",
    "OSM_KEY_ORDER",
    "SocioClass",
    "SocioFunction",
    "class_for_osm",
    "class_members",
    "classes_of",
    "matches_class",
    "osm_tag_table",
]


def _index(classes: tuple[SocioClass, ...]) -> dict[str, SocioClass]:
    out: dict[str, SocioClass] = {}
    for c in classes:
        if c.key in out:
            raise ValueError(f"taxonomy: class key {c.key!r} is defined twice")
        if c.function not in FUNCTIONS:
            raise ValueError(f"taxonomy: class {c.key!r} names an unknown function {c.function!r}")
        out[c.key] = c
    for c in out.values():
        if c.parent is not None and c.parent not in out:
            raise ValueError(f"taxonomy: class {c.key!r} names an unknown parent {c.parent!r}")
    return out


CLASSES: dict[str, SocioClass] = _index(CORE_CLASSES + OSM_PLACE_CLASSES + OSM_SHOP_CLASSES + OSM_LAND_CLASSES)
"""Every socio-class by key: SynthCity's 17 first, in their fixed order, then OSM's vocabulary."""

OSM_KEY_ORDER: tuple[str, ...] = (
    "amenity", "healthcare", "emergency", "shop", "tourism", "leisure", "office", "historic", "railway",
    "public_transport", "highway", "aeroway", "power", "man_made", "military", "boundary", "landuse", "natural",
    "waterway", "place", "building",
)  # fmt: skip
"""The order in which `class_for_osm` reads a feature's keys: what a place is used for before what it is built as."""

KIND_CLASSES: dict[str, str] = {"building": "building"}
"""Classes that a query for them also finds by a feature's kind: every feature of kind ``building`` is a building."""


@lru_cache(maxsize=1)
def osm_tag_table() -> dict[tuple[str, str], str]:
    """Return the one OSM tag -> class table: ``{(key, value): class key}``.

    Raises:
        ValueError: two classes claim one tag, or a class's tag has a key outside `OSM_KEY_ORDER` (bugs in
            the taxonomy, caught by its tests).
    """
    table: dict[tuple[str, str], str] = {}
    for c in CLASSES.values():
        for tag in c.osm_tags:
            if tag[0] not in OSM_KEY_ORDER:
                raise ValueError(f"taxonomy: class {c.key!r} has tag {tag} whose key is not in OSM_KEY_ORDER")
            if tag in table:
                raise ValueError(f"taxonomy: tag {tag[0]}={tag[1]} is claimed by both {table[tag]!r} and {c.key!r}")
            table[tag] = c.key
    return table


def classes_of(function: str) -> list[SocioClass]:
    """Return the classes that serve a function."""
    return [c for c in CLASSES.values() if c.function == function]


def class_for_osm(tags: dict[str, str]) -> str | None:
    """Return the class key for a feature's OSM tags, or None when no class claims them.

    Keys are read in `OSM_KEY_ORDER`; the first tag that the table holds decides.
    """
    table = osm_tag_table()
    for key in OSM_KEY_ORDER:
        value = tags.get(key)
        if value is not None:
            hit = table.get((key, str(value)))
            if hit is not None:
                return hit
    return None


@cache
def class_members(key: str) -> frozenset[str]:
    """Return a class and every class that is a kind of it, at any depth (``shop`` -> every shop class)."""
    out = {key}
    grew = True
    while grew:
        more = {c.key for c in CLASSES.values() if c.parent in out} - out
        out |= more
        grew = bool(more)
    return frozenset(out)


def matches_class(target: str, cls: str | None, kind: str | None = None) -> bool:
    """Return whether a feature of class ``cls`` and kind ``kind`` is a ``target`` (a member, or by `KIND_CLASSES`)."""
    if cls is not None and cls in class_members(target):
        return True
    return kind is not None and KIND_CLASSES.get(kind) == target
