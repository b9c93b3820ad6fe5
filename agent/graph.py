"""The agent's state machine: localize -> segment -> render -> refine -> segment -> ... -> finish.

Read top to bottom: the routers, then the builder. The policy nodes have a sync and an async body, so the
same compiled graph runs with ``invoke`` (sync policy calls) and ``ainvoke`` (async ones); the segmenter
nodes are sync and run in a worker thread under ``ainvoke``. Refine rounds are bounded by `RunContext.max_rounds`
(0 = stage 1 only). The module-level `graph` is compiled without a checkpointer; `build_graph` makes one
with a checkpointer and interrupts (for human-in-the-loop edits between stages).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal

from langchain_core.runnables import RunnableLambda
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime, get_runtime

from agent import nodes
from agent.context import RunContext
from agent.state import AgentState, InputState

NODES = ("localize", "segment", "render", "refine", "finish")

Node = Callable[[AgentState, Runtime[RunContext]], dict[str, Any]]
AsyncNode = Callable[[AgentState, Runtime[RunContext]], Awaitable[dict[str, Any]]]


def sync_and_async(name: str, sync: Node, asynchronous: AsyncNode) -> RunnableLambda:
    """Return a node that runs ``sync`` under ``invoke``/``stream`` and ``asynchronous`` under ``ainvoke``."""

    def run(state: AgentState) -> dict[str, Any]:
        return sync(state, get_runtime(RunContext))

    async def arun(state: AgentState) -> dict[str, Any]:
        return await asynchronous(state, get_runtime(RunContext))

    return RunnableLambda(run, afunc=arun, name=name)


def route_after_segment(state: AgentState) -> Literal["render", "finish"]:
    """Refine again while rounds remain; otherwise finish."""
    return "render" if state.get("round", 0) < state.get("max_rounds", 0) else "finish"


def build_graph(
    checkpointer: BaseCheckpointSaver | None = None, interrupt_before: Sequence[str] = ()
) -> CompiledStateGraph:
    """Compile the agent graph.

    Args:
        checkpointer: saves state after every node (needed for interrupts and resuming).
        interrupt_before: node names to pause before, e.g. ``["refine"]`` to let a person edit the
            stage-1 prompts with ``graph.update_state`` before the policy refines them.
    """
    unknown = set(interrupt_before) - set(NODES)
    if unknown:
        raise ValueError(f"cannot interrupt before {sorted(unknown)}; nodes are {', '.join(NODES)}")
    builder = StateGraph(AgentState, context_schema=RunContext, input_schema=InputState)
    builder.add_node("localize", sync_and_async("localize", nodes.localize, nodes.alocalize))
    builder.add_node("segment", nodes.segment)
    builder.add_node("render", nodes.render)
    builder.add_node("refine", sync_and_async("refine", nodes.refine, nodes.arefine))
    builder.add_node("finish", nodes.finish)
    builder.add_edge(START, "localize")
    builder.add_edge("localize", "segment")
    builder.add_conditional_edges("segment", route_after_segment, ["render", "finish"])
    builder.add_edge("render", "refine")
    builder.add_edge("refine", "segment")
    builder.add_edge("finish", END)
    return builder.compile(checkpointer=checkpointer, interrupt_before=list(interrupt_before), name="socioagent")


graph = build_graph()
