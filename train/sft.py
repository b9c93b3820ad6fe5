"""``socio train sft``: the supervised warm start on both stages, from the truth.

Examples, two per training sample, built before training (never beside it):

- stage 1: the request the graph sends (`agent.nodes.localize_request`), answered with the truth instance
  boxes (`tools.instances`, the metric's instances) in the policy's frame;
- stage 2: the truth boxes jittered by up to ``box_jitter`` of their size (written as a stage-1 answer),
  segmented by the run's segmenter and rendered as the graph's render node does (`agent.nodes.feedback_input`
  through the ``render_overlay`` tool), shown in the refine request (`agent.nodes.refine_request`), answered
  with the truth boxes and ``points_per_box`` points sampled inside each truth instance (away from its border).

Answers are written by `agent.parsing.format_answer`, with an empty ``<think></think>`` when ``think`` is set.
The loss is the token-mean negative log-likelihood of the answer tokens (end-of-turn included), the prompt
masked. Requests are stored at the resolution the model sees (the scene and renders resized to the sent
size), so memory follows the model's pixel budget.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from agent.nodes import feedback_input, localize_request, lookup_for, refine_request
from agent.parsing import ParsedItem, format_answer
from agent.policies.messages import PreparedInput
from agent.policies.transformers_local import TransformersPolicy
from agent.policies.zoom_inputs import read_policy_inputs
from agent.protocol import profile
from evals.datasets import Sample
from evals.progress import progress_bar
from prompts import template_path
from tools.coords import ModelFrame, box_from_pixels, xy_from_pixels
from tools.files import atomic_write_bytes
from tools.instances import components
from tools.registry import REGISTRY, ToolContext
from tools.scene import Scene
from tools.scene_store import SceneStore
from tools.schemas import Box, InstancePrompt
from tools.segment import SegmentInput
from tools.torch_cpu import flush_denormals
from train.batching import Completion, batch_logprobs, prompt_inputs
from train.config import SFTConfig
from train.data import TrainData
from train.distributed import World
from train.model import load_trainable
from train.optim import make_optimizer
from train.run import TrainingRun
from train.validate import validation_giou


@dataclass(frozen=True)
class SFTExample:
    """One supervised example: what the model is shown (prompt text and images at the size sent) and the answer."""

    sample_id: str
    stage: str
    prepared: PreparedInput
    answer: str


def _jitter(box: Box, frac: float, hw: tuple[int, int], rng: np.random.Generator) -> Box:
    x1, y1, x2, y2 = box.as_list()
    w, h = x2 - x1, y2 - y1
    d = rng.uniform(-frac, frac, 4) * np.array([w, h, w, h])
    nx1, ny1 = min(max(0.0, x1 + d[0]), hw[1] - 1.0), min(max(0.0, y1 + d[1]), hw[0] - 1.0)
    nx2, ny2 = max(min(float(hw[1]), x2 + d[2]), nx1 + 1.0), max(min(float(hw[0]), y2 + d[3]), ny1 + 1.0)
    return Box(x1=round(nx1), y1=round(ny1), x2=round(nx2), y2=round(ny2))


def _points(component: np.ndarray, n: int, rng: np.random.Generator) -> list[tuple[float, float]]:
    """Sample ``n`` pixel centres inside an instance, preferring its interior (distance to the border >= 2 px)."""
    dist = cv2.distanceTransform(component.astype(np.uint8), cv2.DIST_L2, 3)
    ys, xs = np.nonzero(dist >= min(2.0, float(dist.max())))
    pick = rng.choice(len(xs), size=n, replace=len(xs) < n)
    return [(float(xs[i]) + 0.5, float(ys[i]) + 0.5) for i in pick]


def build_examples(
    samples: Sequence[Sample], policy: TransformersPolicy, segmenter: Any, cfg: SFTConfig, progress: bool = True
) -> list[SFTExample]:
    """Return the stage-1 and stage-2 examples of ``samples`` (deterministic for a seed).

    A policy shown a zoomed window (`agent.policies.zoom_inputs`) learns the truth inside its window: instances
    cut by the window are clipped to it, instances outside it are not in the answer (it cannot see them).
    """
    out: list[SFTExample] = []
    with progress_bar("sft examples", len(samples), enabled=progress) as update:
        for s in samples:
            out.extend(sample_examples(s, policy, segmenter, cfg))
            update(advance=1)
    return out


def sample_examples(s: Sample, policy: TransformersPolicy, segmenter: Any, cfg: SFTConfig) -> list[SFTExample]:
    """Return one sample's two examples (stage 1, stage 2); its own seeded generator makes them order-free."""
    think = "" if cfg.think else None
    look = profile(policy.protocol).feedback_look
    rng = np.random.default_rng([cfg.seed, *s.id.encode()])
    scene = s.load_scene()
    truth = np.asarray(scene.truth, bool)
    blind = replace(scene, truth=None)
    store = SceneStore(max_scenes=1)
    store.put(blind)
    ctx = ToolContext(store=store, segmenter=segmenter)
    lookup = lookup_for(policy, blind, s.query, ctx)
    prep1 = policy.prepare_request(localize_request(blind, s.query, lookup))
    frame, hw = prep1.frame, scene.hw
    kept = _visible_instances(truth, frame.window or (0.0, 0.0, float(hw[1]), float(hw[0])))

    def in_frame(b: Box) -> tuple[float, ...]:
        return tuple(box_from_pixels(b, frame, hw, ndigits=0))

    answer1 = format_answer([ParsedItem(box=in_frame(b)) for b, _ in kept], think)
    jittered = [InstancePrompt(box=_jitter(b, cfg.box_jitter, hw, rng)) for b, _ in kept]
    stage1 = format_answer([ParsedItem(box=in_frame(p.box)) for p in jittered], think)
    feedback = _feedback(ctx, blind, jittered, stage1, frame, look)
    prep2 = policy.prepare_request(refine_request(blind, s.query, jittered, feedback, 1, stage1, lookup))
    items2 = []
    for b, inside in kept:
        pts = [tuple(round(v) for v in xy_from_pixels(x, y, frame, hw))
               for x, y in _points(inside, cfg.points_per_box, rng)]  # fmt: skip
        items2.append(ParsedItem(box=in_frame(b), points=pts))
    return [
        SFTExample(s.id, "localize", prep1, answer1),
        SFTExample(s.id, "refine", prep2, format_answer(items2, think)),
    ]


