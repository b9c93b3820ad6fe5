"""Typed settings of the trainer: rewards, GRPO and the SFT warm start, each field described and checked.

Every model forbids unknown fields and says how to fix a conflicting setting (a pydantic ``ValidationError``
whose message names the field and the value to set). ``GRPOConfig.reference()`` is the reference's recipe
(AMAP-ML/SocioReasoner ``examples/train/rlvr_megatron.yaml`` with the ROLL defaults it relies on, see
reference/socioreasoner.md section 7); the plain defaults differ from it only where a field says so.

>>> GRPOConfig(group_size=8, batch_size=16).sequences_per_update
16
>>> cfg = GRPOConfig.reference()
>>> (cfg.learning_rate, cfg.group_size, cfg.clip_eps, cfg.beta, cfg.temperature, cfg.top_p, cfg.top_k)
(1e-06, 8, 0.2, 0.005, 0.99, 0.99, 100)
>>> (cfg.loss_aggregation, cfg.reward.preset, cfg.stage2_grouping)
('seq_mean_token_mean', 'reference', 'per_chain')
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

RewardPreset = Literal["default", "reference"]
"""``reference`` reproduces the reference code's reward terms exactly; ``default`` fixes its flaws (train.rewards)."""

REFERENCE_THRESHOLDS = {"iou_threshold": 0.5, "l1_threshold": 10.0, "points_mu": 2.0, "points_sigma": 2.0}
"""The thresholds the reference code hard-codes; the ``reference`` preset refuses any other value."""


class RewardWeights(BaseModel):
    """Weights of the reward terms in each stage's total (the reference sums every term with weight 1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    localize_format: float = Field(1.0, ge=0, description="stage 1: think/answer structure plus item validity")
    localize_count: float = Field(1.0, ge=0, description="stage 1: exp(-2|K-J|/J), K predicted and J true boxes")
    localize_accuracy: float = Field(1.0, ge=0, description="stage 1: Hungarian box accuracy")
    refine_format: float = Field(1.0, ge=0, description="stage 2: structure, boxes kept from stage 1, points inside")
    refine_points: float = Field(1.0, ge=0, description="stage 2: Gaussian reward on the number of points per box")
    refine_iou: float = Field(1.0, ge=0, description="stage 2: IoU of the final mask with the truth")


class RewardConfig(BaseModel):
    """Which reward terms to compute and how to weigh them (see train.rewards for the two presets)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    preset: RewardPreset = Field(
        "default", description="'default' (frame-consistent, lenient parser) or 'reference' (the reference's code)"
    )
    weights: RewardWeights = Field(default_factory=RewardWeights, description="weight of each term in the total")
    iou_threshold: float = Field(0.5, gt=0, lt=1, description="box IoU above which a matched box hits (stage 1)")
    l1_threshold: float = Field(
        10.0, gt=0, description="mean absolute corner error, in model-frame units, below which a box hits (stage 1)"
    )
    points_mu: float = Field(2.0, ge=0, description="ideal number of points per box (stage 2)")
    points_sigma: float = Field(2.0, gt=0, description="width of the Gaussian point-count reward (stage 2)")
    keep_box_tol: float | None = Field(
        None,
        ge=0,
        description="default preset: largest corner change (model-frame units) that still counts as keeping a "
        "stage-1 box in stage 2; None: boxes may be corrected (socioagent's refine prompt asks for that; the mask "
        "IoU judges the correction). The reference requires exact copies",
    )

    @model_validator(mode="after")
    def _reference_is_fixed(self) -> RewardConfig:
        if self.preset == "reference":
            for name, value in REFERENCE_THRESHOLDS.items():
                if getattr(self, name) != value:
                    raise ValueError(
                        f"preset 'reference' fixes {name}={value} (the reference code hard-codes it); "
                        f"remove {name}={getattr(self, name)} or use preset='default'"
                    )
            if self.keep_box_tol not in (None, 0):
                raise ValueError("preset 'reference' keeps boxes only when exactly equal; remove keep_box_tol")
        return self


