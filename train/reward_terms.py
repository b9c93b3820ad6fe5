"""The reward terms of the ``default`` preset, and the two formulas both presets share, as pure functions.

Inputs are plain: answer text, parsed answers (`agent.parsing.ParsedAnswer`, read by the agent's own parser),
boxes as XYXY in one stated frame, masks as (H, W) numpy arrays. Every function returns a float and never
raises on what a model wrote. train.rewards explains how the terms combine and how they differ from the
reference's (train.reference_rewards).

>>> count_reward(1, 1), count_reward(0, 0), round(count_reward(3, 1), 4)
(1.0, 1.0, 0.0183)
>>> point_count_reward([2, 2]), round(point_count_reward([2, 0]), 4)
(1.0, 0.8033)
>>> box_accuracy([(0, 0, 10, 10)], [(0, 0, 10, 10)]), box_accuracy([(50, 50, 60, 60)], [(0, 0, 10, 10)])
(1.0, 0.0)
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from agent.parsing import ParsedAnswer
from evals.metrics import iou_counts, sample_iou

BoxXYXY = Sequence[float]
"""``(x1, y1, x2, y2)`` with x1 <= x2 and y1 <= y2."""

_CHAT_TOKEN = re.compile(r"<\|[^<>|\s]{1,40}\|>")
_NO_TAG = r"(?:(?!</?(?:think|answer)>).)*"
_STRUCTURE = re.compile(rf"\s*<think>{_NO_TAG}</think>\s*<answer>{_NO_TAG}</answer>\s*", re.DOTALL)


# ----------------------------------------------------------------------------------------- shared formulas


def count_reward(k: int, j: int) -> float:
    """Score a predicted instance count ``k`` against the true count ``j``: ``exp(-2|k - j| / j)``.

    ``j = k = 0`` scores 1 and ``j = 0 < k`` scores 0 (both presets, as the reference).

    >>> count_reward(0, 1) == math.exp(-2), count_reward(2, 0)
    (True, 0.0)
    """
    if j == 0:
        return 1.0 if k == 0 else 0.0
    return math.exp(-2.0 * abs(k - j) / j)


def point_count_reward(points_per_object: Sequence[int | None], mu: float = 2.0, sigma: float = 2.0) -> float:
    """Return the mean over objects of ``exp(-(n - mu)^2 / (2 sigma^2))``, n the object's number of points.

    An object without points enters the mean as 0 (not as the Gaussian of n = 0). No objects score 0.

    Args:
        points_per_object: the number of points of each object; None marks an object without points.
        mu: the ideal number of points.
        sigma: the Gaussian's width.

    >>> round(point_count_reward([1]), 4), round(point_count_reward([4]), 4), point_count_reward([])
    (0.8825, 0.6065, 0.0)
    """
    if not points_per_object:
        return 0.0
    total = sum(0.0 if n is None else math.exp(-((n - mu) ** 2) / (2 * sigma**2)) for n in points_per_object)
    return total / len(points_per_object)


# ----------------------------------------------------------------------------------------- default terms


def structure_format(text: str) -> float:
    r"""Return 1.0 when the answer is one ``<think>`` block then one ``<answer>`` block, else 0.0.

    Whitespace around and between the blocks and chat special tokens (``<|im_end|>``) are allowed; any other
    text outside them, a missing block, or a repeated or nested tag fails. The blocks may be empty.

    >>> structure_format("  <think>ok</think>\n<answer>[]</answer>\n<|im_end|>")
    1.0
    >>> structure_format("<answer>[]</answer>"), structure_format("<think></think><answer>1</answer><answer>2</answer>")
    (0.0, 0.0)
    """
    return 1.0 if _STRUCTURE.fullmatch(_CHAT_TOKEN.sub("", text)) else 0.0


def localize_validity(parsed: ParsedAnswer) -> float:
    """Return the fraction of a stage-1 answer's items that are usable boxes; 1.0 for ``[]``, 0.0 on failure.

    >>> from agent.parsing import parse_answer
    >>> localize_validity(parse_answer('<answer>[{"bbox_2d": [1, 2, 30, 40]}, {"bbox_2d": [5]}]</answer>'))
    0.5
    """
    if not parsed.ok:
        return 0.0
    raw = len(parsed.items) + len(parsed.item_failures)
    return 1.0 if raw == 0 else len(parsed.items) / raw


def refine_validity(parsed: ParsedAnswer, stage1: ParsedAnswer, keep_box_tol: float | None = 0.0) -> float:
    """Score how well a stage-2 answer keeps the stage-1 boxes and points inside them, in [0, 1].

    Object i passes when its box equals stage-1 box i (each corner within ``keep_box_tol``; with None any box
    passes: the answer may correct the boxes) and it has at least one point, every point strictly inside
    the box. The score is the passing count over the larger of the two
    answers' item counts (the stage-2 items the parser dropped count too), times the fraction of points the
    parser kept (points outside their box are dropped and counted). Two empty answers score 1; a failed stage-2
    parse scores 0; a failed stage-1 parse counts as no boxes.

    >>> from agent.parsing import parse_answer
    >>> s1 = parse_answer('<answer>[{"bbox_2d": [10, 10, 50, 50]}]</answer>')
    >>> inside = '<answer>[{"bbox_2d": [10, 10, 50, 50], "points": [[20, 30]]}]</answer>'
    >>> on_edge = '<answer>[{"bbox_2d": [10, 10, 50, 50], "points": [[10, 30]]}]</answer>'
    >>> refine_validity(parse_answer(inside, "refine"), s1), refine_validity(parse_answer(on_edge, "refine"), s1)
    (1.0, 0.0)
    """
    if not parsed.ok:
        return 0.0
    before = stage1.items if stage1.ok else []
    n = max(len(before), len(parsed.items) + len(parsed.item_failures))
    if n == 0:
        return 1.0
    passed = 0
    for old, new in zip(before, parsed.items, strict=False):
        kept = keep_box_tol is None or all(abs(a - b) <= keep_box_tol for a, b in zip(old.box, new.box, strict=True))
        x1, y1, x2, y2 = new.box
        inside = all(x1 < x < x2 and y1 < y < y2 for x, y in new.points)
        passed += kept and bool(new.points) and inside
    points = sum(len(it.points) for it in parsed.items)
    kept_points = points / (points + parsed.dropped_points) if points + parsed.dropped_points else 1.0
    return passed / n * kept_points


def box_accuracy(
    pred: Sequence[BoxXYXY], truth: Sequence[BoxXYXY], iou_threshold: float = 0.5, l1_threshold: float = 10.0
) -> float:
    """Score predicted boxes against true boxes in one frame by Hungarian matching, in [0, 1].

    A matched pair earns 1/2 for IoU > ``iou_threshold`` and 1/2 for a mean absolute corner error below
    ``l1_threshold``; the matching maximises the total, which is divided by ``max(K, J)``, so missing and
    extra boxes cost and a wrong box scores 0, never below an empty answer. IoU is the continuous-coordinate
    box IoU (no +1 pixel convention). No boxes on either side scores 1 when both are empty, else 0.

    >>> box_accuracy([(0, 0, 10, 10), (100, 100, 110, 110)], [(0, 0, 10, 10)])
    0.5
    >>> box_accuracy([(0, 0, 10, 16)], [(0, 0, 10, 10)])  # IoU 0.625 > 0.5, mean L1 1.5 < 10
    1.0
    >>> box_accuracy([], []), box_accuracy([], [(0, 0, 1, 1)])
    (1.0, 0.0)
    """
    if not pred or not truth:
        return 1.0 if not pred and not truth else 0.0
    p = np.asarray(pred, dtype=np.float64).reshape(-1, 4)
    t = np.asarray(truth, dtype=np.float64).reshape(-1, 4)
    hits = 0.5 * (box_iou_matrix(p, t) > iou_threshold) + 0.5 * (np.abs(p[:, None] - t[None]).mean(-1) < l1_threshold)
    rows, cols = linear_sum_assignment(hits, maximize=True)
    return float(hits[rows, cols].sum() / max(len(p), len(t)))


def box_iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return the (K, J) IoU matrix of XYXY boxes ``a`` (K, 4) and ``b`` (J, 4); 0 where the union is empty.

    >>> box_iou_matrix(np.array([[0, 0, 2, 2]]), np.array([[1, 0, 3, 2], [5, 5, 6, 6]])).round(3).tolist()
    [[0.333, 0.0]]
    """
    iw = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = iw * ih
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def mask_iou_reward(pred: np.ndarray, truth: np.ndarray) -> float:
    """Return the final mask's IoU with the truth exactly as the eval scores it (`evals.metrics.sample_iou`).

    An empty prediction on an empty truth scores 1.

    Raises:
        ValueError: the shapes differ (a pipeline bug, never the model's fault).

    >>> truth = np.zeros((4, 4), bool); truth[:2] = True
    >>> pred = truth.copy(); pred[:, 2:] = False
    >>> empty = np.zeros((4, 4), bool)
    >>> mask_iou_reward(pred, truth), mask_iou_reward(empty, empty)
    (0.5, 1.0)
    """
    return sample_iou(*iou_counts(pred, truth))
