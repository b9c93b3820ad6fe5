import numpy as np
import pytest
from shapely.geometry import LineString, Point, box

import tools
from tools.map_lookup import MapLookupInput, interpret_query, lookup, name_score
from tools.registry import ToolContext
from tools.scene import LayerFeature, Scene
from tools.scene_store import SceneStore


@pytest.fixture
def scene():
    layers = [
        LayerFeature("p1", "poi", Point(50, 60), name="Maple Grove Primary School", cls="school", function="education"),
        LayerFeature("p2", "poi", Point(150, 40), name="Oakridge High School", cls="school", function="education"),
        LayerFeature("p3", "poi", Point(120, 150), name="St. Agnes Hospital", cls="hospital", function="healthcare"),
        LayerFeature("a1", "landuse", box(100, 120, 180, 190), cls="hospital", function="healthcare"),
        LayerFeature("p4", "poi", Point(20, 180), name="Riverside Park", cls="park", function="recreation"),
        LayerFeature("r1", "road", LineString([(0, 100), (200, 100)]), name="Hospital Road", props={"width_m": 10}),
    ]
    z = np.zeros((200, 200, 3), np.uint8)
    return Scene("s", z, z.copy(), layers=layers)


@pytest.mark.parametrize(
    ("query", "level", "target"),
    [("Maple Grove Primary School", "name", "Maple Grove Primary School"),
     ("find st agnes hospital", "name", "St. Agnes Hospital"),
     ("schools", "class", "school"), ("Primary School", "class", "school"),
     ("places for healthcare", "function", "healthcare"), ("hospital", "class", "hospital")],
)  # fmt: skip
def test_interpret_query_levels(scene, query, level, target):
    t = interpret_query(query, scene.layers)
    assert t.level == level
    assert target in (t.name, t.cls, t.function)


def test_class_lookup_returns_pois_and_areas_with_pixel_boxes(scene):
    out = lookup(scene, MapLookupInput(scene_id="s", query="hospitals"))
    assert out.level == "class"
    kinds = sorted(f.kind for f in out.features)
    assert kinds == ["landuse", "poi"]
    area = next(f for f in out.features if f.kind == "landuse")
    assert area.box.as_list() == [100, 120, 180, 190]
    assert area.box.contains(area.point.x, area.point.y)


def test_function_lookup_spans_classes_and_skips_roads(scene):
    out = lookup(scene, MapLookupInput(scene_id="s", function="education"))
    assert sorted(f.name for f in out.features) == ["Maple Grove Primary School", "Oakridge High School"]
    by_name = lookup(scene, MapLookupInput(scene_id="s", name="Hospital Road"))
    assert by_name.level == "name" and by_name.features == []  # a road is never a place


@pytest.mark.parametrize("query", ["xq zzv", "asdf", "a place to pray"])
def test_unrecognised_or_ambiguous_queries_return_nothing(scene, query):
    out = lookup(scene, MapLookupInput(scene_id="s", query=query))
    assert out.level == "unknown" and out.features == []


def test_free_text_goes_through_the_text_model(scene):
    t = interpret_query("where do kids go to learn?", scene.layers)
    assert (t.level, t.function, t.method) == ("function", "education", "text model")
    assert interpret_query("find the nearest ER", scene.layers).cls == "hospital"  # taxonomy synonym "er"


def test_name_score_prefers_exact_names():
    assert name_score("Oakridge High School", "Oakridge High School") == 1.0
    assert name_score("Oakridge Hgh School", "Oakridge High School") > 0.9
    assert name_score("hospital", "St. Agnes Hospital") < 0.8


def test_tool_through_registry(scene):
    store = SceneStore()
    store.put(scene)
    out = tools.REGISTRY.call("map_lookup", {"scene_id": "s", "name": "Riverside Park"}, ToolContext(store=store))
    assert [f.id for f in out.features] == ["p4"]
    assert out.features[0].box.area == 0  # a point of interest has a degenerate box
