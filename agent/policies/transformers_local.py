"""A policy run in-process with transformers: Qwen2.5-VL (absolute pixels) or Qwen3-VL (0..1000).

The checkpoint is a local folder or a hub id pulled once with ``socio models pull`` (never downloaded
here). The frame comes from the checkpoint's ``config.json``: ``qwen2_5_vl`` answers absolute pixels of
the resized image (factor 28), ``qwen3_vl`` answers 0..1000 (factor 32); the resize factor and pixel
budget are read from the checkpoint's image processor. The images are resized by us to the exact
``smart_resize`` size the processor would pick, so the processor does not resize again and the frame is
exact. Decoding is greedy unless the sampling options set a temperature above 0.

`TransformersPolicy.sample` draws G answers to one request in one ``generate`` call
(``num_return_sequences``) and returns, per answer, its token ids and their behaviour log-probabilities
(log-softmax of the raw logits divided by the temperature, as TRL computes them), which GRPO needs.
`TransformersPolicy.from_loaded` wraps a model and processor already in memory (the trainer's).
"""

from __future__ import annotations

import copy
import json
import threading
import time
from pathlib import Path
from typing import Any

from agent.policies import BasePolicy, PolicyReply, PolicyRequest, ReplyMeta, SamplingParams, Usage, check_group_size
from agent.policies.messages import DEFAULT_MAX_PIXELS, PreparedInput, check_frame_kind, hf_messages, prepare
from agent.policies.zoom_inputs import PolicyInputs, prepare_zoom, read_policy_inputs
from agent.protocol import DEFAULT_PROTOCOL, profile
from tools.coords import ModelFrame
from tools.errors import InputError, lazy_import
from tools.models import looks_like_hub_id, resolve
from tools.torch_cpu import flush_denormals

MODEL_FRAMES: dict[str, str] = {"qwen2_5_vl": "abs", "qwen3_vl": "rel1000", "qwen3_vl_moe": "rel1000"}
"""The frame each supported ``config.model_type`` answers in."""

VISION_TOKEN_KEYS = ("image_token_id", "video_token_id", "vision_start_token_id", "vision_end_token_id")
"""Config fields of the vision placeholder tokens, which an answer must never contain."""

DTYPES = {"bf16": "bfloat16", "bfloat16": "bfloat16", "fp16": "float16", "float16": "float16"}
DTYPES |= {"fp32": "float32", "float32": "float32"}