_WORKER: dict[str, Any] = {}
"""A worker process's policy and segmenter (`build_examples_parallel`)."""


def _start_worker(init: str, prompt_dir: Path | None, protocol: str, segmenter: Any) -> None:
    import torch

    torch.set_num_threads(1)
    tm = load_trainable(init, "cpu")
    _WORKER["policy"] = TransformersPolicy.from_loaded(tm.model, tm.processor, name=f"hf:{init}",
                                                       prompt_dir=prompt_dir, protocol=protocol,
                                                       inputs=read_policy_inputs(tm.source))  # fmt: skip
    _WORKER["segmenter"] = segmenter


def _worker_examples(samples: list[Sample], cfg: SFTConfig) -> list[SFTExample]:
    return [e for s in samples for e in sample_examples(s, _WORKER["policy"], _WORKER["segmenter"], cfg)]


def build_examples_parallel(
    samples: Sequence[Sample],
    policy: TransformersPolicy,
    job: SFTJob,
    cfg: SFTConfig,
    workers: int,
    progress: bool = True,
    chunk: int = 8,
) -> list[SFTExample]:
    """`build_examples` in ``workers`` processes: the same examples in the same order.

    Each worker's start (spawn, imports, model load) costs seconds: on 96 examples two workers took 0.62x the
    speed of one (bench/bench_sft_examples.py); they are meant for builds of thousands.

    Building is CPU work outside torch (scene reads, the segmenter on the jittered boxes, renders, image
    resizing), one sample at a time, so it splits cleanly by sample. Each worker is a fresh (spawned) process
    that loads the job's model the way the trainer does (one more copy of the model in memory per worker: meant
    for small models) and receives the segmenter by pickling. A segmenter that cannot be pickled (SAM 2 holds
    its network) builds in this process (with ``policy``) instead, as do ``workers`` <= 1 and small inputs.
    """
    import multiprocessing
    import pickle
    from concurrent.futures import ProcessPoolExecutor, as_completed

    if workers > 1:
        try:
            pickle.dumps(job.segmenter)
        except Exception:  # any pickling failure means: build here
            name = getattr(job.segmenter, "name", type(job.segmenter).__name__)
            warnings.warn(f"the {name} segmenter cannot be sent to worker processes; the SFT examples are built in "
                          "this one", stacklevel=2)  # fmt: skip
            workers = 1
    if workers <= 1 or len(samples) <= chunk:
        return build_examples(samples, policy, job.segmenter, cfg, progress)
    parts = [list(samples[i : i + chunk]) for i in range(0, len(samples), chunk)]
    results: list[list[SFTExample]] = [[] for _ in parts]
    start = (str(job.init), job.prompt_dir, job.protocol, job.segmenter)
    context = multiprocessing.get_context("spawn")
    with (
        ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=start) as pool,
        progress_bar(f"sft examples ({workers} processes)", len(samples), enabled=progress) as update,
    ):
        futures = {pool.submit(_worker_examples, part, cfg): i for i, part in enumerate(parts)}
        for future in as_completed(futures):
            i = futures[future]
            results[i] = future.result()
            update(advance=len(parts[i]))
    return [e for part in results for e in part]


