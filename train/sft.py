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
size, which the resize then leaves unchanged), so memory follows the model's pixel budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from shapely import affinity

from agent.nodes import feedback_input, localize_request, refine_request
from agent.parsing import ParsedItem, format_answer
from agent.policies import PolicyRequest
from agent.policies.messages import prepare
from agent.policies.transformers_local import TransformersPolicy
from agent.protocol import profile
from evals.datasets import Sample
from evals.progress import progress_bar
from tools.coords import ModelFrame, box_from_pixels, xy_from_pixels
from tools.images import resize_rgb
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
    """One supervised example: a request (at model resolution) and the answer text to learn."""

    sample_id: str
    stage: str
    request: PolicyRequest
    answer: str


def _model_resolution(policy: TransformersPolicy, request: PolicyRequest) -> tuple[PolicyRequest, ModelFrame]:
    """Return the request with every image resized to the size the model is sent, and the answer frame."""
    prepared = prepare(request, policy.frame_kind, policy.factor, policy.min_pixels, policy.max_pixels,
                       prompt_dir=policy.prompt_dir)  # fmt: skip
    h, w = prepared.sent_hw
    scene = request.scene
    sy, sx = h / scene.hw[0], w / scene.hw[1]
    layers = [replace(f, geometry=affinity.scale(f.geometry, sx, sy, origin=(0, 0))) for f in scene.layers]
    small = replace(scene, sat=resize_rgb(scene.sat, (h, w)), map=resize_rgb(scene.map, (h, w)), layers=layers,
                    truth=None, georef=None)  # fmt: skip
    images = [resize_rgb(im, (h, w)) for im in request.images]
    previous = [InstancePrompt(box=Box(x1=p.box.x1 * sx, y1=p.box.y1 * sy, x2=p.box.x2 * sx, y2=p.box.y2 * sy))
                for p in request.previous]  # fmt: skip
    return replace(request, scene=small, images=images, previous=previous), prepared.frame


def _jitter(box: tuple[int, int, int, int], frac: float, hw: tuple[int, int], rng: np.random.Generator) -> Box:
    x1, y1, x2, y2 = box
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
    """Return the stage-1 and stage-2 examples of ``samples`` (deterministic for a seed)."""
    out: list[SFTExample] = []
    think = "" if cfg.think else None
    with progress_bar("sft examples", len(samples), enabled=progress) as update:
        for s in samples:
            rng = np.random.default_rng([cfg.seed, *s.id.encode()])
            scene = s.load_scene()
            truth = np.asarray(scene.truth, bool)
            blind = replace(scene, truth=None)
            comps = components(truth)
            boxes = [_box(c) for c in comps]
            req1, frame = _model_resolution(policy, localize_request(blind, s.query))
            items1 = [ParsedItem(box=tuple(box_from_pixels(Box(x1=b[0], y1=b[1], x2=b[2], y2=b[3]), frame,
                                                           scene.hw, ndigits=0))) for b in boxes]  # fmt: skip
            out.append(SFTExample(s.id, "localize", req1, format_answer(items1, think)))
            jittered = [InstancePrompt(box=_jitter(b, cfg.box_jitter, scene.hw, rng)) for b in boxes]
            stage1 = format_answer([ParsedItem(box=tuple(box_from_pixels(p.box, frame, scene.hw, ndigits=0)))
                                    for p in jittered], think)  # fmt: skip
            feedback = _feedback(blind, jittered, stage1, segmenter, policy, frame)
            req2, _ = _model_resolution(policy, refine_request(blind, s.query, jittered, feedback, 1, stage1))
            items2 = []
            for b, c in zip(boxes, comps, strict=True):
                box = tuple(box_from_pixels(Box(x1=b[0], y1=b[1], x2=b[2], y2=b[3]), frame, scene.hw, ndigits=0))
                pts = [tuple(round(v) for v in xy_from_pixels(x, y, frame, scene.hw))
                       for x, y in _points(c, cfg.points_per_box, rng)]  # fmt: skip
                items2.append(ParsedItem(box=box, points=pts))
            out.append(SFTExample(s.id, "refine", req2, format_answer(items2, think)))
            update(advance=1)
    return out


def _feedback(
    scene: Scene,
    prompts: list[InstancePrompt],
    answer: str,
    segmenter: Any,
    policy: TransformersPolicy,
    frame: ModelFrame,
) -> list[np.ndarray]:
    """Segment a stage-1 answer's prompts and render them as the graph's render node does; return [map, sat]."""
    store = SceneStore(max_scenes=1)
    store.put(scene)
    ctx = ToolContext(store=store, segmenter=segmenter)
    seg = REGISTRY.call("sam_segment", SegmentInput(scene_id=scene.scene_id, prompts=prompts), ctx)
    sent = list(frame.model_hw) if frame.model_hw else None
    stage = {"raw": answer, "meta": {"sent_hw": sent}}
    look = profile(policy.protocol).feedback_look
    args = feedback_input(scene.scene_id, prompts, seg.merged_mask_id, stage, look)
    out = REGISTRY.call("render_overlay", args, ctx)
    return [store.get_image(i) for i in out.image_ids]


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
        _, inputs = policy.prepare_inputs(ex.request)
        completions.append(Completion(prompt_inputs(inputs), completion_ids(policy.processor.tokenizer, ex.answer)))
    logps, mask = batch_logprobs(policy.model, completions, pad_id)
    return -(logps * mask).sum(), int(mask.sum().item())


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


def train_sft(job: SFTJob, cfg: SFTConfig, world: World | None = None) -> Path:
    """Run the SFT warm start and return the run folder (its ``final/`` is the trained model).

    Raises:
        InputError: the model, data or run folder is unusable (before anything is written).
    """
    world = world or World.from_env(job.device)
    tm = load_trainable(job.init, job.device, lora=cfg.lora, gradient_checkpointing=cfg.gradient_checkpointing,
                        seed=cfg.seed)  # fmt: skip
    policy = TransformersPolicy.from_loaded(tm.model, tm.processor, name=f"hf:{job.init}", prompt_dir=job.prompt_dir,
                                            protocol=job.protocol)  # fmt: skip
    examples = build_examples(world.shard(job.data.samples), policy, job.segmenter, cfg, job.progress and world.is_main)
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
    run = TrainingRun(job.out, identity, tm, optimizer, scheduler, steps, cfg.save_every, job.resume, world)
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