class TransformersPolicy(BasePolicy):
    """Answer both stages with a Qwen-VL checkpoint run in this process.

    Args:
        model: a checkpoint folder, or a hub id pulled with ``socio models pull``.
        device: ``auto`` (cuda if available, else cpu), ``cpu``, ``cuda``, ``cuda:1``, ...
        dtype: ``auto`` (bf16 on CUDA, fp32 on CPU), ``bf16``, ``fp16`` or ``fp32``.
        frame: ``auto`` (from ``config.model_type``), or ``abs``/``rel1000``/``pixel`` to override.
        sampling: temperature, top_p, top_k, max_tokens and a torch seed set before each sampled generation;
            unset ones take the protocol's defaults (socioagent: greedy, 1024 tokens).
        max_pixels: largest image area shown (further capped by the checkpoint's processor).
        prompt_dir: a folder with the protocol's templates to use instead of the packaged ones.
        generation_kwargs: extra ``generate`` arguments (e.g. ``repetition_penalty``).
        protocol: ``socioagent`` or ``socioreasoner`` (`agent.protocol`): the templates and sampling defaults.

    Raises:
        InputError: no model given, or the checkpoint is missing, not pulled, unreadable or of an unsupported type.
        DependencyNotFoundError: transformers or torch is not installed.
    """

    def __init__(
        self,
        model: str | None = None,
        device: str = "auto",
        dtype: str = "auto",
        frame: str = "auto",
        sampling: SamplingParams | None = None,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        prompt_dir: str | Path | None = None,
        generation_kwargs: dict[str, Any] | None = None,
        protocol: str = DEFAULT_PROTOCOL,
    ) -> None:
        profile(protocol)  # refuse an unknown protocol before loading any weights
        if not model:
            raise InputError("the hf policy needs --model <checkpoint folder or pulled hub id>")
        path = _resolve_checkpoint(model)
        model_type = _model_type(path)
        _frame_for(model_type, frame, model)  # refuse an unknown model type before loading any weights
        torch = lazy_import("torch", "hf")
        transformers = lazy_import("transformers", "hf")
        device = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
        if str(device).startswith("cuda") and not torch.cuda.is_available():
            raise InputError(f"device {device!r} was asked for but CUDA is not available; use 'auto' or 'cpu'")
        torch_dtype = _torch_dtype(torch, dtype, device)
        try:
            processor = transformers.AutoProcessor.from_pretrained(path, local_files_only=True)
            net = transformers.AutoModelForImageTextToText.from_pretrained(
                path, dtype=torch_dtype, local_files_only=True
            )
        except (OSError, ValueError, KeyError) as e:
            raise InputError(
                f"could not load the checkpoint in {path}: {e}. It needs config.json, the weights and the "
                f"processor files (tokenizer, preprocessor_config.json); pull it again with `socio models pull`"
            ) from e
        net.to(device).eval()
        self.path = path
        self.inputs = read_policy_inputs(path)
        self._setup(net, processor, f"hf:{model}", model, frame, sampling, max_pixels, prompt_dir, generation_kwargs,
                    protocol)  # fmt: skip

    @classmethod
    def from_loaded(
        cls,
        model: Any,
        processor: Any,
        name: str = "hf:in-memory",
        frame: str = "auto",
        sampling: SamplingParams | None = None,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        prompt_dir: str | Path | None = None,
        protocol: str = DEFAULT_PROTOCOL,
        inputs: PolicyInputs | None = None,
    ) -> TransformersPolicy:
        """Wrap a model and processor already in memory (e.g. the trainer's, LoRA adapters included).

        Raises:
            InputError: the model type or the pixel budget is unsupported.
        """
        self = cls.__new__(cls)
        self.path = None
        self._setup(model, processor, name, name, frame, sampling, max_pixels, prompt_dir, None, protocol)
        self.inputs = inputs or PolicyInputs()
        return self

    def _setup(
        self,
        model: Any,
        processor: Any,
        name: str,
        spec: str,
        frame: str,
        sampling: SamplingParams | None,
        max_pixels: int,
        prompt_dir: str | Path | None,
        generation_kwargs: dict[str, Any] | None,
        protocol: str = DEFAULT_PROTOCOL,
    ) -> None:
        self.protocol = profile(protocol).name
        self.model, self.processor, self.name, self.spec = model, processor, name, spec
        self.model_type = str(getattr(model.config, "model_type", "unknown"))
        self.frame_kind = check_frame_kind(_frame_for(self.model_type, frame, spec))
        if max_pixels <= 0:
            raise InputError(f"max_pixels ({max_pixels}) must be positive")
        self.sampling = profile(protocol).sampling.merged(sampling)
        self.prompt_dir = prompt_dir
        self.generation_kwargs = dict(generation_kwargs or {})
        first = next(model.parameters())
        self.device, self.dtype = first.device, first.dtype
        ip = processor.image_processor
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
        return self._generate(request, 1, None)[0]

    def refine(self, request: PolicyRequest) -> PolicyReply:
        """Answer stage 2: boxes and points, given the rendered images and the stage-1 boxes."""
        return self._generate(request, 1, None)[0]

    def sample(self, request: PolicyRequest, n: int, sampling: SamplingParams | None = None) -> list[PolicyReply]:
        """Return ``n`` sampled answers to one request from one ``generate`` call, with behaviour log-probs.

        The temperature defaults to 1 here (a group of greedy answers would have no spread); pass
        ``SamplingParams(temperature=0)`` to get ``n`` greedy answers.
        """
        check_group_size(n)
        sp = SamplingParams(temperature=1.0).merged(sampling)
        return self._generate(request, n, sp)

    # -- generation ---------------------------------------------------------------------------------

    @property
    def wants_lookup(self) -> bool:
        """Whether the checkpoint reads the map lookup's output (``socioagent.json`` says ``"inputs": "zoom"``)."""
        return self.inputs.inputs == "zoom"

    def prepare_request(self, request: PolicyRequest) -> PreparedInput:
        """Return what a request shows the model: the prompt text and the images at the size sent, and the frame."""
        if self.wants_lookup:
            return prepare_zoom(request, self.inputs, self.factor, self.min_pixels, self.prompt_dir)
        return prepare(request, self.frame_kind, self.factor, self.min_pixels, self.max_pixels, self.prompt_dir,
                       self.protocol)  # fmt: skip

    def encode(self, prepared: PreparedInput) -> Any:
        """Return the processor's tensors of a prepared input (chat template applied, images processed)."""
        from PIL import Image

        text = self.processor.apply_chat_template(hf_messages(prepared), add_generation_prompt=True, tokenize=False)
        images = [Image.fromarray(im) for im in prepared.images]
        return self.processor(text=[text], images=images, return_tensors="pt").to(self.device)

    def prepare_inputs(self, request: PolicyRequest) -> tuple[PreparedInput, Any]:
        """Return what a request shows the model: the prepared prompt and images, and the processor's tensors."""
        prepared = self.prepare_request(request)
        return prepared, self.encode(prepared)

    def _generate(self, request: PolicyRequest, n: int, sampling: SamplingParams | None) -> list[PolicyReply]:
        import torch

        sp = self.sampling.merged(sampling)
        config = self._generation_config(sp, n)
        # one call at a time: generate is not re-entrant and fast tokenizers can fail when shared by threads
        with self._lock, torch.inference_mode(), flush_denormals(self.device):
            t0 = time.perf_counter()
            prepared, inputs = self.prepare_inputs(request)
            n_prompt = int(inputs["input_ids"].shape[1])
            if config.do_sample and sp.seed is not None:
                torch.manual_seed(sp.seed)
            out = self.model.generate(**inputs, generation_config=config, **self.generation_kwargs)
            new = out.sequences[:, n_prompt:].cpu()
            steps = torch.stack([x.float() for x in out.logits], dim=1).cpu() if out.logits else None
            latency = time.perf_counter() - t0
        grid = inputs["image_grid_thw"].tolist()
        frame = prepared.frame
        seen_hw = (int(grid[0][1]) * self.patch_size, int(grid[0][2]) * self.patch_size)
        if frame.kind == "abs" and seen_hw != prepared.sent_hw:  # the processor resized again: trust what it did
            frame = ModelFrame(kind="abs", model_hw=seen_hw, window=frame.window)
        eos = config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        temperature = float(sp.temperature) if config.do_sample else 1.0
        prompt_ids = inputs["input_ids"][0].tolist()
        replies = []
        for i in range(new.shape[0]):
            ids = new[i].tolist()
            end = next((k + 1 for k, t in enumerate(ids) if t in eos_ids), len(ids))
            ids = ids[:end]
            logprobs = None
            if steps is not None:
                lp = torch.log_softmax(steps[i, :end] / temperature, dim=-1)
                logprobs = lp.gather(1, torch.tensor(ids).unsqueeze(1)).squeeze(1).tolist()
            meta = ReplyMeta(
                model=self.spec, model_type=self.model_type, device=str(self.device),
                dtype=str(self.dtype).removeprefix("torch."),
                usage=Usage(prompt_tokens=n_prompt, completion_tokens=len(ids), total_tokens=n_prompt + len(ids)),
                finish_reason="stop" if eos_ids & set(ids) else "length", image_grid_thw=grid,
                sent_hw=list(prepared.sent_hw), seed=sp.seed,
                sampling=sp.model_dump(exclude_none=True) | {"n": n},
            )  # fmt: skip
            text = self.processor.tokenizer.decode(ids, skip_special_tokens=True)
            replies.append(PolicyReply(
                text=text, frame=frame, prompt=prepared.prompt, latency_s=latency / n, meta=meta, token_ids=ids,
                logprobs=logprobs, prompt_token_ids=prompt_ids,
            ))  # fmt: skip
        return replies

    def _generation_config(self, sp: SamplingParams, n: int) -> Any:
        config = copy.deepcopy(self.model.generation_config)
        config.max_new_tokens = int(sp.max_tokens or 1024)
        config.do_sample = bool(sp.temperature)
        config.num_return_sequences = n
        config.return_dict_in_generate = True
        config.output_logits = True  # raw logits: the behaviour log-probs are computed from them
        if config.do_sample:
            config.temperature = float(sp.temperature)
            config.top_p = float(sp.top_p) if sp.top_p is not None else 1.0
            config.top_k = int(sp.top_k) if sp.top_k is not None else 0
        else:
            config.temperature = config.top_p = config.top_k = None
        if config.pad_token_id is None:
            config.pad_token_id = self.processor.tokenizer.pad_token_id
        # an answer holding image placeholder tokens could not be fed back to the model (training recomputes
        # log-probs on prompt + answer): never generate them
        vision = [getattr(self.model.config, k, None) for k in VISION_TOKEN_KEYS]
        config.suppress_tokens = sorted({int(t) for t in vision if t is not None} | set(config.suppress_tokens or []))
        return config


def _frame_for(model_type: str, frame: str, spec: str) -> str:
    if frame != "auto":
        return frame
    if model_type not in MODEL_FRAMES:
        raise InputError(
            f"checkpoint {spec} is a {model_type!r} model; the hf policy knows {', '.join(MODEL_FRAMES)}. "
            "Pass frame='abs' or 'rel1000' if you know how it answers"
        )
    return MODEL_FRAMES[model_type]


def _resolve_checkpoint(spec: str) -> Path:
    from agent.policies.packaged import packaged_model

    packaged = packaged_model(spec)
    if packaged is not None:
        return packaged
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
