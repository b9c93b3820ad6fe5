"""What a query returns: instances, the merged mask, per-stage records, a trace and timings."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from agent.policies import ReplyMeta
from tools.schemas import Box, InstancePrompt, Point

NodeName = Literal["localize", "segment", "render", "refine", "finish"]


class TraceStep(BaseModel):
    """One node run: which node, in which round, how long it took and what it did.

    Only the fields that apply to the node are set (None otherwise, and left out of result.json's trace).
    """

    model_config = ConfigDict(extra="forbid")

    node: NodeName
    round: int
    duration_s: float
    ok: bool | None = Field(None, description="localize/refine: whether the answer was usable")
    failure: str | None = Field(None, description="localize/refine: why not")
    instances: int | None = Field(None, description="instances after this step")
    policy_s: float | None = Field(None, description="localize/refine: wall time of the policy call")
    kept_previous: bool | None = Field(None, description="refine: the answer was unusable, the previous prompts kept")
    masks: int | None = Field(None, description="segment: masks made (or reused)")
    reused: bool | None = Field(None, description="segment: the prompts had not changed, the masks were reused")
    encoded: bool | None = Field(None, description="segment: this call encoded the image")
    sources: list[str] | None = Field(None, description="segment: per mask, model or box-fallback")
    images: list[str] | None = Field(None, description="render: ids of the rendered feedback images")

    @model_serializer(mode="wrap")
    def _drop_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {k: v for k, v in handler(self).items() if v is not None}


class FrameRecord(BaseModel):
    """The coordinate frame an answer's numbers were read in (see `tools.coords.ModelFrame`)."""

    kind: str
    model_hw: list[int] | None = None
    window: list[float] | None = None


class StageRecord(BaseModel):
    """One policy call: what was asked, what came back, and how it parsed.

    Attributes:
        stage: ``localize`` or ``refine``.
        round: 0 for localize, 1.. for refine rounds.
        prompt: the text prompt the policy sent.
        raw: the raw answer text (what was parsed).
        reasoning: the reasoning the server returned apart from the answer (``reasoning_content``), if any.
        frame: the answer's coordinate frame (``{"kind": ..., "model_hw": ...}``).
        ok: whether the answer was usable.
        failure: why it was not, if not.
        repairs: malformations that were tolerated (`agent.parsing.Repair` codes).
        reading: how the answer was read: ``lenient``, ``strict``, ``reference`` or ``reference-lenient``
            (`agent.protocol.ProtocolProfile.read`).
        warnings: what the agent changed in the parsed instances (boxes clipped to the image, ...).
        prompts: the instance prompts taken from it, in scene pixels.
        latency_s: wall time of the policy call.
        meta: how the answer was made (model, token usage, retries).
        token_ids: the answer's token ids, when the policy reports them (hf; GRPO needs them).
        logprobs: the behaviour log-probability of each token id.
    """

    stage: Literal["localize", "refine"]
    round: int
    prompt: str
    raw: str
    reasoning: str | None = None
    frame: FrameRecord
    ok: bool
    failure: str | None = None
    repairs: list[str] = Field(default_factory=list)
    reading: str = "lenient"
    warnings: list[str] = Field(default_factory=list)
    prompts: list[InstancePrompt] = Field(default_factory=list)
    latency_s: float = 0.0
    meta: ReplyMeta = Field(default_factory=ReplyMeta)
    token_ids: list[int] | None = None
    logprobs: list[float] | None = None


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
        protocol: the protocol followed (``socioagent`` or ``socioreasoner``).
        strict_parse: whether answers were read without repairs.
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
    protocol: str = "socioagent"
    strict_parse: bool = False
    instances: list[InstanceResult] = Field(default_factory=list)
    mask: np.ndarray = Field(exclude=True, repr=False)
    mask_id: str | None = None
    instance_masks: list[np.ndarray] = Field(default_factory=list, exclude=True, repr=False)
    stages: list[StageRecord] = Field(default_factory=list)
    trace: list[TraceStep] = Field(default_factory=list)
    format_failures: int = 0
    encodes: int = 0
    timings: Timings = Field(default_factory=Timings)
    crs: str | None = None
    made_ids: list[str] = Field(
        default_factory=list, exclude=True, repr=False, description="every mask and image id the query stored"
    )
