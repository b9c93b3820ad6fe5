"""The classical (GrabCut) segmenter on images drawn here, where the right mask is known."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tools.errors import InputError
from tools.schemas import Box, InstancePrompt, Point
from tools.segmenters import Segmenter, make_segmenter
from tools.segmenters.classical import FALLBACK_SCORE, ClassicalSegmenter

SIZE = 256


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def noisy_background(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal((120, 110, 95), 12, (SIZE, SIZE, 3)), 0, 255).astype(np.uint8)


def draw(image: np.ndarray, polygon: list[tuple[int, int]], colour: tuple[int, int, int], seed: int = 1) -> np.ndarray:
    """Fill a textured polygon into the image and return its (H, W) bool mask."""
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.array(polygon, np.int32)], 1)
    texture = np.random.default_rng(seed).normal(colour, 10, image.shape)
    image[mask > 0] = np.clip(texture, 0, 255).astype(np.uint8)[mask > 0]
    return mask > 0


def bbox(mask: np.ndarray, pad: float = 3.0) -> Box:
    ys, xs = np.nonzero(mask)
    return Box(x1=xs.min() - pad, y1=ys.min() - pad, x2=xs.max() + 1 + pad, y2=ys.max() + 1 + pad)


@pytest.fixture
def l_shape() -> tuple[np.ndarray, np.ndarray]:
    image = noisy_background()
    mask = draw(image, [(60, 50), (110, 50), (110, 150), (190, 150), (190, 200), (60, 200)], (200, 40, 40))
    return image, mask


def test_factory_builds_a_protocol_segmenter() -> None:
    seg = make_segmenter("classical")
    assert isinstance(seg, ClassicalSegmenter)
    assert isinstance(seg, Segmenter)
    assert seg.name == "classical"


def test_a_pickled_segmenter_keeps_its_knobs_and_segments_the_same(l_shape: tuple[np.ndarray, np.ndarray]) -> None:
    """Worker processes (SFT example building) get the segmenter by pickling: a fresh one with the same knobs."""
    import pickle

    image, truth = l_shape
    seg = ClassicalSegmenter(iterations=4)
    seg.set_scene("l", image)
    copy = pickle.loads(pickle.dumps(seg))
    assert copy.config == seg.config and copy.encode_count == 0
    with pytest.raises(RuntimeError, match="set_scene"):
        copy.predict([InstancePrompt(box=bbox(truth))])  # no scene travels with it
    copy.set_scene("l", image)
    ours, theirs = seg.predict([InstancePrompt(box=bbox(truth))]), copy.predict([InstancePrompt(box=bbox(truth))])
    assert np.array_equal(ours.masks, theirs.masks)


def test_box_prompt_recovers_a_filled_shape(l_shape: tuple[np.ndarray, np.ndarray]) -> None:
    image, truth = l_shape
    seg = ClassicalSegmenter()
    seg.set_scene("l", image)
    box = bbox(truth)
    res = seg.predict([InstancePrompt(box=box)])
    assert res.masks.shape == (1, SIZE, SIZE) and res.masks.dtype == bool
    assert res.sources == ["model"]
    assert 0.0 <= res.scores[0] <= 1.0 and res.scores.dtype == np.float32
    box_as_mask = np.zeros_like(truth)
    box_as_mask[int(box.y1) : int(box.y2), int(box.x1) : int(box.x2)] = True
    assert iou(res.masks[0], truth) >= 0.8
    assert iou(res.masks[0], truth) > iou(box_as_mask, truth)


def test_several_boxes_give_one_mask_each(l_shape: tuple[np.ndarray, np.ndarray]) -> None:
    image, truth = l_shape
    disc = np.zeros(truth.shape, np.uint8)
    cv2.circle(disc, (205, 60), 30, 1, -1)
    image[disc > 0] = (40, 160, 60)
    seg = ClassicalSegmenter()
    seg.set_scene("two", image)
    res = seg.predict([InstancePrompt(box=bbox(truth)), InstancePrompt(box=bbox(disc > 0))])
    assert res.masks.shape == (2, SIZE, SIZE) and res.scores.shape == (2,)
    assert res.sources == ["model", "model"]
    assert iou(res.masks[0], truth) >= 0.8
    assert iou(res.masks[1], disc > 0) >= 0.8


def test_points_pick_the_part_of_the_box_they_mark() -> None:
    image = noisy_background(3)
    left = draw(image, [(40, 60), (120, 60), (120, 190), (40, 190)], (210, 60, 50), seed=4)
    right = draw(image, [(128, 60), (210, 60), (210, 190), (128, 190)], (50, 70, 210), seed=5)
    box = bbox(left | right)
    seg = ClassicalSegmenter()
    seg.set_scene("pair", image)
    prompts = [
        InstancePrompt(box=box, points=[Point(x=80, y=120, label=1), Point(x=170, y=120, label=0)]),
        InstancePrompt(box=box, points=[Point(x=80, y=120, label=0), Point(x=170, y=120, label=1)]),
    ]
    res = seg.predict(prompts)
    assert res.sources == ["model", "model"]
    assert res.masks[0][120, 80] and not res.masks[0][120, 170]
    assert res.masks[1][120, 170] and not res.masks[1][120, 80]
    assert iou(res.masks[0], left) >= 0.8
    assert iou(res.masks[1], right) >= 0.8


def test_negative_point_inside_a_hole_keeps_the_hole_open() -> None:
    image = noisy_background(6)
    disc = np.zeros(image.shape[:2], np.uint8)
    cv2.circle(disc, (125, 125), 70, 1, -1)
    image[disc > 0] = (40, 160, 220)
    hole = np.zeros_like(disc)
    cv2.circle(hole, (125, 125), 25, 1, -1)
    image[hole > 0] = noisy_background(8)[hole > 0]
    seg = ClassicalSegmenter()
    seg.set_scene("ring", image)
    box = bbox(disc > 0, pad=10)  # the disc covers 60% of it
    res = seg.predict([InstancePrompt(box=box), InstancePrompt(box=box, points=[Point(x=125, y=125, label=0)])])
    filled, kept_open = res.masks
    assert res.sources == ["model", "model"]
    assert filled[125, 125]  # holes are filled by default
    assert not kept_open[125, 125]
    assert iou(kept_open, (disc > 0) & (hole == 0)) >= 0.8


def test_box_on_flat_noise_falls_back_to_the_box() -> None:
    image = noisy_background(9)
    seg = ClassicalSegmenter()
    seg.set_scene("noise", image)
    res = seg.predict([InstancePrompt(box=Box(x1=60.4, y1=70, x2=180, y2=150.2))])
    assert res.sources == ["box-fallback"]
    assert res.scores[0] == pytest.approx(FALLBACK_SCORE)
    expected = np.zeros((SIZE, SIZE), bool)
    expected[70:151, 60:180] = True
    np.testing.assert_array_equal(res.masks[0], expected)


def test_a_mask_that_does_not_span_a_box_falls_back_unless_a_negative_point_says_the_box_is_loose() -> None:
    image = noisy_background(12)
    part = draw(image, [(60, 60), (140, 60), (140, 130), (60, 130)], (240, 240, 240), seed=13)
    loose = Box(x1=50, y1=50, x2=200, y2=200)
    seg = ClassicalSegmenter()
    seg.set_scene("part", image)
    res = seg.predict([InstancePrompt(box=loose), InstancePrompt(box=loose, points=[Point(x=170, y=170, label=0)])])
    assert res.sources == ["box-fallback", "model"]
    assert res.masks[0][50:200, 50:200].all()
    assert iou(res.masks[1], part) >= 0.8


def test_a_shape_that_fills_its_box_answers_the_box_unless_it_clearly_stands_out() -> None:
    image = noisy_background(14)
    faint = draw(image, [(30, 30), (110, 30), (110, 110), (30, 110)], (130, 118, 100), seed=15)
    vivid = draw(image, [(140, 140), (220, 140), (220, 220), (140, 220)], (30, 200, 60), seed=16)
    seg = ClassicalSegmenter()
    seg.set_scene("squares", image)
    res = seg.predict([InstancePrompt(box=bbox(faint, pad=1)), InstancePrompt(box=bbox(vivid, pad=1))])
    assert res.sources == ["box-fallback", "model"]
    assert iou(res.masks[0], faint) >= 0.95
    assert iou(res.masks[1], vivid) >= 0.95


def test_a_loose_box_around_a_filled_rectangle_gives_the_rectangle() -> None:
    image = noisy_background(16)
    rect = draw(image, [(70, 80), (150, 80), (150, 150), (70, 150)], (200, 60, 50), seed=17)
    seg = ClassicalSegmenter()
    seg.set_scene("loose", image)
    res = seg.predict([InstancePrompt(box=bbox(rect, pad=8))])  # ~10% slack on every side
    assert res.sources == ["model"]
    assert iou(res.masks[0], rect) >= 0.9


def test_box_partly_outside_the_image_is_clipped() -> None:
    image = noisy_background(10)
    corner = draw(image, [(0, 0), (70, 0), (70, 20), (25, 20), (25, 50), (0, 50)], (30, 30, 200), seed=11)
    seg = ClassicalSegmenter()
    seg.set_scene("corner", image)
    res = seg.predict(
        [InstancePrompt(box=Box(x1=-40, y1=-30, x2=75, y2=55)), InstancePrompt(box=Box(x1=300, y1=10, x2=400, y2=90))]
    )
    assert res.masks.shape == (2, SIZE, SIZE)
    assert res.sources[0] == "model"
    assert iou(res.masks[0], corner) >= 0.8
    assert res.sources[1] == "box-fallback" and not res.masks[1].any()


def test_encode_count_counts_new_scenes_only(l_shape: tuple[np.ndarray, np.ndarray]) -> None:
    image, _ = l_shape
    seg = ClassicalSegmenter()
    seg.set_scene("a", image)
    seg.set_scene("a", image)
    seg.predict([InstancePrompt(box=Box(x1=50, y1=40, x2=200, y2=210))])
    seg.set_scene("a", image)
    assert seg.encode_count == 1
    seg.set_scene("b", image)
    assert seg.encode_count == 2


def test_predict_before_set_scene_raises() -> None:
    with pytest.raises(RuntimeError, match=r"call set_scene\(\.\.\.\) first"):
        ClassicalSegmenter().predict([InstancePrompt(box=Box(x1=0, y1=0, x2=10, y2=10))])


def test_empty_prompt_list_gives_empty_arrays(l_shape: tuple[np.ndarray, np.ndarray]) -> None:
    seg = ClassicalSegmenter()
    seg.set_scene("a", l_shape[0])
    res = seg.predict([])
    assert res.masks.shape == (0, SIZE, SIZE) and res.masks.dtype == bool
    assert res.scores.shape == (0,) and res.sources == []


@pytest.mark.parametrize(
    "image",
    [np.zeros((10, 10), np.uint8), np.zeros((10, 10, 3), np.float32), np.zeros((0, 10, 3), np.uint8)],
    ids=["gray", "float", "empty"],
)
def test_bad_images_raise_input_error(image: np.ndarray) -> None:
    with pytest.raises(InputError, match=r"\(H, W, 3\)"):
        ClassicalSegmenter().set_scene("bad", image)


def test_rgba_image_is_accepted(l_shape: tuple[np.ndarray, np.ndarray]) -> None:
    image, truth = l_shape
    rgba = np.dstack([image, np.full(truth.shape, 255, np.uint8)])
    seg = ClassicalSegmenter()
    seg.set_scene("rgba", rgba)
    assert iou(seg.predict([InstancePrompt(box=bbox(truth))]).masks[0], truth) >= 0.8


def test_unknown_option_raises_input_error() -> None:
    with pytest.raises(InputError, match="iterations"):
        make_segmenter("classical", iteratons=5)


def test_masks_are_identical_across_runs_and_threads():
    """GrabCut's k-means uses OpenCV's per-thread RNG; the segmenter seeds it, so results never drift."""
    import threading

    from tools.schemas import Box, InstancePrompt
    from tools.segmenters.classical import ClassicalSegmenter

    rng = np.random.default_rng(5)
    img = rng.normal(120, 30, (200, 200, 3)).clip(0, 255).astype(np.uint8)
    img[60:140, 50:150] = rng.normal((90, 150, 60), 35, (80, 100, 3)).clip(0, 255).astype(np.uint8)
    prompts = [InstancePrompt(box=Box(x1=40, y1=50, x2=160, y2=150))]
    results = []

    def run() -> None:
        seg = ClassicalSegmenter()
        seg.set_scene("s", img)
        results.append(seg.predict(prompts).masks[0])

    run()
    t = threading.Thread(target=run)
    t.start()
    t.join()
    run()
    assert all(np.array_equal(results[0], r) for r in results[1:])
