"""The run context: the backends and limits of one run, passed to the graph as ``context=``.

It holds live objects (the policy, the segmenter, the scene store), so it is never checkpointed; a run
resumed from a checkpoint is given a context again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.parsing.answer import MAX_ITEMS
from agent.policies import Policy
from agent.protocol import DEFAULT_PROTOCOL, MAX_REFINE_ROUNDS, ProtocolName, ProtocolProfile, profile
from tools.errors import InputError
from tools.scene_store import SceneStore
from tools.segmenters import Segmenter

__all__ = ["MAX_REFINE_ROUNDS", "RunContext"]


@dataclass(kw_only=True)
class RunContext:
    """Backends and limits for a run.

    Attributes:
        policy: answers localize and refine.
        segmenter: turns prompts into masks.
        store: holds the scene's pixels, masks and rendered images.
        max_rounds: refine rounds after localize (0 = stage 1 only; default 1, as in the reference).
        policy_spec: the spec string the policy was built from (for results and traces).
        segmenter_spec: the spec string the segmenter was built from.
        protocol: ``socioagent`` or ``socioreasoner`` (`agent.protocol`): how answers are read, what a failed
            refine gives, how the feedback is drawn. The policy and segmenter must have been built for it
            (`agent.backends.BackendConfig.build` does that).
        strict_parse: no repairs: an answer that needs one is a format failure (`agent.protocol.ProtocolProfile.read`).
        max_instances: at most this many instances are read from one answer (``--max-instances``).
    """

    policy: Policy
    segmenter: Segmenter
    store: SceneStore = field(default_factory=SceneStore)
    max_rounds: int = 1
    policy_spec: str = ""
    segmenter_spec: str = ""
    protocol: ProtocolName = DEFAULT_PROTOCOL
    strict_parse: bool = False
    max_instances: int = MAX_ITEMS

    def __post_init__(self) -> None:
        limit = self.profile.max_refine
        if not 0 <= self.max_rounds <= limit:
            raise InputError(
                f"refine rounds must be between 0 and {limit} under the {self.protocol} protocol, got {self.max_rounds}"
            )
        built_for = getattr(self.policy, "protocol", self.protocol)
        if built_for != self.protocol:
            raise InputError(
                f"the policy was built for the {built_for} protocol but the run follows {self.protocol}; "
                "build both from one BackendConfig (agent.backends) or pass the same protocol to each"
            )

    @property
    def profile(self) -> ProtocolProfile:
        """The protocol's settings."""
        return profile(self.protocol)
