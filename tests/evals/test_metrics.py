import numpy as np
import pytest

import evals.metrics as metrics
from evals.metrics import (
    SampleCounts,
    bootstrap_ci,
    instance_counts,
    iou_counts,
    match_count,
    sample_iou,
    split_metrics,
    summarize,
)
from evals.results import EvalRow
from tools.instances import MIN_INSTANCE_AREA, components


def _mask(shape=(32, 32), *rects):
    m = np.zeros(shape, bool)
    for y1, y2, x1, x2 in rects:
        m[y1:y2, x1:x2] = True
    return m


def test_empty_prediction_on_empty_truth_scores_one():
    empty = np.zeros((8, 8), bool)
    assert iou_counts(empty, empty) == (0, 0)
    assert sample_iou(*iou_counts(empty, empty)) == 1.0
    s = summarize(SampleCounts(*(np.zeros(1, np.int64) for _ in range(5))))
    assert (s["giou"], s["ciou"], s["f1"]) == (1.0, 1.0, 1.0)


def test_empty_prediction_on_nonempty_truth_scores_zero():
    truth = _mask((8, 8), (0, 2, 0, 3))
    assert iou_counts(np.zeros_like(truth), truth) == (0, 6)
    assert sample_iou(0, 6) == 0.0


def test_partial_overlap_numbers():
    truth = _mask((10, 10), (0, 4, 0, 4))  # 16 px
    pred = _mask((10, 10), (2, 6, 0, 4))  # 16 px, 8 shared
    assert iou_counts(pred, truth) == (8, 24)
    assert sample_iou(8, 24) == pytest.approx(1 / 3)


def test_nonbool_masks_count_any_nonzero_pixel():
    truth = np.zeros((4, 4), np.uint8)
    truth[0, :2] = 255
    pred = np.zeros((4, 4), np.uint8)
    pred[0, 1:3] = 1
    assert iou_counts(pred, truth) == (1, 3)


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match="shape"):
        iou_counts(np.zeros((2, 2)), np.zeros((3, 3)))


def test_ciou_weights_large_objects_and_giou_does_not():
    big_truth = _mask((20, 20), (0, 10, 0, 10))  # 100 px, found exactly
    small_truth = _mask((20, 20), (0, 2, 0, 5))  # 10 px, missed
    inter, union = zip(
        iou_counts(big_truth, big_truth), iou_counts(np.zeros_like(small_truth), small_truth), strict=True
    )
    m = split_metrics(np.array(inter), np.array(union), *(np.zeros(2, np.int64),) * 3)
    assert m["giou"] == pytest.approx(0.5)
    assert m["ciou"] == pytest.approx(100 / 110)


def test_components_use_8_connectivity_and_drop_tiny_ones():
    m = np.zeros((20, 20), bool)
    m[0:4, 0:4] = True
    m[4:8, 4:8] = True  # touches the first block only at a corner: one 8-connected component
    m[15:18, 15:18] = True  # 9 px: too small
    comps = components(m)
    assert [int(c.sum()) for c in comps] == [32]
    assert len(components(m, min_area=0)) == 2


def test_multi_instance_f1_with_a_split_prediction():
    shape = (40, 40)
    truth_a = _mask(shape, (0, 10, 0, 10))
    truth_b = _mask(shape, (20, 30, 20, 30))  # 10x10
    truth = truth_a | truth_b
    b_left = _mask(shape, (20, 30, 20, 27))  # 70 px of b: IoU 0.7
    b_right = _mask(shape, (20, 30, 27, 30))  # 30 px of b: IoU 0.3
    merged = truth_a | b_left | b_right
    # with the result's own instance masks: a and b-left match, b-right is a false positive
    assert instance_counts(merged, truth, [truth_a, b_left, b_right]) == metrics.InstanceCounts(2, 1, 0)
    # without them, connected components of the merged mask: the two halves are one instance again
    assert instance_counts(merged, truth) == metrics.InstanceCounts(2, 0, 0)
    # a prediction that covers both blobs with one instance matches neither at IoU >= 0.5
    one_big = _mask(shape, (0, 30, 0, 30))
    assert instance_counts(one_big, truth, [one_big]) == metrics.InstanceCounts(0, 1, 2)


