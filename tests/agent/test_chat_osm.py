"""Chat questions on the Helsinki and Kotka extracts, checked against a geopandas reference.

The reference reads the raw OSM tags with GDAL's OSM driver (`tests.fixtures.osm_reference`, not our reader),
picks each class by a hand-written tag test, and computes every relation with geopandas in the data's UTM zone
(``GeoSeries.distance`` / ``covers`` / ``intersects``, a feature never related to itself). Features only our
reader has (ways cut by the extract's edge, which GDAL cannot draw: 3 % of Helsinki's classed features) are
taken out of our loaded data before asking, so both sides answer over the same features.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest

from agent.chat import ask, load_data
from tests.fixtures.osm_reference import reference_frame

DATA = Path(__file__).resolve().parents[1] / "data" / "osm"
PATHS = {"helsinki": DATA / "helsinki.osm.pbf", "kotka": DATA / "kotka.osm.pbf"}

TAGS: dict[str, tuple[tuple[str, str], ...]] = {
    "park": (("leisure", "park"),), "playground": (("leisure", "playground"),), "cafe": (("amenity", "cafe"),),
    "restaurant": (("amenity", "restaurant"),), "pharmacy": (("amenity", "pharmacy"),),
    "university": (("amenity", "university"), ("amenity", "college")), "library": (("amenity", "library"),),
    "school": (("amenity", "school"),), "hotel": (("tourism", "hotel"),), "bench": (("amenity", "bench"),),
    "bar": (("amenity", "bar"),), "pub": (("amenity", "pub"),), "fast_food": (("amenity", "fast_food"),),
    "theatre": (("amenity", "theatre"),), "museum": (("tourism", "museum"),), "bank": (("amenity", "bank"),),
    "pitch": (("leisure", "pitch"),), "hospital": (("amenity", "hospital"), ("healthcare", "hospital")),
    "bus_stop": (("highway", "bus_stop"),), "parking": (("amenity", "parking"),), "fuel": (("amenity", "fuel"),),
    "cemetery": (("landuse", "cemetery"),),
}  # fmt: skip
"""Each class the questions name, as the raw tags that make a feature one (written here, not from our table)."""


class Ref:
    """The reference: GDAL's features of one extract in its UTM zone, indexed by OSM id."""

    def __init__(self, path: Path) -> None:
        g = reference_frame(path)
        self.g = g.to_crs(g.estimate_utm_crs()).set_index("osm_id", drop=False)

    def of(self, cls: str) -> gpd.GeoDataFrame:
        pairs = TAGS[cls]
        return self.g[[any(t.get(k) == v for k, v in pairs) for t in self.g["tags"]]]

    def named(self, name: str) -> gpd.GeoDataFrame:
        return self.g[[t.get("name") == name for t in self.g["tags"]]]


