"""The offline default policy on hand-built layers, and `socio demo` end to end."""

import json

import numpy as np
import pytest
from shapely.geometry import LineString, Point, box

from agent.parsing import parse_answer
from agent.policies import PolicyRequest, make_policy
from tools.scene import LayerFeature, Scene
from tools.schemas import Box, InstancePrompt

SIZE = 300


@pytest.fixture
def scene() -> Scene:
    """Two roads cut the tile into four blocks; a school has a land-use fill, a hospital and a clinic do not."""
    layers = [
        LayerFeature("r1", "road", LineString([(150, 0), (150, SIZE)]), props={"width_m": 6}),
        LayerFeature("r2", "road", LineString([(0, 150), (SIZE, 150)]), props={"width_m": 6}),
        LayerFeature("lu", "landuse", box(20, 20, 120, 110), cls="school", function="education"),
        LayerFeature("p1", "poi", Point(70, 60), name="Maple Grove Primary School", cls="school", function="education"),
        LayerFeature("p2", "poi", Point(220, 60), name="St. Agnes Hospital", cls="hospital", function="healthcare"),
        LayerFeature("p3", "poi", Point(240, 120), name="Harbor Cafe", cls=None, function=None),
        LayerFeature("p4", "poi", Point(60, 230), name="Oak Clinic", cls="clinic", function="healthcare"),
        LayerFeature("odd", "poi", box(250, 250, 260, 260), name="A Polygon Tagged As Poi"),
    ]
    z = np.zeros((SIZE, SIZE, 3), np.uint8)
    return Scene("m", z, z.copy(), layers=layers)


def _boxes(reply) -> list[list[float]]:
    parsed = parse_answer(reply.text, extent=(SIZE, SIZE))
    assert parsed.ok and reply.frame.kind == "pixel"
    return [list(i.box) for i in parsed.items]


def _localize(scene: Scene, query: str):
    return make_policy("map").localize(PolicyRequest("localize", query, scene, [scene.map, scene.sat]))


def test_a_land_use_fill_gives_its_grown_outline_and_claims_its_point(scene):
    (b,) = _boxes(_localize(scene, "Maple Grove Primary School"))
    assert b[0] < 20 and b[1] < 20 and b[2] > 120 and b[3] > 110  # grown, since fills sit inside parcels
    assert b[2] < 135 and b[3] < 125


def test_a_point_gives_its_road_bounded_block_cut_to_the_class_size(scene):
    (b,) = _boxes(_localize(scene, "hospital"))
    assert b[0] >= 150 and b[3] <= 150  # stays in its block, right of r1 and above r2
    assert b[0] <= 220 <= b[2] and b[1] <= 60 <= b[3]


def test_a_function_query_spans_classes_and_reasons_in_the_think_block(scene):
    reply = _localize(scene, "places for healthcare")
    assert len(_boxes(reply)) == 2
    assert "function 'healthcare'" in reply.text and "Oak Clinic" in reply.text


def test_unknown_queries_and_missing_layers_answer_nothing_and_say_why(scene):
    assert _boxes(_localize(scene, "xq zzv")) == []
    bare = Scene("bare", scene.sat, scene.map)
    reply = _localize(bare, "school")
    assert _boxes(reply) == [] and "--layers" in reply.text


def test_refine_marks_its_target_and_other_places_inside_the_box(scene):
    policy = make_policy("map")
    previous = [InstancePrompt(box=Box(x1=155, y1=5, x2=295, y2=145))]
    req = PolicyRequest("refine", "St. Agnes Hospital", scene, [scene.map, scene.sat], previous=previous, round=1)
    parsed = parse_answer(policy.refine(req).text, "refine", extent=(SIZE, SIZE))
    (item,) = parsed.items
    assert list(zip(item.points, item.labels, strict=True)) == [((220, 60), 1), ((240, 120), 0)]


def test_refine_ignores_points_of_interest_that_are_not_points(scene):
    policy = make_policy("map")
    previous = [InstancePrompt(box=Box(x1=200, y1=200, x2=300, y2=300))]
    req = PolicyRequest("refine", "A Polygon Tagged As Poi", scene, [scene.map, scene.sat], previous=previous)
    (item,) = parse_answer(policy.refine(req).text, "refine").items
    assert item.labels == [1]  # falls back to the box centre, no crash


def test_socio_demo_writes_its_outputs_and_scores_itself(tmp_path, capsys):
    from socioagent.demo import run_demo

    numbers = run_demo(tmp_path)
    for name in ("overlay.png", "mask.png", "result.json", "instances.geojson", "sat.tif", "map.png", "truth.png",
                 "layers.geojson"):  # fmt: skip
        assert (tmp_path / name).is_file(), name
    assert 0.0 < numbers["iou"] <= 1.0
    doc = json.loads((tmp_path / "result.json").read_text())
    assert doc["policy"] == "map" and doc["crs"].startswith("EPSG:326")
    out = capsys.readouterr().out
    assert "IoU with the ground truth" in out and "socio segment --sat" in out
