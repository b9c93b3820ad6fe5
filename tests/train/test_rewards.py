"""The default reward preset: hand-computed cases, the fixes it makes to the reference, and its invariants."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.parsing import ParsedItem, format_answer, parse_answer
from evals.metrics import iou_counts, sample_iou
from tools.coords import ModelFrame, box_from_pixels
from tools.schemas import Box
from train.config import RewardConfig, RewardWeights
from train.reward_terms import (
    box_accuracy,
    box_iou_matrix,
    count_reward,
    localize_validity,
    point_count_reward,
    refine_validity,
    structure_format,
)
from train.rewards import localize_rewards, refine_rewards, truth_boxes_in_frame

QWEN25 = ModelFrame(kind="abs", model_hw=(756, 756))
QWEN3 = ModelFrame(kind="rel1000")
REFERENCE = RewardConfig(preset="reference")


def answer(json_text: str, think: str = "t") -> str:
    return f"<think>{think}</think><answer>{json_text}</answer>"


def square(y0: int, y1: int, x0: int, x1: int, hw: int = 768) -> np.ndarray:
    m = np.zeros((hw, hw), bool)
    m[y0:y1, x0:x1] = True
    return m


def exact_answer(truth: np.ndarray, frame: ModelFrame, points: bool = False) -> str:
    """Write the truth's boxes as a perfect policy would, rounded to integers in its frame."""
    items = []
    for x1, y1, x2, y2 in truth_boxes_in_frame(truth, frame):
        box = (round(x1), round(y1), round(x2), round(y2))
        pts = [((box[0] + box[2]) // 2, (box[1] + box[3]) // 2)] * 2 if points else []
        items.append(ParsedItem(box=box, points=pts))
    return format_answer(items, think="found it")


class TestLocalize:
    def test_a_perfect_answer_scores_the_maximum_in_any_frame(self):
        truth = square(100, 200, 300, 500)
        for frame in (QWEN25, QWEN3, ModelFrame()):
            out = localize_rewards(exact_answer(truth, frame), truth, frame)
            assert out.terms == {"format": 2.0, "count": 1.0, "accuracy": 1.0}, frame
            assert out.total == 4.0

    def test_the_far_corner_is_scored_in_the_model_frame(self):
        truth = square(700, 768, 700, 768)
        text = exact_answer(truth, QWEN25)
        assert '"bbox_2d": [689, 689, 756, 756]' in text
        assert localize_rewards(text, truth, QWEN25).terms["accuracy"] == 1.0
        assert localize_rewards(text, truth, QWEN25, REFERENCE).terms["accuracy"] == 0.0

    def test_truth_boxes_are_components_converted_by_tools_coords(self):
        truth = square(100, 200, 300, 500)
        truth[0:4, 0:4] = True  # 16 px > 10: an instance (the reference's contour area would be 9)
        expected = [box_from_pixels(Box(x1=x1, y1=y1, x2=x2, y2=y2), QWEN3, (768, 768), ndigits=6)
                    for x1, y1, x2, y2 in [(0, 0, 4, 4), (300, 100, 500, 200)]]  # fmt: skip
        assert sorted(truth_boxes_in_frame(truth, QWEN3)) == sorted(expected)
        assert sorted(expected)[1][:2] == pytest.approx([300 / 768 * 1000, 100 / 768 * 1000])

    def test_a_wrong_box_never_scores_below_an_empty_answer(self):
        truth = square(100, 200, 300, 500)
        wrong = localize_rewards(answer('[{"bbox_2d": [600, 600, 700, 700]}]'), truth, QWEN25)
        empty = localize_rewards(answer("[]"), truth, QWEN25)
        assert wrong.terms["accuracy"] == empty.terms["accuracy"] == 0.0
        assert wrong.total > empty.total  # the right count still earns: 2 + 1 + 0 against 2 + exp(-2) + 0
        assert empty.terms["count"] == pytest.approx(math.exp(-2))

    def test_empty_on_empty_scores_the_maximum(self):
        empty = np.zeros((768, 768), bool)
        assert localize_rewards(answer("[]"), empty, QWEN25).terms == {"format": 2.0, "count": 1.0, "accuracy": 1.0}
        boxed = localize_rewards(answer('[{"bbox_2d": [1, 1, 50, 50]}]'), empty, QWEN25).terms
        assert boxed == {"format": 2.0, "count": 0.0, "accuracy": 0.0}

    def test_whitespace_and_special_tokens_around_the_tags_pass(self):
        truth = square(100, 200, 300, 500)
        text = "\n " + exact_answer(truth, QWEN25) + "\n<|im_end|>"
        assert localize_rewards(text, truth, QWEN25).terms["format"] == 2.0
        assert localize_rewards(text, truth, QWEN25, REFERENCE).terms["format"] == 1.0

    def test_an_unusable_answer_scores_only_its_structure(self):
        truth = square(100, 200, 300, 500)
        assert localize_rewards(answer("a school, I think"), truth, QWEN25).terms == {
            "format": 1.0,
            "count": 0.0,
            "accuracy": 0.0,
        }
        assert localize_rewards("", truth, QWEN25).total == 0.0

    def test_boxes_are_clipped_to_the_frame_as_at_inference(self):
        truth = square(700, 768, 700, 768)
        text = answer('[{"bbox_2d": [689, 689, 800, 800]}]')  # past the 756 frame: clipped to it
        assert localize_rewards(text, truth, QWEN25).terms["accuracy"] == 1.0

    def test_weights_scale_each_term(self):
        truth = square(100, 200, 300, 500)
        cfg = RewardConfig(weights=RewardWeights(localize_format=0.5, localize_count=0.0, localize_accuracy=3.0))
        assert localize_rewards(exact_answer(truth, QWEN25), truth, QWEN25, cfg).total == 0.5 * 2 + 3.0


class TestRefine:
    S1 = answer('[{"bbox_2d": [10, 10, 50, 50]}]')

    def test_kept_box_with_points_inside(self):
        truth = square(10, 50, 10, 50, hw=756)
        s2 = answer('[{"bbox_2d": [10, 10, 50, 50], "points": [[20, 20], [30, 40]]}]')
        out = refine_rewards(s2, self.S1, truth, truth, QWEN25)
        assert out.terms == {"format": 2.0, "points": 1.0, "iou": 1.0}

    def test_a_point_on_the_edge_or_a_moved_box_fails_its_object(self):
        edge = parse_answer(answer('[{"bbox_2d": [10, 10, 50, 50], "points": [[10, 20]]}]'), "refine")
        moved = parse_answer(answer('[{"bbox_2d": [10, 10, 52, 50], "points": [[20, 20]]}]'), "refine")
        s1 = parse_answer(self.S1)
        assert refine_validity(edge, s1) == 0.0
        assert refine_validity(moved, s1) == 0.0
        assert refine_validity(moved, s1, keep_box_tol=2.0) == 1.0

    def test_points_outside_their_box_scale_the_item_part(self):
        s2 = parse_answer(answer('[{"bbox_2d": [10, 10, 50, 50], "points": [[20, 20], [90, 90]]}]'), "refine")
        assert s2.dropped_points == 1
        assert refine_validity(s2, parse_answer(self.S1)) == 0.5

    def test_a_count_mismatch_is_scored_over_the_larger_count(self):
        s1 = parse_answer(answer('[{"bbox_2d": [10, 10, 50, 50]}, {"bbox_2d": [60, 60, 90, 90]}]'))
        one = parse_answer(answer('[{"bbox_2d": [10, 10, 50, 50], "points": [[20, 20]]}]'), "refine")
        assert refine_validity(one, s1) == 0.5

    def test_empty_after_empty_scores_the_maximum(self):
        empty = np.zeros((756, 756), bool)
        out = refine_rewards(answer("[]"), answer("[]"), empty, empty, QWEN25)
        assert out.terms == {"format": 2.0, "points": 1.0, "iou": 1.0}
        dropped = refine_rewards(answer("[]"), self.S1, empty, empty, QWEN25)
        assert dropped.terms == {"format": 1.0, "points": 0.0, "iou": 1.0}  # kept none of the stage-1 boxes

    def test_point_count_counts_objects_without_points_as_zero(self):
        s2 = answer('[{"bbox_2d": [10, 10, 50, 50], "points": [[20, 20]]}, {"bbox_2d": [60, 60, 90, 90]}]')
        empty = np.zeros((756, 756), bool)
        points = refine_rewards(s2, self.S1, empty, empty, QWEN25).terms["points"]
        assert points == pytest.approx((math.exp(-1 / 8) + 0) / 2)

    def test_shape_mismatch_is_a_pipeline_error(self):
        with pytest.raises(ValueError, match="shape"):
            refine_rewards(self.S1, self.S1, np.zeros((10, 10), bool), np.zeros((12, 12), bool), QWEN25)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), empty_pred=st.booleans(), empty_truth=st.booleans())
