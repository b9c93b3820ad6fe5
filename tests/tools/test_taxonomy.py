"""Tests for tools.taxonomy: the one OSM tag -> class table, OSM's vocabulary, SynthCity's fixed core, and how
the grown vocabulary reads as a new user would try it.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from shapely.geometry import Point

from evals.synthcity.names import CLASS_PHRASES, FUNCTION_PHRASES
from evals.synthcity.splits import SYNTHCITY_CLASSES
from tools.map_render import render_map
from tools.map_style import STYLES
from tools.minilm import default_encoder
from tools.query import infer_level, interpret_query, match_class, singular
from tools.query.semantic import _class_texts, _function_texts, _model_stamp, taxonomy_digest
from tools.query.words import singular_words
from tools.scene import LayerFeature
from tools.taxonomy import (
    CLASSES,
    FUNCTIONS,
    class_for_osm,
    class_members,
    classes_of,
    matches_class,
    osm_tag_table,
)
from tools.taxonomy.core import CORE_CLASSES

KEYS = ("amenity", "leisure", "landuse", "shop", "tourism", "healthcare", "public_transport", "building")


def test_synthcity_keeps_its_17_classes_and_9_functions_first():
    assert SYNTHCITY_CLASSES == tuple(c.key for c in CORE_CLASSES) == tuple(CLASSES)[:17] == tuple(CLASS_PHRASES)
    assert tuple(FUNCTIONS)[:9] == tuple(FUNCTION_PHRASES)
    assert len(CLASSES) > 300 and len(FUNCTIONS) == 15


def test_the_table_covers_osms_common_values():
    table = osm_tag_table()
    per_key = Counter(k for k, _ in table)
    assert sum(per_key[k] for k in KEYS) >= 300
    minimum = {"amenity": 80, "shop": 100, "building": 60, "leisure": 35, "landuse": 35, "tourism": 18,
               "healthcare": 20, "public_transport": 4}  # fmt: skip
    assert all(per_key[k] >= n for k, n in minimum.items()), per_key
    for tag, cls in table.items():  # every tag's class is a class of the table, and its own
        assert tag in CLASSES[cls].osm_tags


def test_every_class_has_words_a_function_and_a_known_parent():
    for c in CLASSES.values():
        assert c.label and c.description and c.function in FUNCTIONS and (c.parent is None or c.parent in CLASSES)
        assert c.key == c.key.lower() and " " not in c.key
    assert all(classes_of(f) for f in FUNCTIONS)


def test_no_phrase_names_two_classes_and_few_name_a_function():
    owners: dict[tuple[str, ...], set[str]] = {}
    for c in CLASSES.values():
        for s in (c.label, *c.synonyms):
            owners.setdefault(singular_words(s), set()).add(c.key)
    assert {p: o for p, o in owners.items() if len(o) > 1} == {}
    functions = {singular_words(s) for f in FUNCTIONS.values() for s in (f.key, *f.synonyms)}
    shared = {" ".join(p) for p in owners if p in functions}
    assert shared == {"greenspace", "green space", "memorial"}  # the core park's words, and memorial (civic)


@pytest.mark.parametrize(
    ("tags", "cls"),
    [({"building": "yes"}, "building"), ({"amenity": "school", "building": "yes"}, "school"),
     ({"building": "school"}, "school_building"), ({"leisure": "pitch", "sport": "soccer"}, "pitch"),
     ({"leisure": "park", "landuse": "grass"}, "park"), ({"landuse": "grass"}, "grass"),
     ({"railway": "station", "public_transport": "station"}, "railway_station"),
     ({"public_transport": "station"}, "transit_station"), ({"shop": "bakery", "building": "retail"}, "bakery"),
     ({"healthcare": "hospital"}, "hospital"), ({"amenity": "fuel"}, "fuel_station"),
     ({"natural": "water"}, "water_body"),
     ({"highway": "residential"}, None), ({"landuse": "water"}, None), ({"railway": "rail"}, None), ({}, None)],
)  # fmt: skip
def test_class_for_osm_reads_what_a_place_is_for_before_what_it_is_built_as(tags, cls):
    assert class_for_osm(tags) == cls


def test_broader_classes_find_their_kinds():
    assert {"bakery", "supermarket", "convenience", "shop"} <= class_members("shop")
    houses = {"house", "detached_house", "semidetached_house", "terraced_house", "bungalow", "farmhouse"}
    assert class_members("house") == houses
    assert class_members("school") == {"school"}  # no core class gained members: SynthCity reads as before
    assert all(class_members(k) == {k} for k in SYNTHCITY_CLASSES)
    assert matches_class("building", "school", "building") and not matches_class("building", "school", "poi")
    assert matches_class("place_of_worship", "church") and not matches_class("church", "place_of_worship")


@pytest.mark.parametrize(
    ("query", "level", "target"),
    [("buildings", "class", "building"), ("sports field", "class", "pitch"), ("pitch", "class", "pitch"),
     ("football pitches", "class", "pitch"), ("tennis courts", "class", "pitch"), ("stadiums", "class", "stadium"),
     ("churches", "class", "church"), ("benches", "class", "bench"), ("houses", "class", "house"),
     ("supermarkets", "class", "supermarket"), ("bus stops", "class", "bus_stop"), ("cafes", "class", "cafe"),
     ("places to eat", "function", "food"), ("places of worship", "function", "worship"),
     ("places to stay", "function", "accommodation"), ("office parks", "class", "office_park")],
)  # fmt: skip
def test_a_new_users_queries_read_as_meant(query, level, target):
    """The issue's findings: "buildings" read as office_park, "sports field" as park, "pitch" as stadium."""
    t = interpret_query(query, [])
    assert (t.level, t.cls if level == "class" else t.function) == (level, target)
    assert (t.method, infer_level(query)[0]) == ("taxonomy", level)


