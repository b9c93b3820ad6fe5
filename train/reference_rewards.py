"""The reference's reward terms, reproduced exactly (the ``reference`` preset of train.rewards).

Source: AMAP-ML/SocioReasoner at 7ba0c65, ``roll/pipeline/rlvr/rewards/socioseg_rule_reward_worker.py``
(``_multi_s1_*`` / ``_multi_s2_*``), the GT boxes of ``get_bboxes`` and the stage-1 answer extraction of
``roll/pipeline/multi_utils.py``; written anew from the behaviour, not copied. Every quirk is kept on purpose,
since the point of this module is to train (or score) exactly as the reference does:

- Answers are read with strict ``json.loads`` of the first ``<answer>...</answer>``; any error scores the term 0
  (and, in the format terms, an error part-way through the items zeroes the whole item part).
- Stage-1 accuracy. The reference's cost is ``2 - hit_iou - hit_l1`` and its reward is ``len(matches) -
  sum(cost)``, i.e. **Acc1 = sum over Hungarian matches of (hit_iou + hit_l1 - 1) / max(K, J)**, in [-1, 1]: one
  wrong box on one true box scores -1, below an empty answer (0). reference/socioreasoner.md section 6.1 writes
  ``sum(hit_iou + hit_l1) / max(K, J)`` in [0, 2]; that disagrees with the code, which this module follows
  (checked at 588ad34 and 7ba0c65: the line is unchanged).
- Box IoU uses the pixel-inclusive +1 convention; L1 is the mean absolute corner difference; both sides are
  truncated to 120 boxes; an empty prediction scores 0 even on an empty truth.
- GT boxes are the bounding rectangles of the external contours with ``cv2.contourArea > 10`` in the truth
  mask's own frame (768 px for SocioSeg), compared with predictions in the model frame (756 px): the 1.6 %
  frame mismatch is kept, so a perfect box near the far corner can fail the 10-px L1 test.
- Stage-2 IoU is 0 on an empty union (the eval counts an empty prediction on an empty truth as 1) and 0 on a
  shape mismatch.

Not reproduced: the reference stores rewards as float16 (a storage artefact); a JSON answer nested deeper than
Python's recursion limit, which crashes the reference's count term, scores 0 here.

>>> ok = '<think>t</think><answer>[{"bbox_2d": [0, 0, 9, 9]}]</answer>'
>>> localize_format(ok), count(ok, [[0, 0, 9, 9]]), box_accuracy(ok, [[0, 0, 9, 9]])
(2.0, 1.0, 1.0)
>>> box_accuracy('<answer>[{"bbox_2d": [50, 50, 60, 60]}]</answer>', [[0, 0, 9, 9]])  # a wrong box
-1.0
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from evals.metrics import iou_counts
from train.reward_terms import count_reward, point_count_reward

MAX_OBJECTS = 120
"""Both box lists are truncated to this many in the accuracy term."""
MIN_CONTOUR_AREA = 10
"""GT contours of this ``cv2.contourArea`` or less are dropped."""
STRIPPED_TOKENS = ("<|endoftext|>", "<|im_end|>", "<pad>")
"""Removed from a response before it is scored (it is decoded with special tokens kept)."""

_THINK = re.compile(r"<think>.*?</think>\s*<answer>.*?</answer>", re.DOTALL)
_ANSWER = re.compile(r"<answer>\s*(.*?)\s*</answer>", re.DOTALL)
_ANSWER_PLAIN = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)


def clean_response(text: str) -> str:
    """Remove the special tokens the reference strips from a decoded response before scoring it."""
    for tok in STRIPPED_TOKENS:
        text = text.replace(tok, "")
    return text


def answer_text(response: str) -> str:
    """Return the stripped text of the first ``<answer>...</answer>``, or "" (the stage-1 boxes shown in stage 2)."""
    m = _ANSWER_PLAIN.search(response)
    return m.group(1).strip() if m else ""


def truth_boxes(truth: np.ndarray) -> list[list[int]]:
    """Return the GT boxes the reference derives from a mask: external contours of area > 10, as XYXY.

    Args:
        truth: (H, W) mask in its own pixel frame; any nonzero pixel is foreground.

    Returns:
        ``[x, y, x + w, y + h]`` of each contour's bounding rectangle, in OpenCV's contour order.

    >>> m = np.zeros((20, 20), bool); m[2:6, 3:9] = True; m[10:14, 10:14] = True
    >>> truth_boxes(m)  # the 4x4 square's contour encloses 9 px^2 only: dropped
    [[3, 2, 9, 6]]
    """
    import cv2

    binary = (np.asarray(truth) != 0).astype(np.uint8) * 255
    contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    boxes = []
    for c in contours:
        if cv2.contourArea(c) > MIN_CONTOUR_AREA:
            x, y, w, h = cv2.boundingRect(c)
            boxes.append([x, y, x + w, y + h])
    return boxes


def _think(response: str) -> float:
    return 1.0 if _THINK.fullmatch(response) else 0.0


def _answer_json(response: str) -> Any:
    """Return ``json.loads`` of the first answer (raises when there is none or it is not JSON)."""
    m = _ANSWER.search(response)
    if m is None:
        raise ValueError("no answer")
    return json.loads(m.group(1))


def localize_format(response: str) -> float:
    """Return Fmt1 in [0, 2]: the think regex (fullmatch) plus the fraction of items that are exactly ``{bbox_2d}``.

    >>> localize_format(' <think>t</think><answer>[{"bbox_2d": [1, 2, 3, 4], "points": []}]</answer>')
    0.0
    """
    think = _think(response)
    try:
        data = _answer_json(response)
        if not data:
            return think
        good = 0.0
        for item in data:  # a non-dict item raises, which zeroes the whole item part
            box = item["bbox_2d"] if item.keys() == {"bbox_2d"} else None
            good += isinstance(box, list) and len(box) == 4
        return think + good / len(data)
    except Exception:
        return think


def refine_format(response: str, stage1_answer: str) -> float:
    """Return Fmt2 in [0, 2]: the think regex plus the fraction of objects that keep stage-1 box i and add points.

    Object i counts when it has ``bbox_2d`` and ``points``, its box is a 4-list equal to stage-1 object i's box,
    and every point is an [x, y] pair strictly inside the box. The item part is 0 unless both answers parse and
    have the same number of objects. ``stage1_answer`` is the stage-1 answer text (`answer_text`); single
    quotes in it are read as double quotes.

    >>> refine_format('<think></think><answer>[{"bbox_2d": [0, 0, 9, 9], "points": [[4, 4]]}]</answer>',
    ...               "[{'bbox_2d': [0, 0, 9, 9]}]")
    2.0
    """
    think = _think(response)
    try:
        data = _answer_json(response)
        before = json.loads(stage1_answer.replace("'", '"'))
        if not data or len(before) != len(data):
            return think
        good = 0.0
        for item, old in zip(data, before, strict=False):
            old_box = old["bbox_2d"]
            if "bbox_2d" in item.keys() and "points" in item.keys():  # noqa: SIM118 (non-dicts must raise)
                box, points = item["bbox_2d"], item["points"]
                if isinstance(box, list) and len(box) == 4 and isinstance(points, list):
                    inside = _points_inside(points, box)  # checked even when the box differs: it may raise
                    good += box == old_box and inside
        return think + good / len(data)
    except Exception:
        return think


def _points_inside(points: list, box: list) -> bool:
    """Apply the reference's point check, in its order (a malformed point may raise, as there)."""
    ok = True
    for p in points:
        if not isinstance(p, list) or len(p) != 2:
            ok = False
        if p[0] <= box[0] or p[0] >= box[2] or p[1] <= box[1] or p[1] >= box[3]:
            return False
    return ok


