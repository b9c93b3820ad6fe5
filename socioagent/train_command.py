"""``socio train sft`` and ``socio train grpo``: fine-tune a Qwen2.5-VL / Qwen3-VL policy for the two stages.

Settings flags come from the fields of `train.config.SFTConfig` / `GRPOConfig` (their descriptions are the
help); the segmenter the rollouts use is chosen as everywhere (``--segmenter``, ``--checkpoint``). Under
torchrun the same command runs data-parallel (`train.distributed`). Heavy imports happen inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from socioagent.errors import handle_errors
from socioagent.options import config_options
from train.config import GRPOConfig, SFTConfig

train_app = typer.Typer(help="Fine-tune a vision-language policy: SFT warm start, then two-stage GRPO.",
                        no_args_is_help=True)  # fmt: skip

DataOpt = Annotated[str, typer.Option(help="training data: synth:DIR or socioseg:PATH (raw folder or parquet)")]
SplitOpt = Annotated[str, typer.Option(help="split to train on")]
OutOpt = Annotated[Path, typer.Option(help="run folder: run.json, metrics.jsonl, curves.png, checkpoints/, final/")]
LimitOpt = Annotated[int | None, typer.Option(min=1, help="train on the first N samples of the split only")]
ValOpt = Annotated[int, typer.Option(min=0, help="validation samples (from --val-split) scored every few steps")]
ValSplitOpt = Annotated[str, typer.Option(help="split the validation samples come from")]
ResumeOpt = Annotated[bool, typer.Option(help="continue the run in --out from its latest checkpoint")]
LoraOpt = Annotated[bool, typer.Option(help="train LoRA adapters (peft) instead of every weight")]
LoraRankOpt = Annotated[int, typer.Option(min=1, help="LoRA rank (with --lora)")]
DeviceOpt = Annotated[str, typer.Option(help="torch device: auto, cpu, cuda, cuda:N")]
SegOpt = Annotated[str, typer.Option(help="segmenter of the rollouts and stage-2 renders: classical or sam2")]
CkptOpt = Annotated[str | None, typer.Option(help="SAM 2 checkpoint (with --segmenter sam2)")]
PromptOpt = Annotated[Path | None, typer.Option(help="folder of prompt templates replacing the packaged ones")]
QuietOpt = Annotated[bool, typer.Option(help="no progress bar")]
MinutesOpt = Annotated[
    float | None,
    typer.Option(
        min=0.0, help="wall-time budget: stop after the step that passes it and write OUT/final as at the end"
    ),
]
ProtocolOpt = Annotated[str, typer.Option(help="agent protocol the model is trained for: socioagent or socioreasoner")]


def _flush_denormals_for_the_process(device: str) -> None:
    """Flush denormal floats in this whole training process (CPU), before torch starts its thread pool.

    A flag set later reaches only the calling thread, not the intra-op worker threads (they inherit the
    floating-point environment when they are created), and denormals slow CPU training down many times (see
    `tools.torch_cpu`). A training process runs nothing that needs IEEE subnormals.
    """
    if not device.startswith("cuda"):
        import torch

        torch.set_flush_denormal(True)


def _settings(model: type, values: dict[str, Any], lora: bool, lora_rank: int, preset: str | None = None) -> Any:
    from pydantic import ValidationError

    from agent.backends import describe_validation_error
    from tools.errors import InputError
    from train.config import LoRASettings

    if lora:
        values["lora"] = LoRASettings(rank=lora_rank, alpha=2.0 * lora_rank)
    try:
        if preset == "reference":
            return model.reference(**values)
        return model(**values)
    except ValidationError as e:
        raise InputError(describe_validation_error(e)) from None


def _common(data: str, split: str, limit: int | None, val: int, val_split: str, seed: int, device: str,
            segmenter: str, checkpoint: str | None, protocol: str) -> tuple[Any, list[Any], Any, str, str]:  # fmt: skip
    from agent.backends import BackendConfig
    from train.data import TrainData

    train_data = TrainData.open(data, split, limit, seed)
    held_out = list(TrainData.open(data, val_split).subset(val)) if val else []
    backend = BackendConfig.parse(segmenter=segmenter, checkpoint=checkpoint, device=device, protocol=protocol)
    if device == "auto":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    return train_data, held_out, backend.build_segmenter(), backend.segmenter_spec(), device


@train_app.command("sft")
@handle_errors
@config_options(SFTConfig, "cfg_values")
def sft_command(
    data: DataOpt,
    model: Annotated[str, typer.Option(help="model to start from: checkpoint folder, run folder or pulled hub id")],
    out: OutOpt,
    cfg_values: dict[str, Any],
    split: SplitOpt = "train",
    limit: LimitOpt = None,
    val: ValOpt = 0,
    val_split: ValSplitOpt = "val",
    eval_every: Annotated[int, typer.Option(min=1, help="validation every this many steps")] = 100,
    cache: Annotated[
        Path | None, typer.Option(help="folder to keep the built examples in (reused when the data and inputs match)")
    ] = None,
    example_workers: Annotated[
        int, typer.Option(min=1, help="processes that build the examples (each loads the model: for small models)")
    ] = 1,
    max_minutes: MinutesOpt = None,
    lora: LoraOpt = False,
    lora_rank: LoraRankOpt = 16,
    resume: ResumeOpt = False,
    device: DeviceOpt = "auto",
    segmenter: SegOpt = "classical",
    checkpoint: CkptOpt = None,
    prompt_dir: PromptOpt = None,
    protocol: ProtocolOpt = "socioagent",
    quiet: QuietOpt = False,
) -> None:
    """Supervised warm start on both stages, answers made from the truth; writes OUT/final."""
    from train.sft import SFTJob, train_sft

    _flush_denormals_for_the_process(device)
    cfg = _settings(SFTConfig, cfg_values, lora, lora_rank)
    train_data, held_out, seg, seg_spec, dev = _common(data, split, limit, val, val_split, cfg.seed, device,
                                                       segmenter, checkpoint, protocol)  # fmt: skip
    job = SFTJob(train_data, model, out, seg, seg_spec, device=dev, resume=resume, val=held_out, prompt_dir=prompt_dir,
                 progress=not quiet, eval_every=eval_every, protocol=protocol, cache=cache,
                 example_workers=example_workers, max_minutes=max_minutes)  # fmt: skip
    train_sft(job, cfg)
    typer.secho(f"trained model: {out / 'final'}  (metrics: {out / 'metrics.jsonl'}, {out / 'curves.png'})", err=True)


@train_app.command("grpo")
@handle_errors
@config_options(GRPOConfig, "cfg_values")
def grpo_command(
    data: DataOpt,
    init: Annotated[str, typer.Option(help="model to start from: an SFT run folder, a checkpoint folder or hub id")],
    out: OutOpt,
    cfg_values: dict[str, Any],
    split: SplitOpt = "train",
    limit: LimitOpt = None,
    val: ValOpt = 0,
    val_split: ValSplitOpt = "val",
    preset: Annotated[
        str | None, typer.Option(help="'reference': the reference's recipe (flags given override it)")
    ] = None,
    reward: Annotated[str | None, typer.Option(help="reward preset: default or reference")] = None,
    max_minutes: MinutesOpt = None,
    lora: LoraOpt = False,
    lora_rank: LoraRankOpt = 16,
    resume: ResumeOpt = False,
    device: DeviceOpt = "auto",
    segmenter: SegOpt = "classical",
    checkpoint: CkptOpt = None,
    prompt_dir: PromptOpt = None,
    protocol: ProtocolOpt = "socioagent",
    quiet: QuietOpt = False,
) -> None:
    """Two-stage GRPO over the agent's own rollout (G chains per prompt); writes OUT/final."""
    from tools.errors import InputError
    from train.config import RewardConfig
    from train.grpo_loop import GRPOJob, train_grpo

    _flush_denormals_for_the_process(device)
    if preset not in (None, "reference"):
        raise InputError(f"unknown --preset {preset!r}; the one preset is 'reference'")
    if reward is not None:
        if reward not in ("default", "reference"):
            raise InputError(f"unknown --reward {reward!r}; choose default or reference")
        cfg_values["reward"] = RewardConfig(preset=reward)  # type: ignore[arg-type]
    cfg = _settings(GRPOConfig, cfg_values, lora, lora_rank, preset)
    train_data, held_out, seg, seg_spec, dev = _common(data, split, limit, val, val_split, cfg.seed, device,
                                                       segmenter, checkpoint, protocol)  # fmt: skip
    job = GRPOJob(train_data, init, out, seg, seg_spec, device=dev, resume=resume, val=held_out,
                  prompt_dir=prompt_dir, progress=not quiet, protocol=protocol, max_minutes=max_minutes)  # fmt: skip
    train_grpo(job, cfg)
    typer.secho(f"trained model: {out / 'final'}  (metrics: {out / 'metrics.jsonl'}, {out / 'curves.png'})", err=True)