def test_synthcity_phrases_still_name_their_core_classes():
    for cls, phrases in CLASS_PHRASES.items():
        assert all(match_class(p) == cls for p in phrases)


def test_es_plurals():
    assert [singular(w) for w in ("churches", "benches", "boxes", "glasses", "dishes")] == [
        "church", "bench", "box", "glass", "dish"]  # fmt: skip


@pytest.mark.parametrize("style", sorted(STYLES))
def test_every_function_has_colours_and_a_pictogram(style):
    st = STYLES[style]
    for f in FUNCTIONS:
        assert f in st.function_colours and f in st.landuse
        img = render_map([LayerFeature("p", "poi", Point(30.5, 30.5), cls=classes_of(f)[0].key, function=f)],
                         st, (60, 60), 0.6)  # fmt: skip
        marker = img[20:41, 20:41].reshape(-1, 3)
        colour = np.array(st.function_colours[f], np.uint8)
        assert (marker == colour).all(axis=-1).sum() > 20 and (marker == 255).all(axis=-1).sum() > 4, f


def test_the_text_model_cache_is_current():
    """tools/query/taxonomy_minilm.npz holds today's texts; rewrite it with write_index_cache after a change."""
    enc = default_encoder()
    with np.load("tools/query/taxonomy_minilm.npz") as z:
        assert str(z["digest"]) == taxonomy_digest(), "run write_index_cache() (see tools.query.semantic)"
        assert str(z["model"]) == _model_stamp(enc)
        vecs = z["vectors"].astype(np.float32)
    texts = [t for _, t in _class_texts()] + [t for _, t in _function_texts()]
    pick = np.random.default_rng(0).choice(len(texts), 12, replace=False)
    fresh = enc.encode([texts[i] for i in pick])
    cos = (fresh * vecs[pick]).sum(axis=1) / np.linalg.norm(vecs[pick], axis=1)
    assert cos.min() > 0.999
