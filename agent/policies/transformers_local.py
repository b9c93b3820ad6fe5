"""A policy run in-process with transformers: Qwen2.5-VL (absolute pixels) or Qwen3-VL (0..1000).

The checkpoint is a local folder or a hub id pulled once with ``socio models pull`` (never downloaded
here). The frame comes from the checkpoint's ``config.json``: ``qwen2_5_vl`` answers absolute pixels of
the resized image (factor 28), ``qwen3_vl`` answers 0..1000 (factor 32); the resize factor and pixel
budget are read from the checkpoint's image processor. The images are resized by us to the exact
``smart_resize`` size the processor would pick, so the processor does not resize again and the frame is
exact. Decoding is greedy unless ``do_sample=True``.
"""

from __future__ import annotations

import asyncio
import copy
import json
import threading
import time
from pathlib import Path
from typing import Any

from agent.policies import PolicyReply, PolicyRequest
from agent.policies.messages import DEFAULT_MAX_PIXELS, check_frame_kind, hf_messages, prepare
from tools.coords import ModelFrame
from tools.errors import InputError, lazy_import
from tools.models import looks_like_hub_id, resolve

MODEL_FRAMES: dict[str, str] = {"qwen2_5_vl": "abs", "qwen3_vl": "rel1000", "qwen3_vl_moe": "rel1000"}
"""The frame each supported ``config.model_type`` answers in."""

DTYPES = {"bf16": "bfloat16", "bfloat16": "bfloat16", "fp16": "float16", "float16": "float16"}
DTYPES |= {"fp32": "float32", "float32": "float32"}


