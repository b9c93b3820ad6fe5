"""Policies: the brains that answer the localize and refine stages, behind one protocol.

Every policy answers with *text* in the reference format
``<think>...</think><answer>[{"bbox_2d": [x1, y1, x2, y2], "points": [[x, y], ...]}]</answer>``,
in its own coordinate frame (`PolicyReply.frame`); the agent parses it with `agent.parsing.parse_answer`
and converts it to scene pixels with `tools.coords`. So a rule policy and a 3B VLM are traced, parsed
and scored the same way.

Specs:
    ``map``                    the offline map-grounded rule policy (default; no weights)
    ``openai[:MODEL]``         an OpenAI-compatible chat-completions server (vLLM, SGLang, hosted)
    ``hf:<path or hub id>``    in-process transformers Qwen2.5-VL / Qwen3-VL
    ``oracle-box``             evaluation baseline: ground-truth boxes (needs `Scene.truth`)
    ``random-box``             evaluation baseline: random boxes
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from tools.coords import ModelFrame
from tools.errors import InputError
from tools.scene import Scene
from tools.schemas import InstancePrompt

POLICY_SPECS = ("map", "openai[:MODEL]", "hf:<path or hub id>", "oracle-box", "random-box")

Stage = Literal["localize", "refine"]


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
    """

    stage: Stage
    query: str
    scene: Scene
    images: list[np.ndarray]
    previous: list[InstancePrompt] = field(default_factory=list)
    round: int = 0


@dataclass
class PolicyReply:
    """A policy's raw answer and how to read it.

    Attributes:
        text: the raw answer text (untrusted: parse it with `agent.parsing.parse_answer`).
        frame: the coordinate frame of the answer's numbers.
        prompt: the text prompt that was sent (for the trace).
        latency_s: wall time of the call.
        meta: anything worth tracing (model name, token usage, retries).
    """

    text: str
    frame: ModelFrame
    prompt: str = ""
    latency_s: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Policy(Protocol):
    """A policy answers the two stages of the loop."""

    name: str

    def localize(self, request: PolicyRequest) -> PolicyReply:
        """Answer stage 1: boxes for every instance of the query."""
        ...

    def refine(self, request: PolicyRequest) -> PolicyReply:
        """Answer stage 2: boxes and points, having seen the rendered stage-1 result."""
        ...


def make_policy(spec: str, **kwargs: Any) -> Policy:
    """Build a policy from a spec string (see the module docstring).

    Raises:
        InputError: the spec names no known policy.
    """
    name, _, arg = spec.partition(":")
    match name:
        case "map":
            from agent.policies.rule import MapPolicy

            return MapPolicy(**kwargs)
        case "openai":
            from agent.policies.openai_compat import OpenAIPolicy

            if arg:
                kwargs["model"] = arg
            return OpenAIPolicy(**kwargs)
        case "hf":
            from agent.policies.transformers_local import TransformersPolicy

            if not arg and not kwargs.get("model"):
                raise InputError("the hf policy needs a model: --policy hf:<local path or hub id>")
            if arg:
                kwargs["model"] = arg
            return TransformersPolicy(**kwargs)
        case "oracle-box" | "random-box":
            from agent.policies.baselines import OracleBoxPolicy, RandomBoxPolicy

            return OracleBoxPolicy(**kwargs) if name == "oracle-box" else RandomBoxPolicy(**kwargs)
        case _:
            raise InputError(f"unknown policy {spec!r}; choose one of: {', '.join(POLICY_SPECS)}")
