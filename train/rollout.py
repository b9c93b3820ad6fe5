"""The two-stage GRPO rollout, through the agent's own prompts, parser, segmenter and renderer.

One call, one prompt (a scene and a query), G chains:

1. stage 1: G answers sampled in one group call (`agent.policies.Policy.sample`) from the request the graph
   sends (`agent.nodes.localize_request`), read as the graph reads them (`agent.nodes.read_reply`);
2. every answer segmented through the ``sam_segment`` tool: the segmenter encodes the scene once for the
   whole group (all chains and both stages share the encoding);
3. each answer's boxes and mask rendered through the ``render_overlay`` tool, as the graph's render node;
4. stage 2 (`agent.nodes.refine_request`), grouped one of two ways (``GRPOConfig.stage2_grouping``):
   ``per_chain`` (the reference code): one answer per stage-1 chain, the G chains form the group, so the
   group mixes G rendered contexts; ``best_context`` (the paper's Algorithm 1): G answers sampled from the
   render of the best stage-1 answer, one context per group;
5. the stage-2 answers segmented; a stage-2 answer that cannot be used is handled as the graph does under
   the run's protocol (socioagent: the chain's stage-1 prompts are kept, so its mask is stage 1's;
   socioreasoner: no prompts, an empty mask), and its format reward is 0;
6. rewards per stage (`train.rewards`), each on the masks the agent would have returned.

No second copy of the agent loop: the steps above are the graph's nodes' building blocks, called G times.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from agent.nodes import feedback_input, localize_request, lookup_for, read_reply, refine_request
from agent.policies import PolicyReply, PolicyRequest, SamplingParams
from agent.protocol import DEFAULT_PROTOCOL, profile
from agent.result import StageRecord
from tools.registry import REGISTRY, ToolContext
from tools.scene import Scene
from tools.scene_store import SceneStore
from tools.schemas import InstancePrompt
from tools.segment import SegmentInput
from train.batching import prompt_inputs
from train.config import GRPOConfig
from train.episodes import Episode, Group, PromptInputs
from train.rewards import RewardTerms, localize_rewards, refine_rewards


@dataclass
class Rollout:
    """What one prompt's rollout produced.

    Attributes:
        groups: the stage-1 group and the stage-2 group, rewards set (advantages not yet).
        final_ious: IoU of each chain's final mask with the truth (the agent's result for that chain).
        encodes: segmenter image encodes spent (1 for a scene not encoded before, else 0).
        seconds: wall time.
    """

    groups: list[Group]
    final_ious: list[float]
    encodes: int
    seconds: float
    records: list[StageRecord] = field(default_factory=list)


class Rollouts:
    """Runs rollouts for one policy and segmenter, sharing a scene store (and so the segmenter's encodings).

    Args:
        policy: a policy with a group call that returns token ids and log-probs (`TransformersPolicy`).
        segmenter: the segmenter the agent uses (SAM 2 or classical).
        cfg: group size, sampling and rewards.
        protocol: the run's protocol (`agent.protocol`): how answers are read, drawn and recovered from.
        strict_parse: read answers strictly (`agent.nodes.read_reply`).
    """

    def __init__(
        self, policy: Any, segmenter: Any, cfg: GRPOConfig, protocol: str = DEFAULT_PROTOCOL, strict_parse: bool = False
    ) -> None:
        """Hold the backends; scenes live in a small private store."""
        self.policy, self.segmenter, self.cfg = policy, segmenter, cfg
        self.protocol, self.strict_parse, self.profile = protocol, strict_parse, profile(protocol)
        self.store = SceneStore(max_scenes=2)
        self.ctx = ToolContext(store=self.store, segmenter=segmenter)

    def sampling(self, seed: int) -> SamplingParams:
        """Return the sampling options of a rollout (``seed`` fixes its answers)."""
        c = self.cfg
        return SamplingParams(temperature=c.temperature, top_p=c.top_p, top_k=c.top_k, max_tokens=c.max_new_tokens,
                              seed=seed)  # fmt: skip

    def run(self, sample_id: str, scene: Scene, query: str, seed: int) -> Rollout:
        """Roll out G two-stage chains on one scene (which carries its truth mask) and score them.

        Raises:
            ValueError: the scene has no truth mask.
        """
        if scene.truth is None:
            raise ValueError(f"sample {sample_id!r} has no truth mask; GRPO scores answers against it")
        t0 = time.perf_counter()
        encodes0 = self.segmenter.encode_count
        truth = np.asarray(scene.truth, bool)
        blind = replace(scene, truth=None)  # the policy must not see the answer
        self.store.put(blind)
        g, cfg, sid = self.cfg.group_size, self.cfg, blind.scene_id
        made: list[str] = []
        try:
            lookup = lookup_for(self.policy, blind, query, self.ctx)
            req1 = localize_request(blind, query, lookup)
            replies1 = self.policy.sample(req1, g, self.sampling(seed))
            inputs1 = self._inputs(req1, ("map", "sat"))
            rec1 = [self._read(r, "localize", 0, blind.hw) for r in replies1]
            masks1 = [self._segment(sid, r.prompts, made) for r in rec1]
            terms1 = [localize_rewards(r.text, truth, r.frame, cfg.reward) for r in replies1]
            group1 = self._group(f"{sample_id}/1", "localize", sample_id, [inputs1] * g, replies1, terms1)

            if cfg.stage2_grouping == "per_chain":
                parents = list(range(g))
                chains = []
                for i in parents:
                    req2 = self._refine_request(blind, query, rec1[i], masks1[i], made, lookup)
                    chains.append((req2, self.policy.sample(req2, 1, self.sampling(seed * 1009 + i + 1))[0]))
                inputs2 = [self._inputs(req, ("feedback-map", "feedback-sat")) for req, _ in chains]
                replies2 = [reply for _, reply in chains]
            else:
                best = int(np.argmax([t.total for t in terms1]))
                parents = [best] * g
                req2 = self._refine_request(blind, query, rec1[best], masks1[best], made, lookup)
                replies2 = self.policy.sample(req2, g, self.sampling(seed * 1009 + 1))
                inputs2 = [self._inputs(req2, ("feedback-map", "feedback-sat"))] * g
            rec2, finals, terms2 = [], [], []
            for reply, parent in zip(replies2, parents, strict=True):
                record = self._read(reply, "refine", 1, blind.hw)
                fallback = [] if self.profile.empty_on_failed_refine else rec1[parent].prompts
                prompts = record.prompts if record.ok else fallback
                final = self._segment(sid, prompts, made)
                rec2.append(record)
                finals.append(final)
                terms2.append(refine_rewards(reply.text, replies1[parent].text, final, truth, reply.frame, cfg.reward))
            group2 = self._group(f"{sample_id}/2", "refine", sample_id, inputs2, replies2, terms2, parents)
        finally:
            self.store.release(made)
        ious = [_iou(m, truth) for m in finals]
        return Rollout([group1, group2], ious, self.segmenter.encode_count - encodes0, time.perf_counter() - t0,
                       rec1 + rec2)  # fmt: skip

    # -- the agent's steps ------------------------------------------------------------------------------

    def _segment(self, scene_id: str, prompts: list[InstancePrompt], made: list[str]) -> np.ndarray:
        out = REGISTRY.call("sam_segment", SegmentInput(scene_id=scene_id, prompts=prompts), self.ctx)
        made += [m.mask_id for m in out.masks] + [out.merged_mask_id]
        return self.store.get_mask(out.merged_mask_id)

    def _read(self, reply: PolicyReply, stage: str, round_: int, hw: tuple[int, int]) -> StageRecord:
        return read_reply(reply, stage, round_, hw, self.protocol, self.strict_parse)  # type: ignore[arg-type]

    def _refine_request(
        self, scene: Scene, query: str, record: StageRecord, mask: np.ndarray, made: list[str], lookup: Any = None
    ) -> PolicyRequest:
        mask_id = self.store.put_mask(scene.scene_id, mask)
        args = feedback_input(scene.scene_id, record.prompts, mask_id, record.model_dump(), self.profile.feedback_look)
        out = REGISTRY.call("render_overlay", args, self.ctx)
        made += [mask_id, *out.image_ids]
        images = [self.store.get_image(i) for i in out.image_ids]
        return refine_request(scene, query, record.prompts, images, 1, record.raw, lookup)

    def _inputs(self, request: PolicyRequest, image_ids: tuple[str, ...]) -> PromptInputs:
        _, inputs = self.policy.prepare_inputs(request)
        return prompt_inputs(inputs, image_ids)

    def _group(
        self,
        group_id: str,
        stage: str,
        sample_id: str,
        inputs: list[PromptInputs],
        replies: list[PolicyReply],
        terms: list[RewardTerms],
        parents: list[int] | None = None,
    ) -> Group:
        episodes = []
        for i, (inp, reply) in enumerate(zip(inputs, replies, strict=True)):
            if reply.token_ids is None or reply.logprobs is None:
                raise ValueError(f"policy {self.policy.name} returned no token ids / log-probs; GRPO needs them")
            episodes.append(Episode(
                stage=stage, sample_id=sample_id, group_id=group_id, inputs=inp,  # type: ignore[arg-type]
                completion_ids=tuple(reply.token_ids), behaviour_logprobs=tuple(reply.logprobs), text=reply.text,
                parent=parents[i] if parents is not None else None,
            ))  # fmt: skip
        group = Group(group_id, stage, episodes)  # type: ignore[arg-type]
        group.set_rewards([t.terms for t in terms], [t.total for t in terms])
        return group


def _iou(pred: np.ndarray, truth: np.ndarray) -> float:
    from evals.metrics import iou_counts, sample_iou

    return sample_iou(*iou_counts(pred, truth))
