"""Drawing: boxes, points and masks over the map and satellite images.

Two kinds of picture, one module:

- the **feedback** render (stage 2's input): boxes in blue drawn first, then the coarse mask in red at alpha
  0.4 over them, the same on the map and on the satellite image, drawn at the size the images are sent to the
  model (so no later resize blurs the lines). Two looks (`FeedbackLook`): ``crisp`` (ours: the boxes found so
  far, a line of `_line_width` px centred on the box edge, OpenCV blending) and ``reference`` (the SocioReasoner
  reference's ``render_image``: the boxes of the raw stage-1 answer text as written, PIL's 2-px outline inside
  the box, the mask as an RGBA overlay alpha-composited by PIL; `render_feedback_reference`);
- the **user** overlay: instances in distinct colours with their outlines, boxes, positive points in green
  and negative points in red, map and satellite side by side.

All functions are pure: images in, new images out, (H, W, 3) uint8 RGB in scene pixels.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

import cv2
import numpy as np
from PIL import Image, ImageDraw
from pydantic import BaseModel, Field

from tools.images import resize_mask, resize_rgb
from tools.registry import ToolContext, register
from tools.schemas import Box, InstancePrompt

FEEDBACK_BOX_RGB = (0, 0, 255)
FEEDBACK_MASK_RGB = (255, 0, 0)
FEEDBACK_ALPHA = 0.4
REFERENCE_BOX_WIDTH = 2
"""The reference's box outline: 2 px, inside the box (PIL ``rectangle(..., width=2)``)."""
FeedbackLook = Literal["crisp", "reference"]
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
    """Render stage 2's visual feedback on one image (the crisp look): blue boxes first, then the red mask at alpha 0.4.

    Boxes and mask are in the pixels of ``image``; a mask of another size is resized to it (nearest).
    """
    out = draw_boxes(image, boxes)
    if mask is not None:
        out = tint(out, resize_mask(mask, image.shape[:2]), FEEDBACK_MASK_RGB, FEEDBACK_ALPHA)
    return out


def reference_boxes(answer_text: str) -> list[list[Any]]:
    """Return the boxes the reference's render reads from a stage-1 answer text.

    The text is read with ``json.loads``; every object of the list with a 4-element ``bbox_2d`` is a box, as
    written. Text that is not JSON, or holds a ``bbox_2d`` without a length, gives no boxes at all (as the
    reference's exception handler does).
    """
    try:
        data = json.loads(answer_text)
        boxes = []
        if isinstance(data, list):
            for item in data:
                if isinstance(item, dict) and "bbox_2d" in item and len(item["bbox_2d"]) == 4:
                    boxes.append(list(item["bbox_2d"]))
        return boxes
    except (ValueError, TypeError, RecursionError):
        return []


def render_feedback_reference(image: np.ndarray, answer_text: str, mask: np.ndarray | None) -> np.ndarray:
    """Render stage 2's visual feedback on one image as the reference does (the reference look).

    The boxes of ``answer_text`` (`reference_boxes`, in the pixels of ``image``, not clipped or sorted) are drawn
    first with PIL, a blue outline 2 px wide inside each box (PIL truncates fractional coordinates; a box PIL
    refuses, such as one with swapped corners, is skipped); then the mask, resized to the image (nearest),
    goes over them as red at alpha int(255 * 0.4) = 102, alpha-composited by PIL.

    Args:
        image: (H, W, 3) uint8, already at the size sent to the model.
        answer_text: the stage-1 answer text (the inside of its first ``<answer>`` block).
        mask: the stage-1 mask (any size; resized to the image), or None.
    """
    canvas = Image.fromarray(image).convert("RGBA")
    draw = ImageDraw.Draw(canvas)
    for b in reference_boxes(answer_text):
        try:
            draw.rectangle([(b[0], b[1]), (b[2], b[3])], outline=FEEDBACK_BOX_RGB, width=REFERENCE_BOX_WIDTH)
        except (ValueError, TypeError):
            continue
    if mask is not None:
        overlay = np.zeros((*image.shape[:2], 4), np.uint8)
        overlay[resize_mask(mask, image.shape[:2])] = (*FEEDBACK_MASK_RGB, int(255 * FEEDBACK_ALPHA))
        canvas = Image.alpha_composite(canvas, Image.fromarray(overlay, "RGBA"))
    return np.asarray(canvas.convert("RGB"))


def feedback_images(
    images: Sequence[np.ndarray],
    prompts: Sequence[InstancePrompt],
    mask: np.ndarray | None,
    size: tuple[int, int] | None = None,
    look: FeedbackLook = "crisp",
    answer_text: str = "",
) -> list[np.ndarray]:
    """Render the feedback on each scene image at ``size`` (the size sent to the model; None: the scene's).

    Each image is first resized to ``size`` (bicubic, as the policy would resize it), so the lines are drawn at
    the resolution the model sees. The crisp look draws ``prompts`` (scene pixels, scaled to ``size``); the
    reference look draws the boxes of ``answer_text`` as written (they are in the pixels of ``size``).
    """
    out = []
    for image in images:
        hw = tuple(size) if size is not None else tuple(image.shape[:2])
        small = resize_rgb(image, hw)
        if look == "reference":
            out.append(render_feedback_reference(small, answer_text, mask))
            continue
        sy, sx = hw[0] / image.shape[0], hw[1] / image.shape[1]
        boxes = [Box(x1=p.box.x1 * sx, y1=p.box.y1 * sy, x2=p.box.x2 * sx, y2=p.box.y2 * sy) for p in prompts]
        out.append(render_feedback(small, boxes, mask))
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
    size: tuple[int, int] | None = Field(
        None, description="feedback: (height, width) to draw at, the size the model is sent (default: the scene's)"
    )
    look: FeedbackLook = Field(
        "crisp", description="feedback: crisp (ours) or reference (drawn as the SocioReasoner reference draws it)"
    )
    answer_text: str = Field(
        "", description="feedback, reference look: the stage-1 answer text whose boxes are drawn, in `size` pixels"
    )


class RenderOutput(BaseModel):
    """Ids of the rendered images: the map and the satellite image (feedback) or one side-by-side image."""

    image_ids: list[str]


@register
def render_overlay(args: RenderInput, ctx: ToolContext) -> RenderOutput:
    """Draw boxes, points and masks over a scene's map and satellite image.

    The feedback style draws blue boxes and the union of the masks in red on both images, as the refine
    stage sees them (at ``size``, crisp or the reference's look); the user style colours each instance and puts
    map and satellite side by side.
    """
    scene = ctx.store.get(args.scene_id)
    masks = [ctx.store.get_mask(m) for m in args.mask_ids]
    if args.style == "feedback":
        union = np.logical_or.reduce(masks) if masks else None
        rendered = feedback_images([scene.map, scene.sat], args.prompts, union, args.size, args.look,
                                   args.answer_text)  # fmt: skip
        return RenderOutput(image_ids=[ctx.store.put_image(scene.scene_id, im, "feedback") for im in rendered])
    image = user_overlay_image(scene.map, scene.sat, args.prompts, masks)
    return RenderOutput(image_ids=[ctx.store.put_image(scene.scene_id, image, "overlay")])
