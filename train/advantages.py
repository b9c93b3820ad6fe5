"""Group-normalised advantages: each answer's reward relative to the other answers to the same prompt.

GRPO replaces a value function by the group: with rewards ``r`` of the G answers of one group,
``A = (r - mean(r)) / (std(r) + eps)`` (``scale="std"``, the reference code, unbiased std as torch's default)
or ``A = r - mean(r)`` (``scale="mean_only"``, the paper's Algorithm 1). Each stage's groups are normalised
on their own. A group whose rewards are all equal carries no signal and gets exactly zero advantage.

TRL computes the same in ``GRPOTrainer._generate_and_score_completions`` (``scale_rewards="group"``, eps 1e-4);
it is written here because our groups come from our own two-stage rollout, not from TRL's generation batch.

>>> group_advantages([[1.0, 0.0, 1.0, 0.0]]).round(4).tolist()
[[0.866, -0.866, 0.866, -0.866]]
>>> group_advantages([[1.0, 0.0, 1.0, 0.0]], scale="mean_only").tolist()
[[0.5, -0.5, 0.5, -0.5]]
>>> group_advantages([[2.0, 2.0, 2.0]]).tolist()
[[0.0, 0.0, 0.0]]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from train.config import GRPOConfig
from train.episodes import Group


def group_advantages(
    rewards: Sequence[Sequence[float]] | np.ndarray,
    scale: Literal["std", "mean_only"] = "std",
    eps: float = 1e-6,
    clip: float | None = None,
) -> np.ndarray:
    """Return the advantage of every answer, normalised within its group.

    Args:
        rewards: (n_groups, G) total rewards, one row per group (one prompt, or one rendered context).
        scale: ``std`` divides the centred rewards by the group's unbiased std plus ``eps``; ``mean_only``
            only centres them.
        eps: added to the std, so that a near-constant group does not blow up.
        clip: clip the advantages to ``[-clip, clip]`` (the reference clips to 10); None: no clipping.

    Returns:
        (n_groups, G) float64 advantages; every row sums to 0 (up to rounding), and a row of equal rewards is 0.

    Raises:
        ValueError: ``rewards`` is not 2-D, a group has fewer than 2 answers, or a reward is not finite.
    """
    r = np.asarray(rewards, dtype=np.float64)
    if r.ndim != 2 or r.shape[1] < 2:
        raise ValueError(f"rewards must be (n_groups, G) with G >= 2, got shape {r.shape}")
    if not np.isfinite(r).all():
        raise ValueError("rewards must be finite; a reward function returned NaN or infinity")
    centred = r - r.mean(axis=1, keepdims=True)
    if scale == "std":
        adv = centred / (r.std(axis=1, ddof=1, keepdims=True) + eps)
    elif scale == "mean_only":
        adv = centred
    else:
        raise ValueError(f"scale must be 'std' or 'mean_only', got {scale!r}")
    adv[(r == r[:, :1]).all(axis=1)] = 0.0
    if clip is not None:
        adv = np.clip(adv, -clip, clip)
    return adv


def assign_advantages(groups: Sequence[Group], cfg: GRPOConfig) -> None:
    """Set every episode's advantage from its group's rewards, with the config's scale, eps and clip.

    Raises:
        ValueError: an episode has not been scored yet.
    """
    for group in groups:
        adv = group_advantages([group.rewards], cfg.advantage_scale, cfg.advantage_eps, cfg.advantage_clip)
        group.set_advantages(adv[0].tolist())
