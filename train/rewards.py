r"""Per-stage rewards of the two-stage rollout, under one of two presets chosen by name (`RewardConfig.preset`).

Stage 1 (localize) earns ``format + count + accuracy``; stage 2 (refine) earns ``format + points + iou``; each
term is weighted by `RewardConfig.weights` (all 1, as the reference). The terms themselves are pure functions
in train.reward_terms (``default``) and train.reference_rewards (``reference``).

``reference`` reproduces AMAP-ML/SocioReasoner's reward code exactly, flaws included (use it to compare with the
paper's recipe). ``default`` keeps the reference's design and fixes what the issue lists, one decision a row:

==============  ==============================================  ====================================================
aspect          reference (its code at 7ba0c65)                 default (and why)
==============  ==============================================  ====================================================
parsing         strict ``json.loads`` of the first answer;      ``agent.parsing.parse_answer`` within the model
                any error zeroes the term                       frame's extent: what inference can use is rewarded
structure       fullmatch of ``<think>.*?</think>\s*<answer>    the same shape, but whitespace and chat special
                .*?</answer>``: a leading space fails           tokens around the blocks pass; repeated tags fail
stage-1 items   share of items whose keys are exactly           share of items the parser could use; ``[]`` is
                {bbox_2d}, with a 4-list; ``[]`` scores 0       valid ("nothing here" is right on an empty truth)
GT boxes        external contours of contourArea > 10, in the   8-connected components > 10 px (evals.metrics, as
                truth's 768 frame, compared with predictions    the instance F1), converted into the model frame
                in the 756 model frame                          (tools.coords) before any comparison
count           exp(-2|K-J|/J) on the raw JSON length           the same formula on the parsed item count
box accuracy    sum(hit_iou + hit_l1 - 1) / max(K, J), in       sum(hit_iou + hit_l1) / 2 / max(K, J), in [0, 1]:
                [-1, 1]: one wrong box scores -1, below an      a wrong box scores 0, never below an empty answer;
                empty answer; empty on empty scores 0; +1       empty on empty scores 1; continuous IoU; the
                pixel IoU; 120 boxes kept                       parser's 100 items; thresholds from RewardConfig
stage-2 format  items scored only if both answers parse with    object i passes with >= 1 point, all strictly
                equal counts; box i equal to stage-1 box i;     inside; the box may be corrected unless
                                                                ``keep_box_tol`` is set (then it must stay within
                points strictly inside; extra keys allowed      it of stage-1 box i); scored over the larger
                                                                count, times the share of points kept; two
                                                                empty answers score 1
point count     mean over objects of the Gaussian (mu 2,        the same, objects without points adding 0; an
                sigma 2) of len(points); no ``points`` adds 0   empty answer after an empty stage 1 scores 1
mask IoU        0 on an empty union or a shape mismatch         ``evals.metrics.sample_iou``: empty on empty is 1,
                                                                as the eval; a shape mismatch raises (a bug)
storage         float16                                         float64 (both presets)
==============  ==============================================  ====================================================

The reference's stage-1 accuracy formula is taken from its code, not from reference/socioreasoner.md section
6.1 (which writes ``sum(hit_iou + hit_l1) / max(K, J)``); see train.reference_rewards.

>>> import numpy as np
>>> from tools.coords import ModelFrame
>>> truth = np.zeros((768, 768), bool); truth[100:200, 300:500] = True
>>> frame = ModelFrame(kind="abs", model_hw=(756, 756))
>>> answer = '<think>a school</think><answer>[{"bbox_2d": [295, 98, 492, 197]}]</answer>'
>>> localize_rewards(answer, truth, frame).terms
{'format': 2.0, 'count': 1.0, 'accuracy': 1.0}
>>> localize_rewards(answer, truth, frame, RewardConfig(preset="reference")).total  # 2 + 1 + 1
4.0
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agent.parsing import ParsedAnswer, parse_answer
from agent.policies import Stage
from tools.coords import ModelFrame, box_from_pixels
from tools.instances import component_boxes
from tools.schemas import Box
from train import reference_rewards as ref
from train.config import RewardConfig
from train.reward_terms import (
    box_accuracy,
    count_reward,
    localize_validity,
    mask_iou_reward,
    point_count_reward,
    refine_validity,
    structure_format,
)

LOCALIZE_TERMS = ("format", "count", "accuracy")
"""Names of the stage-1 terms, in `RewardTerms.terms` order."""
REFINE_TERMS = ("format", "points", "iou")
"""Names of the stage-2 terms, in `RewardTerms.terms` order."""


@dataclass(frozen=True)
class RewardTerms:
    """One answer's reward.

    Attributes:
        stage: the stage it scores.
        terms: each term's unweighted value, by name (`LOCALIZE_TERMS` or `REFINE_TERMS`).
        total: the weighted sum of the terms (`RewardConfig.weights`).
    """

    stage: Stage
    terms: dict[str, float]
    total: float


def localize_rewards(
    response: str, truth: np.ndarray, frame: ModelFrame, cfg: RewardConfig | None = None
) -> RewardTerms:
    """Score a stage-1 answer against the truth mask.

    Args:
        response: the decoded completion (special tokens may remain).
        truth: (H, W) true mask in scene pixels; any nonzero pixel is foreground.
        frame: the coordinate frame the policy answered in (ignored by the ``reference`` preset, which compares
            the raw numbers with truth-frame boxes, as the reference does).
        cfg: preset, thresholds and weights (default: `RewardConfig()`).

    Returns:
        The terms ``format`` (0-2), ``count`` (0-1) and ``accuracy`` (default 0-1, reference -1-1), and the total.
    """
    cfg = cfg or RewardConfig()
    if cfg.preset == "reference":
        text = ref.clean_response(response)
        boxes = ref.truth_boxes(truth)
        values = (ref.localize_format(text), ref.count(text, boxes), ref.box_accuracy(text, boxes))
    else:
        parsed = _parse(response, "localize", frame, truth.shape)
        truth_model = truth_boxes_in_frame(truth, frame)
        pred = [it.box for it in parsed.items]
        values = (
            structure_format(response) + localize_validity(parsed),
            count_reward(len(pred), len(truth_model)) if parsed.ok else 0.0,
            box_accuracy(pred, truth_model, cfg.iou_threshold, cfg.l1_threshold) if parsed.ok else 0.0,
        )
    w = cfg.weights
    return _terms("localize", LOCALIZE_TERMS, values, (w.localize_format, w.localize_count, w.localize_accuracy))


def refine_rewards(
    response: str,
    stage1_response: str,
    final_mask: np.ndarray,
    truth: np.ndarray,
    frame: ModelFrame,
    cfg: RewardConfig | None = None,
) -> RewardTerms:
    """Score a stage-2 answer: its format against the stage-1 answer it refines, and the final mask.

    Args:
        response: the decoded stage-2 completion.
        stage1_response: the decoded stage-1 completion this answer refines (its boxes were shown to the policy).
        final_mask: (H, W) mask the segmenter made from this answer, in scene pixels.
        truth: (H, W) true mask in scene pixels.
        frame: the policy's coordinate frame.
        cfg: preset, thresholds and weights (default: `RewardConfig()`).

    Returns:
        The terms ``format`` (0-2), ``points`` (0-1) and ``iou`` (0-1), and the total.

    Raises:
        ValueError: ``final_mask`` and ``truth`` differ in shape (default preset; the reference scores 0).
    """
    cfg = cfg or RewardConfig()
    if cfg.preset == "reference":
        text = ref.clean_response(response)
        values = (
            ref.refine_format(text, ref.answer_text(stage1_response)),
            ref.point_count(text),
            ref.mask_iou(final_mask, truth),
        )
    else:
        parsed = _parse(response, "refine", frame, truth.shape)
        before = _parse(stage1_response, "localize", frame, truth.shape)
        if not parsed.ok:
            points = 0.0
        elif parsed.items:
            points = point_count_reward(
                [len(it.points) or None for it in parsed.items], cfg.points_mu, cfg.points_sigma
            )
        else:
            points = 1.0 if not (before.ok and before.items) else 0.0
        values = (
            structure_format(response) + refine_validity(parsed, before, cfg.keep_box_tol),
            points,
            mask_iou_reward(final_mask, truth),
        )
    w = cfg.weights
    return _terms("refine", REFINE_TERMS, values, (w.refine_format, w.refine_points, w.refine_iou))


def truth_boxes_in_frame(truth: np.ndarray, frame: ModelFrame) -> list[list[float]]:
    """Return the true instance boxes (components > 10 px, evals.metrics) in the policy's frame.

    >>> truth = np.zeros((768, 768), bool); truth[700:768, 700:768] = True
    >>> truth_boxes_in_frame(truth, ModelFrame(kind="abs", model_hw=(756, 756)))
    [[689.0625, 689.0625, 756.0, 756.0]]
    """
    hw = truth.shape[:2]
    return [
        box_from_pixels(Box(x1=x1, y1=y1, x2=x2, y2=y2), frame, hw, ndigits=6)
        for x1, y1, x2, y2 in component_boxes(truth)
    ]


def _parse(text: str, stage: Stage, frame: ModelFrame, hw: tuple[int, ...]) -> ParsedAnswer:
    return parse_answer(text, stage, extent=frame.extent((hw[0], hw[1])))


def _terms(stage: Stage, names: tuple[str, ...], values: tuple[float, ...], weights: tuple[float, ...]) -> RewardTerms:
    terms = {n: float(v) for n, v in zip(names, values, strict=True)}
    total = float(sum(w * v for w, v in zip(weights, values, strict=True)))
    return RewardTerms(stage=stage, terms=terms, total=total)
