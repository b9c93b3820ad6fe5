"""The data contract between the rollout, the rewards and the update: `Episode` and `Group`.

An episode is one sampled answer of one stage, with everything the update needs: the exact prompt and
completion tokens, the behaviour policy's log-prob of every completion token, the reward terms, and a handle
on the model inputs (the processor's image tensors) so that the training forward pass recomputes log-probs on
exactly what the sampler saw, including images rendered inside the rollout. A group is the G episodes whose
rewards are normalised together (one prompt in stage 1; one prompt's chains, or one rendered context, in
stage 2, see `GRPOConfig.stage2_grouping`).

>>> inputs = PromptInputs(prompt_ids=(1, 2, 3), image_ids=("synth-0001/map", "synth-0001/sat"))
>>> eps = [Episode("localize", "synth-0001", "g0", inputs, (7, 8), (-0.5, -0.25)) for _ in range(2)]
>>> group = Group("g0", "localize", eps)
>>> group.set_rewards([{"format": 2.0}, {"format": 1.0}], [2.0, 1.0])
>>> group.set_advantages([0.7, -0.7]); [e.advantage for e in group.episodes]
[0.7, -0.7]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.policies import Stage


@dataclass(frozen=True)
class PromptInputs:
    """What the training forward pass needs to rebuild a prompt exactly as the sampler saw it.

    Shared by reference between the episodes of one context (the G stage-1 samples of a prompt hold the
    same object).

    Attributes:
        prompt_ids: the prompt's token ids (chat template applied, image placeholders expanded).
        image_ids: ids of the images in the scene store, in prompt order (map first, then satellite; for
            stage 2, the rendered overlays), for logs and to rebuild ``tensors`` if they were dropped.
        tensors: the processor's other outputs for this prompt (``pixel_values``, ``image_grid_thw``, ...), as
            torch tensors; empty when the caller rebuilds them from ``image_ids``.
    """

    prompt_ids: tuple[int, ...]
    image_ids: tuple[str, ...] = ()
    tensors: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.prompt_ids:
            raise ValueError("PromptInputs needs the prompt's token ids; got none")


@dataclass
class Episode:
    """One sampled answer of one stage and what became of it.

    Attributes:
        stage: ``localize`` (stage 1) or ``refine`` (stage 2).
        sample_id: the dataset sample (scene and query) it answers.
        group_id: the group whose rewards it is normalised with.
        inputs: the prompt it was sampled from.
        completion_ids: the sampled tokens (end-of-turn token included when one was sampled).
        behaviour_logprobs: log-prob of each completion token under the sampling policy (after temperature).
        text: the decoded completion, as the rewards read it.
        parent: for a stage-2 episode, the index in its stage-1 group of the episode whose answer it refines.
        reward_terms: the unweighted reward terms by name (train.rewards); set after scoring.
        reward: the weighted total; set after scoring.
        advantage: the group-normalised advantage; set by `Group.set_advantages`.
    """

    stage: Stage
    sample_id: str
    group_id: str
    inputs: PromptInputs
    completion_ids: tuple[int, ...]
    behaviour_logprobs: tuple[float, ...]
    text: str = ""
    parent: int | None = None
    reward_terms: dict[str, float] = field(default_factory=dict)
    reward: float | None = None
    advantage: float | None = None

    def __post_init__(self) -> None:
        if len(self.completion_ids) != len(self.behaviour_logprobs):
            raise ValueError(
                f"episode of {self.sample_id!r} has {len(self.completion_ids)} completion tokens but "
                f"{len(self.behaviour_logprobs)} behaviour log-probs; keep one log-prob per sampled token"
            )
        if self.stage == "localize" and self.parent is not None:
            raise ValueError("a stage-1 (localize) episode has no parent; parent is for stage-2 episodes")


@dataclass
class Group:
    """The episodes whose rewards are normalised together.

    Attributes:
        group_id: unique within a step.
        stage: the stage of every episode.
        episodes: the G episodes, in sampling order.
    """

    group_id: str
    stage: Stage
    episodes: list[Episode]

    def __post_init__(self) -> None:
        if len(self.episodes) < 2:
            raise ValueError(f"group {self.group_id!r} has {len(self.episodes)} episodes; GRPO needs >= 2 per group")
        for e in self.episodes:
            if e.stage != self.stage or e.group_id != self.group_id:
                raise ValueError(
                    f"episode ({e.stage}, {e.group_id!r}) does not belong to group ({self.stage}, {self.group_id!r})"
                )

    @property
    def rewards(self) -> list[float]:
        """Return the episodes' total rewards.

        Raises:
            ValueError: an episode has not been scored yet.
        """
        if any(e.reward is None for e in self.episodes):
            raise ValueError(f"group {self.group_id!r} has unscored episodes; call set_rewards first")
        return [float(e.reward) for e in self.episodes]  # type: ignore[arg-type]

    def set_rewards(self, terms: Sequence[Mapping[str, float]], totals: Sequence[float]) -> None:
        """Store each episode's reward terms and total, in episode order."""
        self._check_length(len(terms), "reward terms")
        self._check_length(len(totals), "rewards")
        for e, t, r in zip(self.episodes, terms, totals, strict=True):
            if not math.isfinite(r):
                raise ValueError(f"reward {r} of an episode of {e.sample_id!r} is not finite")
            e.reward_terms, e.reward = dict(t), float(r)

    def set_advantages(self, advantages: Sequence[float]) -> None:
        """Store each episode's advantage, in episode order (see train.advantages.group_advantages)."""
        self._check_length(len(advantages), "advantages")
        for e, a in zip(self.episodes, advantages, strict=True):
            e.advantage = float(a)

    def _check_length(self, n: int, what: str) -> None:
        if n != len(self.episodes):
            raise ValueError(f"group {self.group_id!r} has {len(self.episodes)} episodes but {n} {what}")
