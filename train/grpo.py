"""The GRPO policy loss on per-token log-probs: PPO-clip ratio, k3 KL to the reference policy, masked mean.

Written out (CleanRL style) rather than taken from TRL because our two-stage rollout feeds images rendered
inside the rollout to the training forward pass, which TRL's ``rollout_func`` path does not; the loss itself
is TRL 1.16's ``GRPOTrainer._compute_loss`` for ``loss_type="grpo"`` (aggregation ``seq_mean_token_mean``) and
``"bnpo"`` (``token_mean``), and tests/train/test_grpo.py checks that both agree with TRL on a fixed batch.

Per completion token t of sequence i, with log-probs under the policy being trained (``logps``), the policy
that sampled the answer (``old_logps``, the behaviour policy) and the frozen reference (``ref_logps``)::

    ratio   = exp(logps - old_logps)
    pg      = -min(ratio * A_i, clip(ratio, 1 - eps, 1 + eps_high) * A_i)
    kl      = exp(ref_logps - logps) - (ref_logps - logps) - 1          (k3, >= 0, unbiased for KL(pi || ref))
    kl      = kl * ratio                                                (only with kl_bias_correction)
    loss_t  = pg + beta * kl

``kl_bias_correction`` weights the KL by the (differentiable) ratio so that its gradient is the unbiased
reverse-KL gradient off-policy (DeepSeek-V3.2; TRL 1.16's default ``use_bias_correction_kl=True``); the
reference does not, and neither does the default here. The per-token loss is then averaged over the masked
tokens: all tokens of the batch at once (``token_mean``), or each sequence's tokens first and then the
sequences (``seq_mean_token_mean``, the reference's and TRL "grpo"'s choice).

>>> import torch
>>> lp = torch.zeros(1, 3); mask = torch.ones(1, 3)
>>> loss, stats = policy_loss(lp, lp, lp, torch.tensor([2.0]), mask)
>>> loss.item(), stats.clip_fraction, stats.kl_mean
(-2.0, 0.0, 0.0)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch

Aggregation = Literal["token_mean", "seq_mean_token_mean"]


@dataclass(frozen=True)
class LossStats:
    """What one loss evaluation tells about the update (detached floats, for metrics.jsonl).

    Attributes:
        policy_loss: the clipped surrogate alone, aggregated like the loss.
        kl_mean: mean KL term (k3, times the ratio with ``kl_bias_correction``) over the masked tokens.
        clip_fraction: share of masked tokens whose ratio is clipped in the direction of the advantage (their
            gradient is zero), as TRL's ``clip_ratio/region_mean``.
        ratio_mean: mean probability ratio over the masked tokens.
        approx_kl: mean ``(ratio - 1) - log(ratio)`` over the masked tokens: the drift from the behaviour policy.
        tokens: number of masked tokens.
    """

    policy_loss: float
    kl_mean: float
    clip_fraction: float
    ratio_mean: float
    approx_kl: float
    tokens: int


def policy_loss(
    logps: torch.Tensor,
    old_logps: torch.Tensor,
    ref_logps: torch.Tensor | None,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    clip_eps: float = 0.2,
    clip_eps_high: float | None = None,
    beta: float = 0.0,
    kl_clamp: float | None = None,
    kl_bias_correction: bool = False,
    aggregation: Aggregation = "token_mean",
) -> tuple[torch.Tensor, LossStats]:
    """Return the GRPO loss of a batch of completions and its statistics.

    Args:
        logps: (B, T) log-probs of the completion tokens under the policy being trained (with grad).
        old_logps: (B, T) log-probs of the same tokens under the behaviour policy that sampled them.
        ref_logps: (B, T) log-probs under the reference policy; may be None when ``beta`` is 0.
        advantages: (B,) one advantage per completion (or (B, T) per token).
        mask: (B, T) 1 for completion tokens, 0 for padding.
        clip_eps: the ratio is clipped below at ``1 - clip_eps``.
        clip_eps_high: the ratio is clipped above at ``1 + clip_eps_high`` (None: ``clip_eps``).
        beta: coefficient of the k3 KL to the reference.
        kl_clamp: clamp the per-token KL to at most this (the reference clamps to 10); None: no clamp.
        kl_bias_correction: multiply the per-token KL by the ratio (TRL's ``use_bias_correction_kl``).
        aggregation: ``token_mean`` or ``seq_mean_token_mean`` (see the module docstring).

    Returns:
        The scalar loss (differentiable through ``logps``) and its `LossStats`.

    Raises:
        ValueError: the shapes disagree, ``ref_logps`` is missing while ``beta`` > 0, or the aggregation is unknown.
    """
    if old_logps.shape != logps.shape or mask.shape != logps.shape or logps.dim() != 2:
        raise ValueError(f"logps, old_logps and mask must be one (B, T) shape, got {logps.shape}, "
                         f"{old_logps.shape}, {mask.shape}")  # fmt: skip
    adv = advantages.unsqueeze(1) if advantages.dim() == 1 else advantages
    mask = mask.to(logps.dtype)

    # ALGO LOGIC: the clipped surrogate
    log_ratio = logps - old_logps
    ratio = torch.exp(log_ratio)
    clipped = torch.clamp(ratio, 1 - clip_eps, 1 + (clip_eps if clip_eps_high is None else clip_eps_high))
    pg = -torch.min(ratio * adv, clipped * adv)

    # ALGO LOGIC: k3 KL to the reference policy
    if beta != 0.0:
        if ref_logps is None or ref_logps.shape != logps.shape:
            raise ValueError("beta > 0 needs ref_logps of the same (B, T) shape as logps")
        d = ref_logps - logps
        kl = torch.exp(d) - d - 1
        if kl_clamp is not None:
            kl = torch.clamp(kl, max=kl_clamp)
        if kl_bias_correction:
            kl = kl * ratio
        per_token = pg + beta * kl
    else:
        kl = torch.zeros_like(logps)
        per_token = pg

    loss = masked_mean(per_token, mask, aggregation)
    with torch.no_grad():
        hi = 1 + (clip_eps if clip_eps_high is None else clip_eps_high)
        region = ((ratio < 1 - clip_eps) & (adv < 0)) | ((ratio > hi) & (adv > 0))
        n = mask.sum().clamp(min=1.0)
        stats = LossStats(
            policy_loss=masked_mean(pg, mask, aggregation).item(),
            kl_mean=((kl * mask).sum() / n).item(),
            clip_fraction=((region.to(mask.dtype) * mask).sum() / n).item(),
            ratio_mean=((ratio * mask).sum() / n).item(),
            approx_kl=((((ratio - 1) - log_ratio) * mask).sum() / n).item(),
            tokens=int(mask.sum().item()),
        )
    return loss, stats


def masked_mean(values: torch.Tensor, mask: torch.Tensor, aggregation: Aggregation = "token_mean") -> torch.Tensor:
    """Average (B, T) per-token values over the masked tokens.

    ``token_mean``: sum over all masked tokens / their number. ``seq_mean_token_mean``: each sequence's masked
    mean, then the mean over sequences (an all-padding sequence counts as 0).

    >>> v = torch.tensor([[1.0, 1.0, 1.0], [4.0, 0.0, 0.0]]); m = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    >>> masked_mean(v, m).item(), masked_mean(v, m, "seq_mean_token_mean").item()
    (1.75, 2.5)
    """
    if aggregation == "token_mean":
        return (values * mask).sum() / mask.sum().clamp(min=1.0)
    if aggregation == "seq_mean_token_mean":
        return ((values * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).mean()
    raise ValueError(f"aggregation must be 'token_mean' or 'seq_mean_token_mean', got {aggregation!r}")


def completion_logprobs(logits: torch.Tensor, completion_ids: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Return the log-prob of each completion token from the logits that predicted it.

    Args:
        logits: (B, T, V) logits at the positions *before* each completion token (for a causal LM run on
            prompt + completion, the logits ``[:, -T - 1 : -1]``).
        completion_ids: (B, T) the completion tokens.
        temperature: the sampling temperature; the logits are divided by it, as the sampler did.

    >>> logits = torch.tensor([[[0.0, 0.0], [2.0, 0.0]]])
    >>> [round(p, 4) for p in completion_logprobs(logits, torch.tensor([[1, 0]])).exp()[0].tolist()]
    [0.5, 0.8808]
    """
    logp = torch.log_softmax(logits.float() / temperature, dim=-1)
    return torch.gather(logp, -1, completion_ids.unsqueeze(-1)).squeeze(-1)


def sequence_logprobs(
    model: Any,
    prompt_ids: torch.Tensor,
    prompt_mask: torch.Tensor,
    completion_ids: torch.Tensor,
    completion_mask: torch.Tensor,
    temperature: float = 1.0,
    **model_inputs: Any,
) -> torch.Tensor:
    """Recompute the completion tokens' log-probs with one forward pass over prompt + completion.

    Args:
        model: a transformers causal (vision-)language model that accepts ``logits_to_keep``.
        prompt_ids: (B, P) prompt tokens, left-padded.
        prompt_mask: (B, P) 1 for prompt tokens, 0 for padding.
        completion_ids: (B, T) completion tokens, right-padded.
        completion_mask: (B, T) 1 for completion tokens, 0 for padding.
        temperature: the sampling temperature the behaviour log-probs were taken at.
        **model_inputs: the processor's image tensors for the prompts (``pixel_values``, ``image_grid_thw``, ...).

    Returns:
        (B, T) log-probs (padding positions hold the log-prob of the pad token: mask them).
    """
    t = completion_ids.shape[1]
    out = model(
        input_ids=torch.cat([prompt_ids, completion_ids], 1),
        attention_mask=torch.cat([prompt_mask, completion_mask], 1),
        logits_to_keep=t + 1,
        **model_inputs,
    )
    return completion_logprobs(out.logits[:, :-1], completion_ids, temperature)
