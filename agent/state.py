"""The graph's state: ids, prompts, counters and records, never pixels.

Images, masks and embeddings live in the scene store; the state holds their ids, so a checkpoint is small
and JSON-like. Lists marked with ``operator.add`` accumulate across nodes.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict


class InputState(TypedDict):
    """What a caller sends: a scene already in the store, and a query."""

    scene_id: str
    """Id of the scene in the scene store (set by the caller)."""
    query: str
    """The user's query, verbatim (set by the caller)."""


class AgentState(InputState, total=False):
    """The full state of one query."""

    round: int
    """0 after localize, incremented by each refine (written by localize and refine)."""
    max_rounds: int
    """Refine rounds allowed, copied from the run context so routing depends on state alone (written by localize)."""
    prompts: list[dict[str, Any]]
    """Current instance prompts, `InstancePrompt` dicts in scene pixels (written by localize and refine)."""
    segmented_prompts: list[dict[str, Any]]
    """The prompts the current masks were made from (written by segment)."""
    mask_ids: list[str]
    """One mask id per current prompt (written by segment)."""
    merged_mask_id: str | None
    """Id of the union of the current masks (written by segment)."""
    scores: list[float]
    """Segmenter score per mask (written by segment)."""
    sources: list[str]
    """Per mask, "model" or "box-fallback" (written by segment)."""
    feedback_ids: list[str]
    """Ids of the rendered [map, satellite] feedback images (written by render)."""
    instances: list[dict[str, Any]]
    """Final instances with boxes, points, scores, areas and polygons (written by finish)."""
    stages: Annotated[list[dict[str, Any]], operator.add]
    """One `agent.result.StageRecord`, dumped to a dict, per policy call (appended by localize and refine)."""
    lookup: dict[str, Any] | None
    """The map-layer lookup's output, for a policy that reads it (written by localize)."""
    made_ids: Annotated[list[str], operator.add]
    """Ids of every mask and image the query put in the store (appended by segment and render); `run_query`
    releases all but the final masks when the query ends."""
    trace: Annotated[list[dict[str, Any]], operator.add]
    """One `agent.result.TraceStep`, dumped to a dict, per node run (appended by every node)."""
