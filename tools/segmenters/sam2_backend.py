"""SAM 2 (Meta's ``sam2`` package) behind the `Segmenter` protocol: one encode per scene, batched boxes.

Models, by the ``model`` argument (the part after ``sam2:`` in a segmenter spec):

- a hub id from `SAM2_MODELS`, e.g. ``facebook/sam2.1-hiera-tiny``: resolved offline in the local registry
  (`tools.models.resolve`), so it must have been pulled once with ``socio models pull <id>``;
- a local ``.pt`` checkpoint: the config is inferred from the file name (``sam2.1_hiera_tiny.pt`` ->
  ``configs/sam2.1/sam2.1_hiera_t.yaml``), or given as ``config=``;
- ``random:<size>`` with size ``tiny``, ``small``, ``base-plus`` or ``large`` (SAM 2.1 configs): random
  weights, for tests and benchmarks only. Its masks mean nothing.

Each new scene id costs one image encode; the features of the last ``cache_size`` scenes are kept, so
alternating between scenes (eval workers, GRPO groups) does not encode again. All boxes of a `predict` call
go through the mask decoder in one batch. On CUDA, calls run in bfloat16 autocast; on CPU in float32 with
denormals flushed to zero (random weights are very slow otherwise).

Two settings make it segment as the SocioReasoner reference does (``--protocol socioreasoner``):

- ``frame="model"``: SAM is fed the scene image resized (PIL bicubic) to the Qwen2.5-VL model frame
  (`tools.coords.smart_resize`: 756x756 for a 768x768 scene), prompts are scaled into that frame, and each mask
  is resized back to the scene (``cv2.INTER_NEAREST``), as the reference's 756 -> 768 step;
- ``multimask=True``: SAM proposes three masks per prompt and the one with the highest predicted IoU is kept;
  prompts with different point counts go through the decoder in separate batches, so no prompt is padded
  with "not a point" entries (each mask is what a call for that prompt alone would give);
- ``bf16=False``: float32 on CUDA too (the reference runs SAM 2 without autocast).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from tools.coords import smart_resize
from tools.errors import BackendError, InputError, lazy_import
from tools.images import resize_mask, resize_rgb
from tools.models import looks_like_hub_id, resolve
from tools.schemas import InstancePrompt
from tools.segmenters import SegmentResult, image_key
from tools.segmenters.classical import as_rgb_image
from tools.torch_cpu import flush_denormals

SAM2_MODELS: dict[str, tuple[str, str]] = {
    "facebook/sam2-hiera-tiny": ("configs/sam2/sam2_hiera_t.yaml", "sam2_hiera_tiny.pt"),
    "facebook/sam2-hiera-small": ("configs/sam2/sam2_hiera_s.yaml", "sam2_hiera_small.pt"),
    "facebook/sam2-hiera-base-plus": ("configs/sam2/sam2_hiera_b+.yaml", "sam2_hiera_base_plus.pt"),
    "facebook/sam2-hiera-large": ("configs/sam2/sam2_hiera_l.yaml", "sam2_hiera_large.pt"),
    "facebook/sam2.1-hiera-tiny": ("configs/sam2.1/sam2.1_hiera_t.yaml", "sam2.1_hiera_tiny.pt"),
    "facebook/sam2.1-hiera-small": ("configs/sam2.1/sam2.1_hiera_s.yaml", "sam2.1_hiera_small.pt"),
    "facebook/sam2.1-hiera-base-plus": ("configs/sam2.1/sam2.1_hiera_b+.yaml", "sam2.1_hiera_base_plus.pt"),
    "facebook/sam2.1-hiera-large": ("configs/sam2.1/sam2.1_hiera_l.yaml", "sam2.1_hiera_large.pt"),
}
"""Known hub ids -> (config name inside the sam2 package, checkpoint file in the hub repository)."""

_SIZE_CODES = {"tiny": "t", "t": "t", "small": "s", "s": "s", "base_plus": "b+", "b+": "b+", "large": "l", "l": "l"}
_RANDOM_PREFIX = "random:"
_PREDICTOR_STATE = ("_bb_feat_sizes", "_features", "_orig_hw", "_is_image_set", "_is_batch")
"""Private state of SAM2ImagePredictor that the per-scene feature cache saves and restores."""
_CKPT_NAME = re.compile(r"(sam2(?:\.1)?)_hiera_(tiny|small|base_plus|large|t|s|b\+|l)\b")


def sam2_config_for(checkpoint: str | Path) -> str:
    """Return the config name for a checkpoint file named like Meta's (``sam2.1_hiera_small.pt``).

    Raises:
        InputError: the name does not tell the model version and size.
    """
    m = _CKPT_NAME.search(Path(checkpoint).name)
    if m is None:
        raise InputError(
            f"cannot tell the SAM 2 config from the checkpoint name {Path(checkpoint).name!r}; pass it explicitly, "
            "e.g. config='configs/sam2.1/sam2.1_hiera_t.yaml' (version sam2 or sam2.1, size t, s, b+ or l)"
        )
    version, size = m.group(1), _SIZE_CODES[m.group(2)]
    return f"configs/{version}/{version}_hiera_{size}.yaml"


def resolve_sam2(model: str | None, config: str | None = None) -> tuple[str, str | None]:
    """Turn a model argument into (config name, local checkpoint path or None for random weights), offline.

    Args:
        model: a hub id from `SAM2_MODELS`, a local ``.pt`` path, or ``random:<size>``.
        config: config name inside the sam2 package; inferred when None.

    Raises:
        InputError: no model, an unknown hub id or size, a missing file, or an unpulled hub id.
    """
    if not model:
        raise InputError(
            "the sam2 segmenter needs --checkpoint: a pulled hub id (e.g. facebook/sam2.1-hiera-tiny, pulled once "
            "with `socio models pull`), a path to a .pt file, or random:tiny for random weights"
        )
    if model.startswith(_RANDOM_PREFIX):
        size = model[len(_RANDOM_PREFIX) :].replace("-", "_")
        if size not in _SIZE_CODES:
            raise InputError(
                f"unknown random SAM 2 size {size!r}; use random:tiny, random:small, random:base-plus or random:large"
            )
        return config or f"configs/sam2.1/sam2.1_hiera_{_SIZE_CODES[size]}.yaml", None
    if model in SAM2_MODELS:
        known_config, filename = SAM2_MODELS[model]
        return config or known_config, str(resolve(model, filename))
    path = Path(model).expanduser()
    if path.is_file():
        return config or sam2_config_for(path), str(path)
    if looks_like_hub_id(model):
        raise InputError(f"unknown SAM 2 hub id {model!r}; use one of: {', '.join(SAM2_MODELS)}, or a local .pt path")
    raise InputError(
        f"SAM 2 checkpoint {model} does not exist; give an existing .pt file, or a hub id such as "
        "facebook/sam2.1-hiera-tiny pulled once with `socio models pull facebook/sam2.1-hiera-tiny`"
    )


class Sam2Segmenter:
    """SAM 2 image predictor: encode a scene once, answer every box prompt of it in one batched call.

    Attributes:
        name: ``"sam2:<model>"``.
        encode_count: real image encodes so far.
        cache_size: how many scenes' features are kept.
    """

    def __init__(
        self,
        model: str | None,
        config: str | None = None,
        device: str = "auto",
        cache_size: int = 4,
        image_size: int | None = None,
        multimask: bool = False,
        frame: Literal["scene", "model"] = "scene",
        bf16: bool = True,
    ) -> None:
        """Build the model and its predictor.

        Args:
            model: a hub id from `SAM2_MODELS`, a local ``.pt`` path, or ``random:<size>`` (see the module).
            config: config name inside the sam2 package (``configs/sam2.1/sam2.1_hiera_t.yaml``); inferred if None.
            device: ``auto`` (CUDA when available), ``cpu``, ``cuda`` or ``cuda:<i>``.
            cache_size: scenes whose features are kept (at least 1).
            image_size: model input size override, a multiple of 32. Meant for random weights in tests
                (256 encodes ~10x faster than the trained 1024); trained weights are best at their own size.
            multimask: keep the best-scoring of SAM's three masks per prompt (the reference) instead of asking
                for one mask.
            frame: ``scene`` (segment the scene image itself) or ``model`` (segment it at the model-frame size,
                756 for 768, and resize the masks back, as the reference does).
            bf16: on CUDA, run in bfloat16 autocast (False: float32, as the reference runs SAM 2).

        Raises:
            InputError: a bad model, config, device, cache size, image size or frame.
        """
        if frame not in ("scene", "model"):
            raise InputError(f"unknown SAM 2 frame {frame!r}; use scene or model")
        torch = lazy_import("torch", "sam2")
        build_sam = lazy_import("sam2.build_sam", "sam2")
        predictor_mod = lazy_import("sam2.sam2_image_predictor", "sam2")
        if cache_size < 1:
            raise InputError(f"cache_size must be at least 1, got {cache_size}")
        if image_size is not None and (image_size < 64 or image_size % 32):
            raise InputError(f"image_size must be a multiple of 32 and at least 64, got {image_size}; try 256 or 1024")
        config_name, ckpt = resolve_sam2(model, config)
        dev = _pick_device(torch, device)
        overrides = [f"++model.image_size={image_size}"] if image_size else []
        try:
            sam = build_sam.build_sam2(config_name, ckpt, device=dev, mode="eval", hydra_overrides_extra=overrides)
        except Exception as e:
            raise _build_error(e, config_name, ckpt, torch) from e
        self._predictor = predictor_mod.SAM2ImagePredictor(sam, mask_threshold=0.0)
        missing = [a for a in _PREDICTOR_STATE if not hasattr(self._predictor, a)]
        if missing:
            raise BackendError(f"this sam2 version's image predictor lacks {missing}; install sam2==1.1.0")
        size = sam.image_size
        # The predictor hard-codes the feature sizes of a 1024 input; derive them from the model instead.
        self._predictor._bb_feat_sizes = [(size // 4, size // 4), (size // 8, size // 8), (size // 16, size // 16)]
        self._torch = torch
        self.name = f"sam2:{model}"
        self.cache_size = cache_size
        self.multimask = bool(multimask)
        self.frame = frame
        self.bf16 = bool(bf16)
        self.encode_count = 0
        self._cache: OrderedDict[str, tuple[Any, list[tuple[int, int]], tuple[int, int]]] = OrderedDict()
        self._scene_id: str | None = None
        self._scene_hw: tuple[int, int] = (0, 0)
        self.lock = threading.RLock()

    @property
    def device(self) -> str:
        """Return the device the model lives on (``cpu``, ``cuda:0``, ...)."""
        return str(self._predictor.device)

    def set_scene(self, scene_id: str, image: np.ndarray) -> None:
        """Encode an (H, W, 3) uint8 RGB image, unless ``scene_id`` is set or its features are cached.

        Raises:
            InputError: the image is not (H, W, 3) uint8.
        """
        key = image_key(scene_id, image)
        with self.lock:
            if key == self._scene_id:
                return
            if key in self._cache:
                self._restore(key)
                return
            rgb = as_rgb_image(image)
            scene_hw = (int(rgb.shape[0]), int(rgb.shape[1]))
            if self.frame == "model":
                try:
                    rgb = resize_rgb(rgb, smart_resize(*scene_hw))
                except ValueError as e:
                    raise InputError(
                        f"cannot segment a {scene_hw[1]}x{scene_hw[0]} image in the model frame: {e}"
                    ) from e
            self._scene_id = None  # set_image resets the predictor first; stay unset if it fails
            with self._context():
                self._predictor.set_image(rgb)
            self.encode_count += 1
            self._scene_hw = scene_hw
            self._cache[key] = (self._predictor._features, list(self._predictor._orig_hw), scene_hw)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
            self._scene_id = key

    def predict(self, prompts: Sequence[InstancePrompt]) -> SegmentResult:
        """Return one mask per prompt from batched decoder calls.

        Args:
            prompts: boxes (XYXY scene pixels) with optional points. Without ``multimask``, one batch: boxes with
                fewer points are padded with "not a point" entries (label -1); with it, one batch per point count.

        Returns:
            masks (N, H, W) bool in scene pixels, scores (N,) predicted IoU clipped to [0, 1], sources "model".

        Raises:
            RuntimeError: no scene was set.
        """
        with self.lock:
            if self._scene_id is None:
                raise RuntimeError("call set_scene(...) first")
            h, w = self._scene_hw
            n = len(prompts)
            if n == 0:
                return SegmentResult(np.zeros((0, h, w), bool), np.zeros(0, np.float32), [])
            masks = np.zeros((n, h, w), bool)
            scores = np.zeros(n, np.float32)
            groups = [list(range(n))]
            if self.multimask:
                counts = sorted({len(p.points) for p in prompts})
                groups = [[i for i, p in enumerate(prompts) if len(p.points) == c] for c in counts]
            for group in groups:
                m, sc = self._decode([prompts[i] for i in group])
                masks[group], scores[group] = m, sc
            return SegmentResult(masks=masks, scores=scores, sources=["model"] * n)

    def _decode(self, prompts: Sequence[InstancePrompt]) -> tuple[np.ndarray, np.ndarray]:
        """Return the masks (scene pixels) and clipped scores of one batched decoder call."""
        h, w = self._scene_hw
        wh, ww = self._predictor._orig_hw[0]
        sx, sy = ww / w, wh / h
        n = len(prompts)
        boxes = np.array([[p.box.x1 * sx, p.box.y1 * sy, p.box.x2 * sx, p.box.y2 * sy] for p in prompts], np.float32)
        max_points = max(len(p.points) for p in prompts)
        coords = labels = None
        if max_points:
            coords = np.zeros((n, max_points, 2), dtype=np.float32)
            labels = np.full((n, max_points), -1, dtype=np.int32)
            for i, p in enumerate(prompts):
                for j, pt in enumerate(p.points):
                    coords[i, j] = (pt.x * sx, pt.y * sy)
                    labels[i, j] = pt.label
        with self._context():
            masks, scores, _ = self._predictor.predict(
                point_coords=coords, point_labels=labels, box=boxes, multimask_output=self.multimask
            )
        masks = np.asarray(masks).reshape(n, -1, wh, ww) > 0
        scores = np.nan_to_num(np.asarray(scores, dtype=np.float32).reshape(n, -1))
        best = np.argmax(scores, axis=1) if self.multimask else np.zeros(n, int)
        picked = masks[np.arange(n), best]
        if (wh, ww) != (h, w):
            picked = np.stack([resize_mask(m, (h, w)) for m in picked])
        return picked, np.clip(scores[np.arange(n), best], 0.0, 1.0)

    def _restore(self, scene_id: str) -> None:
        """Put a cached scene's features back into the predictor (its private state, as set_image leaves it)."""
        features, orig_hw, scene_hw = self._cache[scene_id]
        self._cache.move_to_end(scene_id)
        p = self._predictor
        p._features, p._orig_hw, p._is_image_set, p._is_batch = features, list(orig_hw), True, False
        self._scene_id, self._scene_hw = scene_id, scene_hw

    def _context(self) -> Any:
        """Return the inference context: inference mode, plus bfloat16 autocast on CUDA unless ``bf16`` is off."""
        import contextlib

        torch = self._torch
        stack = contextlib.ExitStack()
        stack.enter_context(torch.inference_mode())
        on_cuda = self.device.startswith("cuda")
        if on_cuda and self.bf16:
            stack.enter_context(torch.autocast("cuda", dtype=torch.bfloat16))
        elif not on_cuda:
            stack.enter_context(flush_denormals(self.device))
        return stack


