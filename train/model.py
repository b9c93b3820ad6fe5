"""Load a Qwen2.5-VL / Qwen3-VL checkpoint for training: checks, LoRA through peft, the reference policy.

``load_trainable(spec, ...)`` takes a local checkpoint folder, a pulled hub id (``socio models pull``), or a
training run folder (its ``final/`` or latest checkpoint), checks that it is a vision-language model with a
chat template, and returns a `TrainableModel`: the model (with LoRA adapters when asked), its processor,
and a context manager giving the *reference* policy for the KL term without a second copy of the weights
when adapters are used (the base with adapters disabled). Full fine-tuning with a KL term keeps one frozen
copy.
"""

from __future__ import annotations

import contextlib
import copy
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.policies.zoom_inputs import POLICY_CONFIG
from tools.errors import InputError, lazy_import
from tools.models import looks_like_hub_id, resolve
from train.config import LoRASettings

VL_MODEL_TYPES = ("qwen2_5_vl", "qwen3_vl", "qwen2_vl")
"""``config.model_type`` values the trainer knows (each answers in the frame `agent.policies` reads)."""


@dataclass
class TrainableModel:
    """A model being trained, its processor, and how to reach the reference policy.

    Attributes:
        model: the transformers model (a peft model when ``lora`` is set).
        processor: the checkpoint's processor (tokenizer, image processor, chat template).
        source: the checkpoint folder it was loaded from.
        model_type: ``config.model_type`` of the base model.
        lora: the LoRA settings, or None for full fine-tuning.
        frozen_reference: a frozen copy of the initial weights (full fine-tuning with a KL term only).
    """

    model: Any
    processor: Any
    source: Path
    model_type: str
    lora: LoRASettings | None = None
    frozen_reference: Any = None

    @contextlib.contextmanager
    def reference(self) -> Iterator[Any]:
        """Yield the reference policy: the base with adapters disabled (LoRA), or the frozen copy.

        Raises:
            ValueError: full fine-tuning without a frozen copy (load with ``keep_reference=True``).
        """
        if self.lora is not None:
            with self.model.disable_adapter():
                yield self.model
        elif self.frozen_reference is not None:
            yield self.frozen_reference
        else:
            raise ValueError("no reference policy: load with keep_reference=True (needed when beta > 0)")

    def trainable_parameters(self) -> list[Any]:
        """Return the parameters the optimiser updates."""
        return [p for p in self.model.parameters() if p.requires_grad]

    def save(self, folder: Path) -> None:
        """Write a self-contained checkpoint (LoRA merged into the base) that ``--policy hf --model`` loads."""
        model = self.model
        if self.lora is not None:
            model = copy.deepcopy(model).merge_and_unload()
        folder.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(folder, safe_serialization=True)
        self.processor.save_pretrained(folder)
        config = self.source / POLICY_CONFIG  # the input mode the model was trained for travels with it
        if config.is_file():
            shutil.copyfile(config, folder / POLICY_CONFIG)


def resolve_init(spec: str) -> Path:
    """Return the checkpoint folder a ``--model``/``--init`` value names.

    A training run folder (holding ``final/`` or ``checkpoints/``) resolves to its final model, else to its
    latest checkpoint's ``model/``; ``tiny-vlm`` is the packaged small policy (`agent.policies.packaged`).

    Raises:
        InputError: nothing loadable there.
    """
    from agent.policies.packaged import packaged_model

    packaged = packaged_model(spec)
    if packaged is not None:
        return packaged
    p = Path(spec).expanduser()
    if p.is_dir() and not (p / "config.json").is_file():
        if (p / "final" / "config.json").is_file():
            return p / "final"
        from train.checkpoint import latest_checkpoint

        latest = latest_checkpoint(p)
        if latest is not None and (latest / "model" / "config.json").is_file():
            return latest / "model"
    if not p.exists() and not looks_like_hub_id(spec):
        raise InputError(
            f"no model at {spec}: give a checkpoint folder (with config.json), a training run folder, or a hub id "
            "pulled once with `socio models pull owner/name`"
        )
    path = resolve(spec) if not p.exists() else p
    if not (path / "config.json").is_file():
        raise InputError(f"{path} holds no config.json: it is not a transformers checkpoint folder or a run folder")
    return path