class LoRASettings(BaseModel):
    """LoRA adapters through peft (``peft.LoraConfig``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rank: int = Field(16, ge=1, description="adapter rank r")
    alpha: float = Field(32.0, gt=0, description="scaling alpha (the update is scaled by alpha / r)")
    dropout: float = Field(0.05, ge=0, lt=1, description="dropout on the adapter input")
    target_modules: tuple[str, ...] = Field(
        ("q_proj", "k_proj", "v_proj", "o_proj"), min_length=1, description="names of the language-model layers"
    )


class _Optimisation(BaseModel):
    """Fields the SFT and GRPO stages share."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    learning_rate: float = Field(description="AdamW learning rate")
    weight_decay: float = Field(0.01, ge=0, description="AdamW weight decay")
    adam_betas: tuple[float, float] = Field((0.9, 0.999), description="AdamW (beta1, beta2)")
    warmup_steps: int = Field(0, ge=0, description="optimiser steps of linear warm-up")
    lr_schedule: Literal["linear", "constant"] = Field("linear", description="after warm-up: linear to 0, or flat")
    max_grad_norm: float = Field(1.0, gt=0, description="gradients are clipped to this global norm")
    lora: LoRASettings | None = Field(None, description="train LoRA adapters (None: full fine-tuning)")
    gradient_checkpointing: bool = Field(False, description="recompute activations in the backward pass")
    seed: int = Field(0, description="seed of sampling, data order and initialisation")
    save_every: int = Field(50, ge=1, description="write a checkpoint every this many steps (and on Ctrl-C)")

    @model_validator(mode="after")
    def _check_optimisation(self) -> _Optimisation:
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise ValueError(f"learning_rate must be a positive number, got {self.learning_rate}; e.g. 1e-6")
        b1, b2 = self.adam_betas
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise ValueError(f"adam_betas must both lie in [0, 1), got {self.adam_betas}; e.g. (0.9, 0.999)")
        return self


class GRPOConfig(_Optimisation):
    """GRPO over the two-stage rollout: sampling, grouping, advantages and the clipped, KL-regularised loss.

    Sizes count rollouts (sequences) of one stage: each step samples ``batch_size // group_size`` prompts,
    ``group_size`` stage-1 answers each, and as many stage-2 answers; each stage's ``batch_size`` sequences
    are split into optimiser steps of ``minibatch_size`` sequences, accumulated over forward passes of
    ``micro_batch_size``.
    """

    learning_rate: float = Field(1e-6, description="AdamW learning rate (reference: 1e-6, full fine-tuning)")
    steps: int = Field(100, ge=1, description="rollout steps (each: rollouts of both stages, then the updates)")
    group_size: int = Field(8, description="G: answers sampled per prompt (reference: 8)")
    batch_size: int = Field(64, ge=1, description="rollouts per stage per step; a multiple of group_size")
    minibatch_size: int | None = Field(
        None, ge=1, description="sequences per optimiser step (None: the whole batch, one update per stage per step)"
    )
    micro_batch_size: int = Field(2, ge=1, description="sequences per forward/backward pass (gradient accumulation)")
    ppo_epochs: int = Field(1, ge=1, description="passes over each step's rollouts")
    clip_eps: float = Field(0.2, gt=0, lt=1, description="PPO clip range: the ratio is clipped to [1-eps, 1+eps_high]")
    clip_eps_high: float | None = Field(None, gt=0, description="upper clip range (None: clip_eps; DAPO uses 0.28)")
    beta: float = Field(0.005, ge=0, description="coefficient of the k3 KL to the reference policy (0: no KL)")
    kl_clamp: float | None = Field(None, gt=0, description="clamp the per-token KL to this value (reference: 10)")
    kl_bias_correction: bool = Field(
        False, description="weight the KL by the ratio (DeepSeek-V3.2, TRL 1.16's default; the reference does not)"
    )
    loss_aggregation: Literal["token_mean", "seq_mean_token_mean"] = Field(
        "token_mean",
        description="token_mean: mean over all tokens of the minibatch; "
        "seq_mean_token_mean: mean over each sequence's tokens, then over sequences (the reference, TRL 'grpo')",
    )
    advantage_scale: Literal["std", "mean_only"] = Field(
        "std", description="std: (r - mean) / (std + eps), as the reference code; mean_only: r - mean, as the paper"
    )
    advantage_eps: float = Field(1e-6, gt=0, description="added to the group std before dividing")
    advantage_clip: float | None = Field(None, gt=0, description="clip advantages to +-this (reference: 10)")
    stage2_grouping: Literal["per_chain", "best_context"] = Field(
        "per_chain",
        description="per_chain: one stage-2 answer per stage-1 answer (the reference code); "
        "best_context: group_size stage-2 answers from the best stage-1 answer's render (the paper)",
    )
    temperature: float = Field(0.99, gt=0, description="sampling temperature (reference: 0.99)")
    top_p: float = Field(0.99, gt=0, le=1, description="nucleus sampling mass (reference: 0.99)")
    top_k: int | None = Field(100, ge=1, description="sample from the k most likely tokens (reference: 100)")
    max_new_tokens: int = Field(512, ge=1, description="longest answer in tokens (reference: 2048)")
    reward: RewardConfig = Field(default_factory=RewardConfig, description="reward terms and weights")
    eval_every: int = Field(25, ge=1, description="validation gIoU every this many steps")

    @model_validator(mode="after")
    def _check_sizes(self) -> GRPOConfig:
        g, b = self.group_size, self.batch_size
        if g < 2:
            raise ValueError(f"group_size must be >= 2 (got {g}): a group of one has no advantage; e.g. group_size=8")
        if b % g:
            raise ValueError(
                f"batch_size ({b}) must be a multiple of group_size ({g}); set batch_size={(b // g + 1) * g}"
            )
        mb = self.minibatch_size or b
        if b % mb:
            raise ValueError(
                f"batch_size ({b}) must be a multiple of minibatch_size ({mb}); "
                f"set minibatch_size to a divisor of {b}, e.g. {math.gcd(b, mb)}"
            )
        if mb % self.micro_batch_size:
            raise ValueError(
                f"minibatch_size ({mb}) must be a multiple of micro_batch_size ({self.micro_batch_size}); "
                f"set micro_batch_size={math.gcd(mb, self.micro_batch_size)}"
            )
        if self.clip_eps_high is not None and self.clip_eps_high < self.clip_eps:
            raise ValueError(
                f"clip_eps_high ({self.clip_eps_high}) is below clip_eps ({self.clip_eps}); "
                f"set clip_eps_high >= {self.clip_eps} or leave it unset"
            )
        return self

    @property
    def sequences_per_update(self) -> int:
        """Number of sequences per optimiser step (``minibatch_size``, or the whole batch when unset)."""
        return self.minibatch_size or self.batch_size

    @property
    def prompts_per_step(self) -> int:
        """Number of prompts (groups) sampled per step."""
        return self.batch_size // self.group_size

    @classmethod
    def reference(cls, **overrides: object) -> GRPOConfig:
        """Return the reference's GRPO recipe (reference/socioreasoner.md section 7), with ``overrides`` applied.

        Full fine-tuning, lr 1e-6 (AdamW 0.9/0.999, weight decay 0.01, no warm-up, linear to 0), 128 prompts x
        G=8 per step, optimiser steps of 16 sequences in micro-batches of 2, one PPO epoch, clip 0.2 (ROLL's
        default; the paper's 0.5 is the unused value_clip), k3 KL with beta 0.005 clamped to 10, per-sequence
        token-mean aggregation, (r - mean)/(std + 1e-6) advantages clipped to 10, one stage-2 answer per
        stage-1 chain, sampling at temperature 0.99 / top_p 0.99 / top_k 100 for up to 2048 tokens, gradient
        norm 1.0, the reference reward terms, a checkpoint every 20 steps.
        """
        values: dict[str, object] = dict(
            learning_rate=1e-6,
            weight_decay=0.01,
            adam_betas=(0.9, 0.999),
            warmup_steps=0,
            lr_schedule="linear",
            max_grad_norm=1.0,
            lora=None,
            group_size=8,
            batch_size=1024,
            minibatch_size=16,
            micro_batch_size=2,
            ppo_epochs=1,
            clip_eps=0.2,
            clip_eps_high=None,
            beta=0.005,
            kl_clamp=10.0,
            kl_bias_correction=False,
            loss_aggregation="seq_mean_token_mean",
            advantage_scale="std",
            advantage_eps=1e-6,
            advantage_clip=10.0,
            stage2_grouping="per_chain",
            temperature=0.99,
            top_p=0.99,
            top_k=100,
            max_new_tokens=2048,
            reward=RewardConfig(preset="reference"),
            save_every=20,
        )
        values.update(overrides)
        return cls.model_validate(values)