def _visible_instances(truth: np.ndarray, window: tuple[float, float, float, float]) -> list[tuple[Box, np.ndarray]]:
    """Return the truth instances inside a window: each box clipped to it, each mask cut to it."""
    x1w, y1w, x2w, y2w = (round(v) for v in window)
    out = []
    for c in components(truth):
        inside = np.zeros_like(c)
        inside[y1w:y2w, x1w:x2w] = c[y1w:y2w, x1w:x2w]
        if inside.any():
            x1, y1, x2, y2 = _box(inside)
            out.append((Box(x1=x1, y1=y1, x2=x2, y2=y2), inside))
    return out


def _feedback(
    ctx: ToolContext, scene: Scene, prompts: list[InstancePrompt], answer: str, frame: ModelFrame, look: Any
) -> list[np.ndarray]:
    """Segment a stage-1 answer's prompts and render them as the graph's render node does; return [map, sat]."""
    seg = REGISTRY.call("sam_segment", SegmentInput(scene_id=scene.scene_id, prompts=prompts), ctx)
    stage = {"raw": answer, "meta": {"sent_hw": list(frame.model_hw) if frame.model_hw else None},
             "frame": {"window": list(frame.window) if frame.window else None}}  # fmt: skip
    args = feedback_input(scene.scene_id, prompts, seg.merged_mask_id, stage, look)
    out = REGISTRY.call("render_overlay", args, ctx)
    return [ctx.store.get_image(i) for i in out.image_ids]


def _box(component: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(component)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def completion_ids(tokenizer: Any, answer: str) -> tuple[int, ...]:
    """Return the answer's tokens followed by the end-of-turn token, as a sampled answer ends."""
    ids = tokenizer(answer, add_special_tokens=False)["input_ids"]
    return (*ids, int(tokenizer.eos_token_id))


def sft_loss(policy: TransformersPolicy, batch: Sequence[SFTExample], pad_id: int) -> tuple[Any, int]:
    """Return the summed negative log-likelihood of the batch's answer tokens and their number."""
    completions = []
    for ex in batch:
        inputs = policy.encode(ex.prepared)
        completions.append(Completion(prompt_inputs(inputs), completion_ids(policy.processor.tokenizer, ex.answer)))
    logps, mask = batch_logprobs(policy.model, completions, pad_id)
    return -(logps * mask).sum(), int(mask.sum().item())


def cached_examples(
    cache: Path | None,
    samples: Sequence[Sample],
    policy: TransformersPolicy,
    job: SFTJob,
    cfg: SFTConfig,
    progress: bool,
) -> list[SFTExample]:
    """Return `build_examples`, read from ``cache`` when it holds the same examples (key: what makes them)."""
    if cache is None:
        return build_examples_parallel(samples, policy, job, cfg, job.example_workers, progress)
    import hashlib
    import pickle

    key = json.dumps({
        "data": job.data.spec, "split": job.data.split, "ids": [s.id for s in samples],
        "inputs": policy.inputs.model_dump(), "protocol": policy.protocol, "segmenter": job.segmenter_spec,
        "factor": policy.factor, "max_pixels": policy.max_pixels, "prompt_dir": str(job.prompt_dir),
        "cfg": cfg.model_dump(include={"seed", "box_jitter", "points_per_box", "think"}),
        "prompts": [template_path(n, job.prompt_dir).read_text() for n in _template_names(policy)],
    }, sort_keys=True)  # fmt: skip
    path = Path(cache) / f"sft-examples-{hashlib.sha256(key.encode()).hexdigest()[:16]}.pkl"
    if path.is_file():
        with open(path, "rb") as f:
            return pickle.load(f)
    examples = build_examples_parallel(samples, policy, job, cfg, job.example_workers, progress)
    Path(cache).mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, pickle.dumps(examples, protocol=pickle.HIGHEST_PROTOCOL))
    return examples


