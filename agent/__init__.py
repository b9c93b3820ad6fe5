"""socioagent's agent: the state machine, its state, its policies and their backends.

Public API: `build_graph`, `run_query`, `AgentResult` (imported lazily, so ``import agent.policies`` stays
light).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import socioagent  # noqa: F401  (checks on import that no other package shadows ours)

if TYPE_CHECKING:
    from agent.graph import build_graph
    from agent.result import AgentResult
    from agent.run import run_query

__all__ = ["AgentResult", "build_graph", "run_query"]


def __getattr__(name: str) -> Any:
    if name == "build_graph":
        from agent.graph import build_graph

        return build_graph
    if name == "run_query":
        from agent.run import run_query

        return run_query
    if name == "AgentResult":
        from agent.result import AgentResult

        return AgentResult
    raise AttributeError(f"module 'agent' has no attribute {name!r}")
