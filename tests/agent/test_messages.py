import base64
import io
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from agent.policies import PolicyRequest
from agent.policies.messages import (
    boxes_json,
    frame_hint,
    hf_messages,
    model_frame,
    openai_messages,
    png_data_url,
    prepare,
)
from tools.coords import ModelFrame, box_to_pixels, xy_to_pixels
from tools.errors import InputError
from tools.images import resize_rgb
from tools.scene import Scene
from tools.schemas import Box, InstancePrompt, Point


def _scene(h: int, w: int, seed: int = 0) -> Scene:
    rng = np.random.default_rng(seed)
    sat = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    mp = np.zeros((h, w, 3), np.uint8)
    mp[..., 0] = 230
    mp[: h // 2, : w // 2] = (20, 200, 40)
    return Scene("t", sat=sat, map=mp)


class TestModelFrame:
    def test_reference_size_768_becomes_756(self):
        frame, sent = model_frame("abs", (768, 768))
        assert sent == (756, 756)
        assert frame == ModelFrame(kind="abs", model_hw=(756, 756))

    def test_qwen3_factor_32_keeps_768(self):
        frame, sent = model_frame("rel1000", (768, 768), factor=32)
        assert sent == (768, 768)
        assert frame.kind == "rel1000"

    def test_non_square_sizes_are_multiples_of_the_factor(self):
        _, sent = model_frame("abs", (200, 300))
        assert sent == (196, 308)
        _, sent = model_frame("abs", (1500, 1000))
        assert sent[0] % 28 == 0 and sent[1] % 28 == 0
        assert sent[0] * sent[1] <= 768 * 768
        assert sent[0] > sent[1]

    def test_pixel_frame_sends_the_scene_size(self):
        frame, sent = model_frame("pixel", (123, 457))
        assert sent == (123, 457)
        assert frame.kind == "pixel"

    def test_unknown_kind_is_an_input_error(self):
        with pytest.raises(InputError, match="abs"):
            model_frame("qwen", (100, 100))

    def test_absurd_aspect_ratio_is_an_input_error(self):
        with pytest.raises(InputError, match="aspect ratio"):
            model_frame("abs", (10, 5000))


class TestFrameHint:
    def test_abs_hint_names_the_sent_size(self):
        hint = frame_hint(ModelFrame(kind="abs", model_hw=(196, 308)), (196, 308))
        assert "308x196" in hint
        assert "top-left" in hint

    def test_rel1000_hint_names_the_scale(self):
        hint = frame_hint(ModelFrame(kind="rel1000"), (768, 768))
        assert "1000" in hint
        assert "768" not in hint


class TestBoxesJson:
    def test_reference_example(self):
        frame, _ = model_frame("abs", (768, 768))
        text = boxes_json([InstancePrompt(box=Box(x1=384, y1=0, x2=768, y2=384))], frame, (768, 768))
        assert json.loads(text) == [{"bbox_2d": [378, 0, 756, 378]}]

    def test_rel1000(self):
        text = boxes_json(
            [InstancePrompt(box=Box(x1=50, y1=25, x2=100, y2=75))], ModelFrame(kind="rel1000"), (100, 200)
        )
        assert json.loads(text) == [{"bbox_2d": [250, 250, 500, 750]}]

    def test_points_are_included_and_boxes_clipped(self):
        prompt = InstancePrompt(box=Box(x1=-10, y1=5, x2=50, y2=120), points=[Point(x=10, y=20), Point(x=30, y=40)])
        items = json.loads(boxes_json([prompt], ModelFrame(kind="pixel"), (100, 100)))
        assert items == [{"bbox_2d": [0, 5, 50, 100], "points": [[10, 20], [30, 40]]}]

    def test_empty(self):
        assert boxes_json([], ModelFrame(kind="pixel"), (10, 10)) == "[]"

    @settings(max_examples=60, deadline=None)
    @given(
        h=st.integers(60, 1600),
        w=st.integers(60, 1600),
        kind=st.sampled_from(["abs", "rel1000", "pixel"]),
        fx=st.tuples(st.floats(0, 1), st.floats(0, 1)),
        fy=st.tuples(st.floats(0, 1), st.floats(0, 1)),
    )
    def test_round_trips_to_pixels_within_half_a_model_unit(self, h, w, kind, fx, fy):
        factor = 32 if kind == "rel1000" else 28
        frame, sent = model_frame(kind, (h, w), factor=factor)
        # rounding to whole model units moves a coordinate by at most half a unit, in scene pixels
        units = {"abs": sent, "rel1000": (1000, 1000), "pixel": (h, w)}[kind]
        tol_x, tol_y = 0.5 * w / units[1] + 1e-6, 0.5 * h / units[0] + 1e-6
        box = Box(x1=min(fx) * w, y1=min(fy) * h, x2=max(fx) * w, y2=max(fy) * h)
        (item,) = json.loads(boxes_json([InstancePrompt(box=box, points=[Point(x=box.x2, y=box.y1)])], frame, (h, w)))
        back = box_to_pixels(item["bbox_2d"], frame, (h, w))
        for i, (a, b) in enumerate(zip(back.as_list(), box.as_list(), strict=True)):
            assert abs(a - b) <= (tol_x if i % 2 == 0 else tol_y)
        px, py = xy_to_pixels(*item["points"][0], frame, (h, w))
        assert abs(px - box.x2) <= tol_x and abs(py - box.y1) <= tol_y


class TestPrepare:
    def test_localize(self):
        scene = _scene(200, 300)
        prepared = prepare(PolicyRequest("localize", "places for healthcare", scene, [scene.map, scene.sat]))
        assert prepared.sent_hw == (196, 308)
        assert prepared.image_hw == (200, 300)
        assert prepared.frame == ModelFrame(kind="abs", model_hw=(196, 308))
        assert [im.shape for im in prepared.images] == [(196, 308, 3), (196, 308, 3)]
        np.testing.assert_array_equal(prepared.images[0], resize_rgb(scene.map, (196, 308)))
        np.testing.assert_array_equal(prepared.images[1], resize_rgb(scene.sat, (196, 308)))
        assert '"places for healthcare"' in prepared.prompt
        assert "308x196" in prepared.prompt
        assert "${" not in prepared.prompt

    def test_refine_lists_boxes_in_the_model_frame(self):
        scene = _scene(768, 768)
        prev = [
            InstancePrompt(box=Box(x1=384, y1=0, x2=768, y2=384)),
            InstancePrompt(box=Box(x1=0, y1=0, x2=96, y2=96)),
        ]
        req = PolicyRequest("refine", "the school", scene, [scene.map, scene.sat], previous=prev, round=1)
        prepared = prepare(req)
        assert 'The boxes found so far are: [{"bbox_2d": [378, 0, 756, 378]}, {"bbox_2d": [0, 0, 94, 94]}]' in (
            prepared.prompt
        )

    def test_pixel_frame_leaves_images_alone(self):
        scene = _scene(90, 130)
        prepared = prepare(PolicyRequest("localize", "q", scene, [scene.map, scene.sat]), frame_kind="pixel")
        assert prepared.images[0] is scene.map and prepared.sent_hw == (90, 130)

    def test_wrong_number_of_images(self):
        scene = _scene(64, 64)
        with pytest.raises(InputError, match="2 images"):
            prepare(PolicyRequest("localize", "q", scene, [scene.sat]))

    def test_wrong_image_dtype(self):
        scene = _scene(64, 64)
        with pytest.raises(InputError, match="map image"):
            prepare(PolicyRequest("localize", "q", scene, [scene.map.astype(np.float32), scene.sat]))

    def test_unknown_stage(self):
        scene = _scene(64, 64)
        with pytest.raises(InputError, match="stage"):
            prepare(PolicyRequest("verify", "q", scene, [scene.map, scene.sat]))  # type: ignore[arg-type]

    def test_prompt_dir_swaps_templates(self, tmp_path):
        (tmp_path / "localize.txt").write_text("L: ${query} | ${frame_hint}", encoding="utf-8")
        (tmp_path / "refine.txt").write_text("R: ${query} ${boxes} (${frame_hint})", encoding="utf-8")
        scene = _scene(100, 100)
        loc = prepare(PolicyRequest("localize", "a park", scene, [scene.map, scene.sat]), prompt_dir=tmp_path)
        assert loc.prompt.startswith("L: a park | absolute pixel coordinates in the 112x112")
        prev = [InstancePrompt(box=Box(x1=0, y1=0, x2=50, y2=50))]
        ref = prepare(
            PolicyRequest("refine", "a park", scene, [scene.map, scene.sat], previous=prev), prompt_dir=tmp_path
        )
        assert ref.prompt.startswith('R: a park [{"bbox_2d": [0, 0, 56, 56]}] (absolute')

    def test_template_with_missing_placeholder_value(self, tmp_path):
        (tmp_path / "localize.txt").write_text("${query} ${boxes}", encoding="utf-8")
        scene = _scene(64, 64)
        with pytest.raises(InputError, match="boxes"):
            prepare(PolicyRequest("localize", "q", scene, [scene.map, scene.sat]), prompt_dir=tmp_path)


class TestWireMessages:
    def test_png_data_url_is_lossless(self):
        img = np.random.default_rng(1).integers(0, 255, (17, 23, 3), dtype=np.uint8)
        url = png_data_url(img)
        assert url.startswith("data:image/png;base64,")
        with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as im:
            np.testing.assert_array_equal(np.asarray(im), img)

    def test_openai_messages_put_map_then_satellite_then_text(self):
        scene = _scene(56, 56)
        prepared = prepare(PolicyRequest("localize", "q", scene, [scene.map, scene.sat]))
        (msg,) = openai_messages(prepared)
        assert msg["role"] == "user"
        kinds = [part["type"] for part in msg["content"]]
        assert kinds == ["image_url", "image_url", "text"]
        assert msg["content"][0]["image_url"]["url"] == png_data_url(prepared.images[0])
        assert msg["content"][2]["text"] == prepared.prompt

    def test_hf_messages_have_two_image_slots_then_text(self):
        scene = _scene(56, 56)
        prepared = prepare(PolicyRequest("localize", "q", scene, [scene.map, scene.sat]))
        (msg,) = hf_messages(prepared)
        assert [part["type"] for part in msg["content"]] == ["image", "image", "text"]
