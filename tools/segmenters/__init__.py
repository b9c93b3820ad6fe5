"""Promptable segmenters behind one protocol, chosen by a spec string.

A segmenter is a stateful predictor: ``set_scene`` encodes an image once, then ``predict`` answers any
number of prompts against that encoding (all stages, all rollouts). Calling ``set_scene`` again with the
same scene id does not encode again; ``encode_count`` counts real encodes.

Specs:
    ``classical``                              the OpenCV segmenter (offline default, no weights)
    ``sam2:<hub id>``                          SAM 2 from a pulled hub id, e.g. ``sam2:facebook/sam2.1-hiera-tiny``
    ``sam2:<path to .pt>``                     SAM 2 from a local checkpoint (config inferred from the name)
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from tools.errors import InputError
from tools.schemas import InstancePrompt

SEGMENTER_NAMES = ("classical", "sam2")
"""The segmenters `make_segmenter` knows."""


@dataclass
class SegmentResult:
    """One mask per prompt.

    Attributes:
        masks: (N, H, W) bool, in scene pixels.
        scores: (N,) float in [0, 1], the segmenter's own confidence per mask.
        sources: per mask, what produced it: ``"model"`` or ``"box-fallback"``.
    """

    masks: np.ndarray
    scores: np.ndarray
    sources: list[str] = field(default_factory=list)


def image_key(scene_id: str, image: np.ndarray) -> str:
    """Return the cache key of a scene image: its id plus its shape and a fingerprint of its pixels.

    Scene ids are chosen by callers and can collide (two folders named ``tile1``); the fingerprint (a hash of
    every 7th pixel of every 7th row, about 0.1 ms at 768 px) keeps a new image from reusing an old encoding.
    """
    digest = hashlib.blake2b(np.ascontiguousarray(image[::7, ::7]).tobytes(), digest_size=8).hexdigest()
    return f"{scene_id}#{'x'.join(map(str, image.shape))}#{digest}"


@runtime_checkable
class Segmenter(Protocol):
    """A promptable segmenter: encode once per scene, predict many times.

    ``lock`` guards the pair ``set_scene`` + ``predict`` when several threads share one segmenter.
    """

    name: str
    encode_count: int
    lock: threading.RLock

    def set_scene(self, scene_id: str, image: np.ndarray) -> None:
        """Encode an (H, W, 3) uint8 RGB image, unless ``scene_id`` is the scene already encoded."""
        ...

    def predict(self, prompts: Sequence[InstancePrompt]) -> SegmentResult:
        """Return one mask per prompt (boxes and points in scene pixels); raises if no scene is set."""
        ...


def make_segmenter(spec: str, **kwargs: Any) -> Segmenter:
    """Build a segmenter from a spec string (see the module docstring).

    Args:
        spec: ``classical`` or ``sam2:<hub id or checkpoint path>``.
        **kwargs: backend options (``device``, ``checkpoint``, ...).

    Raises:
        InputError: the spec names no known backend.
    """
    name, _, arg = spec.partition(":")
    match name:
        case "classical":
            from tools.segmenters.classical import ClassicalSegmenter

            return ClassicalSegmenter(**kwargs)
        case "sam2":
            from tools.segmenters.sam2_backend import Sam2Segmenter

            return Sam2Segmenter(model=arg or kwargs.pop("checkpoint", None), **kwargs)
        case _:
            raise InputError(f"unknown segmenter {spec!r}; choose one of: classical, sam2:<hub id or checkpoint path>")
