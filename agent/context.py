"""The run context: the backends and limits of one run, passed to the graph as ``context=``.

It holds live objects (the policy, the segmenter, the scene store), so it is never checkpointed; a run
resumed from a checkpoint is given a context again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.policies import Policy
from tools.errors import InputError
from tools.scene_store import SceneStore
from tools.segmenters import Segmenter

MAX_REFINE_ROUNDS = 8


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
    """

    policy: Policy
    segmenter: Segmenter
    store: SceneStore = field(default_factory=SceneStore)
    max_rounds: int = 1
    policy_spec: str = ""
    segmenter_spec: str = ""

    def __post_init__(self) -> None:
        if not 0 <= self.max_rounds <= MAX_REFINE_ROUNDS:
            raise InputError(f"refine rounds must be between 0 and {MAX_REFINE_ROUNDS}, got {self.max_rounds}")
