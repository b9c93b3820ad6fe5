"""Policies: the brains that answer the localize and refine stages, behind one protocol.

Every policy answers with *text* in the reference format
``<think>...</think><answer>[{"bbox_2d": [x1, y1, x2, y2], "points": [[x, y], ...]}]</answer>``,
in its own coordinate frame (`PolicyReply.frame`); the agent parses it with `agent.parsing.parse_answer`
and converts it to scene pixels with `tools.coords`. So a rule policy and a 3B VLM are traced, parsed
and scored the same way.

The protocol has a sync and an async method per stage (the graph uses the async ones under ``ainvoke``)
and a group call, `Policy.sample`, that returns G sampled answers to one request (GRPO rollouts).

Specs (`make_policy`; flags build them through `agent.backends.BackendConfig`):
    ``map``                    the offline map-grounded rule policy (default; no weights)
    ``openai:MODEL``           an OpenAI-compatible chat-completions server (vLLM, SGLang, hosted)
    ``hf:<path or hub id>``    in-process transformers Qwen2.5-VL / Qwen3-VL
    ``oracle-box``             evaluation baseline: ground-truth boxes (needs `Scene.truth`)
    ``random-box``             evaluation baseline: random boxes
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tools.coords import ModelFrame
from tools.errors import InputError
from tools.scene import Scene
from tools.schemas import InstancePrompt

POLICY_NAMES = ("map", "openai", "hf", "tiny-vlm", "oracle-box", "random-box")
"""The policies `make_policy` knows (``tiny-vlm`` is ``hf`` with the packaged small policy)."""

Stage = Literal["localize", "refine"]


class SamplingParams(BaseModel):
    """How a model policy samples; None leaves a value to the policy's default (greedy, 1024 tokens)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: float | None = Field(None, ge=0, description="sampling temperature; 0 is greedy")
    top_p: float | None = Field(None, gt=0, le=1, description="nucleus sampling mass")
    top_k: int | None = Field(None, ge=0, description="sample among the k most likely tokens (0: no limit)")
    max_tokens: int | None = Field(None, ge=1, description="cap on the answer's tokens")
    seed: int | None = Field(None, description="sampling seed")

    def merged(self, other: SamplingParams | None) -> SamplingParams:
        """Return these params with every value ``other`` sets taking precedence."""
        if other is None:
            return self
        return self.model_copy(update=other.model_dump(exclude_none=True))


@dataclass
class PolicyRequest:
    """What a policy is asked, in scene pixels.

    Attributes:
        stage: ``localize`` (stage 1) or ``refine`` (stage 2).
        query: the user's query, verbatim.
        scene: the scene (rule policies read its layers; VLM policies only its images below).
        images: ``[map, satellite]`` (H, W, 3) uint8, in that order. For ``refine`` these are the
            rendered images with the previous boxes and mask drawn on them.
        previous: the prompts of the previous stage, in scene pixels (empty for ``localize``).
        round: 0 for localize, 1.. for refine rounds.
        previous_answer: the previous stage's answer text as the reference inserts it into the stage-2 prompt
            (the inside of its first ``<answer>`` block, verbatim; "" when it had none); used by the
            ``socioreasoner`` protocol's refine template.
        lookup: the map-layer lookup's output (`tools.map_lookup.MapLookupOutput`) when the policy asked for it
            (``Policy.wants_lookup``; the graph calls the tool before stage 1).
    """

    stage: Stage
    query: str
    scene: Scene
    images: list[np.ndarray]
    previous: list[InstancePrompt] = field(default_factory=list)
    round: int = 0
    previous_answer: str = ""
    lookup: Any = None


