"""Embedding socioagent in a LangGraph application: the compiled graph as a subgraph, the tools in a ToolNode."""

from __future__ import annotations

import json
from typing import Any, TypedDict

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

from agent.backends import BackendConfig
from agent.context import RunContext
from agent.graph import graph
from agent.toolbox import AGENT_REGISTRY, AgentToolContext
from evals.synthcity.export import encode_sample
from tests.fixtures.synthcity import synth_sample
from tools.scene_store import SceneStore


class Parent(TypedDict, total=False):
    scene_id: str
    query: str
    instances: list[dict[str, Any]]
    summary: str


def test_the_agent_graph_runs_as_a_subgraph_of_another_graph():
    sample = synth_sample(0, 0, "test", 256)
    store = SceneStore()
    store.put(sample.scene)
    b = BackendConfig().build()
    builder = StateGraph(Parent, context_schema=RunContext)
    builder.add_node("socioagent", graph)  # the compiled graph, as a node: shared keys flow in and out
    builder.add_node("summarize", lambda s: {"summary": f"{len(s['instances'])} x {s['query']}"})
    builder.add_edge(START, "socioagent")
    builder.add_edge("socioagent", "summarize")
    builder.add_edge("summarize", END)
    parent = builder.compile()
    ctx = RunContext(policy=b.policy, segmenter=b.segmenter, store=store)
    out = parent.invoke({"scene_id": sample.scene.scene_id, "query": sample.query}, context=ctx)
    assert out["summary"] == f"{len(out['instances'])} x {sample.query}" and out["instances"]
    assert set(out) == {"scene_id", "query", "instances", "summary"}  # the subgraph's own keys stay inside


def test_a_langgraph_agent_calls_the_tools_through_a_tool_node(tmp_path):
    sample = synth_sample(0, 3, "test", 256)
    for name, data in encode_sample(sample).items():
        (tmp_path / name).write_bytes(data)
    ctx = AgentToolContext(store=SceneStore(), backends=BackendConfig().build(), roots=(tmp_path,))
    tools = AGENT_REGISTRY.langchain_tools(ctx)

    def model(state: MessagesState) -> dict[str, Any]:
        """A scripted assistant: load the scene, segment the query, then answer from the tool's numbers."""
        last = state["messages"][-1]
        if isinstance(last, HumanMessage):
            args = {"sat": str(tmp_path / "sat.tif"), "map": str(tmp_path / "map.png"),
                    "layers": str(tmp_path / "layers.geojson")}  # fmt: skip
            return {"messages": [AIMessage("", tool_calls=[{"name": "load_scene", "args": args, "id": "1"}])]}
        result = json.loads(last.content) if isinstance(last, ToolMessage) else {}
        if last.name == "load_scene":
            call = {"name": "segment", "args": {"scene_id": result["scene_id"], "query": sample.query}, "id": "2"}
            return {"messages": [AIMessage("", tool_calls=[call])]}
        return {"messages": [AIMessage(f"found {result['count']} instance(s) of {result['query']}")]}

    builder = StateGraph(MessagesState)
    builder.add_node("model", model)
    builder.add_node("tools", ToolNode(tools))
    builder.add_edge(START, "model")
    builder.add_conditional_edges("model", tools_condition, ["tools", END])
    builder.add_edge("tools", "model")
    out = builder.compile().invoke({"messages": [HumanMessage(f"find {sample.query}")]})
    calls = [m.name for m in out["messages"] if isinstance(m, ToolMessage)]
    assert calls == ["load_scene", "segment"]
    answer = out["messages"][-1].content
    count = json.loads(out["messages"][-2].content)["count"]
    assert count >= 1 and answer == f"found {count} instance(s) of {sample.query}"