def count(response: str, truth: Sequence[Sequence[float]]) -> float:
    """Return Len1 = ``exp(-2|K - J| / J)`` on the raw answer's length K; 0 on any parse error.

    >>> count('<answer>[]</answer>', []), count('<answer>[{"bbox_2d": [1, 2, 3, 4]}]</answer>', [])
    (1.0, 0.0)
    """
    try:
        data = _answer_json(response)
        k = len(np.array([item["bbox_2d"] for item in data]))
    except Exception:
        return 0.0
    return count_reward(k, len(truth))


def box_accuracy(response: str, truth: Sequence[Sequence[float]]) -> float:
    """Return Acc1 = sum over Hungarian matches of (hit_iou + hit_l1 - 1) / max(K, J), in [-1, 1].

    ``hit_iou`` = [IoU > 0.5] with the +1 pixel convention and ``hit_l1`` = [mean |corner difference| < 10],
    with the predictions as written (model frame) and ``truth`` as given (the reference: the 768-px frame).

    >>> box_accuracy('<answer>[{"bbox_2d": [0, 0, 9, 9]}, {"bbox_2d": [50, 50, 60, 60]}]</answer>', [[0, 0, 9, 9]])
    0.5
    >>> box_accuracy('<answer>[]</answer>', [])  # empty on empty
    0.0
    """
    try:
        data = _answer_json(response)
        if not data:
            return 0.0
        pred = np.array([item["bbox_2d"] for item in data])[:MAX_OBJECTS]
        gt = np.array([list(b) for b in truth])[:MAX_OBJECTS]
        if len(pred) == 0 or len(gt) == 0:
            return 0.0
        cost = 2.0 - (_iou_plus_one(pred, gt) > 0.5) - (_mean_l1(pred, gt) < 10)
        rows, cols = linear_sum_assignment(cost)
        return float((len(rows) - cost[rows, cols].sum()) / max(len(pred), len(gt)))
    except Exception:
        return 0.0