def test_mask_iou_is_the_eval_iou(seed, empty_pred, empty_truth):
    rng = np.random.default_rng(seed)
    pred = rng.random((24, 24)) < (0.0 if empty_pred else 0.3)
    truth = rng.random((24, 24)) < (0.0 if empty_truth else 0.3)
    s = answer("[]")
    expected = sample_iou(*iou_counts(pred, truth))
    assert refine_rewards(s, s, pred, truth, ModelFrame()).terms["iou"] == expected
    _, union = iou_counts(pred, truth)
    assert refine_rewards(s, s, pred, truth, ModelFrame(), REFERENCE).terms["iou"] == (expected if union else 0.0)


boxes = st.lists(
    st.tuples(st.integers(0, 200), st.integers(0, 200), st.integers(1, 60), st.integers(1, 60)).map(
        lambda t: (t[0], t[1], t[0] + t[2], t[1] + t[3])
    ),
    max_size=6,
)


@settings(max_examples=200, deadline=None)
@given(pred=boxes, truth=boxes)
def test_box_accuracy_lies_in_0_1_and_never_below_an_empty_answer(pred, truth):
    acc = box_accuracy(pred, truth)
    assert 0.0 <= acc <= 1.0
    if truth:  # with instances to find, a wrong answer is never worse than none (on an empty truth, none is right)
        assert acc >= box_accuracy([], truth) == 0.0
    assert box_accuracy(truth, truth) == 1.0


