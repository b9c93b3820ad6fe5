"""Turn a policy's answer text into typed boxes and points, or a counted failure. Never raises on model text.

(Interface fixed; the implementation is being written.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass
class ParsedItem:
    """One instance in an answer, in the policy's own frame: an ordered box and its points."""

    box: tuple[float, float, float, float]
    points: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class ParsedAnswer:
    """The parse of one answer.

    Attributes:
        items: the instances found (may be empty: "nothing here" is a valid answer).
        think: the reasoning text, if any.
        failure: None when the answer was usable (perhaps after repairs); else why it was not.
        repairs: the malformations that were tolerated and fixed.
    """

    items: list[ParsedItem] = field(default_factory=list)
    think: str | None = None
    failure: str | None = None
    repairs: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the answer could be used."""
        return self.failure is None


def parse_answer(
    text: str, stage: Literal["localize", "refine"] = "localize", extent: tuple[float, float] | None = None
) -> ParsedAnswer:
    """Parse an answer; see the module docstring."""
    raise NotImplementedError
