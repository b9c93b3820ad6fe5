"""Run one query on one scene through the graph (implementation in progress)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.policies import Policy
    from agent.result import AgentResult
    from tools.scene import Scene
    from tools.scene_store import SceneStore
    from tools.segmenters import Segmenter


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
) -> AgentResult:
    """Answer ``query`` on ``scene``: localize, segment, then up to ``max_rounds`` refine rounds."""
    raise NotImplementedError
