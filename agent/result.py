"""What a query returns: instances, the merged mask, per-stage records, a trace and timings."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tools.schemas import Box, Point


class StageRecord(BaseModel):
    """One policy call: what was asked, what came back, and how it parsed.

    Attributes:
        stage: ``localize`` or ``refine``.
        round: 0 for localize, 1.. for refine rounds.
        prompt: the text prompt the policy sent.
        raw: the raw answer text.
        frame: the answer's coordinate frame (``{"kind": ..., "model_hw": ...}``).
        ok: whether the answer was usable.
        failure: why it was not, if not.
        repairs: malformations that were tolerated (`agent.parsing.Repair` codes).
        warnings: what the agent changed in the parsed instances (boxes clipped to the image, ...).
        prompts: the instance prompts taken from it, in scene pixels.
        latency_s: wall time of the policy call.
        meta: policy-specific details (model, token usage, retries).
    """

    stage: Literal["localize", "refine"]
    round: int
    prompt: str
    raw: str
    frame: dict[str, Any]
    ok: bool
    failure: str | None = None
    repairs: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    prompts: list[dict[str, Any]] = Field(default_factory=list)
    latency_s: float = 0.0
    meta: dict[str, Any] = Field(default_factory=dict)


class InstanceResult(BaseModel):
    """One segmented instance, in scene pixels (and the scene CRS when it has one)."""

    box: Box
    points: list[Point] = Field(default_factory=list)
    score: float
    area: int
    source: str = "model"
    mask_id: str | None = None
    geometry: dict[str, Any] | None = Field(
        None, description="GeoJSON Polygon or MultiPolygon of the mask, in image pixels (pixel-edge outline)"
    )


class Timings(BaseModel):
    """Wall times of one query, in seconds; ``overhead_s`` is everything but policy and segmenter calls."""

    total_s: float = 0.0
    policy_s: float = 0.0
    segment_s: float = 0.0
    render_s: float = 0.0
    overhead_s: float = 0.0


class AgentResult(BaseModel):
    """The answer to one query on one scene.

    Attributes:
        scene_id: the scene.
        query: the query, verbatim.
        policy: the policy spec that answered.
        segmenter: the segmenter spec that drew the masks.
        instances: final instances (after the last refine round).
        mask: (H, W) bool union of the final instance masks (not serialised).
        mask_id: the scene store's id of that union (None when nothing was segmented).
        instance_masks: (H, W) bool mask per instance, in the order of ``instances`` (not serialised).
        stages: one record per policy call.
        trace: every step of the graph, in order (node, timings, ids, errors).
        format_failures: policy answers that could not be used.
        encodes: segmenter image encodes spent on this query (1 for a fresh scene, 0 if already encoded).
        timings: wall times.
        crs: the scene CRS, when georeferenced.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    scene_id: str
    query: str
    policy: str
    segmenter: str
    instances: list[InstanceResult] = Field(default_factory=list)
    mask: np.ndarray = Field(exclude=True, repr=False)
    mask_id: str | None = None
    instance_masks: list[np.ndarray] = Field(default_factory=list, exclude=True, repr=False)
    stages: list[StageRecord] = Field(default_factory=list)
    trace: list[dict[str, Any]] = Field(default_factory=list)
    format_failures: int = 0
    encodes: int = 0
    timings: Timings = Field(default_factory=Timings)
    crs: str | None = None
