"""The one definition of the segmentation metrics: gIoU, cIoU, instance F1, bootstrap intervals.

Plain numpy/scipy/OpenCV functions, importable without torch, so the eval runner, the report and the
GRPO rewards all score the same way.

Definitions (see DESIGN.md "Metrics"):

- **IoU** of one sample: foreground intersection over union of the predicted and true masks
  (any nonzero pixel is foreground). An empty prediction on an empty truth scores 1.
- **Agent failures**: a sample on which the agent crashed (a scored result row with an ``error``) is a
  miss: its IoU is 0, even on an empty truth, where its empty stand-in prediction would otherwise score 1.
  Its empty prediction enters cIoU and instance F1 as it is (its truth pixels count in the union, its truth
  instances as false negatives), so on an empty truth it adds nothing to those two.
- **gIoU**: the mean of the per-sample IoUs.
- **cIoU**: the total intersection over the total union of the split (large objects weigh more).
- **Instance F1**: the true instances are the 8-connected components of the truth mask; the predicted
  instances are the result's own instance masks when it has them, else the 8-connected components of the
  predicted mask. Components, and given instance masks, of ``MIN_INSTANCE_AREA`` (10) pixels or fewer, by
  pixel count (`tools.instances`), are ignored on both sides. Instances are matched one-to-one by the
  Hungarian algorithm on IoU, among pairs with IoU >= 0.5; matched pairs are true positives, unmatched
  predictions false positives, unmatched truths false negatives. Precision, recall and F1 are computed over
  the split from the summed counts; nothing predicted on nothing true scores 1. (The reference has no F1;
  where it counts GT instances, for its boxes and count reward, it keeps external contours whose
  ``cv2.contourArea`` is > 10: a polygon area, not a pixel count, so a thin component can pass one test and
  fail the other.)
- **Bootstrap 95% intervals**: resample the samples with replacement (fixed seed, 1000 resamples by
  default) and take the 2.5th and 97.5th percentiles of gIoU, cIoU and F1.

`split_metrics` is the one implementation of the split-level numbers: vectorised, so the bootstrap
computes all its resamples at once, and `summarize` reads its point values from the same function.

>>> import numpy as np
>>> truth = np.zeros((4, 4), bool); truth[:2, :2] = True
>>> pred = np.zeros((4, 4), bool); pred[:2, :] = True
>>> iou_counts(pred, truth)
(4, 8)
>>> sample_iou(4, 8), sample_iou(0, 0)
(0.5, 1.0)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from evals.results import EvalRow
from tools.instances import MIN_INSTANCE_AREA, component_labels

MATCH_IOU = 0.5
"""A predicted and a true instance match when their IoU is at least this."""


def iou_counts(pred: np.ndarray, truth: np.ndarray) -> tuple[int, int]:
    """Return the (intersection, union) pixel counts of two masks of the same shape.

    Args:
        pred: (H, W) predicted mask; any nonzero pixel is foreground.
        truth: (H, W) true mask; any nonzero pixel is foreground.

    Raises:
        ValueError: the shapes differ.

    >>> import numpy as np
    >>> iou_counts(np.zeros((3, 3)), np.ones((3, 3)))
    (0, 9)
    """
    if pred.shape != truth.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from truth shape {truth.shape}")
    p = pred.astype(bool, copy=False)
    t = truth.astype(bool, copy=False)
    return int(np.count_nonzero(p & t)), int(np.count_nonzero(p | t))


def sample_ious(intersection: np.ndarray, union: np.ndarray, failed: np.ndarray | None = None) -> np.ndarray:
    """Return per-sample IoUs, elementwise: an empty union (empty prediction on empty truth) scores 1, a failure 0.

    Args:
        intersection: foreground pixels in both masks, per sample (any shape).
        union: foreground pixels in either mask, the same shape.
        failed: the agent crashed on the sample (its prediction is a stand-in): a miss; None for no failures.

    >>> import numpy as np
    >>> sample_ious(np.array([3, 0, 0, 0]), np.array([4, 5, 0, 0]), np.array([False, False, False, True]))
    array([0.75, 0.  , 1.  , 0.  ])
    """
    inter, uni = np.asarray(intersection), np.asarray(union)
    ious = np.where(uni > 0, inter / np.maximum(uni, 1), 1.0)
    return ious if failed is None else np.where(np.asarray(failed, bool), 0.0, ious)


def sample_iou(intersection: int, union: int, failed: bool = False) -> float:
    """Return one sample's IoU (`sample_ious` of one sample).

    >>> sample_iou(3, 4), sample_iou(0, 5), sample_iou(0, 0), sample_iou(0, 0, failed=True)
    (0.75, 0.0, 1.0, 0.0)
    """
    return float(sample_ious(np.asarray(intersection), np.asarray(union), np.asarray(failed)))


def pairwise_iou(preds: Sequence[np.ndarray], truths: Sequence[np.ndarray]) -> np.ndarray:
    """Return the (P, T) IoU matrix of two lists of bool masks of one shape.

    >>> import numpy as np
    >>> a = np.zeros((2, 2), bool); a[0] = True
    >>> b = np.zeros((2, 2), bool); b[:, 0] = True
    >>> pairwise_iou([a], [a, b]).round(3).tolist()
    [[1.0, 0.333]]
    """
    if not preds or not truths:
        return np.zeros((len(preds), len(truths)))
    p = np.stack([np.asarray(m, bool).ravel() for m in preds]).astype(np.float32)
    t = np.stack([np.asarray(m, bool).ravel() for m in truths]).astype(np.float32)
    inter = p @ t.T  # exact: counts stay far below 2**24
    union = p.sum(1)[:, None] + t.sum(1)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1), 0.0).astype(np.float64)


@dataclass(frozen=True)
class InstanceCounts:
    """Instance matching counts of one sample (or a sum of samples)."""

    tp: int
    fp: int
    fn: int


def match_count(iou: np.ndarray, threshold: float = MATCH_IOU) -> int:
    """Return the size of the best one-to-one matching of a (P, T) IoU matrix, among pairs with IoU >= threshold.

    Hungarian assignment (scipy ``linear_sum_assignment``) that maximises the number of matches first and their
    total IoU second; a plain maximum-IoU assignment can trade two matches for one better one.

    >>> import numpy as np
    >>> match_count(np.array([[0.99, 0.5], [0.5, 0.4]]))
    2
    >>> match_count(np.array([[0.9, 0.7, 0.6]]))
    1
    """
    from scipy.optimize import linear_sum_assignment

    if iou.size == 0:
        return 0
    ok = iou >= threshold
    weight = np.where(ok, 1e3 + iou, 0.0)  # a large constant per admissible pair: the count dominates
    rows, cols = linear_sum_assignment(weight, maximize=True)
    return int(ok[rows, cols].sum())


def match_instances(
    preds: Sequence[np.ndarray], truths: Sequence[np.ndarray], threshold: float = MATCH_IOU
) -> InstanceCounts:
    """Match predicted to true instances one-to-one (see `match_count`) and count TP, FP and FN.

    >>> import numpy as np
    >>> a = np.zeros((4, 8), bool); a[:, :4] = True
    >>> b = np.zeros((4, 8), bool); b[:, 4:] = True
    >>> match_instances([a], [a, b])
    InstanceCounts(tp=1, fp=0, fn=1)
    """
    tp = match_count(pairwise_iou(preds, truths), threshold)
    return InstanceCounts(tp, len(preds) - tp, len(truths) - tp)


def instance_counts(
    pred: np.ndarray,
    truth: np.ndarray,
    pred_instances: Sequence[np.ndarray] | None = None,
    min_area: int = MIN_INSTANCE_AREA,
) -> InstanceCounts:
    """Count TP/FP/FN instances of one sample.

    Args:
        pred: (H, W) merged predicted mask.
        truth: (H, W) true mask.
        pred_instances: the predicted instance masks, when the result has them; else the connected
            components of ``pred`` are the predicted instances.
        min_area: components (and instance masks) of this many pixels or fewer are ignored.

    >>> import numpy as np
    >>> t = np.zeros((20, 20), bool); t[0:6, 0:6] = True; t[10:16, 10:16] = True
    >>> instance_counts(t, t)
    InstanceCounts(tp=2, fp=0, fn=0)
    >>> instance_counts(np.zeros_like(t), t)
    InstanceCounts(tp=0, fp=0, fn=2)
    """
    t_labels, t_areas = component_labels(truth, min_area)
    n_t = len(t_areas)
    if pred_instances is None:
        p_labels, p_areas = component_labels(pred, min_area)
        joint = np.bincount((p_labels.astype(np.int64) * (n_t + 1) + t_labels).ravel(),
                            minlength=(len(p_areas) + 1) * (n_t + 1))  # fmt: skip
        inter = joint.reshape(len(p_areas) + 1, n_t + 1)[1:, 1:]
    else:
        masks = [np.asarray(m, bool) for m in pred_instances]
        p_areas = np.array([int(np.count_nonzero(m)) for m in masks], dtype=np.int64)
        keep = p_areas > min_area
        masks, p_areas = [m for m, k in zip(masks, keep, strict=True) if k], p_areas[keep]
        rows = [np.bincount(t_labels[m], minlength=n_t + 1)[1:] for m in masks]
        inter = np.stack(rows) if rows else np.zeros((0, n_t), np.int64)
    union = p_areas[:, None] + t_areas[None, :] - inter
    iou = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
    tp = match_count(iou)
    return InstanceCounts(tp, len(p_areas) - tp, n_t - tp)


@dataclass(frozen=True)
class SampleCounts:
    """Per-sample counts in array form, the input of `summarize` and `bootstrap_ci`.

    ``failed`` marks agent failures (IoU 0, see the module docstring); None means no sample failed.
    """

    intersection: np.ndarray
    union: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    failed: np.ndarray | None = None

    @classmethod
    def from_rows(cls, rows: Sequence[EvalRow]) -> SampleCounts:
        """Build from scored result rows; a row with a non-empty ``error`` is an agent failure."""

        def col(values: Iterable[int]) -> np.ndarray:
            return np.fromiter(values, dtype=np.int64, count=len(rows))

        return cls(
            col(r.intersection for r in rows),
            col(r.union for r in rows),
            col(r.tp for r in rows),
            col(r.fp for r in rows),
            col(r.fn for r in rows),
            np.fromiter((bool(r.error) for r in rows), dtype=bool, count=len(rows)),
        )

    def __len__(self) -> int:
        return int(self.intersection.shape[0])

    def failures(self) -> np.ndarray:
        """Return the per-sample failure flags (all False when ``failed`` is None)."""
        return np.zeros(len(self), bool) if self.failed is None else np.asarray(self.failed, bool)


def split_metrics(
    inter: np.ndarray,
    union: np.ndarray,
    tp: np.ndarray,
    fp: np.ndarray,
    fn: np.ndarray,
    failed: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Return gIoU, cIoU, precision, recall and F1 over the last axis of per-sample counts.

    The one implementation of the split-level metrics: a 1-D input is one split (0-d results), an (R, N)
    input R bootstrap resamples of N samples (R results each).

    Args:
        inter: per-sample foreground intersections.
        union: per-sample foreground unions.
        tp: per-sample matched instances.
        fp: per-sample unmatched predicted instances.
        fn: per-sample unmatched true instances.
        failed: per-sample agent failures (IoU 0, see the module docstring); None for no failures.

    Against the plain definitions, by hand: gIoU is the mean IoU (empty on empty: 1, a failure: 0), cIoU
    the summed intersection over the summed union, precision, recall and F1 come from the summed counts.

    >>> import numpy as np
    >>> inter, union = np.array([4, 0, 0, 3]), np.array([8, 0, 5, 3])
    >>> tp, fp, fn = np.array([1, 0, 0, 1]), np.array([0, 0, 1, 0]), np.array([1, 0, 1, 0])
    >>> m = split_metrics(inter, union, tp, fp, fn, np.array([False, False, False, True]))
    >>> float(m["giou"]) == (4 / 8 + 1 + 0 / 5 + 0) / 4, float(m["ciou"]) == (4 + 0 + 0 + 3) / (8 + 0 + 5 + 3)
    (True, True)
    >>> T, P, F = 2, 1, 2  # summed tp, fp, fn
    >>> [float(m[k]) for k in ("precision", "recall", "f1")] == [T / (T + P), T / (T + F), 2 * T / (2 * T + P + F)]
    True
    >>> m = split_metrics(np.array([0, 0]), np.array([0, 0]), *(np.array([0, 0]),) * 3)
    >>> [float(m[k]) for k in ("giou", "ciou", "precision", "recall", "f1")]  # nothing anywhere: all 1
    [1.0, 1.0, 1.0, 1.0, 1.0]
    >>> [float(v) for v in split_metrics(*(np.array([0]),) * 2, np.array([0]), np.array([0]), np.array([3])).values()]
    [1.0, 1.0, 0.0, 0.0, 0.0]
    >>> [float(v) for v in split_metrics(*(np.array([0]),) * 2, np.array([0]), np.array([2]), np.array([0])).values()]
    [1.0, 1.0, 0.0, 0.0, 0.0]
    >>> rows = np.array([[0, 1], [1, 1]])  # two resamples of two samples: one value per resample
    >>> boot = split_metrics(inter[rows], union[rows], tp[rows], fp[rows], fn[rows])
    >>> boot["giou"].tolist() == [(4 / 8 + 1) / 2, 1.0], boot["ciou"].tolist() == [4 / 8, 1.0]
    (True, True)
    """
    g = sample_ious(inter, union, failed).mean(-1)
    i_sum, u_sum = np.sum(inter, -1), np.sum(union, -1)
    c = np.where(u_sum > 0, i_sum / np.maximum(u_sum, 1), 1.0)
    t, p, n = np.sum(tp, -1), np.sum(fp, -1), np.sum(fn, -1)
    precision = np.where(t + p > 0, t / np.maximum(t + p, 1), np.where(n == 0, 1.0, 0.0))
    recall = np.where(t + n > 0, t / np.maximum(t + n, 1), np.where(p == 0, 1.0, 0.0))
    denom = 2 * t + p + n
    f = np.where(denom > 0, 2 * t / np.maximum(denom, 1), 1.0)
    return {"giou": g, "ciou": c, "precision": precision, "recall": recall, "f1": f}