class TransformersPolicy:
    """Answer both stages with a Qwen-VL checkpoint run in this process.

    Args:
        model: a checkpoint folder, or a hub id pulled with ``socio models pull``.
        device: ``auto`` (cuda if available, else cpu), ``cpu``, ``cuda``, ``cuda:1``, ...
        dtype: ``auto`` (bf16 on CUDA, fp32 on CPU), ``bf16``, ``fp16`` or ``fp32``.
        frame: ``auto`` (from ``config.model_type``), or ``abs``/``rel1000``/``pixel`` to override.
        max_new_tokens: cap on the answer's tokens.
        do_sample: sample instead of greedy decoding.
        temperature: sampling temperature (with ``do_sample``).
        top_p: nucleus sampling mass (with ``do_sample``).
        max_pixels: largest image area shown (further capped by the checkpoint's processor).
        seed: torch seed set before each sampled generation.
        prompt_dir: a folder with ``localize.txt``/``refine.txt`` to use instead of the packaged templates.
        generation_kwargs: extra ``generate`` arguments (e.g. ``repetition_penalty``).

    Raises:
        InputError: the checkpoint is missing, not pulled, unreadable or of an unsupported type.
        DependencyNotFoundError: transformers or torch is not installed.
    """

    def __init__(
        self,
        model: str,
        device: str = "auto",
        dtype: str = "auto",
        frame: str = "auto",
        max_new_tokens: int = 1024,
        do_sample: bool = False,
        temperature: float = 1.0,
        top_p: float = 1.0,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        seed: int | None = None,
        prompt_dir: str | Path | None = None,
        generation_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.spec = model
        self.path = _resolve_checkpoint(model)
        self.model_type = _model_type(self.path)
        if frame == "auto":
            if self.model_type not in MODEL_FRAMES:
                raise InputError(
                    f"checkpoint {model} is a {self.model_type!r} model; the hf policy knows "
                    f"{', '.join(MODEL_FRAMES)}. Pass frame='abs' or 'rel1000' if you know how it answers"
                )
            frame = MODEL_FRAMES[self.model_type]
        self.frame_kind = check_frame_kind(frame)
        if max_new_tokens <= 0 or max_pixels <= 0:
            raise InputError(f"max_new_tokens ({max_new_tokens}) and max_pixels ({max_pixels}) must be positive")
        self.max_new_tokens, self.do_sample = int(max_new_tokens), bool(do_sample)
        self.temperature, self.top_p, self.seed = temperature, top_p, seed
        self.prompt_dir = prompt_dir
        self.generation_kwargs = dict(generation_kwargs or {})
        self.name = f"hf:{model}"

        torch = lazy_import("torch", "hf")
        transformers = lazy_import("transformers", "hf")
        self.device = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
        if str(self.device).startswith("cuda") and not torch.cuda.is_available():
            raise InputError(f"device {self.device!r} was asked for but CUDA is not available; use 'auto' or 'cpu'")
        self.dtype = _torch_dtype(torch, dtype, self.device)
        try:
            self.processor = transformers.AutoProcessor.from_pretrained(self.path, local_files_only=True)
            self.model = transformers.AutoModelForImageTextToText.from_pretrained(
                self.path, dtype=self.dtype, local_files_only=True
            )
        except (OSError, ValueError, KeyError) as e:
            raise InputError(
                f"could not load the checkpoint in {self.path}: {e}. It needs config.json, the weights and the "
                f"processor files (tokenizer, preprocessor_config.json); pull it again with `socio models pull`"
            ) from e
        self.model.to(self.device).eval()
        ip = self.processor.image_processor
        self.patch_size = int(ip.patch_size)
        self.factor = self.patch_size * int(ip.merge_size)
        proc_min, proc_max = _pixel_budget(ip)
        self.min_pixels = proc_min
        self.max_pixels = min(int(max_pixels), proc_max)
        if self.min_pixels > self.max_pixels:
            raise InputError(
                f"max_pixels={max_pixels} is below the checkpoint's minimum image area {self.min_pixels}; raise it"
            )
        self._lock = threading.Lock()

    # -- the Policy protocol ------------------------------------------------------------------------

    def localize(self, request: PolicyRequest) -> PolicyReply:
        """Answer stage 1: boxes for every instance of the query."""
        return self._ask(request)

    def refine(self, request: PolicyRequest) -> PolicyReply:
        """Answer stage 2: boxes and points, given the rendered images and the stage-1 boxes."""
        return self._ask(request)

    async def alocalize(self, request: PolicyRequest) -> PolicyReply:
        """Answer stage 1 in a worker thread."""
        return await asyncio.to_thread(self._ask, request)

    async def arefine(self, request: PolicyRequest) -> PolicyReply:
        """Answer stage 2 in a worker thread."""
        return await asyncio.to_thread(self._ask, request)

    # -- one call -----------------------------------------------------------------------------------

    def _ask(self, request: PolicyRequest) -> PolicyReply:
        import torch
        from PIL import Image

        prepared = prepare(
            request, self.frame_kind, self.factor, self.min_pixels, self.max_pixels, prompt_dir=self.prompt_dir
        )
        t0 = time.perf_counter()
        images = [Image.fromarray(im) for im in prepared.images]
        config = self._generation_config()
        # one call at a time: generate is not re-entrant and fast tokenizers can fail when shared by threads
        with self._lock, torch.inference_mode():
            text = self.processor.apply_chat_template(hf_messages(prepared), add_generation_prompt=True, tokenize=False)
            inputs = self.processor(text=[text], images=images, return_tensors="pt").to(self.device)
            n_prompt = int(inputs["input_ids"].shape[1])
            if self.do_sample and self.seed is not None:
                torch.manual_seed(self.seed)
            out = self.model.generate(**inputs, generation_config=config, **self.generation_kwargs)
            new = out[0, n_prompt:].cpu()
            answer = self.processor.tokenizer.decode(new, skip_special_tokens=True)
        grid = inputs["image_grid_thw"].tolist()
        frame = prepared.frame
        seen_hw = (int(grid[0][1]) * self.patch_size, int(grid[0][2]) * self.patch_size)
        if frame.kind == "abs" and seen_hw != prepared.sent_hw:
            frame = ModelFrame(kind="abs", model_hw=seen_hw)  # the processor resized again: trust what it did
        eos = config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        meta = {
            "model": self.spec,
            "model_type": self.model_type,
            "device": str(self.device),
            "dtype": str(self.dtype).removeprefix("torch."),
            "usage": {"prompt_tokens": n_prompt, "completion_tokens": int(new.shape[0])},
            "finish_reason": "stop" if eos_ids & set(new.tolist()) else "length",
            "image_grid_thw": grid,
            "sent_hw": list(prepared.sent_hw),
            "retries": 0,
        }
        return PolicyReply(
            text=answer, frame=frame, prompt=prepared.prompt, latency_s=time.perf_counter() - t0, meta=meta
        )

    def _generation_config(self) -> Any:
        config = copy.deepcopy(self.model.generation_config)
        config.max_new_tokens = self.max_new_tokens
        config.do_sample = self.do_sample
        if self.do_sample:
            config.temperature, config.top_p = self.temperature, self.top_p
        else:
            config.temperature = config.top_p = config.top_k = None
        if config.pad_token_id is None:
            config.pad_token_id = self.processor.tokenizer.pad_token_id
        return config


def _resolve_checkpoint(spec: str) -> Path:
    p = Path(spec).expanduser()
    if not p.exists() and not looks_like_hub_id(spec):
        raise InputError(
            f"hf policy: checkpoint folder {spec} does not exist; give a local checkpoint folder, or a hub id "
            "(owner/name) pulled once with `socio models pull owner/name`"
        )
    path = resolve(spec)
    if not (path / "config.json").is_file():
        raise InputError(
            f"hf policy: {path} is not a transformers checkpoint folder (no config.json); give the folder that "
            "holds config.json, the weights and the processor files, or `socio models pull owner/name`"
        )
    return path


def _model_type(path: Path) -> str:
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InputError(f"hf policy: cannot read {path / 'config.json'}: {e}") from e
    return str(config.get("model_type", "unknown"))


def _torch_dtype(torch: Any, dtype: str, device: str) -> Any:
    if dtype == "auto":
        return torch.bfloat16 if str(device).startswith("cuda") else torch.float32
    if dtype not in DTYPES:
        raise InputError(f"unknown dtype {dtype!r}; choose auto, {', '.join(DTYPES)}")
    return getattr(torch, DTYPES[dtype])


def _pixel_budget(image_processor: Any) -> tuple[int, int]:
    """Return the (min_pixels, max_pixels) a Qwen-VL image processor resizes within."""
    size = getattr(image_processor, "size", None)

    def get(key: str, legacy: str) -> Any:
        value = size.get(key) if isinstance(size, dict) else getattr(size, key, None)
        return value if value is not None else getattr(image_processor, legacy, None)

    lo, hi = get("shortest_edge", "min_pixels"), get("longest_edge", "max_pixels")
    return int(lo or 56 * 56), int(hi or 28 * 28 * 1280)
