"""SAM 2 (tiny, random weights) set up as the reference uses it: multimask, best score, the 756 frame, masks at 768.

The SAM 2 predictor's own methods are wrapped to record what they are called with (the real ones still run).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.fixtures.tiny_sam2 import TINY_IMAGE_SIZE, random_image
from tools.images import resize_mask, resize_rgb
from tools.schemas import Box, InstancePrompt, Point
from tools.segmenters.sam2_backend import Sam2Segmenter

SCENE = 768
FRAME = 756  # smart_resize(768, 768)
S = FRAME / SCENE


def _build(**kw) -> Sam2Segmenter:
    return Sam2Segmenter(model="random:tiny", device="cpu", image_size=TINY_IMAGE_SIZE, **kw)


@pytest.fixture(scope="module")
def reference_sam():
    return _build(multimask=True, frame="model")


@pytest.fixture(scope="module")
def image():
    return random_image(7, SCENE, SCENE)


def _record(monkeypatch, seg: Sam2Segmenter) -> dict[str, list]:
    calls: dict[str, list] = {"set_image": [], "predict": []}
    predictor = seg._predictor
    set_image, predict = predictor.set_image, predictor.predict

    def recording_set_image(img, *a, **kw):
        calls["set_image"].append(np.array(img))
        return set_image(img, *a, **kw)

    def recording_predict(*a, **kw):
        calls["predict"].append(kw)
        return predict(*a, **kw)

    monkeypatch.setattr(predictor, "set_image", recording_set_image)
    monkeypatch.setattr(predictor, "predict", recording_predict)
    return calls


BOX = Box(x1=100.0, y1=120.0, x2=400.0, y2=380.0)


def test_reference_settings_feed_sam_the_756_image_ask_for_three_masks_and_keep_the_best(
    monkeypatch, reference_sam, image
):
    seg = reference_sam
    calls = _record(monkeypatch, seg)
    seg.set_scene("ref", image)
    out = seg.predict([InstancePrompt(box=BOX)])

    (fed,) = calls["set_image"]
    np.testing.assert_array_equal(fed, resize_rgb(image, (FRAME, FRAME)))  # bicubic to the model frame
    (kw,) = calls["predict"]
    assert kw["multimask_output"] is True
    np.testing.assert_allclose(kw["box"], [[BOX.x1 * S, BOX.y1 * S, BOX.x2 * S, BOX.y2 * S]], rtol=1e-6)

    with seg._context():  # the same call made directly: three masks at 756, keep the top-scoring one
        masks, scores, _ = seg._predictor.predict(box=kw["box"], multimask_output=True)
    assert masks.shape[-3:] == (3, FRAME, FRAME)
    best = np.asarray(masks).reshape(3, FRAME, FRAME)[int(np.argmax(scores))] > 0
    assert out.masks.shape == (1, SCENE, SCENE) and out.masks.dtype == bool
    np.testing.assert_array_equal(out.masks[0], resize_mask(best, (SCENE, SCENE)))  # nearest, back to 768
    assert out.scores[0] == pytest.approx(float(np.clip(np.max(scores), 0, 1)))


def test_reference_settings_never_pad_points_each_mask_is_its_prompt_alone(monkeypatch, reference_sam, image):
    seg = reference_sam
    seg.set_scene("ref", image)
    prompts = [
        InstancePrompt(box=BOX),
        InstancePrompt(box=Box(x1=300, y1=300, x2=700, y2=650), points=[Point(x=500, y=480)]),
        InstancePrompt(box=Box(x1=20, y1=500, x2=200, y2=760)),
    ]
    calls = _record(monkeypatch, seg)
    together = seg.predict(prompts)
    assert len(calls["predict"]) == 2  # one batch per point count (0 and 1)
    assert all(kw["point_labels"] is None or (kw["point_labels"] >= 0).all() for kw in calls["predict"])
    for i, p in enumerate(prompts):
        alone = seg.predict([p])
        np.testing.assert_array_equal(together.masks[i], alone.masks[0])
        assert together.scores[i] == pytest.approx(alone.scores[0], abs=1e-5)


def test_default_settings_are_todays_one_mask_on_the_scene_image(monkeypatch, image):
    seg = _build()
    calls = _record(monkeypatch, seg)
    seg.set_scene("ours", image)
    out = seg.predict([InstancePrompt(box=BOX)])
    (fed,) = calls["set_image"]
    np.testing.assert_array_equal(fed, image)
    (kw,) = calls["predict"]
    assert kw["multimask_output"] is False
    np.testing.assert_array_equal(kw["box"], [BOX.as_list()])
    assert out.masks.shape == (1, SCENE, SCENE)


def test_a_cached_scene_keeps_its_scene_size(reference_sam, image):
    seg = reference_sam
    other = random_image(8, 200, 300)
    seg.set_scene("small", other)
    assert seg.predict([InstancePrompt(box=Box(x1=10, y1=10, x2=100, y2=90))]).masks.shape == (1, 200, 300)
    seg.set_scene("ref", image)  # from the cache: no encode, the 768 size comes back
    assert seg.predict([InstancePrompt(box=BOX)]).masks.shape == (1, SCENE, SCENE)


def test_an_unknown_frame_is_an_input_error():
    from tools.errors import InputError

    with pytest.raises(InputError, match="unknown SAM 2 frame"):
        _build(frame="756")


@pytest.mark.parametrize(("protocol", "settings"), [
    ("socioagent", (False, "scene", True)),
    ("socioreasoner", (True, "model", False)),
])  # fmt: skip
def test_the_backend_config_gives_sam2_the_protocols_settings(protocol, settings):
    from agent.backends import BackendConfig

    seg = BackendConfig(segmenter="sam2:random:tiny", device="cpu", protocol=protocol).build_segmenter()
    assert (seg.multimask, seg.frame, seg.bf16) == settings
