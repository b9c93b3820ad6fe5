"""Turn a policy's answer text into typed boxes and points, or a counted failure. Never raises on model text.

A well-behaved policy answers in the reference format, in its own coordinate frame::

    <think>...</think><answer>[{"bbox_2d": [x1, y1, x2, y2]}, ...]</answer>                        (localize)
    <think>...</think><answer>[{"bbox_2d": [x1, y1, x2, y2], "points": [[x, y], ...]}]</answer>  (refine)

`format_answer` writes exactly that, and `parse_answer` reads it back. The reference parses with strict
``json.loads`` and turns any error into an empty mask; by default `parse_answer` instead tolerates the
malformations small VLMs commonly emit, and says which ones it fixed (``ParsedAnswer.repairs``, `Repair` codes)
or why the answer cannot be used (``ParsedAnswer.failure``, a `Failure` code). With ``strict=True`` every
answer that needed a repair fails (`Failure.NEEDS_REPAIR`, the repairs still listed).

How an answer is read:

1. Chat special tokens (``<|im_end|>``) are dropped. The reasoning is the text inside ``<think>...</think>``.
2. The answer is the content of the last (``answer_block="first"``: the first) complete ``<answer>...</answer>``
   pair; failing that, the text after a lone ``<answer>`` or before a lone ``</answer>``; failing that (no
   answer tags at all), the last JSON list or object in the text that holds a box key (``bbox_2d`` and friends).
3. Code fences are stripped, and the JSON is read strictly or, if that fails, by the lenient reader
   (`agent.parsing.lenient_json`).
4. A single object, a bare sequence of objects, a list wrapped in an object or a JSON string holding the list
   becomes a list of items. ``[]`` is a valid answer: nothing was found.
5. Each item becomes a box and its points (`agent.parsing.items`); the box is clipped to ``extent`` when one
   is given, and a box with no area left is dropped (``as_written=True``: the reference's reading, where every
   point is positive and points outside their box and zero-area boxes are kept).
6. The answer fails only when nothing usable is left of a non-empty answer; then ``failure`` is the first
   dropped item's reason.

`parse_answer` raises only for a bad ``extent`` or ``answer_block`` argument (a programming error, never the
model's).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, get_args

from agent.parsing.codes import Failure, Repair, RepairLog
from agent.parsing.items import ParsedItem, Stage, as_item_list, read_item
from agent.parsing.lenient_json import LenientJSONError, loads
from agent.parsing.tags import (
    AnswerBlock,
    answer_text,
    find_boxlike,
    find_tags,
    remove_tags,
    split_think,
    strip_fences,
    strip_special_tokens,
)
from tools.errors import InputError

log = logging.getLogger(__name__)

MAX_ITEMS = 1000
"""Default cap on the items of one answer (``--max-instances``): a degenerate model can repeat itself until the
token limit, while a 768-px city tile seldom holds more than a few hundred places of one kind. Hitting it is
recorded (`Repair.TOO_MANY_ITEMS`) and the command line warns, naming the flag."""


@dataclass
class ParsedAnswer:
    """The parse of one answer.

    Attributes:
        items: the instances found (may be empty: "nothing here" is a valid answer).
        think: the reasoning text, if any.
        failure: None when the answer was usable (perhaps after repairs); else why it was not.
        repairs: the malformations that were tolerated and fixed, each code once, in the order met.
        item_failures: why each dropped item was dropped, in answer order.
        dropped_points: how many points were dropped (malformed, non-finite or outside their box).
    """

    items: list[ParsedItem] = field(default_factory=list)
    think: str | None = None
    failure: Failure | None = None
    repairs: list[Repair] = field(default_factory=list)
    item_failures: list[Failure] = field(default_factory=list)
    dropped_points: int = 0

    @property
    def ok(self) -> bool:
        """True when the answer could be used."""
        return self.failure is None


def parse_answer(
    text: str,
    stage: Stage = "localize",
    extent: tuple[float, float] | None = None,
    *,
    strict: bool = False,
    answer_block: AnswerBlock = "last",
    as_written: bool = False,
    max_items: int = MAX_ITEMS,
) -> ParsedAnswer:
    """Parse a policy's answer into items, tolerating and recording common malformations.

    Args:
        text: the raw answer text (untrusted; any string).
        stage: ``"localize"`` (boxes) or ``"refine"`` (boxes and points; an item without points is noted).
        extent: ``(width, height)`` of the policy's frame; boxes are clipped to it and boxes outside it dropped.
            None: no clipping.
        strict: fail every answer that needed a repair (`Failure.NEEDS_REPAIR`, or `Failure.BAD_JSON` for JSON
            that ``json.loads`` rejects though no named repair covers it); the reference's parse.
        answer_block: which complete ``<answer>`` block to read when there are several: ``"last"`` (ours) or
            ``"first"`` (the reference's).
        as_written: read items as the SocioReasoner reference hands them to SAM: every point is positive (a
            third value is ignored, separate label lists too), points outside their box are kept, and a box of
            zero width or height is kept. Use it with ``extent=None`` (no clipping) for the reference's reading.
        max_items: keep at most this many items (``--max-instances``); more is noted as `Repair.TOO_MANY_ITEMS`.

    Returns:
        The parse. ``failure`` is None when the answer is usable; an empty ``items`` list is then a valid
        "nothing here".

    Raises:
        InputError: ``extent`` is not two positive finite numbers, or ``answer_block`` is neither ``"last"``
            nor ``"first"`` (never raised because of ``text``).
    """
    if extent is not None:
        try:
            w, h = (float(v) for v in extent)
        except (TypeError, ValueError) as e:
            raise InputError(f"extent must be (width, height), got {extent!r}") from e
        if not (math.isfinite(w) and math.isfinite(h) and w > 0 and h > 0):
            raise InputError(f"extent must be two positive finite numbers (width, height), got {extent!r}")
        extent = (w, h)
    if answer_block not in get_args(AnswerBlock):
        raise InputError(f"answer_block must be 'last' or 'first', got {answer_block!r}")
    try:
        parsed, standard = _parse(text, stage, extent, answer_block, as_written, max_items)
    except Exception:  # a bug here must not crash the agent; the tests fuzz for it
        log.exception("parse_answer failed on %.200r", text)
        return ParsedAnswer(failure=Failure.PARSER_ERROR)
    if strict and parsed.ok and (parsed.repairs or not standard):
        return ParsedAnswer(
            think=parsed.think,
            failure=Failure.NEEDS_REPAIR if parsed.repairs else Failure.BAD_JSON,
            repairs=parsed.repairs,
            item_failures=parsed.item_failures,
            dropped_points=parsed.dropped_points,
        )
    return parsed


def _parse(
    text: Any,
    stage: Stage,
    extent: tuple[float, float] | None,
    answer_block: AnswerBlock,
    as_written: bool,
    max_items: int = MAX_ITEMS,
) -> tuple[ParsedAnswer, bool]:
    """Return the lenient parse and whether the answer's JSON was standard JSON."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    notes = RepairLog()
    text = strip_special_tokens(text)
    tags = find_tags(text)
    think, after_think = split_think(text, tags, notes)
    raw = answer_text(text, tags, after_think, notes, answer_block)

    def fail(code: Failure) -> tuple[ParsedAnswer, bool]:
        return ParsedAnswer(think=think, failure=code, repairs=notes.codes), False

    if raw is not None:
        body = strip_fences(raw, notes).strip()
        if not body:
            return fail(Failure.NO_ANSWER)
        if body[0] not in "[{(\"'":
            found = find_boxlike(body)
            if found:
                _, _, value, codes = found[-1]
                notes.extend(codes)
                notes.add(Repair.EXTRA_TEXT)
                return _finish(value, think, stage, extent, notes, as_written, max_items), False
        try:
            reading = loads(body)
        except LenientJSONError as e:
            notes.extend(e.repairs)
            return fail(Failure.BAD_JSON)
        except RecursionError:
            return fail(Failure.BAD_JSON)
        notes.extend(reading.repairs)
        return _finish(reading.value, think, stage, extent, notes, as_written, max_items), reading.standard
    # No answer tags: look for the JSON after the reasoning.
    rest = remove_tags(text[after_think:], " ")
    body = strip_fences(rest, RepairLog()).strip()
    if body[:1] in ("[", "{"):
        try:
            reading = loads(body)
        except LenientJSONError as e:
            notes.extend(e.repairs)
            return fail(Failure.NO_ANSWER)
        except RecursionError:
            return fail(Failure.NO_ANSWER)
        notes.extend(reading.repairs)
        if "```" in rest:
            notes.add(Repair.CODE_FENCE)
        notes.add(Repair.MISSING_ANSWER_TAGS)
        return _finish(reading.value, think, stage, extent, notes, as_written, max_items), False
    found = find_boxlike(rest)
    if not found:
        return fail(Failure.NO_ANSWER)
    start, end, value, codes = found[-1]
    notes.add(Repair.MISSING_ANSWER_TAGS)
    notes.extend(codes)
    if rest[:start].strip() or rest[end:].strip():
        notes.add(Repair.EXTRA_TEXT)
    return _finish(value, think, stage, extent, notes, as_written, max_items), False


def _finish(
    value: Any,
    think: str | None,
    stage: Stage,
    extent: tuple[float, float] | None,
    notes: RepairLog,
    as_written: bool = False,
    max_items: int = MAX_ITEMS,
) -> ParsedAnswer:
    raw_items = as_item_list(value, notes)
    if raw_items is None:
        return ParsedAnswer(think=think, failure=Failure.NO_BOX, repairs=notes.codes)
    if len(raw_items) > max_items:
        notes.add(Repair.TOO_MANY_ITEMS)
        raw_items = raw_items[:max_items]
    items: list[ParsedItem] = []
    failures: list[Failure] = []
    dropped_points = 0
    for raw in raw_items:
        item, failure, dropped = read_item(raw, stage, extent, notes, as_written)
        dropped_points += dropped
        if item is None:
            failures.append(failure or Failure.NO_BOX)
        else:
            items.append(item)
    if dropped_points:
        notes.add(Repair.DROPPED_POINTS)
    if failures and items:
        notes.add(Repair.DROPPED_ITEMS)
    return ParsedAnswer(
        items=items,
        think=think,
        failure=failures[0] if failures and not items else None,
        repairs=notes.codes,
        item_failures=failures,
        dropped_points=dropped_points,
    )


def _num(v: float) -> int | float:
    """Return v as an int when it is integral (so answers read like a model's), else unchanged."""
    if not math.isfinite(v):
        raise InputError(f"cannot format a non-finite coordinate {v!r}")
    if float(v).is_integer() and abs(v) < 2**53:
        return int(v)
    return float(v)


def format_answer(items: Sequence[ParsedItem], think: str | None = None) -> str:
    """Write items as a well-behaved policy answers: ``<think>...</think><answer>[...]</answer>``.

    Points with label 1 are written ``[x, y]`` (the reference format); an item with any background point writes
    all its points as ``[x, y, label]``. Items without points get no ``points`` key.

    Args:
        items: the instances, in the policy's frame.
        think: the reasoning; None writes no ``<think>`` block. Tags inside it are removed.

    Returns:
        The answer text; `parse_answer` reads it back to the same items.

    Raises:
        InputError: a coordinate is not finite.
    """
    out: list[dict[str, Any]] = []
    for it in items:
        obj: dict[str, Any] = {"bbox_2d": [_num(v) for v in it.box]}
        if it.points:
            labels = it.labels or [1] * len(it.points)
            if all(lab == 1 for lab in labels):
                obj["points"] = [[_num(x), _num(y)] for x, y in it.points]
            else:
                obj["points"] = [[_num(x), _num(y), int(lab)] for (x, y), lab in zip(it.points, labels, strict=True)]
        out.append(obj)
    answer = f"<answer>{json.dumps(out)}</answer>"
    if think is None:
        return answer
    return f"<think>{remove_tags(strip_special_tokens(think))}</think>{answer}"