BOOTSTRAPPED = ("giou", "ciou", "f1")
"""The metrics that get bootstrap intervals."""


def bootstrap_ci(
    counts: SampleCounts, n_resamples: int = 1000, seed: int = 0, level: float = 0.95
) -> dict[str, tuple[float, float] | None]:
    """Return percentile bootstrap intervals for gIoU, cIoU and F1 (None for fewer than 2 samples).

    Samples are resampled with replacement, ``n_resamples`` times, with a fixed seed: the same counts
    always give the same intervals.

    >>> import numpy as np
    >>> c = SampleCounts(np.array([1, 2, 3, 0]), np.array([2, 2, 4, 1]), np.ones(4, int), np.zeros(4, int),
    ...                  np.array([0, 0, 1, 1]))
    >>> ci = bootstrap_ci(c)
    >>> ci["giou"][0] <= 0.5625 <= ci["giou"][1]
    True
    >>> ci == bootstrap_ci(c)
    True
    """
    n = len(counts)
    if n < 2:
        return dict.fromkeys(BOOTSTRAPPED)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_resamples, n))
    failed = counts.failures()[idx]
    boot = split_metrics(
        counts.intersection[idx], counts.union[idx], counts.tp[idx], counts.fp[idx], counts.fn[idx], failed
    )
    lo, hi = 100 * (1 - level) / 2, 100 * (1 + level) / 2
    return {k: (float(np.percentile(boot[k], lo)), float(np.percentile(boot[k], hi))) for k in BOOTSTRAPPED}


