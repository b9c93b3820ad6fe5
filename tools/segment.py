"""The sam_segment tool: boxes and points in, one mask per instance (by id) and a score out."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field

from tools.errors import ToolError
from tools.registry import ToolContext, register
from tools.schemas import Box, InstancePrompt, MaskRef


class SegmentInput(BaseModel):
    """Arguments of sam_segment."""

    scene_id: str = Field(description="the scene to segment")
    prompts: list[InstancePrompt] = Field(description="one box per instance (XYXY image pixels), optional points")


class SegmentOutput(BaseModel):
    """One mask per prompt, the union of them, and whether this call had to encode the image."""

    masks: list[MaskRef]
    sources: list[str]
    merged_mask_id: str
    encoded: bool


def _box_of(mask: np.ndarray) -> Box | None:
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        return None
    return Box(x1=float(xs.min()), y1=float(ys.min()), x2=float(xs.max() + 1), y2=float(ys.max() + 1))


@register(read_only=False)
def sam_segment(args: SegmentInput, ctx: ToolContext) -> SegmentOutput:
    """Segment one mask per box (and its points) with the configured segmenter (SAM 2 or classical).

    The scene's image is encoded once and reused by every later call on the same scene. Returns mask ids
    held by the scene store, each with a score in [0, 1] and its pixel area, plus the id of their union.
    """
    if ctx.segmenter is None:
        raise ToolError("no segmenter is configured; choose one with --segmenter classical|sam2:<model>")
    scene = ctx.store.get(args.scene_id)
    merged = np.zeros(scene.hw, bool)
    if not args.prompts:  # nothing to segment: do not pay for an encode
        return SegmentOutput(masks=[], sources=[], merged_mask_id=ctx.store.put_mask(scene.scene_id, merged),
                             encoded=False)  # fmt: skip
    with ctx.segmenter.lock:  # another thread must not switch the scene between the two calls
        before = ctx.segmenter.encode_count
        ctx.segmenter.set_scene(scene.scene_id, scene.sat)
        result = ctx.segmenter.predict(args.prompts)
        encoded = ctx.segmenter.encode_count > before
    masks: list[MaskRef] = []
    for m, s in zip(result.masks, result.scores, strict=True):
        m = m.astype(bool, copy=False)
        merged |= m
        mask_id = ctx.store.put_mask(scene.scene_id, m)
        masks.append(MaskRef(mask_id=mask_id, scene_id=scene.scene_id, box=_box_of(m), score=float(s),
                             area=int(m.sum())))  # fmt: skip
    sources = list(result.sources) or ["model"] * len(masks)
    return SegmentOutput(masks=masks, sources=sources, merged_mask_id=ctx.store.put_mask(scene.scene_id, merged),
                         encoded=encoded)  # fmt: skip