def _build_error(e: Exception, config_name: str, ckpt: str | None, torch: Any) -> Exception:
    """Return the error to raise for a failed ``build_sam2``: whose fault, and the fix."""
    if isinstance(e, torch.cuda.OutOfMemoryError):
        return BackendError(f"out of GPU memory building SAM 2 ({config_name}); use a smaller model or device='cpu'")
    if type(e).__module__.startswith(("hydra", "omegaconf")):  # an unknown config name, or a bad override
        first_line = (str(e).splitlines() or [type(e).__name__])[0]
        return InputError(
            f"bad SAM 2 config {config_name!r} ({first_line}); use a name like configs/sam2.1/sam2.1_hiera_t.yaml"
        )
    if isinstance(e, RuntimeError | KeyError | ValueError | OSError) and ckpt is not None:
        return InputError(
            f"cannot load SAM 2 checkpoint {ckpt} into config {config_name}: {e}; "
            "check that the checkpoint matches the config (pass config=...)"
        )
    return BackendError(f"building SAM 2 from {config_name} failed: {e}")


def _pick_device(torch: Any, device: str) -> str:
    """Return a torch device string for ``auto``/``cpu``/``cuda[:i]``, or raise InputError."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu" or re.fullmatch(r"cuda(:\d+)?", device):
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise InputError(f"device {device!r} asked for, but CUDA is not available; use device='cpu' or 'auto'")
        return device
    raise InputError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:<index>")
