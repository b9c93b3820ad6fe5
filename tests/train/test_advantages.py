"""Group-normalised advantages: zero-mean per group, zero on a constant group, TRL's formula."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from train.advantages import assign_advantages, group_advantages
from train.config import GRPOConfig
from train.episodes import Episode, Group, PromptInputs

rewards = arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(2, 9)), elements=st.floats(-5, 5, width=32))


@settings(max_examples=200, deadline=None)
@given(r=rewards)
def test_zero_mean_per_group_and_zero_on_constant_groups(r):
    for scale in ("std", "mean_only"):
        adv = group_advantages(r, scale=scale)
        assert adv.shape == r.shape
        np.testing.assert_allclose(adv.mean(axis=1), 0.0, atol=1e-6)
        constant = (r == r[:, :1]).all(axis=1)
        assert (adv[constant] == 0.0).all()


def test_std_scaling_gives_unit_unbiased_std():
    adv = group_advantages([[0.0, 1.0, 3.0, 4.0], [1.0, 1.0, 1.0, 2.0]], eps=0.0)
    np.testing.assert_allclose(adv.std(axis=1, ddof=1), 1.0)
    assert group_advantages([[0.0, 1.0, 3.0, 4.0]], scale="mean_only").tolist() == [[-2.0, -1.0, 1.0, 2.0]]


def test_a_constant_group_is_exactly_zero_despite_rounding():
    r = np.full((1, 8), 0.1 + 0.2)  # mean - r is not exactly 0 in floating point for every layout
    assert (group_advantages(r) == 0.0).all()
    assert (group_advantages(r, eps=1e-12) == 0.0).all()


def test_clip():
    adv = group_advantages([[0.0] * 7 + [1.0]], scale="mean_only", clip=0.5)
    assert adv.max() == 0.5 and adv.min() == pytest.approx(-0.125)


def test_matches_trl_group_scaling():
    torch = pytest.importorskip("torch")
    nanstd = pytest.importorskip("trl.trainer.utils").nanstd
    r = torch.tensor([[0.2, 1.5, 0.7, 0.7], [3.0, -1.0, 0.5, 2.0]], dtype=torch.float64)
    trl = (r - r.mean(dim=1, keepdim=True)) / (nanstd(r, dim=1, keepdim=True) + 1e-4)
    # TRL computes the n / (n - 1) correction in float32, hence the tolerance
    np.testing.assert_allclose(group_advantages(r.numpy(), eps=1e-4), trl.numpy(), rtol=1e-7)


@pytest.mark.parametrize("bad", [[1.0, 2.0], [[1.0]], [[1.0, float("nan")]]])
def test_bad_rewards_are_refused(bad):
    with pytest.raises(ValueError):
        group_advantages(bad)


def test_assign_advantages_per_group():
    inputs = PromptInputs(prompt_ids=(1, 2))
    groups = []
    for gid, rs in (("a", [1.0, 0.0, 0.5]), ("b", [2.0, 2.0, 2.0])):
        g = Group(gid, "localize", [Episode("localize", "s", gid, inputs, (5,), (-0.1,)) for _ in rs])
        g.set_rewards([{"format": r} for r in rs], rs)
        groups.append(g)
    assign_advantages(groups, GRPOConfig(group_size=3, batch_size=6, advantage_scale="mean_only"))
    assert [e.advantage for e in groups[0].episodes] == pytest.approx([0.5, -0.5, 0.0])
    assert [e.advantage for e in groups[1].episodes] == [0.0, 0.0, 0.0]
