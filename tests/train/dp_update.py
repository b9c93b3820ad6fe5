"""One GRPO update, single-process or under torchrun: ``python dp_update.py MODEL DATA OUT.pt``.

Every rank builds the same episodes (fixed seeds), keeps its share of each stage, and runs one update; rank 0
saves the trainable weights. The test compares one process on the whole batch with two on halves.

The episodes must differ within each stage: GRPO advantages sum to zero in a group, so a stage of identical
completions has a zero policy gradient up to rounding, and Adam turns that rounding into full-size steps that
differ between one process and two (an over-fitted model sampling one answer made this test fail).
"""

import sys

import numpy as np
import torch

from tests.train.test_rollout_update import _cfg, _episodes_with_signal
from train.config import LoRASettings
from train.distributed import World
from train.model import load_trainable
from train.optim import make_optimizer
from train.update import grpo_update

torch.set_num_threads(1)
torch.set_flush_denormal(True)
model, data, out = sys.argv[1:4]
world = World.from_env()
tm = load_trainable(model, lora=LoRASettings(rank=4, alpha=8, dropout=0.0), seed=0)
cfg = _cfg(batch_size=8)
episodes = _episodes_with_signal(tm, data, cfg)
for stage in ("localize", "refine"):
    distinct = {tuple(e.completion_ids) for e in episodes if e.stage == stage}
    if len(distinct) < 2:
        sys.exit(
            f"dp_update: every {stage} completion is the same, so the update is rounding noise; use a model "
            "that samples varied answers"
        )
mine = [e for stage in ("localize", "refine") for e in world.shard([e for e in episodes if e.stage == stage])]
opt, sched = make_optimizer(tm.trainable_parameters(), cfg, 4)
for step in range(2):
    grpo_update(tm, opt, sched, mine, cfg, world, np.random.default_rng(step))
if world.is_main:
    torch.save({n: p.detach() for n, p in tm.model.named_parameters() if p.requires_grad}, out)
world.close()
