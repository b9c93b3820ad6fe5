"""The socio-class and socio-function taxonomy: one table for the generator, the query reader and the map.

A *socio-class* is a kind of place (``school``); a *socio-function* groups classes by what they are for
(``education``). Every class belongs to exactly one function. Keys are snake_case and stable: they are
written into datasets and results.

>>> CLASSES["school"].function
'education'
>>> sorted(c.key for c in classes_of("healthcare"))
['clinic', 'hospital']

Reading queries against this table (synonyms, plurals) is `tools.query`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SocioFunction:
    """A socio-function: what a group of places is for."""

    key: str
    label: str
    synonyms: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class SocioClass:
    """A socio-class: a kind of place, with the words people use for it and its OSM tags."""

    key: str
    label: str
    function: str
    synonyms: tuple[str, ...]
    description: str
    osm_tags: tuple[tuple[str, str], ...] = field(default_factory=tuple)


FUNCTIONS: dict[str, SocioFunction] = {
    f.key: f
    for f in [
        SocioFunction(
            "education",
            "places for education",
            ("education", "learning", "study", "teaching"),
            "places where people learn and study: schools, universities, kindergartens",
        ),
        SocioFunction(
            "healthcare",
            "places for healthcare",
            ("healthcare", "health care", "medical", "health"),
            "places where sick or injured people get medical care",
        ),
        SocioFunction(
            "recreation",
            "places for green space and recreation",
            ("recreation", "green space", "greenspace", "leisure", "sport", "sports", "outdoor"),
            "parks, green spaces, sports grounds and places to spend free time outdoors",
        ),
        SocioFunction(
            "commerce",
            "places for shopping and commerce",
            ("commerce", "commercial", "shopping", "retail", "business"),
            "places where goods are sold and business is done: malls, office parks",
        ),
        SocioFunction(
            "residential",
            "places for living",
            ("residential", "housing", "living", "homes"),
            "places where people live: housing estates and residential compounds",
        ),
        SocioFunction(
            "industry",
            "places for industry and logistics",
            ("industry", "industrial", "manufacturing", "logistics"),
            "places where goods are made or stored: factories, warehouses",
        ),
        SocioFunction(
            "transport",
            "places for transport",
            ("transport", "transportation", "transit", "travel"),
            "places for travelling and vehicles: stations, parking",
        ),
        SocioFunction(
            "utilities",
            "places for public utilities",
            ("utilities", "utility", "infrastructure"),
            "infrastructure that supplies water or power to the city",
        ),
        SocioFunction(
            "civic",
            "places for civic and funeral services",
            ("civic", "funeral", "burial", "memorial"),
            "civic places such as cemeteries and memorial grounds",
        ),
    ]
}

CLASSES: dict[str, SocioClass] = {
    c.key: c
    for c in [
        SocioClass(
            "school",
            "school",
            "education",
            (
                "school",
                "primary school",
                "secondary school",
                "high school",
                "middle school",
                "elementary school",
            ),
            "a school campus with classroom buildings, a running track and a sports pitch",
            (("amenity", "school"),),
        ),
        SocioClass(
            "university",
            "university",
            "education",
            ("university", "college", "campus", "institute"),
            "a large university campus with many buildings, lawns and sports grounds",
            (("amenity", "university"), ("amenity", "college")),
        ),
        SocioClass(
            "kindergarten",
            "kindergarten",
            "education",
            ("kindergarten", "nursery", "preschool", "daycare"),
            "a small kindergarten with a playground",
            (("amenity", "kindergarten"),),
        ),
        SocioClass(
            "hospital",
            "hospital",
            "healthcare",
            ("hospital", "medical center", "medical centre", "emergency room", "er"),
            "a large hospital complex with wards, parking and a helipad",
            (("amenity", "hospital"),),
        ),
        SocioClass(
            "clinic",
            "clinic",
            "healthcare",
            ("clinic", "health centre", "health center", "doctors", "surgery"),
            "a small clinic or health centre",
            (("amenity", "clinic"), ("amenity", "doctors")),
        ),
        SocioClass(
            "park",
            "park",
            "recreation",
            ("park", "garden", "greenspace", "green space", "public garden"),
            "a park with grass, trees, paths and a pond",
            (("leisure", "park"),),
        ),
        SocioClass(
            "zoo",
            "zoo",
            "recreation",
            ("zoo", "zoological garden", "animal park"),
            "a zoo with animal enclosures, paths and ponds",
            (("tourism", "zoo"),),
        ),
        SocioClass(
            "stadium",
            "stadium",
            "recreation",
            ("stadium", "arena", "sports ground", "sports centre"),
            "a stadium: a large oval stand around a pitch",
            (("leisure", "stadium"),),
        ),
        SocioClass(
            "shopping_mall",
            "shopping mall",
            "commerce",
            ("shopping mall", "mall", "shopping centre", "shopping center", "plaza"),
            "a shopping mall: one very large roof surrounded by parking",
            (("shop", "mall"),),
        ),
        SocioClass(
            "office_park",
            "office park",
            "commerce",
            ("office park", "business park", "office", "offices", "business office building"),
            "an office park with tall office buildings and parking",
            (("landuse", "commercial"), ("office", "company")),
        ),
        SocioClass(
            "residential_compound",
            "residential compound",
            "residential",
            (
                "residential compound",
                "housing estate",
                "residential area",
                "apartment complex",
                "neighbourhood",
                "neighborhood",
            ),
            "a residential compound of regular apartment blocks with courtyards",
            (("landuse", "residential"),),
        ),
        SocioClass(
            "factory",
            "factory",
            "industry",
            ("factory", "plant", "works", "manufacturing plant", "mill"),
            "a factory with large sheds, chimneys and yards",
            (("man_made", "works"), ("landuse", "industrial")),
        ),
        SocioClass(
            "warehouse",
            "warehouse",
            "industry",
            (
                "warehouse",
                "logistics centre",
                "logistics center",
                "depot",
                "distribution centre",
                "express delivery",
            ),
            "a logistics warehouse with long roofs and loading docks",
            (("building", "warehouse"),),
        ),
        SocioClass(
            "railway_station",
            "railway station",
            "transport",
            ("railway station", "train station", "station", "railway"),
            "a railway station with platforms beside the tracks",
            (("railway", "station"),),
        ),
        SocioClass(
            "parking_lot",
            "parking lot",
            "transport",
            ("parking lot", "parking", "car park", "carpark"),
            "a paved parking lot with rows of cars",
            (("amenity", "parking"),),
        ),
        SocioClass(
            "water_works",
            "water works",
            "utilities",
            ("water works", "waterworks", "water treatment plant", "sewage plant", "wastewater plant"),
            "a water treatment plant with round basins",
            (("man_made", "wastewater_plant"), ("man_made", "water_works")),
        ),
        SocioClass(
            "cemetery",
            "cemetery",
            "civic",
            ("cemetery", "graveyard", "burial ground"),
            "a cemetery with rows of graves and trees",
            (("landuse", "cemetery"), ("amenity", "grave_yard")),
        ),
    ]
}


def classes_of(function: str) -> list[SocioClass]:
    """Return the classes that serve a function."""
    return [c for c in CLASSES.values() if c.function == function]


def class_for_osm(tags: dict[str, str]) -> str | None:
    """Return the class key for a feature's OSM tags, or None when no class claims them."""
    for c in CLASSES.values():
        for k, v in c.osm_tags:
            if tags.get(k) == v:
                return c.key
    return None
