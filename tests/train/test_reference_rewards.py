"""The reference preset on the reference code's edge cases, each value computed by hand from its code."""

import math

import numpy as np
import pytest

from tools.coords import ModelFrame
from train import reference_rewards as ref
from train.config import RewardConfig
from train.rewards import localize_rewards, refine_rewards

QWEN25 = ModelFrame(kind="abs", model_hw=(756, 756))
REFERENCE = RewardConfig(preset="reference")


def answer(json_text: str, think: str = "t") -> str:
    return f"<think>{think}</think><answer>{json_text}</answer>"


def square(y0: int, y1: int, x0: int, x1: int, hw: int = 768) -> np.ndarray:
    m = np.zeros((hw, hw), bool)
    m[y0:y1, x0:x1] = True
    return m


class TestLocalizeAccuracy:
    def test_a_wrong_single_box_scores_minus_one_below_an_empty_answer(self):
        truth = [[0, 0, 9, 9]]
        assert ref.box_accuracy(answer('[{"bbox_2d": [50, 50, 60, 60]}]'), truth) == -1.0
        assert ref.box_accuracy(answer("[]"), truth) == 0.0

    def test_formula_is_hits_minus_one_per_match_over_max_count(self):
        # the code's reward is len(matches) - sum(2 - hit_iou - hit_l1); socioreasoner.md 6.1 drops the -1
        truth = [[0, 0, 9, 9], [100, 100, 140, 140]]
        one_right_one_wrong = '[{"bbox_2d": [0, 0, 9, 9]}, {"bbox_2d": [300, 300, 310, 310]}]'
        assert ref.box_accuracy(answer(one_right_one_wrong), truth) == pytest.approx(((1 + 1 - 1) + (0 + 0 - 1)) / 2)
        # both hits: [0, 0, 40, 40] vs [0, 0, 52, 52] has IoU 41^2 / 53^2 = 0.60 and mean L1 6
        assert ref.box_accuracy(answer('[{"bbox_2d": [0, 0, 40, 40]}]'), [[0, 0, 52, 52]]) == 1.0
        # one hit is worth nothing: IoU 201^2 / 231^2 = 0.76 but mean L1 15; or mean L1 6 but IoU 0
        assert ref.box_accuracy(answer('[{"bbox_2d": [0, 0, 200, 200]}]'), [[0, 0, 230, 230]]) == 0.0
        assert ref.box_accuracy(answer('[{"bbox_2d": [0, 0, 4, 4]}]'), [[6, 6, 10, 10]]) == 0.0
        # no hit: [0, 0, 40, 40] vs [0, 0, 62, 62] has IoU 41^2 / 63^2 = 0.42 and mean L1 11
        assert ref.box_accuracy(answer('[{"bbox_2d": [0, 0, 40, 40]}]'), [[0, 0, 62, 62]]) == -1.0

    def test_iou_counts_pixels_inclusively(self):
        # [0, 0, 1, 1] vs [1, 1, 2, 2]: with +1, inter 1 px, union 4 + 4 - 1 -> 1/7 (continuous IoU: 0)
        iou = ref._iou_plus_one(np.array([[0, 0, 1, 1]]), np.array([[1, 1, 2, 2]]))
        assert iou[0, 0] == pytest.approx(1 / 7)

    def test_empty_on_empty_scores_zero(self):
        assert ref.box_accuracy(answer("[]"), []) == 0.0
        assert ref.count(answer("[]"), []) == 1.0
        terms = localize_rewards(answer("[]"), np.zeros((768, 768), bool), QWEN25, REFERENCE).terms
        assert terms == {"format": 1.0, "count": 1.0, "accuracy": 0.0}  # `[]` also earns no item format

    def test_perfect_box_near_the_far_corner_fails_the_l1_test(self):
        truth = square(700, 768, 700, 768)
        assert ref.truth_boxes(truth) == [[700, 700, 768, 768]]
        # the exact answer in the 756 model frame: 700 * 756 / 768 = 689.06 -> 689, 768 -> 756
        far = answer('[{"bbox_2d": [689, 689, 756, 756]}]')
        # mean L1 = (11 + 11 + 12 + 12) / 4 = 11.5 >= 10: no L1 hit; IoU 57^2 / (68^2 + 69^2 - 57^2) = 0.53 hits
        assert localize_rewards(far, truth, QWEN25, REFERENCE).terms["accuracy"] == 0.0
        # the same exact answer near the origin passes: 68 * 756 / 768 = 66.9 -> 67, mean L1 0.5
        near = answer('[{"bbox_2d": [0, 0, 67, 67]}]')
        assert localize_rewards(near, square(0, 68, 0, 68), QWEN25, REFERENCE).terms["accuracy"] == 1.0

    def test_boxes_are_truncated_to_120(self):
        truth = [[0, 0, 9, 9]]
        many = "[" + ", ".join(['{"bbox_2d": [0, 0, 9, 9]}'] + ['{"bbox_2d": [50, 50, 60, 60]}'] * 200) + "]"
        assert ref.box_accuracy(answer(many), truth) == pytest.approx(1 / 120)
        assert ref.count(answer(many), truth) == pytest.approx(math.exp(-2 * 200))  # count is not truncated

    @pytest.mark.parametrize(
        "text",
        [
            answer("[{'bbox_2d': [0, 0, 9, 9]}]"),  # single quotes
            answer('[{"bbox_2d": [0, 0, 9, 9]},]'),  # trailing comma
            answer('[{"bbox_2d": [0, 0, 9, 9]}'),  # truncated
            answer('[{"bbox": [0, 0, 9, 9]}]'),  # another key
            answer('[{"bbox_2d": [0, 0, 9, 9]}, {"bbox_2d": [1, 2]}]'),  # ragged
            answer('{"bbox_2d": [0, 0, 9, 9]}'),  # an object, not a list
            '<think>t</think>[{"bbox_2d": [0, 0, 9, 9]}]',  # no answer tags
        ],
    )
    def test_malformed_json_scores_zero_count_and_accuracy(self, text):
        assert ref.count(text, [[0, 0, 9, 9]]) == 0.0
        assert ref.box_accuracy(text, [[0, 0, 9, 9]]) == 0.0

    def test_a_box_of_three_numbers_counts_but_scores_no_accuracy(self):
        text = answer('[{"bbox_2d": [0, 0, 9]}]')
        assert ref.count(text, [[0, 0, 9, 9]]) == 1.0
        assert ref.box_accuracy(text, [[0, 0, 9, 9]]) == 0.0

    def test_the_default_preset_reads_the_same_malformed_answers(self):
        truth = square(0, 10, 0, 10, hw=756)
        text = answer("[{'bbox_2d': [0, 0, 10, 10]}]")
        assert localize_rewards(text, truth, QWEN25, REFERENCE).terms == {"format": 1.0, "count": 0.0, "accuracy": 0.0}
        assert localize_rewards(text, truth, QWEN25).terms == {"format": 2.0, "count": 1.0, "accuracy": 1.0}