class Usage(BaseModel):
    """Token counts of one answer, as the backend reports them."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None


class ReplyMeta(BaseModel):
    """What is known about how an answer was made; every field is optional, none is policy-private."""

    model_config = ConfigDict(extra="forbid")

    policy: str | None = Field(None, description="the policy kind that answered (rule policies and baselines)")
    model: str | None = Field(None, description="the model that answered, as the backend names it")
    base_url: str | None = Field(None, description="the server asked (openai)")
    model_type: str | None = Field(None, description="config.model_type of an in-process checkpoint (hf)")
    device: str | None = Field(None, description="torch device (hf)")
    dtype: str | None = Field(None, description="torch dtype (hf)")
    usage: Usage | None = None
    retries: int = Field(0, description="transient failures retried before this answer")
    finish_reason: str | None = Field(None, description="stop, length, ...")
    sent_hw: list[int] | None = Field(None, description="(height, width) of the images as sent")
    image_grid_thw: list[list[int]] | None = Field(None, description="vision grid per image (hf)")
    target: str | None = Field(None, description="the query level the rule policy read")
    seed: int | None = Field(None, description="the seed used")
    sampling: dict[str, Any] | None = Field(None, description="the sampling options sent")
    notes: list[str] | None = Field(None, description="what the backend changed about the request (top_k refused)")


@dataclass
class PolicyReply:
    """A policy's raw answer and how to read it.

    Attributes:
        text: the raw answer text (untrusted: parse it with `agent.parsing.parse_answer`). When the server split
            the reasoning out and the protocol rebuilds it, the full ``<think>...</think>`` + answer text.
        frame: the coordinate frame of the answer's numbers.
        prompt: the text prompt that was sent (for the trace).
        latency_s: wall time of the call.
        meta: how the answer was made (model, token usage, retries).
        token_ids: the answer's token ids, when the policy generated it token by token (hf).
        logprobs: the behaviour log-probability of each of ``token_ids`` under the sampler.
        prompt_token_ids: the prompt's token ids as the model saw them (hf).
        reasoning: the reasoning a server returned apart from the answer (``reasoning_content``), if any.
    """

    text: str
    frame: ModelFrame
    prompt: str = ""
    latency_s: float = 0.0
    meta: ReplyMeta = field(default_factory=ReplyMeta)
    token_ids: list[int] | None = None
    logprobs: list[float] | None = None
    prompt_token_ids: list[int] | None = None
    reasoning: str | None = None


@runtime_checkable
class Policy(Protocol):
    """A policy answers the two stages of the loop, synchronously, asynchronously, or G at a time."""

    name: str

    def localize(self, request: PolicyRequest) -> PolicyReply:
        """Answer stage 1: boxes for every instance of the query."""
        ...

    def refine(self, request: PolicyRequest) -> PolicyReply:
        """Answer stage 2: boxes and points, having seen the rendered stage-1 result."""
        ...

    async def alocalize(self, request: PolicyRequest) -> PolicyReply:
        """Answer stage 1 without blocking the event loop."""
        ...

    async def arefine(self, request: PolicyRequest) -> PolicyReply:
        """Answer stage 2 without blocking the event loop."""
        ...

    def sample(self, request: PolicyRequest, n: int, sampling: SamplingParams | None = None) -> list[PolicyReply]:
        """Return ``n`` sampled answers to one request (either stage), in one call where the backend can."""
        ...


class BasePolicy:
    """Defaults for the protocol's async and group methods, for policies that answer synchronously.

    Subclasses implement `localize` and `refine`; the async methods run them in a worker thread, and
    `sample` asks ``n`` times (a deterministic policy gives ``n`` equal answers, which is right: its group
    has no spread).
    """

    name = "policy"
    wants_lookup = False
    """Whether the graph should call the map-layer lookup and hand its output to the policy."""

    def localize(self, request: PolicyRequest) -> PolicyReply:
        """Answer stage 1 (implemented by subclasses)."""
        raise NotImplementedError

    def refine(self, request: PolicyRequest) -> PolicyReply:
        """Answer stage 2 (implemented by subclasses)."""
        raise NotImplementedError

    def answer(self, request: PolicyRequest) -> PolicyReply:
        """Answer whichever stage the request is for."""
        return self.localize(request) if request.stage == "localize" else self.refine(request)

    async def alocalize(self, request: PolicyRequest) -> PolicyReply:
        """Answer stage 1 in a worker thread."""
        return await asyncio.to_thread(self.localize, request)

    async def arefine(self, request: PolicyRequest) -> PolicyReply:
        """Answer stage 2 in a worker thread."""
        return await asyncio.to_thread(self.refine, request)

    def sample(self, request: PolicyRequest, n: int, sampling: SamplingParams | None = None) -> list[PolicyReply]:
        """Return ``n`` answers to one request by asking ``n`` times (``sampling`` does not apply here)."""
        check_group_size(n)
        return [self.answer(request) for _ in range(n)]


def check_group_size(n: int) -> int:
    """Return ``n`` if it is a usable group size.

    Raises:
        InputError: ``n`` is below 1.
    """
    if not isinstance(n, int) or n < 1:
        raise InputError(f"a group call needs n >= 1 answers, got {n!r}")
    return n


def make_policy(spec: str, **kwargs: Any) -> Policy:
    """Build a policy from a spec string (see the module docstring) and the policy's own keyword options.

    Raises:
        InputError: the spec names no known policy, or an option is bad.
    """
    name, _, arg = spec.partition(":")
    if arg:
        kwargs["model"] = arg
    match name:
        case "map":
            from agent.policies.rule import MapPolicy

            return MapPolicy(**kwargs)
        case "openai":
            from agent.policies.openai_compat import OpenAIPolicy

            return OpenAIPolicy(**kwargs)
        case "hf" | "tiny-vlm":
            from agent.policies.transformers_local import TransformersPolicy

            if name == "tiny-vlm":
                kwargs.setdefault("model", "tiny-vlm")
            return TransformersPolicy(**kwargs)
        case "oracle-box":
            from agent.policies.baselines import OracleBoxPolicy

            return OracleBoxPolicy(**kwargs)
        case "random-box":
            from agent.policies.baselines import RandomBoxPolicy

            return RandomBoxPolicy(**kwargs)
        case _:
            raise InputError(f"unknown policy {spec!r}; choose one of: {', '.join(POLICY_NAMES)}")
