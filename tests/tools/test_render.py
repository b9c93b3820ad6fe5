import numpy as np

import tools
from tools.draw_box import clip_prompts
from tools.registry import ToolContext
from tools.render import FEEDBACK_BOX_RGB, render_feedback, side_by_side
from tools.scene import Scene
from tools.scene_store import SceneStore
from tools.schemas import Box, InstancePrompt, Point
from tools.vector_io import instances_geojson, mask_polygons


def test_feedback_draws_blue_boxes_then_red_mask():
    img = np.full((100, 100, 3), 128, np.uint8)
    mask = np.zeros((100, 100), bool)
    mask[40:60, 40:60] = True
    out = render_feedback(img, [Box(x1=10, y1=10, x2=90, y2=90)], mask)
    assert tuple(out[10, 50]) == FEEDBACK_BOX_RGB  # box edge, outside the mask
    r, g, b = out[50, 50].astype(int)
    assert r > 128 and g < 128 and b < 128  # red tint at alpha 0.4
    assert tuple(out[30, 30]) == (128, 128, 128)  # untouched inside the box
    assert np.array_equal(img, np.full((100, 100, 3), 128, np.uint8))  # input unchanged


def test_clip_prompts_clips_drops_and_explains():
    prompts = [
        InstancePrompt(box=Box(x1=-10, y1=5, x2=50, y2=40), points=[Point(x=20, y=20), Point(x=45, y=39, label=0)]),
        InstancePrompt(box=Box(x1=200, y1=200, x2=300, y2=300)),
        InstancePrompt(box=Box(x1=10, y1=10, x2=20, y2=20), points=[Point(x=90, y=90)]),
    ]
    kept, warnings = clip_prompts(prompts, (100, 100))
    assert [p.box.as_list() for p in kept] == [[0, 5, 50, 40], [10, 10, 20, 20]]
    assert len(kept[0].points) == 2 and kept[1].points == []
    assert len(warnings) == 3


def test_render_and_draw_tools_store_images():
    sat = np.zeros((64, 64, 3), np.uint8)
    store = SceneStore()
    store.put(Scene("s", sat, np.full((64, 64, 3), 255, np.uint8)))
    ctx = ToolContext(store=store)
    m = np.zeros((64, 64), bool)
    m[10:20, 10:20] = True
    mid = store.put_mask("s", m)
    prompts = [{"box": {"x1": 5, "y1": 5, "x2": 30, "y2": 30}, "points": [{"x": 15, "y": 15}]}]
    fb = tools.REGISTRY.call("render_overlay", {"scene_id": "s", "prompts": prompts, "mask_ids": [mid]}, ctx)
    assert len(fb.image_ids) == 2
    assert store.get_image(fb.image_ids[1])[15, 15, 0] > 0
    user = tools.REGISTRY.call("render_overlay", {"scene_id": "s", "prompts": prompts, "mask_ids": [mid],
                                                  "style": "user"}, ctx)  # fmt: skip
    assert store.get_image(user.image_ids[0]).shape == (64, 64 * 2 + 8, 3)
    drawn = tools.REGISTRY.call("draw_box", {"scene_id": "s", "prompts": prompts, "image": "map"}, ctx)
    assert store.get_image(drawn.image_id)[5, 15].tolist() != [255, 255, 255]
    assert side_by_side(sat, sat).shape == (64, 136, 3)


def test_mask_polygons_and_geojson():
    m = np.zeros((50, 50), bool)
    m[10:20, 5:15] = True
    m[30:40, 30:45] = True
    m[33:36, 33:36] = False  # a hole
    polys = mask_polygons(m)
    assert [p.area for p in polys] == [150 - 9, 100]
    assert len(polys[0].interiors) == 1
    fc = instances_geojson(polys, [{"i": 0}, {"i": 1}], None)
    assert "crs" not in fc and fc["features"][1]["geometry"]["type"] == "Polygon"
    assert mask_polygons(np.zeros((5, 5), bool)) == []


def test_polygons_of_corner_touching_pixels_are_valid():
    m = np.zeros((20, 20), bool)
    m[2:5, 2:5] = True
    m[5:8, 5:8] = True  # touches the first square at one corner only
    polys = mask_polygons(m)
    assert len(polys) == 2 and all(p.is_valid for p in polys)
    assert sum(p.area for p in polys) == 18