def test_box_iou_matches_torchvision():
    torchvision = pytest.importorskip("torchvision")
    import torch

    rng = np.random.default_rng(0)
    a = rng.uniform(0, 100, (7, 4))
    b = rng.uniform(0, 100, (5, 4))
    a[:, 2:] = a[:, :2] + rng.uniform(0, 50, (7, 2))
    b[:, 2:] = b[:, :2] + rng.uniform(0, 50, (5, 2))
    expected = torchvision.ops.box_iou(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    np.testing.assert_allclose(box_iou_matrix(a, b), expected, atol=1e-12)


def test_hungarian_matching_finds_the_best_assignment():
    # greedy on the first prediction would take truth 0 and leave truth 1 unmatched
    pred = [(0, 0, 10, 10), (0, 0, 10, 12)]
    truth = [(0, 0, 10, 11), (100, 100, 110, 110)]
    assert box_accuracy(pred, truth) == 0.5
    assert box_accuracy([(0, 0, 10, 10), (100, 100, 110, 110)], truth) == 1.0


def test_shared_formulas():
    assert count_reward(2, 4) == pytest.approx(math.exp(-1))
    assert count_reward(0, 3) == pytest.approx(math.exp(-2))
    assert point_count_reward([3], mu=2, sigma=2) == pytest.approx(math.exp(-1 / 8))
    assert point_count_reward([None, 2]) == 0.5
    assert point_count_reward([1], mu=1, sigma=0.5) == 1.0


def test_structure_and_validity():
    assert structure_format(answer("[]", think="")) == 1.0
    assert structure_format("<think>a <answer> b</think><answer>[]</answer>") == 0.0  # nested tag
    assert structure_format("Sure! " + answer("[]")) == 0.0
    assert localize_validity(parse_answer(answer("[]"))) == 1.0
    assert localize_validity(parse_answer(answer("nothing"))) == 0.0
