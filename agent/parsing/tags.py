"""Find the reasoning and the answer in a policy's text: think/answer tags, code fences, JSON in prose.

The reasoning is the text inside ``<think>...</think>``. The answer is the content of a complete
``<answer>...</answer>`` pair (the last one, or the first when asked); failing that, the text after a lone
``<answer>`` or before a lone ``</answer>``. Every departure from the reference format is noted as a `Repair`.
"""

from __future__ import annotations

import itertools
import re
from typing import Any, Literal

from agent.parsing.codes import Repair, RepairLog
from agent.parsing.items import BOX_KEYS, POINT_KEYS
from agent.parsing.lenient_json import LenientJSONError, read_value

AnswerBlock = Literal["last", "first"]
"""Which complete ``<answer>`` block to read when there are several."""

_SPECIAL_TOKEN = re.compile(r"<\|[^<>|\s]{1,40}\|>")
_TAG = re.compile(r"<\s*(/?)\s*(think|answer)\s*>", re.IGNORECASE)
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n?(.*?)```", re.DOTALL)
_FENCE_OPEN = re.compile(r"```[ \t]*[A-Za-z0-9_+-]*[ \t]*\n?")
_BOXLIKE_OBJECT = re.compile(
    r"""\{\s*["'“‘]?\s*(?:""" + "|".join(sorted({*BOX_KEYS, *POINT_KEYS}, key=len, reverse=True)) + r")",
    re.IGNORECASE,
)


def strip_special_tokens(text: str) -> str:
    """Remove chat special tokens such as ``<|im_end|>``."""
    return _SPECIAL_TOKEN.sub("", text)


def find_tags(text: str) -> list[re.Match[str]]:
    """Return every think/answer tag in text (group 1 is ``/`` for a closing tag, group 2 the tag name)."""
    return list(_TAG.finditer(text))


def remove_tags(text: str, replacement: str = "") -> str:
    """Replace every think/answer tag in text."""
    return _TAG.sub(replacement, text)


def split_think(text: str, tags: list[re.Match[str]], log: RepairLog) -> tuple[str | None, int]:
    """Return the reasoning text (None when there is none) and where the text after the reasoning starts."""
    opens = [m for m in tags if m.group(2).lower() == "think" and not m.group(1)]
    closes = [m for m in tags if m.group(2).lower() == "think" and m.group(1)]
    if opens:
        first = opens[0]
        close = next((c for c in closes if c.start() >= first.end()), None)
        if close is not None:
            return text[first.end() : close.start()].strip(), close.end()
        log.add(Repair.PARTIAL_THINK)
        answer = next((m for m in tags if m.group(2).lower() == "answer" and m.start() >= first.end()), None)
        end = answer.start() if answer is not None else len(text)
        return text[first.end() : end].strip(), first.end()
    if closes:
        log.add(Repair.PARTIAL_THINK)
        return text[: closes[0].start()].strip(), closes[-1].end()
    log.add(Repair.MISSING_THINK)
    return None, 0


def answer_text(
    text: str, tags: list[re.Match[str]], after_think: int, log: RepairLog, answer_block: AnswerBlock = "last"
) -> str | None:
    """Return the text between the answer tags, or None when there are no answer tags.

    Args:
        text: the policy's text.
        tags: its tags (`find_tags`).
        after_think: where the text after the reasoning starts (`split_think`).
        log: where the repairs go.
        answer_block: which complete ``<answer>`` block to read when there are several, and which lone
            ``<answer>`` to read from when none is complete.
    """
    answer_tags = [m for m in tags if m.group(2).lower() == "answer"]
    opens = [m for m in answer_tags if not m.group(1)]
    closes = [m for m in answer_tags if m.group(1)]
    if len(opens) > 1 or len(closes) > 1:
        log.add(Repair.MULTIPLE_ANSWERS)
    pairs = [(a, b) for a, b in itertools.pairwise(answer_tags) if not a.group(1) and b.group(1)]
    if pairs:
        a, b = pairs[-1] if answer_block == "last" else pairs[0]
        return text[a.end() : b.start()]
    if opens:
        log.add(Repair.MISSING_ANSWER_CLOSE)
        if answer_block == "last":
            return text[opens[-1].end() :]
        end = opens[1].start() if len(opens) > 1 else len(text)
        return text[opens[0].end() : end]
    if closes:
        log.add(Repair.MISSING_ANSWER_OPEN)
        start = after_think if after_think <= closes[0].start() else 0
        return text[start : closes[0].start()]
    return None


def strip_fences(s: str, log: RepairLog) -> str:
    """Return the content of the last Markdown code fence in s (s itself when it has none)."""
    fenced = _FENCE.findall(s)
    if fenced:
        log.add(Repair.CODE_FENCE)
        return fenced[-1][1]
    if "```" in s:
        log.add(Repair.CODE_FENCE)
        s = _FENCE_OPEN.sub("", s, count=1)
        return s.replace("```", "")
    return s


def find_boxlike(s: str) -> list[tuple[int, int, Any, list[Repair]]]:
    """Return the top-level JSON structures in free text that hold a box or points key.

    Returns:
        ``(start, end, value, repairs)`` per structure, in text order.
    """
    found: list[tuple[int, int, Any, list[Repair]]] = []
    end = 0
    for m in _BOXLIKE_OBJECT.finditer(s):
        start = m.start()
        if start < end:
            continue
        # Widen to the enclosing list when the object is its first element.
        j = start - 1
        while j >= 0 and s[j].isspace():
            j -= 1
        if j >= 0 and s[j] in "[(" and j >= end:
            start = j
        try:
            value, stop, repairs = read_value(s, start)
        except LenientJSONError:
            continue
        end = max(stop, start + 1)
        found.append((start, end, value, repairs))
    return found