class SFTConfig(_Optimisation):
    """Supervised warm start on both stages: stage-1 answers from the truth boxes, stage-2 answers with points.

    Stage-2 examples show the render of a perturbed stage-1 result (each truth box jittered by up to
    ``box_jitter`` of its size) and answer the truth boxes with ``points_per_box`` points sampled inside the
    truth mask.
    """

    learning_rate: float = Field(1e-4, description="AdamW learning rate")
    epochs: float = Field(1.0, gt=0, description="passes over the training set (fractions allowed)")
    batch_size: int = Field(8, ge=1, description="examples per optimiser step")
    micro_batch_size: int = Field(2, ge=1, description="examples per forward/backward pass (gradient accumulation)")
    points_per_box: int = Field(2, ge=1, description="points sampled inside the truth mask per stage-2 box")
    box_jitter: float = Field(0.1, ge=0, lt=1, description="stage-2 input: largest box perturbation, a size fraction")
    think: bool = Field(False, description="write an empty <think></think> block before each answer")

    @model_validator(mode="after")
    def _check_batches(self) -> SFTConfig:
        if self.batch_size % self.micro_batch_size:
            raise ValueError(
                f"batch_size ({self.batch_size}) must be a multiple of micro_batch_size ({self.micro_batch_size}); "
                f"set micro_batch_size={math.gcd(self.batch_size, self.micro_batch_size)}"
            )
        return self