def _iou_plus_one(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return the reference's (K, J) box IoU: inclusive pixel counts (+1), union floored at 1e-6."""
    ax1, ay1, ax2, ay2 = np.split(a, 4, axis=1)
    bx1, by1, bx2, by2 = (v.T for v in np.split(b, 4, axis=1))
    inter = np.maximum(0, np.minimum(ax2, bx2) - np.maximum(ax1, bx1) + 1) * np.maximum(
        0, np.minimum(ay2, by2) - np.maximum(ay1, by1) + 1
    )
    union = (ax2 - ax1 + 1) * (ay2 - ay1 + 1) + (bx2 - bx1 + 1) * (by2 - by1 + 1) - inter
    return inter / np.maximum(union, 1e-6)


def _mean_l1(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.mean(np.abs(a[:, None, :] - b[None, :, :]), axis=2)


def point_count(response: str) -> float:
    """Return Len2: the mean over the answer's objects of the Gaussian (mu 2, sigma 2) of ``len(points)``.

    An object without a ``points`` key adds 0 but counts in the mean; ``"points": []`` adds exp(-1/2).

    >>> one_point_and_none = '[{"bbox_2d": [0, 0, 9, 9], "points": [[1, 1]]}, {"bbox_2d": [0, 0, 9, 9]}]'
    >>> round(point_count(f"<answer>{one_point_and_none}</answer>"), 4)
    0.4412
    """
    m = _ANSWER_PLAIN.search(response)
    if m is None:
        return 0.0
    try:
        data = json.loads(m.group(1).strip())
        counts = [None if "points" not in obj else len(obj["points"]) for obj in data]
        return point_count_reward(counts) if data else 0.0
    except Exception:
        return 0.0


def mask_iou(pred: np.ndarray, truth: np.ndarray) -> float:
    """Return Acc2: the final mask's IoU with the truth, 0 on an empty union or a shape mismatch.

    >>> empty = np.zeros((4, 4), bool)
    >>> mask_iou(empty, empty), mask_iou(empty, np.zeros((5, 5), bool))
    (0.0, 0.0)
    """
    if not isinstance(pred, np.ndarray) or not isinstance(truth, np.ndarray) or pred.shape != truth.shape:
        return 0.0
    inter, union = iou_counts(pred, truth)
    return 0.0 if union == 0 else inter / union
