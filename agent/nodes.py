"""The graph's nodes: each calls one policy or tool and returns the keys it changes plus a trace step.

Nodes never build backends: they find them in the run context (`agent.context.RunContext`). Policy text is
untrusted: it goes through `agent.parsing.parse_answer`, and a failure is recorded, never raised.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import numpy as np
from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime
from shapely import union_all
from shapely.geometry import mapping

from agent.context import RunContext
from agent.parsing import parse_answer
from agent.policies import PolicyReply, PolicyRequest, Stage
from agent.result import StageRecord
from agent.state import AgentState
from tools.coords import box_to_pixels, point_to_pixels
from tools.draw_box import clip_prompts
from tools.registry import REGISTRY, ToolContext
from tools.render import RenderInput
from tools.schemas import InstancePrompt
from tools.segment import SegmentInput
from tools.vector_io import mask_polygons


def _emit(event: dict[str, Any]) -> None:
    with contextlib.suppress(RuntimeError):  # called outside a streaming run
        get_stream_writer()(event)


def _step(node: str, t0: float, round_: int, **details: Any) -> dict[str, Any]:
    step = {"node": node, "round": round_, "duration_s": round(time.perf_counter() - t0, 6), **details}
    _emit({"event": "step", **step})
    return step


def _tools(ctx: RunContext) -> ToolContext:
    return ToolContext(store=ctx.store, segmenter=ctx.segmenter)


def read_reply(reply: PolicyReply, stage: Stage, round_: int, hw: tuple[int, int]) -> StageRecord:
    """Parse a policy reply and convert its instances to clipped scene-pixel prompts."""
    parsed = parse_answer(reply.text, stage, extent=reply.frame.extent(hw))
    prompts: list[InstancePrompt] = []
    warnings: list[str] = []
    if parsed.ok:
        raw = []
        for item in parsed.items:
            raw.append(InstancePrompt(
                box=box_to_pixels(item.box, reply.frame, hw),
                points=[point_to_pixels(p, reply.frame, hw, label)
                        for p, label in zip(item.points, item.labels, strict=True)],
            ))  # fmt: skip
        prompts, warnings = clip_prompts(raw, hw)
    model_hw = list(reply.frame.model_hw) if reply.frame.model_hw else None
    return StageRecord(
        stage=stage, round=round_, prompt=reply.prompt, raw=reply.text,
        frame={"kind": reply.frame.kind, "model_hw": model_hw}, ok=parsed.ok, failure=parsed.failure,
        repairs=parsed.repairs, warnings=warnings, prompts=[p.model_dump() for p in prompts], latency_s=reply.latency_s,
        meta=reply.meta,
    )  # fmt: skip


def localize(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Ask the policy for boxes around every instance of the query (stage 1)."""
    t0 = time.perf_counter()
    ctx = runtime.context
    scene = ctx.store.get(state["scene_id"])
    request = PolicyRequest(stage="localize", query=state["query"], scene=scene, images=[scene.map, scene.sat])
    record = read_reply(ctx.policy.localize(request), "localize", 0, scene.hw)
    step = _step("localize", t0, 0, ok=record.ok, failure=record.failure, instances=len(record.prompts),
                 policy_s=record.latency_s)  # fmt: skip
    return {"round": 0, "max_rounds": ctx.max_rounds, "prompts": record.prompts, "stages": [record.model_dump()],
            "trace": [step]}  # fmt: skip


def segment(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Turn the current prompts into one mask per instance with the segmenter (one encode per scene)."""
    t0 = time.perf_counter()
    ctx = runtime.context
    prompts = state.get("prompts", [])
    round_ = state.get("round", 0)
    if prompts == state.get("segmented_prompts") and state.get("merged_mask_id"):
        return {"trace": [_step("segment", t0, round_, reused=True, masks=len(state.get("mask_ids", [])))]}
    out = REGISTRY.call("sam_segment", SegmentInput(scene_id=state["scene_id"], prompts=prompts), _tools(ctx))
    created = [m.mask_id for m in out.masks] + [out.merged_mask_id]
    step = _step("segment", t0, round_, masks=len(out.masks), encoded=out.encoded, sources=out.sources,
                 created=created)  # fmt: skip
    return {
        "segmented_prompts": prompts,
        "mask_ids": [m.mask_id for m in out.masks],
        "scores": [m.score for m in out.masks],
        "sources": out.sources,
        "merged_mask_id": out.merged_mask_id,
        "trace": [step],
    }


def render(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Draw the current boxes and mask on the map and the satellite image (the refine stage's input)."""
    t0 = time.perf_counter()
    args = RenderInput(scene_id=state["scene_id"], prompts=state.get("prompts", []),
                       mask_ids=[state["merged_mask_id"]] if state.get("merged_mask_id") else [])  # fmt: skip
    out = REGISTRY.call("render_overlay", args, _tools(runtime.context))
    return {"feedback_ids": out.image_ids, "trace": [_step("render", t0, state.get("round", 0), images=out.image_ids)]}


def refine(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Show the policy the rendered result and take its corrected boxes and points (stage 2).

    If the answer cannot be used, the previous prompts are kept (and the failure is recorded), so a
    malformed refinement never makes the result worse than stage 1.
    """
    t0 = time.perf_counter()
    ctx = runtime.context
    scene = ctx.store.get(state["scene_id"])
    round_ = state.get("round", 0) + 1
    previous = [InstancePrompt.model_validate(p) for p in state.get("prompts", [])]
    images = [ctx.store.get_image(i) for i in state["feedback_ids"]]
    request = PolicyRequest(stage="refine", query=state["query"], scene=scene, images=images, previous=previous,
                            round=round_)  # fmt: skip
    record = read_reply(ctx.policy.refine(request), "refine", round_, scene.hw)
    kept = not record.ok
    prompts = state.get("prompts", []) if kept else record.prompts
    step = _step("refine", t0, round_, ok=record.ok, failure=record.failure, instances=len(prompts),
                 kept_previous=kept, policy_s=record.latency_s)  # fmt: skip
    return {"round": round_, "prompts": prompts, "stages": [record.model_dump()], "trace": [step]}


def finish(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Assemble the final instances: boxes, points, scores, areas and pixel polygons."""
    t0 = time.perf_counter()
    store = runtime.context.store
    instances = []
    for p, mask_id, score, source in zip(state.get("segmented_prompts", []), state.get("mask_ids", []),
                                         state.get("scores", []), state.get("sources", []), strict=False):  # fmt: skip
        mask = store.get_mask(mask_id)
        polys = mask_polygons(mask)
        instances.append({
            "box": p["box"], "points": p["points"], "score": score, "area": int(np.count_nonzero(mask)),
            "source": source, "mask_id": mask_id,
            "geometry": mapping(union_all(polys)) if polys else None,
        })  # fmt: skip
    return {"instances": instances, "trace": [_step("finish", t0, state.get("round", 0), instances=len(instances))]}