def test_matching_is_one_to_one():
    shape = (20, 20)
    truth = _mask(shape, (0, 10, 0, 10))
    p1 = _mask(shape, (0, 10, 0, 9))  # IoU 0.9
    p2 = _mask(shape, (0, 10, 0, 8))  # IoU 0.8, the same truth
    assert instance_counts(p1 | p2, truth, [p1, p2]) == metrics.InstanceCounts(1, 1, 0)


def test_matching_prefers_more_matches_to_higher_iou():
    iou = np.array([[0.99, 0.5], [0.5, 0.4]])
    assert match_count(iou) == 2
    assert match_count(np.zeros((0, 3))) == 0


def test_tiny_truth_components_are_ignored():
    shape = (30, 30)
    truth = _mask(shape, (0, 10, 0, 10), (25, 28, 25, 28))  # a 100 px blob and a 9 px speck
    pred = _mask(shape, (0, 10, 0, 10))
    assert instance_counts(pred, truth) == metrics.InstanceCounts(1, 0, 0)


def _prf1(tp, fp, fn):
    """Precision, recall and F1 of summed counts, written out plainly (nothing on nothing scores 1)."""
    precision = tp / (tp + fp) if tp + fp else (1.0 if fn == 0 else 0.0)
    recall = tp / (tp + fn) if tp + fn else (1.0 if fp == 0 else 0.0)
    return precision, recall, 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0


def _plain(inter, union, tp, fp, fn, failed):
    """The split metrics by their plain definitions, one sample at a time in Python."""
    ious = [0.0 if f else (i / u if u else 1.0) for i, u, f in zip(inter, union, failed, strict=True)]
    u_sum = int(sum(union))
    precision, recall, f1 = _prf1(int(sum(tp)), int(sum(fp)), int(sum(fn)))
    ciou = int(sum(inter)) / u_sum if u_sum else 1.0
    return {"giou": sum(ious) / len(ious), "ciou": ciou, "precision": precision, "recall": recall, "f1": f1}


def test_prf1_conventions():
    def prf1(tp, fp, fn):
        m = split_metrics(np.zeros(1), np.zeros(1), np.array([tp]), np.array([fp]), np.array([fn]))
        return tuple(float(m[k]) for k in ("precision", "recall", "f1"))

    assert prf1(3, 1, 2) == pytest.approx((0.75, 0.6, 2 * 3 / (6 + 1 + 2)))
    assert prf1(0, 0, 0) == (1.0, 1.0, 1.0)
    assert prf1(0, 0, 4) == (0.0, 0.0, 0.0)
    assert prf1(0, 2, 0) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize("seed", range(20))
def test_split_metrics_agree_with_the_plain_definitions(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 12))
    union = rng.integers(0, 6, n) * rng.integers(0, 2, n)  # many empty unions
    inter = (union * rng.uniform(0, 1, n)).astype(np.int64)
    tp, fp, fn = (rng.integers(0, 3, n) * rng.integers(0, 2, n) for _ in range(3))
    failed = rng.uniform(size=n) < 0.2
    got = split_metrics(inter, union, tp, fp, fn, failed)
    want = _plain(inter, union, tp, fp, fn, failed)
    assert {k: float(v) for k, v in got.items()} == pytest.approx(want, abs=1e-12)
    idx = rng.integers(0, n, size=(5, n))  # the bootstrap's form: one row per resample
    boot = split_metrics(inter[idx], union[idx], tp[idx], fp[idx], fn[idx], failed[idx])
    for r in range(5):
        want = _plain(inter[idx[r]], union[idx[r]], tp[idx[r]], fp[idx[r]], fn[idx[r]], failed[idx[r]])
        assert {k: float(v[r]) for k, v in boot.items()} == pytest.approx(want, abs=1e-12)


