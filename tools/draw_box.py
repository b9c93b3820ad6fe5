"""The draw_box tool: validate and clip boxes (and points) on a scene, and draw them on one of its images."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from tools.registry import ToolContext, register
from tools.render import draw_boxes, draw_points
from tools.schemas import InstancePrompt


class DrawBoxInput(BaseModel):
    """Arguments of draw_box."""

    scene_id: str = Field(description="the scene to draw on")
    prompts: list[InstancePrompt] = Field(description="boxes (XYXY image pixels) with optional points")
    image: Literal["sat", "map"] = Field("sat", description="draw on the satellite image or on the map")


class DrawBoxOutput(BaseModel):
    """The drawn image's id and the boxes as drawn (clipped to the image)."""

    image_id: str
    prompts: list[InstancePrompt]
    warnings: list[str] = Field(default_factory=list)


def clip_prompts(prompts: list[InstancePrompt], hw: tuple[int, int]) -> tuple[list[InstancePrompt], list[str]]:
    """Clip boxes to the image, drop empty boxes and points outside their box; say what changed."""
    h, w = hw
    kept: list[InstancePrompt] = []
    warnings: list[str] = []
    for i, p in enumerate(prompts):
        b = p.box.clip(w, h)
        if b.area <= 0:
            warnings.append(f"box {i} {p.box.as_list()} lies outside the {w}x{h} image; dropped")
            continue
        if b != p.box:
            warnings.append(f"box {i} clipped to the image: {b.as_list()}")
        pts = [pt for pt in p.points if b.contains(pt.x, pt.y)]
        if len(pts) < len(p.points):
            warnings.append(f"box {i}: {len(p.points) - len(pts)} point(s) outside the box dropped")
        kept.append(InstancePrompt(box=b, points=pts))
    return kept, warnings


@register
def draw_box(args: DrawBoxInput, ctx: ToolContext) -> DrawBoxOutput:
    """Draw boxes and points on a scene's satellite image or map, after clipping them to the image.

    Boxes are XYXY in image pixels; points are green when positive and red when negative. Returns the id of
    the drawn image in the scene store and the boxes as they were drawn.
    """
    scene = ctx.store.get(args.scene_id)
    prompts, warnings = clip_prompts(args.prompts, scene.hw)
    base = scene.sat if args.image == "sat" else scene.map
    image = draw_points(draw_boxes(base, [p.box for p in prompts]), prompts)
    return DrawBoxOutput(image_id=ctx.store.put_image(scene.scene_id, image, "box"), prompts=prompts, warnings=warnings)
