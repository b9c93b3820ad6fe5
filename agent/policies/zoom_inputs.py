"""The tool-augmented input mode of a vision-language policy: the map lookup's output as text, zoomed crops.

A checkpoint folder may hold ``socioagent.json`` saying how its model wants to be asked (`PolicyInputs`). In
the ``zoom`` mode (the small policy shipped in the package) the graph first calls the map-layer lookup tool
and hands its output to the policy (`PolicyRequest.lookup`); the policy then sees

- the map and the satellite image cropped to the window the lookup points at (`tools.zoom.zoom_window`
  around the candidates' boxes; the whole scene when there is none), at ``crop_px``;
- the query, and the lookup's candidates as text, each with its kind, class and box in the crop's frame;
- in stage 2, the rendered feedback cropped to the same window, and the stage-1 boxes in that frame.

The answer speaks of the crop (`tools.coords.ModelFrame` with a ``window``), so `agent.nodes.read_reply`
turns it back into scene pixels as it does for any frame.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.policies import PolicyRequest
from agent.policies.messages import PreparedInput, boxes_json
from prompts import load_prompt
from tools.coords import ModelFrame, box_from_pixels, smart_resize
from tools.errors import InputError
from tools.schemas import Box
from tools.zoom import crop, zoom_window

POLICY_CONFIG = "socioagent.json"
"""The file in a checkpoint folder that names its input mode."""


class PolicyInputs(BaseModel):
    """How a checkpoint's model wants to be asked (``socioagent.json``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    inputs: Literal["scene", "zoom"] = Field("scene", description="scene: the two whole images; zoom: see module")
    crop_px: int = Field(140, ge=28, le=1024, description="zoom: side of the crops shown, in pixels")
    pad: float = Field(0.25, ge=0, le=2, description="zoom: margin around the candidates, a fraction of their extent")
    min_side: float = Field(192.0, gt=0, description="zoom: smallest window side, in scene pixels")
    template_prefix: str = Field("zoom_", description="zoom: prefix of the prompt templates (prompts/zoom_*.txt)")
    max_candidates: int = Field(8, ge=1, le=100, description="zoom: at most this many candidates in the text")
    images: Literal["map+sat", "sat"] = Field(
        "map+sat", description="zoom: show the map crop and the satellite crop, or the satellite crop alone"
    )
    ablate: Literal["none", "shuffle-map", "shuffle-sat", "no-candidates"] = Field(
        "none",
        description="measurement only (bench/bench_tiny_vlm.py): shuffle the map or satellite crop's pixels, or "
        "hide the lookup's candidates from the text, to see what the model reads",
    )


def read_policy_inputs(folder: Path | None) -> PolicyInputs:
    """Return the input mode a checkpoint folder declares (the plain two-image mode when it declares none).

    Raises:
        InputError: ``socioagent.json`` is unreadable or invalid.
    """
    path = folder / POLICY_CONFIG if folder is not None else None
    if path is None or not path.is_file():
        return PolicyInputs()
    try:
        return PolicyInputs.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, ValidationError) as e:
        raise InputError(f"{path} is not a valid policy input config ({e}); fix it or delete it") from e


def candidate_boxes(lookup: Any) -> list[list[float]]:
    """Return the candidates' boxes in scene pixels: the proposals when the lookup made them, else the features."""
    proposals = getattr(lookup, "proposals", None) or []
    if proposals:
        return [p.box.as_list() for p in proposals]
    return [f.box.as_list() for f in getattr(lookup, "features", [])]


def candidates_text(lookup: Any, frame: ModelFrame, hw: tuple[int, int], limit: int) -> str:
    """Return one line per candidate: index, kind, class and box in the frame (``none`` without candidates)."""
    items = list(getattr(lookup, "proposals", None) or getattr(lookup, "features", []))[:limit]
    lines = []
    for i, c in enumerate(items, 1):
        b = [round(v) for v in box_from_pixels(c.box, frame, hw, ndigits=0)]
        kind = getattr(c, "kind", "area")
        cls = (getattr(c, "cls", None) or getattr(c, "function", None) or "place").replace("_", " ")
        lines.append(f"{i} {kind} {cls} box [{b[0]},{b[1]},{b[2]},{b[3]}]")
    return "\n".join(lines) or "none"


def prepare_zoom(
    request: PolicyRequest,
    inputs: PolicyInputs,
    factor: int = 28,
    min_pixels: int = 28 * 28,
    prompt_dir: str | Path | None = None,
) -> PreparedInput:
    """Build the zoomed prompt and crops of a request (see the module docstring).

    Raises:
        InputError: the request carries no lookup output, or a template is bad.
    """
    if request.lookup is None:
        raise InputError("this policy reads the map lookup's output: the request must carry it (PolicyRequest.lookup)")
    hw = request.scene.hw
    window = zoom_window(candidate_boxes(request.lookup), hw, inputs.pad, inputs.min_side)
    wh, ww = window[3] - window[1], window[2] - window[0]
    sent = smart_resize(round(wh), round(ww), factor, min_pixels, inputs.crop_px * inputs.crop_px)
    frame = ModelFrame(kind="abs", model_hw=sent, window=window)
    values: dict[str, object] = {
        "query": request.query,
        "level": getattr(request.lookup, "level", "unknown"),
        "candidates": "none"
        if inputs.ablate == "no-candidates"
        else candidates_text(request.lookup, frame, hw, inputs.max_candidates),
    }
    if request.stage == "refine":
        values["boxes"] = boxes_json([p for p in request.previous if _inside(p.box, window)], frame, hw)
    prompt = load_prompt(f"{inputs.template_prefix}{request.stage}", prompt_dir, **values)
    shown = request.images if inputs.images == "map+sat" else request.images[1:]
    images = [crop(im, window, sent) for im in shown]
    if inputs.ablate == "shuffle-sat":
        images[-1] = _shuffled(images[-1])
    elif inputs.ablate == "shuffle-map" and inputs.images == "map+sat":
        images[0] = _shuffled(images[0])
    return PreparedInput(prompt=prompt, images=images, frame=frame, sent_hw=sent, image_hw=hw)


def _shuffled(image: np.ndarray) -> np.ndarray:
    """Return the image with its pixels permuted (fixed seed): colours kept, every spatial cue gone."""
    flat = image.reshape(-1, image.shape[-1])
    return flat[np.random.default_rng(0).permutation(len(flat))].reshape(image.shape)


def _inside(box: Box, window: tuple[float, float, float, float]) -> bool:
    return box.x2 > window[0] and box.x1 < window[2] and box.y2 > window[1] and box.y1 < window[3]