def _template_names(policy: TransformersPolicy) -> list[str]:
    if policy.wants_lookup:
        return [f"{policy.inputs.template_prefix}{stage}" for stage in ("localize", "refine")]
    prefix = profile(policy.protocol).template_prefix
    return [f"{prefix}localize", f"{prefix}refine"]


@dataclass
class SFTJob:
    """Everything an SFT run needs besides its settings (see `train.grpo_loop.GRPOJob`)."""

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
    eval_every: int = 100
    cache: Path | None = None
    example_workers: int = 1
    max_minutes: float | None = None


def train_sft(job: SFTJob, cfg: SFTConfig, world: World | None = None) -> Path:
    """Run the SFT warm start and return the run folder (its ``final/`` is the trained model).

    Raises:
        InputError: the model, data or run folder is unusable (before anything is written).
    """
    world = world or World.from_env(job.device)
    tm = load_trainable(job.init, job.device, lora=cfg.lora, gradient_checkpointing=cfg.gradient_checkpointing,
                        seed=cfg.seed)  # fmt: skip
    policy = TransformersPolicy.from_loaded(tm.model, tm.processor, name=f"hf:{job.init}", prompt_dir=job.prompt_dir,
                                            protocol=job.protocol, inputs=read_policy_inputs(tm.source))  # fmt: skip
    examples = cached_examples(
        job.cache, world.shard(job.data.samples), policy, job, cfg, job.progress and world.is_main
    )
    per_step = max(1, cfg.batch_size // world.size)
    steps = max(1, round(cfg.epochs * len(examples) / per_step))
    optimizer, scheduler = make_optimizer(tm.trainable_parameters(), cfg, steps)
    identity = {
        "kind": "sft",
        "config": cfg.model_dump(mode="json"),
        "data": {"spec": job.data.spec, "split": job.data.split, "samples": len(job.data.samples)},
        "init": str(job.init),
        "segmenter": job.segmenter_spec,
        "prompt_dir": str(job.prompt_dir) if job.prompt_dir else None,
        "protocol": job.protocol,
        "world_size": world.size,
    }
    run = TrainingRun(
        job.out, identity, tm, optimizer, scheduler, steps, cfg.save_every, job.resume, world, job.max_minutes
    )
    pad_id = int(tm.processor.tokenizer.pad_token_id or tm.processor.tokenizer.eos_token_id)
    import torch

    stream = TrainData(job.data.spec, job.data.split, examples, cfg.seed)  # type: ignore[arg-type]
    bar = progress_bar("sft", steps, run.step, job.progress and world.is_main, loss="-")
    with run, bar as update, flush_denormals(job.device):
        for step in run.steps():
            t0 = run.seconds
            batch = stream.take(per_step, run.cursor)
            tokens = world.sum([float(sum(len(completion_ids(tm.processor.tokenizer, e.answer)) for e in batch))])[0]
            optimizer.zero_grad(set_to_none=True)
            total = 0.0
            for m in range(0, len(batch), cfg.micro_batch_size):
                loss_sum, _ = sft_loss(policy, batch[m : m + cfg.micro_batch_size], pad_id)
                (loss_sum / tokens).backward()
                total += loss_sum.item()
            world.sum_gradients(tm.trainable_parameters())
            norm = torch.nn.utils.clip_grad_norm_(tm.trainable_parameters(), cfg.max_grad_norm)
            optimizer.step()
            scheduler.step()
            row = {"sft_loss": world.sum([total])[0] / tokens, "grad_norm": float(norm),
                   "lr": scheduler.get_last_lr()[0],
                   "samples_per_s": len(batch) * world.size / max(run.seconds - t0, 1e-9)}  # fmt: skip
            if job.val and world.is_main and ((step + 1) % job.eval_every == 0 or step + 1 == steps):
                row |= validation_giou(policy, job.segmenter, job.val)
                tm.model.train()
            run.log(row, run.cursor + per_step)
            update(advance=1, loss=f"{row['sft_loss']:.3f}")
    return job.out