def _counts(n=40, seed=1):
    rng = np.random.default_rng(seed)
    union = rng.integers(50, 500, n)
    inter = (union * rng.uniform(0, 1, n)).astype(np.int64)
    tp = rng.integers(0, 3, n)
    return SampleCounts(inter, union, tp, rng.integers(0, 2, n), rng.integers(0, 2, n))


def test_summarize_sums_instance_counts_over_the_split():
    c = _counts()
    s = summarize(c, n_resamples=200)
    p, r, f = _prf1(int(c.tp.sum()), int(c.fp.sum()), int(c.fn.sum()))
    assert (s["precision"], s["recall"], s["f1"]) == pytest.approx((p, r, f))
    assert s["giou"] == pytest.approx(np.mean(c.intersection / c.union))
    assert s["ciou"] == pytest.approx(c.intersection.sum() / c.union.sum())
    assert s["n"] == 40


def test_bootstrap_interval_contains_the_estimate_and_is_deterministic():
    c = _counts()
    s = summarize(c)
    for key in ("giou", "ciou", "f1"):
        lo, hi = s["ci95"][key]
        assert lo <= s[key] <= hi
        assert lo < hi
    assert bootstrap_ci(c) == bootstrap_ci(c)
    assert bootstrap_ci(c, seed=1) != bootstrap_ci(c, seed=2)


def test_bootstrap_needs_two_samples_and_empty_sets_have_no_metrics():
    one = SampleCounts(*(np.array([v]) for v in (1, 2, 1, 0, 0)))
    assert bootstrap_ci(one) == {"giou": None, "ciou": None, "f1": None}
    empty = summarize(SampleCounts(*(np.array([], dtype=np.int64) for _ in range(5))))
    assert empty["n"] == 0 and empty["giou"] is None and empty["ci95"] is None


def test_fast_instance_counts_agree_with_the_plain_definition():
    rng = np.random.default_rng(7)
    for _ in range(60):
        shape = (48, 48)
        truth = np.zeros(shape, bool)
        pred = np.zeros(shape, bool)
        instances = []
        for m in (truth, pred):
            for _ in range(int(rng.integers(0, 4))):
                y, x = rng.integers(0, 40, 2)
                h, w = rng.integers(2, 14, 2)
                m[y : y + h, x : x + w] = True
        for _ in range(int(rng.integers(0, 4))):
            inst = np.zeros(shape, bool)
            y, x = rng.integers(0, 40, 2)
            h, w = rng.integers(2, 14, 2)
            inst[y : y + h, x : x + w] = True
            instances.append(inst)
        truths = components(truth)
        expected_cc = metrics.match_instances(components(pred), truths)
        assert instance_counts(pred, truth) == expected_cc
        given = [m for m in instances if m.sum() > MIN_INSTANCE_AREA]
        assert instance_counts(pred, truth, instances) == metrics.match_instances(given, truths)


def _row(i, error=None, **counts):
    return EvalRow(id=f"r{i}", split="test", level="name", level_source="sidecar", query="q", scored=True,
                   error=error, **counts)  # fmt: skip


def test_failed_samples_score_zero_even_on_an_empty_truth():
    rows = [
        _row(0, iou=1.0),  # a true empty answer: 1
        _row(1, "RuntimeError: bug", iou=0.0),  # a crash: 0
        _row(2, "RuntimeError: bug", iou=0.0, union=5, fn=1),
    ]
    c = SampleCounts.from_rows(rows)
    assert c.failures().tolist() == [False, True, True]
    s = summarize(c, n_resamples=100)
    assert s["giou"] == pytest.approx(1 / 3) and s["ciou"] == 0.0
    assert s["ci95"]["giou"][1] <= 1.0 and s["ci95"]["giou"][0] >= 0.0
    assert summarize(SampleCounts.from_rows(rows[1:2]))["giou"] == 0.0
    assert summarize(SampleCounts(*(np.zeros(1, np.int64) for _ in range(5))))["giou"] == 1.0  # failed=None