def check_checkpoint(path: Path) -> str:
    """Return the model type of a checkpoint folder after checking that it can be trained here.

    Raises:
        InputError: not a known vision-language model, no vision tower, or no chat template.
    """
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InputError(f"cannot read {path / 'config.json'}: {e}") from e
    model_type = str(config.get("model_type", "unknown"))
    if model_type not in VL_MODEL_TYPES:
        raise InputError(
            f"{path} is a {model_type!r} model; the trainer trains vision-language models of types "
            f"{', '.join(VL_MODEL_TYPES)} (Qwen2.5-VL, Qwen3-VL)"
        )
    if not isinstance(config.get("vision_config"), dict):
        raise InputError(f"{path}/config.json has no vision_config: the model has no vision tower to see the images")
    has_template = any((path / n).is_file() for n in ("chat_template.jinja", "chat_template.json"))
    if not has_template:
        for name in ("tokenizer_config.json", "processor_config.json"):
            f = path / name
            if f.is_file() and "chat_template" in f.read_text(encoding="utf-8"):
                has_template = True
    if not has_template:
        raise InputError(
            f"{path} has no chat template (chat_template.jinja, or chat_template in tokenizer_config.json): the "
            "trainer builds prompts with it; save the processor with a template (processor.chat_template = ...)"
        )
    return model_type


def load_trainable(
    spec: str,
    device: str = "cpu",
    dtype: str = "auto",
    lora: LoRASettings | None = None,
    gradient_checkpointing: bool = False,
    keep_reference: bool = False,
    seed: int = 0,
) -> TrainableModel:
    """Load a checkpoint for training.

    Args:
        spec: checkpoint folder, training run folder, or pulled hub id.
        device: torch device.
        dtype: ``auto`` (bf16 on CUDA, fp32 on CPU), ``bf16`` or ``fp32``.
        lora: add LoRA adapters with these settings (only they train); None trains every weight.
        gradient_checkpointing: recompute activations in the backward pass (less memory, more time).
        keep_reference: keep a frozen copy for the KL term (full fine-tuning only; LoRA needs none).
        seed: torch seed for the adapters' initialisation.

    Raises:
        InputError: the checkpoint is missing, not a vision-language model, or has no chat template.
        DependencyNotFoundError: torch, transformers or peft is not installed.
    """
    torch = lazy_import("torch", "train")
    transformers = lazy_import("transformers", "train")
    path = resolve_init(spec)
    model_type = check_checkpoint(path)
    torch_dtype = (torch.bfloat16 if str(device).startswith("cuda") else torch.float32) if dtype == "auto" else (
        {"bf16": torch.bfloat16, "fp32": torch.float32}.get(dtype)
    )  # fmt: skip
    if torch_dtype is None:
        raise InputError(f"unknown dtype {dtype!r}; choose auto, bf16 or fp32")
    try:
        processor = transformers.AutoProcessor.from_pretrained(path, local_files_only=True)
        model = transformers.AutoModelForImageTextToText.from_pretrained(path, dtype=torch_dtype, local_files_only=True)
    except (OSError, ValueError, KeyError) as e:
        raise InputError(f"could not load the checkpoint in {path}: {e}") from e
    if (
        getattr(processor, "chat_template", None) is None
        and getattr(processor.tokenizer, "chat_template", None) is None
    ):
        raise InputError(f"{path}: the processor has no chat template; the trainer builds prompts with it")
    model.to(device)
    if gradient_checkpointing:
        model.gradient_checkpointing_enable()
        model.config.use_cache = False
    frozen = None
    if lora is not None:
        peft = lazy_import("peft", "train")
        torch.manual_seed(seed)
        config = peft.LoraConfig(
            r=lora.rank, lora_alpha=lora.alpha, lora_dropout=lora.dropout, target_modules=list(lora.target_modules),
            bias="none",
        )  # fmt: skip
        try:
            model = peft.get_peft_model(model, config)
        except ValueError as e:
            raise InputError(f"LoRA target modules {list(lora.target_modules)} do not fit this model: {e}") from e
    elif keep_reference:
        frozen = copy.deepcopy(model).eval()
        for p in frozen.parameters():
            p.requires_grad_(False)
    model.train()
    return TrainableModel(model, processor, path, model_type, lora, frozen)
