"""Run one query on one scene through the graph and collect an `AgentResult` (sync or async)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from langgraph.graph.state import CompiledStateGraph

from agent.context import RunContext
from agent.parsing.answer import MAX_ITEMS
from agent.policies import Policy
from agent.protocol import DEFAULT_PROTOCOL, profile
from agent.result import AgentResult, InstanceResult, StageRecord, Timings, TraceStep
from tools.errors import InputError
from tools.scene import Scene
from tools.scene_store import SceneStore
from tools.segmenters import Segmenter

EventHandler = Callable[[dict[str, Any]], None]


def run_query(
    scene: Scene,
    query: str,
    *,
    policy: Policy,
    segmenter: Segmenter,
    max_rounds: int = 1,
    store: SceneStore | None = None,
    policy_spec: str = "",
    segmenter_spec: str = "",
    on_event: EventHandler | None = None,
    protocol: str = DEFAULT_PROTOCOL,
    strict_parse: bool = False,
    max_instances: int = MAX_ITEMS,
) -> AgentResult:
    """Answer ``query`` on ``scene``: localize, segment, then up to ``max_rounds`` refine rounds.

    Args:
        scene: the scene; it is put into ``store`` if not there yet.
        query: what to find ("Maple Grove Primary School", "schools", "places for education").
        policy: answers the localize and refine stages.
        segmenter: turns boxes and points into masks (its encode of the scene is reused if present).
        max_rounds: refine rounds (0 = stage 1 only).
        store: scene store to use (a small private one by default).
        policy_spec: the policy's spec string, recorded in the result.
        segmenter_spec: the segmenter's spec string, recorded in the result.
        on_event: called with every progress event the nodes emit (``{"event": "step", "node": ...}``).
        protocol: ``socioagent`` or ``socioreasoner`` (`agent.protocol`); the policy and segmenter must have been
            built for it (`agent.backends.BackendConfig.build` builds all three together: ``**backends.run_kwargs()``).
        strict_parse: read answers without repairs (`agent.protocol.ProtocolProfile.read`).
        max_instances: read at most this many instances from one answer (more: a `too_many_items` repair).

    Raises:
        InputError: the query is empty, the round count is out of range or the protocol does not match the policy.
        BackendError: the policy or segmenter backend failed after its retries.
    """
    from agent.graph import graph

    ctx, store = _context(scene, query, policy, segmenter, max_rounds, store, policy_spec, segmenter_spec, protocol,
                          strict_parse, max_instances)  # fmt: skip
    result = invoke(graph, {"scene_id": scene.scene_id, "query": query}, ctx, on_event=on_event)
    release_intermediates(store, result)
    return result


async def arun_query(
    scene: Scene,
    query: str,
    *,
    policy: Policy,
    segmenter: Segmenter,
    max_rounds: int = 1,
    store: SceneStore | None = None,
    policy_spec: str = "",
    segmenter_spec: str = "",
    on_event: EventHandler | None = None,
    protocol: str = DEFAULT_PROTOCOL,
    strict_parse: bool = False,
    max_instances: int = MAX_ITEMS,
) -> AgentResult:
    """Answer ``query`` as `run_query` does, through ``graph.astream``: the policy's async methods answer.

    Raises:
        InputError: the query is empty, the round count is out of range or the protocol does not match the policy.
        BackendError: the policy or segmenter backend failed after its retries.
    """
    from agent.graph import graph

    ctx, store = _context(scene, query, policy, segmenter, max_rounds, store, policy_spec, segmenter_spec, protocol,
                          strict_parse, max_instances)  # fmt: skip
    t0 = time.perf_counter()
    encodes0 = segmenter.encode_count
    state: dict[str, Any] = {}
    inputs = {"scene_id": scene.scene_id, "query": query}
    async for mode, data in graph.astream(inputs, None, context=ctx, stream_mode=["values", "custom"]):
        if mode == "values":
            state = data
        elif on_event is not None:
            on_event(data)
    result = result_from_state(state, ctx, total_s=time.perf_counter() - t0, encodes=segmenter.encode_count - encodes0)
    release_intermediates(store, result)
    return result


def _context(
    scene: Scene,
    query: str,
    policy: Policy,
    segmenter: Segmenter,
    max_rounds: int,
    store: SceneStore | None,
    policy_spec: str,
    segmenter_spec: str,
    protocol: str,
    strict_parse: bool,
    max_instances: int = MAX_ITEMS,
) -> tuple[RunContext, SceneStore]:
    if not query or not query.strip():
        raise InputError("the query is empty; say what to find, e.g. --query 'schools'")
    store = store or SceneStore(max_scenes=2)
    if scene.scene_id not in store or store.get(scene.scene_id) is not scene:
        store.put(scene)  # a scene id names these pixels now, even if another scene had the id before
    ctx = RunContext(policy=policy, segmenter=segmenter, store=store, max_rounds=max_rounds,
                     policy_spec=policy_spec or getattr(policy, "name", ""),
                     segmenter_spec=segmenter_spec or getattr(segmenter, "name", ""),
                     protocol=profile(protocol).name, strict_parse=bool(strict_parse),
                     max_instances=int(max_instances))  # fmt: skip
    return ctx, store


def release_intermediates(store: SceneStore, result: AgentResult) -> None:
    """Drop the masks and rendered images a finished query made along the way; keep its final masks."""
    final = {i.mask_id for i in result.instances if i.mask_id} | {result.mask_id}
    store.release([i for i in result.made_ids if i not in final])


def invoke(
    graph: CompiledStateGraph,
    inputs: dict[str, Any] | None,
    ctx: RunContext,
    config: dict[str, Any] | None = None,
    on_event: EventHandler | None = None,
) -> AgentResult:
    """Stream a compiled graph to its end (or to an interrupt) and return the result so far.

    Pass ``inputs=None`` with the same ``config`` to resume a checkpointed run after an interrupt.
    """
    t0 = time.perf_counter()
    encodes0 = ctx.segmenter.encode_count
    state: dict[str, Any] = {}
    for mode, data in graph.stream(inputs, config, context=ctx, stream_mode=["values", "custom"]):
        if mode == "values":
            state = data
        elif on_event is not None:
            on_event(data)
    total = time.perf_counter() - t0
    return result_from_state(state, ctx, total_s=total, encodes=ctx.segmenter.encode_count - encodes0)


def result_from_state(state: dict[str, Any], ctx: RunContext, total_s: float = 0.0, encodes: int = 0) -> AgentResult:
    """Build an `AgentResult` from a graph state and the store that holds its masks."""
    scene = ctx.store.get(state["scene_id"])
    stages = [StageRecord.model_validate(s) for s in state.get("stages", [])]
    trace = [TraceStep.model_validate(t) for t in state.get("trace", [])]
    instances = [InstanceResult.model_validate(i) for i in state.get("instances", [])]
    instance_masks = [ctx.store.get_mask(i["mask_id"]) for i in state.get("instances", [])]
    merged_id = state.get("merged_mask_id") if state.get("instances") is not None else None
    mask = ctx.store.get_mask(merged_id) if merged_id else np.zeros(scene.hw, bool)
    policy_s = sum(s.latency_s for s in stages)
    segment_s = sum(t.duration_s for t in trace if t.node == "segment")
    render_s = sum(t.duration_s for t in trace if t.node == "render")
    timings = Timings(total_s=total_s, policy_s=policy_s, segment_s=segment_s, render_s=render_s,
                      overhead_s=max(0.0, total_s - policy_s - segment_s))  # fmt: skip
    return AgentResult(
        scene_id=scene.scene_id, query=state["query"], policy=ctx.policy_spec, segmenter=ctx.segmenter_spec,
        protocol=ctx.protocol, strict_parse=ctx.strict_parse, instances=instances, mask=mask, mask_id=merged_id,
        instance_masks=instance_masks, stages=stages, trace=trace,
        format_failures=sum(not s.ok for s in stages), encodes=encodes, timings=timings,
        crs=scene.georef.crs if scene.georef else None, made_ids=list(state.get("made_ids", [])),
    )  # fmt: skip