def summarize(counts: SampleCounts, n_resamples: int = 1000, seed: int = 0) -> dict:
    """Return gIoU, cIoU, precision, recall, F1, n and their 95% bootstrap intervals for a set of samples.

    Metric values are None when there are no samples.

    >>> import numpy as np
    >>> s = summarize(SampleCounts(np.array([4, 0]), np.array([8, 0]), np.array([1, 0]), np.array([0, 0]),
    ...                            np.array([1, 0])), n_resamples=50)
    >>> s["n"], s["giou"], s["ciou"], round(s["f1"], 4)
    (2, 0.75, 0.5, 0.6667)
    """
    n = len(counts)
    if n == 0:
        return {"n": 0, "giou": None, "ciou": None, "precision": None, "recall": None, "f1": None, "ci95": None}
    point = split_metrics(counts.intersection, counts.union, counts.tp, counts.fp, counts.fn, counts.failures())
    return {
        "n": n,
        "giou": float(point["giou"]),
        "ciou": float(point["ciou"]),
        "precision": float(point["precision"]),
        "recall": float(point["recall"]),
        "f1": float(point["f1"]),
        "tp": int(counts.tp.sum()),
        "fp": int(counts.fp.sum()),
        "fn": int(counts.fn.sum()),
        "ci95": bootstrap_ci(counts, n_resamples=n_resamples, seed=seed),
    }


def percentile(values: Sequence[float], q: float) -> float | None:
    """Return the q-th percentile (linear interpolation) of values, or None when there are none.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 50)
    2.5
    """
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if len(values) else None
