"""Read an answer exactly as the SocioReasoner reference turns it into SAM prompts: no repairs at all.

This is ``--protocol socioreasoner --strict-parse``. The reference (AMAP-ML/SocioReasoner, its seg worker)
reads both stages the same way, and so does `parse_reference`:

1. the answer is the text of the *first* ``<answer>...</answer>`` (exact lower-case tags, shortest match, across
   lines), stripped of surrounding whitespace; no such block: no prompts (`Failure.NO_ANSWER`);
2. that text must be standard JSON (Python's ``json.loads``, which also takes ``NaN`` and ``Infinity``);
   anything else: no prompts (`Failure.BAD_JSON`); JSON that is not a list: no prompts (`Failure.NO_BOX`);
3. each list element that is an object with a 4-element list under ``bbox_2d`` is one prompt; any other element
   is skipped (not a failure of the answer); the box is used as written (not clipped, a zero-area box kept);
4. its ``points`` (when present) are read as ``[p[0], p[1]]`` for every element ``p``, all positive (a third
   value is ignored); a ``points`` value that cannot be read that way skips the whole element, as the reference's
   exception handler does (`Failure.BAD_POINTS`); points outside the box are kept;
5. an element whose box or points hold anything but finite numbers is skipped too (SAM cannot take it: the
   reference's call raises and is skipped).

The answer fails only when a non-empty list leaves no prompt (its ``failure`` is then the first element's
reason); ``[]`` is a valid "nothing here". The reasoning (``think``) is read for the trace but not required:
the reference's prompt parser does not look at it (its training reward does).

One departure, forced by our box type (x1 <= x2, y1 <= y2): a box written with its corners swapped is put in
order (`Repair.SWAPPED_CORNERS` is noted), where the reference hands SAM the swapped corners.

`reference_answer_text` is the same step 1 alone: the text the reference inserts into the stage-2 prompt.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from agent.parsing.answer import ParsedAnswer
from agent.parsing.codes import Failure, Repair, RepairLog
from agent.parsing.items import ParsedItem, Stage
from agent.parsing.tags import find_tags, split_think

_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)


def reference_answer_text(text: str) -> str:
    """Return the stripped text of the first ``<answer>...</answer>`` block, or ``""`` when there is none.

    >>> reference_answer_text('<think>a</think><answer> [{"bbox_2d": [1, 2, 3, 4]}] </answer><answer>[]</answer>')
    '[{"bbox_2d": [1, 2, 3, 4]}]'
    >>> reference_answer_text("no tags")
    ''
    """
    m = _ANSWER.search(text if isinstance(text, str) else "")
    return m.group(1).strip() if m else ""


def parse_reference(text: str, stage: Stage = "localize") -> ParsedAnswer:
    """Read an answer as the reference's SAM-prompt parser does (see the module docstring); never raises.

    Args:
        text: the raw answer text (untrusted; any string).
        stage: ``localize`` or ``refine``; both are read the same way (as the reference reads them).

    Returns:
        The parse: ``items`` in the policy's frame, every point labelled 1.
    """
    del stage  # the reference reads both stages with one parser
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    notes = RepairLog()
    think, _ = split_think(text, find_tags(text), RepairLog())
    m = _ANSWER.search(text)
    if m is None:
        return ParsedAnswer(think=think, failure=Failure.NO_ANSWER)
    try:
        data = json.loads(m.group(1).strip())
    except (ValueError, RecursionError):
        return ParsedAnswer(think=think, failure=Failure.BAD_JSON)
    if not isinstance(data, list):
        return ParsedAnswer(think=think, failure=Failure.NO_BOX)
    items: list[ParsedItem] = []
    failures: list[Failure] = []
    for obj in data:
        item, failure = _element(obj, notes)
        if item is None:
            failures.append(failure or Failure.NO_BOX)
        else:
            items.append(item)
    return ParsedAnswer(
        items=items,
        think=think,
        failure=failures[0] if failures and not items else None,
        repairs=notes.codes,
        item_failures=failures,
    )


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    try:
        f = float(v)
    except OverflowError:
        return None
    return f if math.isfinite(f) else None


def _element(obj: Any, notes: RepairLog) -> tuple[ParsedItem | None, Failure | None]:
    """Return one list element as an item, or why the reference would give SAM nothing for it."""
    if not isinstance(obj, dict):
        return None, Failure.NO_BOX
    box = obj.get("bbox_2d", [])
    try:
        points = [(p[0], p[1]) for p in obj.get("points", [])]
    except Exception:  # the reference's per-element handler: the element is skipped
        return None, Failure.BAD_POINTS
    if not isinstance(box, list) or len(box) != 4:
        return None, Failure.NO_BOX
    nums = [_number(v) for v in box]
    if any(v is None for v in nums):
        return None, Failure.NON_FINITE if all(_is_numberish(v) for v in box) else Failure.NO_BOX
    coords = [(_number(x), _number(y)) for x, y in points]
    if any(x is None or y is None for x, y in coords):
        return None, Failure.BAD_POINTS
    x1, y1, x2, y2 = (float(v) for v in nums if v is not None)
    if x1 > x2 or y1 > y2:
        notes.add(Repair.SWAPPED_CORNERS)
        x1, x2, y1, y2 = min(x1, x2), max(x1, x2), min(y1, y2), max(y1, y2)
    pts = [(float(x), float(y)) for x, y in coords if x is not None and y is not None]
    return ParsedItem(box=(x1, y1, x2, y2), points=pts, labels=[1] * len(pts)), None


def _is_numberish(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)
