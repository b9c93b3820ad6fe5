"""The graph's nodes: each calls one policy or tool and returns the keys it changes plus a trace step.

Nodes never build backends: they find them in the run context (`agent.context.RunContext`). Policy text is
untrusted: it goes through `agent.parsing.parse_answer`, and a failure is recorded, never raised.

The two policy nodes come in pairs, ``localize``/``alocalize`` and ``refine``/``arefine``: the graph runs
the sync one under ``invoke`` and the async one (the policy's async method) under ``ainvoke``. The
request builders (`localize_request`, `refine_request`) and `read_reply` are public so that the trainer's
rollout asks and reads exactly as the graph does.
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
from agent.parsing import reference_answer_text
from agent.parsing.answer import MAX_ITEMS
from agent.policies import PolicyReply, PolicyRequest, Stage
from agent.protocol import DEFAULT_PROTOCOL, profile
from agent.result import FrameRecord, NodeName, StageRecord, TraceStep
from agent.state import AgentState
from tools.coords import ModelFrame, box_to_pixels, point_to_pixels
from tools.draw_box import clip_prompts
from tools.map_lookup import MapLookupInput, MapLookupOutput
from tools.registry import REGISTRY, ToolContext
from tools.render import RenderInput
from tools.scene import Scene
from tools.schemas import InstancePrompt
from tools.segment import SegmentInput
from tools.vector_io import mask_polygons


def _emit(event: dict[str, Any]) -> None:
    with contextlib.suppress(RuntimeError):  # called outside a streaming run
        get_stream_writer()(event)


def _step(node: NodeName, t0: float, round_: int, **details: Any) -> dict[str, Any]:
    step = TraceStep(node=node, round=round_, duration_s=round(time.perf_counter() - t0, 6), **details).model_dump()
    _emit({"event": "step", **step})
    return step


def _tools(ctx: RunContext) -> ToolContext:
    return ToolContext(store=ctx.store, segmenter=ctx.segmenter)


def read_reply(
    reply: PolicyReply,
    stage: Stage,
    round_: int,
    hw: tuple[int, int],
    protocol: str = DEFAULT_PROTOCOL,
    strict: bool = False,
    max_items: int = MAX_ITEMS,
) -> StageRecord:
    """Parse a policy reply the protocol's way and convert its instances to scene-pixel prompts.

    Under ``socioagent`` the prompts are clipped to the image (points outside their box dropped, each change a
    warning); under ``socioreasoner`` they go on as the answer wrote them (`agent.protocol`).
    """
    settings = profile(protocol)
    parsed, reading = settings.read(reply.text, stage, reply.frame.extent(hw), strict, max_items)
    prompts: list[InstancePrompt] = []
    warnings: list[str] = []
    if parsed.ok:
        for item in parsed.items:
            prompts.append(InstancePrompt(
                box=box_to_pixels(item.box, reply.frame, hw),
                points=[point_to_pixels(p, reply.frame, hw, label)
                        for p, label in zip(item.points, item.labels, strict=True)],
            ))  # fmt: skip
        if not settings.as_written:
            prompts, warnings = clip_prompts(prompts, hw)
    model_hw = list(reply.frame.model_hw) if reply.frame.model_hw else None
    return StageRecord(
        stage=stage, round=round_, prompt=reply.prompt, raw=reply.text, reasoning=reply.reasoning,
        frame=FrameRecord(kind=reply.frame.kind, model_hw=model_hw, window=_window(reply.frame)), ok=parsed.ok,
        failure=parsed.failure,
        repairs=list(parsed.repairs), reading=reading, warnings=warnings, prompts=prompts, latency_s=reply.latency_s,
        meta=reply.meta, token_ids=reply.token_ids, logprobs=reply.logprobs,
    )  # fmt: skip


def _window(frame: ModelFrame) -> list[float] | None:
    return list(frame.window) if frame.window else None


# ----------------------------------------------------------------------------------------------- requests


def lookup_for(policy: Any, scene: Scene, query: str, tools: ToolContext) -> MapLookupOutput | None:
    """Call the map-layer lookup for a policy that reads its output (``wants_lookup``); else return None."""
    if not getattr(policy, "wants_lookup", False):
        return None
    return REGISTRY.call("map_lookup", MapLookupInput(scene_id=scene.scene_id, query=query), tools)  # type: ignore[return-value]


def localize_request(scene: Scene, query: str, lookup: MapLookupOutput | None = None) -> PolicyRequest:
    """Return the stage-1 request: the map and the satellite image, in that order, the query (and the lookup)."""
    return PolicyRequest(stage="localize", query=query, scene=scene, images=[scene.map, scene.sat], lookup=lookup)


def refine_request(
    scene: Scene,
    query: str,
    previous: list[InstancePrompt],
    feedback: list[np.ndarray],
    round_: int,
    previous_text: str = "",
    lookup: MapLookupOutput | None = None,
) -> PolicyRequest:
    """Return a stage-2 request: the rendered [map, satellite] feedback images and the prompts so far.

    Args:
        scene: the scene.
        query: the query.
        previous: the prompts so far, in scene pixels.
        feedback: the rendered [map, satellite] images.
        round_: the refine round (1..).
        previous_text: the previous stage's raw answer text; its first ``<answer>`` block is what the
            ``socioreasoner`` refine template inserts (`agent.parsing.reference_answer_text`).
        lookup: the map lookup's output, for a policy that reads it (the same as stage 1's).
    """
    return PolicyRequest(stage="refine", query=query, scene=scene, images=feedback, previous=previous, round=round_,
                         previous_answer=reference_answer_text(previous_text), lookup=lookup)  # fmt: skip


# ----------------------------------------------------------------------------------------------- nodes


def _localize_request(state: AgentState, ctx: RunContext) -> PolicyRequest:
    scene = ctx.store.get(state["scene_id"])
    return localize_request(scene, state["query"], lookup_for(ctx.policy, scene, state["query"], _tools(ctx)))


def _localize_update(ctx: RunContext, request: PolicyRequest, reply: PolicyReply, t0: float) -> dict[str, Any]:
    record = read_reply(reply, "localize", 0, request.scene.hw, ctx.protocol, ctx.strict_parse, ctx.max_instances)
    step = _step("localize", t0, 0, ok=record.ok, failure=record.failure, instances=len(record.prompts),
                 policy_s=record.latency_s)  # fmt: skip
    prompts = [p.model_dump() for p in record.prompts]
    update = {"round": 0, "max_rounds": ctx.max_rounds, "prompts": prompts, "stages": [record.model_dump()],
              "trace": [step]}  # fmt: skip
    if request.lookup is not None:
        update["lookup"] = request.lookup.model_dump()
    return update


def localize(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Ask the policy for boxes around every instance of the query (stage 1)."""
    t0, ctx = time.perf_counter(), runtime.context
    request = _localize_request(state, ctx)
    return _localize_update(ctx, request, ctx.policy.localize(request), t0)