def dist(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> np.ndarray:
    """Each feature of a to the nearest other feature of b, in metres (inf with none)."""
    out = []
    for i, g in zip(a.index, a.geometry, strict=True):
        others = b[b.index != i]
        out.append(float(others.geometry.distance(g).min()) if len(others) else np.inf)
    return np.array(out)


def within(a, b, d):
    return a[dist(a, b) <= d]


def beyond(a, b, d):
    return a[dist(a, b) > d]


def inside(a, b):
    return a[[bool(b[b.index != i].geometry.covers(g).any()) for i, g in zip(a.index, a.geometry, strict=True)]]


def meets(a, b):
    return np.array([bool(b[b.index != i].geometry.intersects(g).any()) for i, g in zip(a.index, a.geometry,
                                                                                         strict=True)])  # fmt: skip


def nearest(a, b, k=1):
    d = dist(a, b)
    order = np.argsort(d, kind="stable")[:k]
    return a.iloc[order].assign(ref_distance_m=d[order])


def largest(a, k=1, smallest=False):
    area = a.geometry.area.to_numpy()
    has = a[area > 0]
    order = np.argsort(has.geometry.area.to_numpy() * (1 if smallest else -1), kind="stable")[:k]
    return has.iloc[order]


def union(*sets):
    out = sets[0]
    for s in sets[1:]:
        out = gpd.GeoDataFrame(
            np.concatenate([out.to_numpy(), s[~s.index.isin(out.index)].to_numpy()]), columns=out.columns
        ).set_index("osm_id", drop=False)
    return out


def ids(frame) -> list[str]:
    return list(frame.index)


R = Callable[[Ref], gpd.GeoDataFrame]

# (extract, question, reference, what to compare: set | list | count | empty)
CASES: list[tuple[str, str, R, str]] = [
    ("helsinki", "parks within 1 km of hospitals", lambda r: within(r.of("park"), r.of("hospital"), 1000), "empty"),
    ("helsinki", "cafes within 100 m of parks", lambda r: within(r.of("cafe"), r.of("park"), 100), "set"),
    ("helsinki", "How many playgrounds are there?", lambda r: r.of("playground"), "count"),
    ("helsinki", "the nearest pharmacy to the university",
     lambda r: nearest(r.of("pharmacy"), r.of("university")), "list"),
    ("helsinki", "Which is the largest park?", lambda r: largest(r.of("park")), "list"),
    ("helsinki", "the 3 biggest parks", lambda r: largest(r.of("park"), 3), "list"),
    ("helsinki", "what is the name of the smallest park", lambda r: largest(r.of("park"), 1, True), "list"),
    ("helsinki", "cafes inside parks", lambda r: inside(r.of("cafe"), r.of("park")), "set"),
    ("helsinki", "restaurants near Kaisaniemen puisto",
     lambda r: within(r.of("restaurant"), r.named("Kaisaniemen puisto"), 500), "set"),
    ("helsinki", "How many restaurants are within 300 metres of Kaisaniemen puisto?",
     lambda r: within(r.of("restaurant"), r.named("Kaisaniemen puisto"), 300), "count"),
    ("helsinki", "show me libraries within half a mile of the university",
     lambda r: within(r.of("library"), r.of("university"), 804.672), "set"),
    ("helsinki", "hotels more than 200 m from a park", lambda r: beyond(r.of("hotel"), r.of("park"), 200), "set"),
    ("helsinki", "bars or pubs within 50 m of a park",
     lambda r: within(union(r.of("bar"), r.of("pub")), r.of("park"), 50), "set"),
    ("helsinki", "pubs and bars near schools",
     lambda r: within(union(r.of("pub"), r.of("bar")), r.of("school"), 500), "set"),
    ("helsinki", "hotels closer than 200 m to Esplanadinpuisto",
     lambda r: within(r.of("hotel"), r.named("Esplanadinpuisto"), 200), "set"),
    ("helsinki", "are there any schools?", lambda r: r.of("school"), "count"),
    ("helsinki", "number of benches inside parks", lambda r: inside(r.of("bench"), r.of("park")), "count"),
    ("helsinki", "how many benches are outside parks",
     lambda r: r.of("bench")[~meets(r.of("bench"), r.of("park"))], "count"),
    ("helsinki", "playgrounds intersecting parks",
     lambda r: r.of("playground")[meets(r.of("playground"), r.of("park"))], "set"),
    ("helsinki", "fast food places within 150 ft of a library",
     lambda r: within(r.of("fast_food"), r.of("library"), 45.72), "set"),
    ("helsinki", "cafes not within 200 m of a park",
     lambda r: r.of("cafe")[dist(r.of("cafe"), r.of("park")) > 200], "set"),
    ("helsinki", "restaurants within 100 m of a park and within 100 m of a school",
     lambda r: within(within(r.of("restaurant"), r.of("park"), 100), r.of("school"), 100), "set"),
    ("helsinki", "cafes within 50 m of a bank or within 50 m of a theatre",
     lambda r: union(within(r.of("cafe"), r.of("bank"), 50), within(r.of("cafe"), r.of("theatre"), 50)), "set"),
    ("helsinki", "the 5 closest restaurants to Kaisaniemen puisto",
     lambda r: nearest(r.of("restaurant"), r.named("Kaisaniemen puisto"), 5), "list"),
    ("helsinki", "how far is the nearest school from the university",
     lambda r: nearest(r.of("school"), r.of("university")), "distance"),
    ("helsinki", "distance between Helsingin yliopisto and the nearest library",
     lambda r: nearest(r.of("library"), r.named("Helsingin yliopisto")), "distance"),
    ("helsinki", "museums further than 100 m away from parks", lambda r: beyond(r.of("museum"), r.of("park"), 100),
     "set"),
    ("helsinki", "restaurants far from schools", lambda r: beyond(r.of("restaurant"), r.of("school"), 500), "set"),
    ("helsinki", "theatres at least 300 m from a school", lambda r: beyond(r.of("theatre"), r.of("school"), 300),
     "set"),
    ("helsinki", "banks less than 0.2 km from a library", lambda r: within(r.of("bank"), r.of("library"), 200),
     "set"),
    ("helsinki", "parks near parks", lambda r: within(r.of("park"), r.of("park"), 500), "set"),
    ("helsinki", "universities within 500 m of libraries",
     lambda r: within(r.of("university"), r.of("library"), 500), "set"),
    ("helsinki", "cafes near playgrunds", lambda r: within(r.of("cafe"), r.of("playground"), 500), "set"),
    ("helsinki", "resturants within 20 m of a pub", lambda r: within(r.of("restaurant"), r.of("pub"), 20), "set"),
    ("helsinki", "count the pitches within 1 km of schools", lambda r: within(r.of("pitch"), r.of("school"), 1000),
     "count"),
    ("helsinki", "the largest park within 1 km of the university",
     lambda r: largest(within(r.of("park"), r.of("university"), 1000)), "list"),
    ("helsinki", "hotels within 1 mile of a school except those within 200 m of a park",
     lambda r: (lambda h: h[dist(h, r.of("park")) > 200])(within(r.of("hotel"), r.of("school"), 1609.344)), "set"),
    ("helsinki", "cafes within 25 m of restaurants", lambda r: within(r.of("cafe"), r.of("restaurant"), 25), "set"),
    ("helsinki", "theatres within 400 m of museums or banks",
     lambda r: within(r.of("theatre"), union(r.of("museum"), r.of("bank")), 400), "set"),
    ("kotka", "how many bus stops are there", lambda r: r.of("bus_stop"), "count"),
    ("kotka", "bus stops within 300 m of the school", lambda r: within(r.of("bus_stop"), r.of("school"), 300), "set"),
    ("kotka", "parking lots near fuel stations", lambda r: within(r.of("parking"), r.of("fuel"), 500), "set"),
    ("kotka", "the nearest bus stop to Helilän koulu",
     lambda r: nearest(r.of("bus_stop"), r.named("Helilän koulu")), "list"),
    ("kotka", "is there a hospital?", lambda r: r.of("hospital"), "empty"),
    ("kotka", "pitches within 1 km of a school", lambda r: within(r.of("pitch"), r.of("school"), 1000), "set"),
    ("kotka", "bus stops beyond 300 m of fuel stations", lambda r: beyond(r.of("bus_stop"), r.of("fuel"), 300),
     "set"),
    ("kotka", "how far is the nearest fuel station from the cemetery",
     lambda r: nearest(r.of("fuel"), r.of("cemetery")), "distance"),
    ("kotka", "how many bus stops are more than 1 km from the cemetery",
     lambda r: beyond(r.of("bus_stop"), r.of("cemetery"), 1000), "count"),
    ("kotka", "the largest pitch", lambda r: largest(r.of("pitch")), "list"),
]  # fmt: skip


@pytest.fixture(scope="module")
def refs():
    return {name: Ref(path) for name, path in PATHS.items()}


@pytest.fixture(scope="module")
def loaded(refs):
    out = {}
    for name, path in PATHS.items():
        data = load_data(path)
        both = data.features[data.features["osm_id"].isin(refs[name].g.index).to_numpy()]
        assert len(both) >= 0.9 * len(data.features)
        out[name] = dataclasses.replace(data, features=both)
    return out


def test_the_suite_is_large_and_varied():
    assert len(CASES) >= 40
    assert {kind for *_, kind in CASES} == {"set", "list", "count", "empty", "distance"}


@pytest.mark.parametrize(("extract", "question", "reference", "kind"), CASES, ids=[c[1] for c in CASES])
def test_answer_matches_the_geopandas_reference(loaded, refs, extract, question, reference, kind):
    data, ref = loaded[extract], refs[extract]
    answer = ask(question, data)
    expected = reference(ref)
    props = [f["properties"] for f in answer.features["features"]]
    got = [p["osm_id"] for p in props] if props else []
    assert answer.count == len(got)
    if kind == "empty":
        assert got == [] and expected.empty
        assert "no hospitals in this area" in answer.sentence
        return
    if kind == "count":
        assert answer.count == len(expected)
        assert str(answer.count) in answer.sentence
        return
    if kind == "set":
        assert set(got) == set(ids(expected))
        assert len(expected) > 0, "a question whose reference answer is empty checks little"
    else:
        assert got == ids(expected)
    if kind == "distance":
        assert answer.distances_m[0] == pytest.approx(float(expected["ref_distance_m"].iloc[0]), abs=0.01)
        assert f"{round(answer.distances_m[0])} m" in answer.sentence or "km" in answer.sentence
    for p in props:
        assert p["source"] == "osm" and p["osm_id"].split("/")[0] in ("node", "way", "relation")
