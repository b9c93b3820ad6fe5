"""``socio train grpo``: two-stage GRPO steps (rollout -> rewards -> advantages -> update), resumable.

Per step: ``prompts_per_step`` prompts from the training stream (sharded over data-parallel ranks), each
rolled out in G two-stage chains (`train.rollout`), advantages normalised per stage within each group
(`train.advantages`), then one update over both stages' episodes (`train.update`). Every step appends one
row to ``RUN/metrics.jsonl``: reward terms per stage, final-mask IoU, format rate, KL, clip fraction,
gradient norm, rollouts/s, segmenter encodes per group, and every ``eval_every`` steps the validation gIoU
of greedy answers through the real agent.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agent.policies.transformers_local import TransformersPolicy
from agent.policies.zoom_inputs import read_policy_inputs
from evals.datasets import Sample
from evals.progress import progress_bar
from tools.errors import InputError
from tools.torch_cpu import flush_denormals
from train.advantages import assign_advantages
from train.config import GRPOConfig
from train.data import TrainData
from train.distributed import World
from train.model import load_trainable
from train.optim import make_optimizer
from train.rewards import LOCALIZE_TERMS, REFINE_TERMS
from train.rollout import Rollout, Rollouts
from train.run import TrainingRun
from train.update import grpo_update
from train.validate import validation_giou


@dataclass
class GRPOJob:
    """Everything a GRPO run needs besides its settings.

    Attributes:
        data: the training stream.
        init: the initial model (checkpoint folder, run folder, or pulled hub id).
        out: the run folder.
        segmenter: the segmenter the rollouts use (SAM 2 or classical), built by the caller.
        segmenter_spec: its spec string (part of the run's identity).
        device: torch device.
        resume: continue the run in ``out``.
        val: held-out samples for the validation gIoU (empty: none).
        prompt_dir: prompt templates replacing the packaged ones.
        progress: show a progress bar.
        protocol: the agent protocol the rollouts follow (`agent.protocol`; the trained model's target).
        max_minutes: wall-time budget; the run ends (with ``final/``) after the step that passes it.
    """

    data: TrainData
    init: str
    out: Path
    segmenter: Any
    segmenter_spec: str
    device: str = "cpu"
    resume: bool = False
    val: Sequence[Sample] = ()
    prompt_dir: Path | None = None
    progress: bool = True
    protocol: str = "socioagent"
    max_minutes: float | None = None


def rollout_seed(seed: int, step: int, index: int) -> int:
    """Return the sampling seed of one prompt's rollout (the same for the same run, step and prompt)."""
    return zlib.crc32(f"{seed}:{step}:{index}".encode()) & 0x7FFFFFFF


def train_grpo(job: GRPOJob, cfg: GRPOConfig, world: World | None = None) -> Path:
    """Run GRPO and return the run folder (its ``final/`` is the trained model).

    Raises:
        InputError: the model, data or run folder is unusable (before anything is written).
    """
    world = world or World.from_env(job.device)
    if cfg.prompts_per_step % world.size:
        raise InputError(
            f"{cfg.prompts_per_step} prompts per step (batch_size / group_size) do not split over {world.size} "
            f"processes; set batch_size to a multiple of {cfg.group_size * world.size}"
        )
    tm = load_trainable(job.init, job.device, lora=cfg.lora, gradient_checkpointing=cfg.gradient_checkpointing,
                        keep_reference=cfg.beta > 0 and cfg.lora is None, seed=cfg.seed)  # fmt: skip
    policy = TransformersPolicy.from_loaded(tm.model, tm.processor, name=f"hf:{job.init}", prompt_dir=job.prompt_dir,
                                            protocol=job.protocol, inputs=read_policy_inputs(tm.source))  # fmt: skip
    updates_per_step = cfg.ppo_epochs * -(-2 * cfg.batch_size // cfg.sequences_per_update)
    optimizer, scheduler = make_optimizer(tm.trainable_parameters(), cfg, cfg.steps * updates_per_step)
    identity = {
        "kind": "grpo",
        "config": cfg.model_dump(mode="json"),
        "data": {"spec": job.data.spec, "split": job.data.split, "samples": len(job.data.samples)},
        "init": str(job.init),
        "segmenter": job.segmenter_spec,
        "prompt_dir": str(job.prompt_dir) if job.prompt_dir else None,
        "protocol": job.protocol,
        "world_size": world.size,
    }
    rollouts = Rollouts(policy, job.segmenter, cfg, job.protocol)
    run = TrainingRun(
        job.out, identity, tm, optimizer, scheduler, cfg.steps, cfg.save_every, job.resume, world, job.max_minutes
    )
    fields = {"reward": "-", "iou": "-", "rollouts_s": "-"}
    bar = progress_bar("grpo", cfg.steps, run.step, job.progress and world.is_main, **fields)
    with run, bar as update, flush_denormals(job.device):
        for step in run.steps():
            samples = job.data.take(cfg.prompts_per_step, run.cursor)
            mine = world.shard(list(enumerate(samples)))
            tm.model.eval()  # sample without dropout
            rolls = [rollouts.run(s.id, s.load_scene(), s.query, rollout_seed(cfg.seed, step, k)) for k, s in mine]
            groups = [g for r in rolls for g in r.groups]
            assign_advantages(groups, cfg)
            tm.model.train()
            stats = grpo_update(tm, optimizer, scheduler, [e for g in groups for e in g.episodes], cfg, world,
                                np.random.default_rng([cfg.seed, step]))  # fmt: skip
            row = _row(rolls, world) | {
                "loss": stats.loss, "policy_loss": stats.policy_loss, "kl": stats.kl,
                "clip_fraction": stats.clip_fraction, "grad_norm": stats.grad_norm,
                "sampler_logprob_gap": stats.sampler_logprob_gap, "lr": scheduler.get_last_lr()[0],
            }  # fmt: skip
            if job.val and world.is_main and ((step + 1) % cfg.eval_every == 0 or step + 1 == cfg.steps):
                row |= validation_giou(policy, job.segmenter, job.val)
            run.log(row, run.cursor + cfg.prompts_per_step)
            update(advance=1, reward=f"{row['localize_reward']:.2f}/{row['refine_reward']:.2f}",
                   iou=f"{row['final_iou']:.3f}", rollouts_s=f"{row['rollouts_per_s']:.1f}")  # fmt: skip
    return job.out


def _row(rolls: list[Rollout], world: World) -> dict[str, float]:
    """Return a step's rollout metrics, averaged over every rank's rollouts."""
    keys = [f"localize_{k}" for k in ("reward", "n", *LOCALIZE_TERMS)]
    keys += [f"refine_{k}" for k in ("reward", "n", *REFINE_TERMS)]
    keys += ["final_iou", "chains", "format_ok", "answers", "encodes", "groups", "seconds"]
    sums = dict.fromkeys(keys, 0.0)  # the same keys on every rank, in the same order, for the all-reduce

    def add(key: str, value: float) -> None:
        sums[key] += value

    for r in rolls:
        for g in r.groups:
            for e in g.episodes:
                add(f"{g.stage}_reward", float(e.reward or 0.0))
                for name, v in e.reward_terms.items():
                    add(f"{g.stage}_{name}", v)
                add(f"{g.stage}_n", 1.0)
        for iou in r.final_ious:
            add("final_iou", iou)
            add("chains", 1.0)
        add("format_ok", float(sum(rec.ok for rec in r.records)))
        add("answers", float(len(r.records)))
        add("encodes", float(r.encodes))
        add("groups", 1.0)
        add("seconds", r.seconds)
    total = dict(zip(keys, world.sum([sums[k] for k in keys]), strict=True))
    out: dict[str, float] = {}
    for stage in ("localize", "refine"):
        n = max(total.get(f"{stage}_n", 0.0), 1.0)
        for k, v in total.items():
            if k.startswith(f"{stage}_") and k != f"{stage}_n":
                out[k] = v / n
    out["final_iou"] = total["final_iou"] / max(total["chains"], 1.0)
    out["format_rate"] = total["format_ok"] / max(total["answers"], 1.0)
    out["encodes_per_group"] = total["encodes"] / max(total["groups"], 1.0)
    out["rollouts_per_s"] = total["chains"] / max(total["seconds"] / world.size, 1e-9)
    return out