class TestTruthBoxes:
    def test_contours_of_area_up_to_10_are_dropped(self):
        m = np.zeros((30, 30), bool)
        m[0:4, 0:4] = True  # 16 px, but its contour through pixel centres encloses 3 x 3 = 9
        m[10:15, 10:14] = True  # contour area 4 x 3 = 12 > 10
        assert ref.truth_boxes(m) == [[10, 10, 14, 15]]

    def test_one_box_per_8_connected_region(self):
        m = np.zeros((30, 30), bool)
        m[0:8, 0:8] = True
        m[8:16, 8:16] = True  # touches the first at a corner
        assert ref.truth_boxes(m) == [[0, 0, 16, 16]]


class TestLocalizeFormat:
    def test_whitespace_around_tags_fails_the_think_regex(self):
        body = answer('[{"bbox_2d": [0, 0, 9, 9]}]')
        assert ref.localize_format(body) == 2.0
        assert ref.localize_format(" " + body) == 1.0
        assert ref.localize_format(body + "\n") == 1.0
        assert ref.localize_format(body.replace("</think>", "</think>\n")) == 2.0  # between the blocks is allowed

    def test_the_end_of_turn_token_is_stripped_before_scoring(self):
        body = answer('[{"bbox_2d": [0, 0, 9, 9]}]') + "<|im_end|>"
        assert ref.localize_format(body) == 1.0
        assert localize_rewards(body, np.zeros((768, 768), bool), QWEN25, REFERENCE).terms["format"] == 2.0

    def test_item_part_is_the_share_of_items_with_exactly_the_bbox_key(self):
        text = answer('[{"bbox_2d": [0, 0, 9, 9]}, {"bbox_2d": [0, 0, 9, 9], "points": [[1, 1]]}, {"bbox_2d": [1]}]')
        assert ref.localize_format(text) == pytest.approx(1 + 1 / 3)

    def test_a_non_object_item_zeroes_the_item_part(self):
        assert ref.localize_format(answer('[{"bbox_2d": [0, 0, 9, 9]}, [0, 0, 9, 9]]')) == 1.0

    def test_empty_list_earns_only_the_think_part(self):
        assert ref.localize_format(answer("[]")) == 1.0
        assert ref.localize_format("no tags at all") == 0.0


