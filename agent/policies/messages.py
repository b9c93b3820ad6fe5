"""Build what a vision-language policy is shown for a stage: the prompt text and the two images in its frame.

Both VLM policies (the OpenAI-compatible client and in-process transformers) go through `prepare`, so they
send the same thing: the template text (``prompts/localize.txt`` or ``prompts/refine.txt``; under the
``socioreasoner`` protocol ``prompts/socioreasoner_localize.txt`` / ``..._refine.txt``), the map image
then the satellite image, both resized *by us* to the Qwen-VL ``smart_resize`` size so that the model sees
exactly the size we think it sees, and, for refine, the boxes found so far as clean JSON in the model frame
(``socioreasoner``: the stage-1 answer text verbatim, as the reference inserts it).

Frames (see `tools.coords`):

- ``abs``: absolute pixels of the resized image (Qwen2.5-VL; 768x768 -> 756x756 with factor 28);
- ``rel1000``: 0..1000 of the image (Qwen3-VL); the images are still resized (factor 32);
- ``pixel``: pixels of the scene image itself; the images are sent at the scene size, not resized.

>>> frame, hw = model_frame("abs", (768, 768))
>>> frame, hw
(ModelFrame(kind='abs', model_hw=(756, 756), window=None), (756, 756))
>>> from tools.schemas import Box, InstancePrompt
>>> boxes_json([InstancePrompt(box=Box(x1=384, y1=0, x2=768, y2=384))], frame, (768, 768))
'[{"bbox_2d": [378, 0, 756, 378]}]'
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from agent.policies import PolicyRequest
from agent.protocol import DEFAULT_PROTOCOL, profile
from prompts import load_prompt
from tools.coords import FrameKind, ModelFrame, box_from_pixels, smart_resize, xy_from_pixels
from tools.errors import InputError
from tools.images import resize_rgb
from tools.schemas import InstancePrompt

FRAME_KINDS: tuple[FrameKind, ...] = ("pixel", "abs", "rel1000")
DEFAULT_MAX_PIXELS = 768 * 768
DEFAULT_MIN_PIXELS = 56 * 56


@dataclass
class PreparedInput:
    """What one policy call shows the model.

    Attributes:
        prompt: the filled text prompt.
        images: ``[map, satellite]`` (h, w, 3) uint8, already at ``sent_hw``.
        frame: the frame the model is asked to answer in (``abs`` carries ``model_hw == sent_hw``).
        sent_hw: (height, width) of the images as sent.
        image_hw: (height, width) of the scene, the pixels the answer is converted back to.
    """

    prompt: str
    images: list[np.ndarray]
    frame: ModelFrame
    sent_hw: tuple[int, int]
    image_hw: tuple[int, int]


def check_frame_kind(kind: str) -> FrameKind:
    """Return ``kind`` if it names a model frame.

    Raises:
        InputError: it does not.
    """
    if kind not in FRAME_KINDS:
        raise InputError(f"unknown coordinate frame {kind!r}; choose one of: {', '.join(FRAME_KINDS)}")
    return kind  # type: ignore[return-value]


def model_frame(
    kind: str,
    image_hw: tuple[int, int],
    factor: int = 28,
    min_pixels: int = DEFAULT_MIN_PIXELS,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> tuple[ModelFrame, tuple[int, int]]:
    """Return the model frame for a scene and the (height, width) the images are sent at.

    Args:
        kind: ``abs``, ``rel1000`` or ``pixel``.
        image_hw: (height, width) of the scene.
        factor: side multiple of the Qwen-VL resize (28 for Qwen2.5-VL, 32 for Qwen3-VL).
        min_pixels: smallest image area the model accepts.
        max_pixels: largest image area to send (768*768 as in the reference).

    Raises:
        InputError: unknown frame kind, or an image size the Qwen-VL resize refuses.
    """
    kind = check_frame_kind(kind)
    if kind == "pixel":
        return ModelFrame(kind="pixel"), (int(image_hw[0]), int(image_hw[1]))
    try:
        sent = smart_resize(int(image_hw[0]), int(image_hw[1]), factor, min_pixels, max_pixels)
    except ValueError as e:
        raise InputError(f"cannot send a {image_hw[1]}x{image_hw[0]} image to the model: {e}") from e
    if kind == "abs":
        return ModelFrame(kind="abs", model_hw=sent), sent
    return ModelFrame(kind="rel1000"), sent


def frame_hint(frame: ModelFrame, sent_hw: tuple[int, int]) -> str:
    """Return the sentence fragment that tells the model which coordinates to answer in (``${frame_hint}``)."""
    h, w = sent_hw
    if frame.kind == "rel1000":
        return (
            "relative to the image on a 0 to 1000 scale in both directions ((0, 0) is the top-left corner, "
            "(1000, 1000) the bottom-right corner; x to the right, y down)"
        )
    return (
        f"absolute pixel coordinates in the {w}x{h} images as you see them "
        f"(x from 0 to {w} to the right, y from 0 to {h} down, origin at the top-left corner)"
    )


def _round(v: float) -> int:
    return round(v)


def boxes_json(previous: list[InstancePrompt], frame: ModelFrame, image_hw: tuple[int, int]) -> str:
    """Return the prompts found so far as clean JSON in the model frame (``${boxes}`` of the refine template).

    Each prompt becomes ``{"bbox_2d": [x1, y1, x2, y2]}`` (plus ``"points": [[x, y], ...]`` when it has
    points), boxes clipped to the image and rounded to whole units of the frame, as a model writes them.

    Args:
        previous: prompts in scene pixels.
        frame: the model frame.
        image_hw: (height, width) of the scene.
    """
    h, w = image_hw
    items: list[dict[str, Any]] = []
    for p in previous:
        box = p.box.clip(w, h)
        item: dict[str, Any] = {"bbox_2d": [_round(v) for v in box_from_pixels(box, frame, image_hw, ndigits=3)]}
        if p.points:
            item["points"] = [
                [_round(c) for c in xy_from_pixels(min(max(pt.x, 0.0), w), min(max(pt.y, 0.0), h), frame, image_hw)]
                for pt in p.points
            ]
        items.append(item)
    return json.dumps(items)


def _check_images(images: list[np.ndarray]) -> None:
    if len(images) != 2:
        raise InputError(f"a policy request needs 2 images [map, satellite], got {len(images)}")
    for name, im in zip(("map", "satellite"), images, strict=True):
        if not isinstance(im, np.ndarray) or im.ndim != 3 or im.shape[2] != 3 or im.dtype != np.uint8:
            shape = getattr(im, "shape", None)
            raise InputError(f"the {name} image of a policy request must be (H, W, 3) uint8, got {shape}")


def prepare(
    request: PolicyRequest,
    frame_kind: str = "abs",
    factor: int = 28,
    min_pixels: int = DEFAULT_MIN_PIXELS,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    prompt_dir: str | Path | None = None,
    protocol: str = DEFAULT_PROTOCOL,
) -> PreparedInput:
    """Build the prompt and the resized images for a request.

    Under ``socioagent`` the templates are ``localize``/``refine`` with ``${query}``, ``${frame_hint}`` and (refine)
    ``${boxes}``, our JSON of the prompts so far. Under ``socioreasoner`` they are ``socioreasoner_localize`` /
    ``socioreasoner_refine`` with ``${query}`` and (refine) ``${boxes}``, the previous answer text verbatim
    (`PolicyRequest.previous_answer`), as the reference fills its templates.

    Args:
        request: the stage, query, scene, ``[map, satellite]`` images and (for refine) previous prompts.
        frame_kind: ``abs``, ``rel1000`` or ``pixel``.
        factor: Qwen-VL resize factor (28 or 32).
        min_pixels: smallest image area the model accepts.
        max_pixels: largest image area to send.
        prompt_dir: a folder of the protocol's templates, or None for the packaged ones.
        protocol: ``socioagent`` or ``socioreasoner`` (`agent.protocol`).

    Raises:
        InputError: bad images, an unknown stage, frame or protocol, or a bad prompt template.
    """
    _check_images(request.images)
    settings = profile(protocol)
    image_hw = request.scene.hw if request.scene is not None else tuple(request.images[1].shape[:2])
    frame, sent_hw = model_frame(frame_kind, image_hw, factor, min_pixels, max_pixels)
    if request.stage not in ("localize", "refine"):
        raise InputError(f"unknown policy stage {request.stage!r}; expected 'localize' or 'refine'")
    values: dict[str, object] = {"query": request.query}
    if settings.stage2_boxes == "clean_json":
        values["frame_hint"] = frame_hint(frame, sent_hw)
        if request.stage == "refine":
            values["boxes"] = boxes_json(request.previous, frame, image_hw)
    elif request.stage == "refine":
        values["boxes"] = request.previous_answer
    prompt = load_prompt(settings.template(request.stage), prompt_dir, **values)
    images = [resize_rgb(im, sent_hw) for im in request.images]
    return PreparedInput(prompt=prompt, images=images, frame=frame, sent_hw=sent_hw, image_hw=image_hw)


def png_data_url(image: np.ndarray) -> str:
    """Return an (H, W, 3) uint8 image as a ``data:image/png;base64,...`` URL."""
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def openai_messages(prepared: PreparedInput) -> list[dict[str, Any]]:
    """Return chat-completions messages: one user turn with the map, the satellite image, then the text."""
    content: list[dict[str, Any]] = [
        {"type": "image_url", "image_url": {"url": png_data_url(im)}} for im in prepared.images
    ]
    content.append({"type": "text", "text": prepared.prompt})
    return [{"role": "user", "content": content}]


def hf_messages(prepared: PreparedInput) -> list[dict[str, Any]]:
    """Return chat-template messages for a transformers processor: two image slots, then the text.

    The images themselves are passed to the processor separately, in the same order (`PreparedInput.images`).
    """
    content: list[dict[str, Any]] = [{"type": "image"} for _ in prepared.images]
    content.append({"type": "text", "text": prepared.prompt})
    return [{"role": "user", "content": content}]