async def alocalize(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Ask the policy for boxes around every instance of the query (stage 1), without blocking the loop."""
    t0, ctx = time.perf_counter(), runtime.context
    request = _localize_request(state, ctx)
    return _localize_update(ctx, request, await ctx.policy.alocalize(request), t0)


def segment(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Turn the current prompts into one mask per instance with the segmenter (one encode per scene)."""
    t0 = time.perf_counter()
    ctx = runtime.context
    prompts = state.get("prompts", [])
    round_ = state.get("round", 0)
    if prompts == state.get("segmented_prompts") and state.get("merged_mask_id"):
        return {"trace": [_step("segment", t0, round_, reused=True, masks=len(state.get("mask_ids", [])))]}
    out = REGISTRY.call("sam_segment", SegmentInput(scene_id=state["scene_id"], prompts=prompts), _tools(ctx))
    step = _step("segment", t0, round_, masks=len(out.masks), encoded=out.encoded, sources=out.sources)
    return {
        "segmented_prompts": prompts,
        "mask_ids": [m.mask_id for m in out.masks],
        "scores": [m.score for m in out.masks],
        "sources": out.sources,
        "merged_mask_id": out.merged_mask_id,
        "made_ids": [m.mask_id for m in out.masks] + [out.merged_mask_id],
        "trace": [step],
    }


def feedback_input(
    scene_id: str, prompts: list[Any], mask_id: str | None, last_stage: dict[str, Any], look: Any
) -> RenderInput:
    """Return the render_overlay arguments of the refine stage's input after the policy call ``last_stage``.

    Drawn at the size that call sent its images (``meta.sent_hw``), in the protocol's ``look``; the reference
    look draws the boxes of the call's raw answer text.
    """
    sent_hw = (last_stage.get("meta") or {}).get("sent_hw")
    if (last_stage.get("frame") or {}).get("window"):  # the policy was shown a crop: render the whole scene
        sent_hw = None
    return RenderInput(scene_id=scene_id, prompts=prompts, mask_ids=[mask_id] if mask_id else [],
                       size=tuple(sent_hw) if sent_hw else None, look=look,
                       answer_text=reference_answer_text(last_stage.get("raw", "")))  # fmt: skip


def render(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Draw the current boxes and mask on the map and the satellite image (the refine stage's input).

    The images are drawn at the size the last policy call sent them (so the policy does not resize, and blur,
    the lines), in the protocol's look: ours, or the reference's (the raw stage-1 answer's boxes, as written).
    """
    t0 = time.perf_counter()
    last = state.get("stages", [])[-1:] or [{}]
    args = feedback_input(state["scene_id"], state.get("prompts", []), state.get("merged_mask_id"), last[0],
                          runtime.context.profile.feedback_look)  # fmt: skip
    out = REGISTRY.call("render_overlay", args, _tools(runtime.context))
    step = _step("render", t0, state.get("round", 0), images=out.image_ids)
    return {"feedback_ids": out.image_ids, "made_ids": list(out.image_ids), "trace": [step]}


def _refine_request(state: AgentState, ctx: RunContext) -> PolicyRequest:
    previous = [InstancePrompt.model_validate(p) for p in state.get("prompts", [])]
    images = [ctx.store.get_image(i) for i in state["feedback_ids"]]
    scene = ctx.store.get(state["scene_id"])
    last = state.get("stages", [])[-1:] or [{}]
    lookup = MapLookupOutput.model_validate(state["lookup"]) if state.get("lookup") else None
    return refine_request(scene, state["query"], previous, images, state.get("round", 0) + 1,
                          last[0].get("raw", ""), lookup)  # fmt: skip


def _refine_update(
    state: AgentState, ctx: RunContext, request: PolicyRequest, reply: PolicyReply, t0: float
) -> dict[str, Any]:
    record = read_reply(reply, "refine", request.round, request.scene.hw, ctx.protocol, ctx.strict_parse,
                        ctx.max_instances)  # fmt: skip
    kept = not record.ok and not ctx.profile.empty_on_failed_refine
    previous = state.get("prompts", []) if kept else []
    prompts = [p.model_dump() for p in record.prompts] if record.ok else previous
    step = _step("refine", t0, request.round, ok=record.ok, failure=record.failure, instances=len(prompts),
                 kept_previous=kept, policy_s=record.latency_s)  # fmt: skip
    return {"round": request.round, "prompts": prompts, "stages": [record.model_dump()], "trace": [step]}


def refine(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Show the policy the rendered result and take its corrected boxes and points (stage 2).

    If the answer cannot be used, the failure is recorded and, under ``socioagent``, the previous prompts are
    kept, so a malformed refinement never makes the result worse than stage 1; under ``socioreasoner`` no
    prompts are left (an empty mask), as in the reference.
    """
    t0, ctx = time.perf_counter(), runtime.context
    request = _refine_request(state, ctx)
    return _refine_update(state, ctx, request, ctx.policy.refine(request), t0)


async def arefine(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Refine (stage 2) as `refine` does, without blocking the event loop."""
    t0, ctx = time.perf_counter(), runtime.context
    request = _refine_request(state, ctx)
    return _refine_update(state, ctx, request, await ctx.policy.arefine(request), t0)


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