class TestRefineFormat:
    S1 = "[{'bbox_2d': [10, 10, 50, 50]}, {'bbox_2d': [60, 60, 90, 90]}]"  # as the reference shows it (quotes)

    def test_boxes_kept_and_points_strictly_inside(self):
        text = answer(
            '[{"bbox_2d": [10, 10, 50, 50], "points": [[20, 20]]}, {"bbox_2d": [60, 60, 90, 90], "points": []}]'
        )
        assert ref.refine_format(text, self.S1) == 2.0  # an empty point list passes

    def test_a_moved_box_or_a_point_on_the_edge_fails_its_object(self):
        moved = answer(
            '[{"bbox_2d": [11, 10, 50, 50], "points": [[20, 20]]}, {"bbox_2d": [60, 60, 90, 90], "points": []}]'
        )
        edge = answer(
            '[{"bbox_2d": [10, 10, 50, 50], "points": [[10, 20]]}, {"bbox_2d": [60, 60, 90, 90], "points": []}]'
        )
        assert ref.refine_format(moved, self.S1) == 1.5
        assert ref.refine_format(edge, self.S1) == 1.5

    def test_a_count_mismatch_zeroes_the_item_part(self):
        text = answer('[{"bbox_2d": [10, 10, 50, 50], "points": [[20, 20]]}]')
        assert ref.refine_format(text, self.S1) == 1.0

    def test_a_malformed_point_raises_and_zeroes_all_objects_unless_short_circuited(self):
        good = '{"bbox_2d": [10, 10, 50, 50], "points": [[20, 20]]}'
        # [70]: 70 > 60 so the code goes on to p[1] -> IndexError -> the whole item part is 0
        assert ref.refine_format(answer(f'[{good}, {{"bbox_2d": [60, 60, 90, 90], "points": [[70]]}}]'), self.S1) == 1.0
        # [5]: 5 <= 60 short-circuits before p[1] -> only that object fails
        assert ref.refine_format(answer(f'[{good}, {{"bbox_2d": [60, 60, 90, 90], "points": [[5]]}}]'), self.S1) == 1.5
        # a malformed point under a changed box still raises (the code checks the points regardless)
        moved = '{"bbox_2d": [61, 60, 90, 90], "points": [[70]]}'
        assert ref.refine_format(answer(f"[{good}, {moved}]"), self.S1) == 1.0

    def test_an_unparsable_stage1_answer_zeroes_the_item_part(self):
        text = answer('[{"bbox_2d": [10, 10, 50, 50], "points": [[20, 20]]}]')
        assert ref.refine_format(text, "") == 1.0
        assert ref.answer_text("<think>x</think><answer> [1] </answer><answer>[2]</answer>") == "[1]"


class TestPointCountAndIoU:
    def test_gaussian_of_the_point_count_with_missing_points_adding_zero(self):
        two = answer('[{"bbox_2d": [0, 0, 9, 9], "points": [[1, 1], [2, 2]]}]')
        none = answer('[{"bbox_2d": [0, 0, 9, 9], "points": [[1, 1], [2, 2]]}, {"bbox_2d": [0, 0, 9, 9]}]')
        empty = answer('[{"bbox_2d": [0, 0, 9, 9], "points": []}]')
        assert ref.point_count(two) == 1.0
        assert ref.point_count(none) == 0.5
        assert ref.point_count(empty) == pytest.approx(math.exp(-0.5))
        assert ref.point_count(answer("[]")) == 0.0
        assert ref.point_count(answer("[{'points': [[1, 1]]}]")) == 0.0

    def test_iou_is_zero_on_an_empty_union_and_on_a_shape_mismatch(self):
        empty = np.zeros((768, 768), bool)
        assert ref.mask_iou(empty, empty) == 0.0
        assert ref.mask_iou(square(0, 10, 0, 10), square(0, 10, 0, 10, hw=756)) == 0.0
        assert ref.mask_iou(square(0, 10, 0, 10), square(0, 10, 0, 20)) == 0.5

    def test_refine_rewards_of_the_reference_preset(self):
        s1 = answer('[{"bbox_2d": [10, 10, 50, 50]}]')
        s2 = answer('[{"bbox_2d": [10, 10, 50, 50], "points": [[20, 20], [30, 30]]}]')
        empty = np.zeros((768, 768), bool)
        out = refine_rewards(s2, s1, empty, empty, QWEN25, REFERENCE)
        assert out.terms == {"format": 2.0, "points": 1.0, "iou": 0.0}
        assert out.total == 3.0
