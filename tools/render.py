"""Drawing: boxes, points and masks over the map and satellite images.

Two looks, one module:

- the **feedback** render (stage 2's input, as in the reference): boxes in blue, 2 px, drawn first, then
  the coarse mask in red at alpha 0.4 over them, the same on the map and on the satellite image;
- the **user** overlay: instances in distinct colours with their outlines, boxes, positive points in green
  and negative points in red, map and satellite side by side.

All functions are pure: images in, new images out, (H, W, 3) uint8 RGB in scene pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import cv2
import numpy as np
from pydantic import BaseModel, Field

from tools.registry import ToolContext, register
from tools.schemas import Box, InstancePrompt

FEEDBACK_BOX_RGB = (0, 0, 255)
FEEDBACK_MASK_RGB = (255, 0, 0)
FEEDBACK_ALPHA = 0.4
POSITIVE_RGB = (0, 220, 0)
NEGATIVE_RGB = (255, 40, 40)
_PALETTE = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
            (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212)]  # fmt: skip


def _line_width(hw: tuple[int, int]) -> int:
    return max(1, round(max(hw) / 384))


def _corners(box: Box) -> tuple[tuple[int, int], tuple[int, int]]:
    return (round(box.x1), round(box.y1)), (
        max(round(box.x2) - 1, round(box.x1)),
        max(round(box.y2) - 1, round(box.y1)),
    )


def draw_boxes(
    image: np.ndarray, boxes: Sequence[Box], color: tuple[int, int, int] = FEEDBACK_BOX_RGB, width: int | None = None
) -> np.ndarray:
    """Return a copy of ``image`` with box outlines drawn on it."""
    out = image.copy()
    w = width or _line_width(image.shape[:2])
    for b in boxes:
        p1, p2 = _corners(b)
        cv2.rectangle(out, p1, p2, color, w, lineType=cv2.LINE_8)
    return out


def draw_points(image: np.ndarray, prompts: Sequence[InstancePrompt], radius: int | None = None) -> np.ndarray:
    """Return a copy of ``image`` with prompt points: positive green, negative red, with a dark rim."""
    out = image.copy()
    r = radius or max(3, round(max(image.shape[:2]) / 150))
    for p in prompts:
        for pt in p.points:
            c = (round(pt.x), round(pt.y))
            cv2.circle(out, c, r + 1, (20, 20, 20), -1, lineType=cv2.LINE_AA)
            cv2.circle(out, c, r, POSITIVE_RGB if pt.label == 1 else NEGATIVE_RGB, -1, lineType=cv2.LINE_AA)
    return out


def tint(image: np.ndarray, mask: np.ndarray, color: tuple[int, int, int], alpha: float) -> np.ndarray:
    """Return a copy of ``image`` with ``color`` blended in at ``alpha`` where ``mask`` is set."""
    out = image.copy()
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return out
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1  # work on the mask's bounding box only
    crop = out[y0:y1, x0:x1]
    solid = np.empty_like(crop)
    solid[:] = color
    blended = cv2.addWeighted(crop, 1.0 - alpha, solid, alpha, 0.0)
    np.copyto(crop, blended, where=mask[y0:y1, x0:x1, None].astype(bool))
    return out


def render_feedback(image: np.ndarray, boxes: Sequence[Box], mask: np.ndarray | None) -> np.ndarray:
    """Render stage 2's visual feedback on one image: blue boxes first, then the red mask at alpha 0.4."""
    out = draw_boxes(image, boxes)
    if mask is not None:
        out = tint(out, mask, FEEDBACK_MASK_RGB, FEEDBACK_ALPHA)
    return out


def render_user_overlay(
    image: np.ndarray, prompts: Sequence[InstancePrompt], masks: Sequence[np.ndarray], alpha: float = 0.45
) -> np.ndarray:
    """Render instances for a person: a colour per instance with its outline, boxes and points."""
    out = image.copy()
    for i, m in enumerate(masks):
        color = _PALETTE[i % len(_PALETTE)]
        out = tint(out, m, color, alpha)
        contours, _ = cv2.findContours(m.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(out, contours, -1, color, _line_width(image.shape[:2]), lineType=cv2.LINE_AA)
    for i, p in enumerate(prompts):
        out = draw_boxes(out, [p.box], _PALETTE[i % len(_PALETTE)])
    return draw_points(out, prompts)


def user_overlay_image(
    map_image: np.ndarray, sat: np.ndarray, prompts: Sequence[InstancePrompt], masks: Sequence[np.ndarray]
) -> np.ndarray:
    """Render the person-facing overlay: the map and the satellite image side by side, instances coloured."""
    return side_by_side(
        render_user_overlay(map_image, prompts, masks, alpha=0.3), render_user_overlay(sat, prompts, masks)
    )


def side_by_side(left: np.ndarray, right: np.ndarray, gap: int = 8) -> np.ndarray:
    """Return two images of equal height next to each other with a white gap."""
    h = max(left.shape[0], right.shape[0])
    canvas = np.full((h, left.shape[1] + gap + right.shape[1], 3), 255, np.uint8)
    canvas[: left.shape[0], : left.shape[1]] = left
    canvas[: right.shape[0], left.shape[1] + gap :] = right
    return canvas


class RenderInput(BaseModel):
    """Arguments of render_overlay."""

    scene_id: str = Field(description="the scene to render")
    prompts: list[InstancePrompt] = Field(default_factory=list, description="boxes and points, image pixels")
    mask_ids: list[str] = Field(default_factory=list, description="masks from sam_segment")
    style: Literal["feedback", "user"] = Field(
        "feedback", description="feedback: the refine stage's input look; user: a person-facing overlay"
    )


class RenderOutput(BaseModel):
    """Ids of the rendered images: the map and the satellite image (feedback) or one side-by-side image."""

    image_ids: list[str]


@register
def render_overlay(args: RenderInput, ctx: ToolContext) -> RenderOutput:
    """Draw boxes, points and masks over a scene's map and satellite image.

    The feedback style draws blue boxes and the union of the masks in red on both images, as the refine
    stage sees them; the user style colours each instance and puts map and satellite side by side.
    """
    scene = ctx.store.get(args.scene_id)
    masks = [ctx.store.get_mask(m) for m in args.mask_ids]
    if args.style == "feedback":
        union = np.logical_or.reduce(masks) if masks else None
        boxes = [p.box for p in args.prompts]
        ids = [ctx.store.put_image(scene.scene_id, render_feedback(img, boxes, union), "feedback")
               for img in (scene.map, scene.sat)]  # fmt: skip
        return RenderOutput(image_ids=ids)
    image = user_overlay_image(scene.map, scene.sat, args.prompts, masks)
    return RenderOutput(image_ids=[ctx.store.put_image(scene.scene_id, image, "overlay")])
