"""One GRPO update: recompute log-probs on the exact tokens and images, then clipped, KL-regularised steps.

For the episodes of a step (both stages; each stage's advantages were normalised within its own groups):

1. ``old`` log-probs: recomputed by the training model (no grad) on each episode's exact prompt tokens, image
   tensors and completion tokens, before any update. They, not the sampler's behaviour log-probs, enter the
   ratio (the two differ only by numerics with `transformers.generate`; with another engine, such as vLLM,
   the gap is what importance sampling would correct; it is logged as ``sampler_logprob_gap``).
2. ``ref`` log-probs under the reference policy (the base with LoRA adapters disabled, or a frozen copy),
   when ``beta`` > 0.
3. ``ppo_epochs`` passes; in each, the stage-1 episodes then the stage-2 episodes (the reference's order: one
   train step per stage), each stage in shuffled minibatches of ``minibatch_size`` episodes (unset: the whole
   stage batch, one optimiser step per stage), each accumulated over micro-batches so that the minibatch
   loss is exactly `train.grpo.policy_loss` of the whole minibatch, whatever the micro-batch size and the
   number of processes (token-mean terms are weighted by global token counts, sequence means by global
   sequence counts); gradient norm clipped; one optimiser step.

Data-parallel (`train.distributed`): each rank holds its share of the episodes; counts and gradients are
summed over ranks before the step, so two processes make the same update as one on the combined batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from train.batching import Completion, batch_logprobs
from train.config import GRPOConfig
from train.distributed import World
from train.episodes import Episode
from train.grpo import policy_loss
from train.model import TrainableModel


@dataclass
class UpdateStats:
    """Averages over the step's minibatches (what metrics.jsonl records)."""

    loss: float
    policy_loss: float
    kl: float
    clip_fraction: float
    grad_norm: float
    sampler_logprob_gap: float
    optimizer_steps: int


def _completions(episodes: Sequence[Episode]) -> list[Completion]:
    return [Completion(e.inputs, e.completion_ids) for e in episodes]


def _logprobs(model: Any, episodes: Sequence[Episode], pad_id: int, temperature: float, micro: int) -> list[Any]:
    """Return each episode's (T_i,) completion log-probs, computed micro-batch by micro-batch."""
    out = []
    for i in range(0, len(episodes), micro):
        chunk = episodes[i : i + micro]
        lp, mask = batch_logprobs(model, _completions(chunk), pad_id, temperature)
        out += [lp[j, : int(mask[j].sum().item())].detach() for j in range(len(chunk))]
    return out


def _pad(rows: Sequence[Any], t: int) -> Any:
    import torch

    return torch.stack([torch.nn.functional.pad(r, (0, t - r.shape[0])) for r in rows])


def grpo_update(
    tm: TrainableModel,
    optimizer: Any,
    scheduler: Any,
    episodes: Sequence[Episode],
    cfg: GRPOConfig,
    world: World,
    rng: np.random.Generator,
) -> UpdateStats:
    """Run one step's updates on this rank's ``episodes`` (advantages set) and return the averaged statistics.

    Raises:
        ValueError: an episode has no advantage.
    """
    import torch

    if any(e.advantage is None for e in episodes):
        raise ValueError("every episode needs an advantage before the update (train.advantages.assign_advantages)")
    model, pad_id = tm.model, _pad_id(tm.processor)
    micro = cfg.micro_batch_size
    with torch.no_grad():
        old = _logprobs(model, episodes, pad_id, cfg.temperature, micro)
        ref = None
        if cfg.beta > 0:
            with tm.reference() as reference:
                ref = _logprobs(reference, episodes, pad_id, cfg.temperature, micro)
    gaps = [(o - torch.tensor(e.behaviour_logprobs, device=o.device)).abs().mean().item()
            for o, e in zip(old, episodes, strict=True)]  # fmt: skip
    gap = float(np.mean(gaps)) if gaps else 0.0

    sums = {"loss": 0.0, "policy_loss": 0.0, "kl": 0.0, "clip_fraction": 0.0, "grad_norm": 0.0}
    steps = 0
    minibatches = []
    for _ in range(cfg.ppo_epochs):
        for stage in ("localize", "refine"):
            mine = [i for i, e in enumerate(episodes) if e.stage == stage]
            per_update = max(1, cfg.minibatch_size // world.size) if cfg.minibatch_size else max(1, len(mine))
            order = [mine[j] for j in rng.permutation(len(mine))]
            minibatches += [order[k : k + per_update] for k in range(0, len(order), per_update)]
    for idx in minibatches:
        totals = world.sum([float(sum(len(episodes[i].completion_ids) for i in idx)), float(len(idx))])
        tokens_all, seqs_all = max(totals[0], 1.0), max(totals[1], 1.0)
        optimizer.zero_grad(set_to_none=True)
        acc = {"loss": 0.0, "policy_loss": 0.0, "kl": 0.0, "clip_fraction": 0.0}
        for m in range(0, len(idx), micro):
            chunk = [episodes[i] for i in idx[m : m + micro]]
            lp, mask = batch_logprobs(model, _completions(chunk), pad_id, cfg.temperature)
            t = lp.shape[1]
            old_b = _pad([old[i] for i in idx[m : m + micro]], t)
            ref_b = _pad([ref[i] for i in idx[m : m + micro]], t) if ref is not None else None
            adv = torch.tensor([e.advantage for e in chunk], dtype=lp.dtype, device=lp.device)
            loss, stats = policy_loss(
                lp, old_b, ref_b, adv, mask, clip_eps=cfg.clip_eps, clip_eps_high=cfg.clip_eps_high,
                beta=cfg.beta, kl_clamp=cfg.kl_clamp, kl_bias_correction=cfg.kl_bias_correction,
                aggregation=cfg.loss_aggregation,
            )  # fmt: skip
            # weigh this micro-batch's mean by its share of the minibatch (over every rank)
            share = mask.sum().item() / tokens_all if cfg.loss_aggregation == "token_mean" else len(chunk) / seqs_all
            (loss * share).backward()
            tok_share = mask.sum().item() / tokens_all
            acc["loss"] += loss.item() * share
            acc["policy_loss"] += stats.policy_loss * share
            acc["kl"] += stats.kl_mean * tok_share
            acc["clip_fraction"] += stats.clip_fraction * tok_share
        world.sum_gradients(tm.trainable_parameters())
        norm = torch.nn.utils.clip_grad_norm_(tm.trainable_parameters(), cfg.max_grad_norm)
        optimizer.step()
        scheduler.step()
        for k, v in zip(acc, world.sum(list(acc.values())), strict=True):
            sums[k] += v
        sums["grad_norm"] += float(norm)
        steps += 1
    n = max(steps, 1)
    return UpdateStats(
        loss=sums["loss"] / n, policy_loss=sums["policy_loss"] / n, kl=sums["kl"] / n,
        clip_fraction=sums["clip_fraction"] / n, grad_norm=sums["grad_norm"] / n,
        sampler_logprob_gap=gap, optimizer_steps=steps,
    )  # fmt: skip


def _pad_id(processor: Any) -> int:
    tok = processor.tokenizer
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    return int(pad)
