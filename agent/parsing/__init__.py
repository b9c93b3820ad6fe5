"""Read a policy's answer text into boxes and points, or a counted failure (`parse_answer`); never raises on it.

Modules, bottom up: `codes` (the `Failure` and `Repair` vocabularies), `lenient_json` (JSON as small models write
it), `items` (JSON values to boxes, points and labels), `tags` (finding the think and answer text), `answer` (the
public API, and how an answer is read step by step), `reference` (the SocioReasoner reference's own reading, with no
repairs: ``--protocol socioreasoner --strict-parse``).
"""

from agent.parsing.answer import ParsedAnswer, format_answer, parse_answer
from agent.parsing.codes import Failure, Repair
from agent.parsing.items import ParsedItem
from agent.parsing.reference import parse_reference, reference_answer_text

__all__ = [
    "Failure",
    "ParsedAnswer",
    "ParsedItem",
    "Repair",
    "format_answer",
    "parse_answer",
    "parse_reference",
    "reference_answer_text",
]
