"""The optimiser and learning-rate schedule both trainers use: AdamW, linear warm-up, then linear decay or flat."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def make_optimizer(parameters: Sequence[Any], cfg: Any, total_steps: int) -> tuple[Any, Any]:
    """Return AdamW over ``parameters`` and its schedule (``cfg``: an SFTConfig or GRPOConfig).

    Weight decay applies to matrices only (biases and norms are not decayed).

    Raises:
        ValueError: nothing to train.
    """
    import torch

    params = [p for p in parameters if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters")
    decay = [p for p in params if p.dim() >= 2]
    rest = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": rest, "weight_decay": 0.0}]
    opt = torch.optim.AdamW([g for g in groups if g["params"]], lr=cfg.learning_rate, betas=tuple(cfg.adam_betas))
    warmup, total = cfg.warmup_steps, max(1, total_steps)

    def factor(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / warmup
        if cfg.lr_schedule == "constant":
            return 1.0
        return max(0.0, (total - step) / max(1, total - warmup))

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, factor)
