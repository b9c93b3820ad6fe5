"""Turn a policy's answer text into typed boxes and points, or a counted failure. Never raises on model text.

A well-behaved policy answers in the reference format, in its own coordinate frame::

    <think>...</think><answer>[{"bbox_2d": [x1, y1, x2, y2]}, ...]</answer>                        (localize)
    <think>...</think><answer>[{"bbox_2d": [x1, y1, x2, y2], "points": [[x, y], ...]}]</answer>  (refine)

`format_answer` writes exactly that, and `parse_answer` reads it back. The reference parses with strict
``json.loads`` and turns any error into an empty mask; `parse_answer` instead tolerates the malformations small
VLMs commonly emit, and says which ones it fixed (``ParsedAnswer.repairs``, codes from `REPAIRS`) or why the
answer cannot be used (``ParsedAnswer.failure``, a code from `FAILURES`). Both vocabularies are small and fixed
so that they can be counted in metrics.

How an answer is read:

1. Chat special tokens (``<|im_end|>``) are dropped. The reasoning is the text inside ``<think>...</think>``.
2. The answer is the content of the last complete ``<answer>...</answer>`` pair; failing that, the text after a
   lone ``<answer>`` or before a lone ``</answer>``; failing that (no answer tags at all), the last JSON list or
   object in the text that holds a box key (``bbox_2d`` and friends).
3. Code fences are stripped, and the JSON is read strictly or, if that fails, by a lenient reader that accepts
   single or typographic quotes, Python literals (``True``, ``None``, tuples), trailing or missing commas,
   unquoted keys, mismatched or unclosed brackets (a truncated generation) and text around the JSON.
4. A single object, a bare sequence of objects, a list wrapped in an object or a JSON string holding the list
   becomes a list of items. ``[]`` is a valid answer: nothing was found.
5. Each item needs a box of 4 finite numbers (under ``bbox_2d``, or ``bbox``, ``box``, ...; numbers may be
   strings; ``[[x1, y1], [x2, y2]]`` and ``{"x1": ...}`` shapes are accepted). Corners are put in order, the
   box is clipped to ``extent`` when one is given, and a box with no area left is dropped. Points (under
   ``points``, ``point``, ``points_2d``, ...) are ``[x, y]`` or ``[x, y, label]`` (label 1 marks the target,
   0 the background); a malformed point or one outside its box is dropped and counted.
6. The answer fails only when nothing usable is left of a non-empty answer; then ``failure`` is the first
   dropped item's reason.

`parse_answer` raises only for a bad ``extent`` argument (a programming error, never the model's).
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from tools.errors import InputError

log = logging.getLogger(__name__)

# --- failure codes: why an answer (or an item of it) could not be used ----------------------------------------
NO_ANSWER = "no_answer"
"""No answer at all: empty text, empty answer tags, or no tags and no box-like JSON anywhere."""
BAD_JSON = "bad_json"
"""An answer was found but even the lenient reader could not make JSON of it."""
NO_BOX = "no_box"
"""The JSON holds no usable box: not a list of objects, no box key, or a box that is not 4 numbers."""
NON_FINITE = "non_finite"
"""A box coordinate is NaN or infinite."""
BOX_OUTSIDE = "box_outside"
"""The box lies entirely outside the image extent."""
EMPTY_BOX = "empty_box"
"""The box has zero width or height (after clipping)."""
PARSER_ERROR = "parser_error"
"""A bug in this module; logged, never expected (the tests fuzz for it)."""

FAILURES: frozenset[str] = frozenset({NO_ANSWER, BAD_JSON, NO_BOX, NON_FINITE, BOX_OUTSIDE, EMPTY_BOX, PARSER_ERROR})
"""Every value ``ParsedAnswer.failure`` and ``ParsedAnswer.item_failures`` can take."""

# --- repair codes: malformations that were tolerated ----------------------------------------------------------
MISSING_THINK = "missing_think"
"""No ``<think>`` block."""
PARTIAL_THINK = "partial_think"
"""Only one of ``<think>`` / ``</think>``."""
MISSING_ANSWER_OPEN = "missing_answer_open"
"""``</answer>`` without ``<answer>``."""
MISSING_ANSWER_CLOSE = "missing_answer_close"
"""``<answer>`` without ``</answer>``."""
MISSING_ANSWER_TAGS = "missing_answer_tags"
"""No answer tags; the JSON was found in the text."""
MULTIPLE_ANSWERS = "multiple_answers"
"""More than one answer tag; the last complete answer was used."""
CODE_FENCE = "code_fence"
"""The JSON sat in a Markdown code fence."""
EXTRA_TEXT = "extra_text"
"""Text before or after the JSON was ignored."""
SINGLE_QUOTES = "single_quotes"
"""Strings in single quotes."""
SMART_QUOTES = "smart_quotes"
"""Strings in typographic quotes."""
PYTHON_LITERALS = "python_literals"
"""``True``/``False``/``None``, ``NaN``/``Infinity`` or tuples."""
TRAILING_COMMA = "trailing_comma"
"""A comma before a closing bracket, or a doubled comma."""
MISSING_COMMA = "missing_comma"
"""Two values with no comma between them."""
UNQUOTED = "unquoted"
"""Keys or string values without quotes."""
MISMATCHED_BRACKETS = "mismatched_brackets"
"""A ``]`` where ``}`` belonged or the reverse."""
TRUNCATED = "truncated"
"""The JSON ended early (unclosed brackets or string); what was there was used."""
DOUBLE_ENCODED = "double_encoded"
"""The list came as a JSON string."""
SINGLE_OBJECT = "single_object"
"""One object instead of a list."""
BARE_SEQUENCE = "bare_sequence"
"""Comma-separated objects without the enclosing list."""
WRAPPED_LIST = "wrapped_list"
"""The list sat under a key of an object (``{"boxes": [...]}``)."""
BARE_BOX = "bare_box"
"""An item was 4 numbers rather than an object."""
ALT_KEY = "alt_key"
"""A box or points key other than ``bbox_2d`` / ``points`` (``bbox``, ``box``, ``point``, ``points_2d``, ...)."""
STRING_NUMBERS = "string_numbers"
"""Numbers given as strings."""
BOX_SHAPE = "box_shape"
"""A box as ``[[x1, y1], [x2, y2]]`` or ``{"x1": ...}``."""
SWAPPED_CORNERS = "swapped_corners"
"""x1 > x2 or y1 > y2; the corners were swapped."""
CLIPPED = "clipped"
"""A box reached outside the extent and was clipped to it."""
MISSING_POINTS = "missing_points"
"""A refine item without points (still used, box only)."""
POINT_SHAPE = "point_shape"
"""Points as one bare ``[x, y]``, a flat list or ``{"x": ..., "y": ...}`` objects."""
DROPPED_POINTS = "dropped_points"
"""Malformed points or points outside their box were dropped (counted in ``dropped_points``)."""
DROPPED_ITEMS = "dropped_items"
"""Unusable items were dropped (reasons in ``item_failures``)."""
TOO_MANY_ITEMS = "too_many_items"
"""More than `MAX_ITEMS` items; the rest were ignored."""

REPAIRS: frozenset[str] = frozenset(
    {
        MISSING_THINK,
        PARTIAL_THINK,
        MISSING_ANSWER_OPEN,
        MISSING_ANSWER_CLOSE,
        MISSING_ANSWER_TAGS,
        MULTIPLE_ANSWERS,
        CODE_FENCE,
        EXTRA_TEXT,
        SINGLE_QUOTES,
        SMART_QUOTES,
        PYTHON_LITERALS,
        TRAILING_COMMA,
        MISSING_COMMA,
        UNQUOTED,
        MISMATCHED_BRACKETS,
        TRUNCATED,
        DOUBLE_ENCODED,
        SINGLE_OBJECT,
        BARE_SEQUENCE,
        WRAPPED_LIST,
        BARE_BOX,
        ALT_KEY,
        STRING_NUMBERS,
        BOX_SHAPE,
        SWAPPED_CORNERS,
        CLIPPED,
        MISSING_POINTS,
        POINT_SHAPE,
        DROPPED_POINTS,
        DROPPED_ITEMS,
        TOO_MANY_ITEMS,
    }
)
"""Every value ``ParsedAnswer.repairs`` can hold."""

MAX_ITEMS = 100
"""Items beyond this many are ignored (a degenerate model can repeat itself until the token limit)."""
MAX_DEPTH = 32
"""Deeper JSON nesting than this is not an answer; the lenient reader gives up."""

BOX_KEYS = ("bbox_2d", "bbox", "box", "bbox2d", "box_2d", "bounding_box", "boundingbox", "bndbox")
"""Keys read as the box, in order of preference (case-insensitive); the first is the reference key."""
POINT_KEYS = ("points", "point", "points_2d", "point_2d", "points2d", "keypoints", "point_coords")
"""Keys read as the points, in order of preference (case-insensitive); the first is the reference key."""
LABEL_KEYS = ("labels", "point_labels", "label")
"""Keys read as separate point labels (a list as long as the points)."""


@dataclass
class ParsedItem:
    """One instance in an answer, in the policy's own frame: an ordered box and its points.

    Attributes:
        box: ``(x1, y1, x2, y2)`` with x1 < x2 and y1 < y2.
        points: ``(x, y)`` prompt points, each inside the box.
        labels: one label per point: 1 marks the target (the default), 0 the background.
    """

    box: tuple[float, float, float, float]
    points: list[tuple[float, float]] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.labels and self.points:
            self.labels = [1] * len(self.points)
        if len(self.labels) != len(self.points):
            raise ValueError(f"ParsedItem has {len(self.points)} points but {len(self.labels)} labels")


@dataclass
class ParsedAnswer:
    """The parse of one answer.

    Attributes:
        items: the instances found (may be empty: "nothing here" is a valid answer).
        think: the reasoning text, if any.
        failure: None when the answer was usable (perhaps after repairs); else why it was not (see `FAILURES`).
        repairs: the malformations that were tolerated and fixed, each code once, in the order met (see `REPAIRS`).
        item_failures: why each dropped item was dropped (codes from `FAILURES`), in answer order.
        dropped_points: how many points were dropped (malformed, non-finite or outside their box).
    """

    items: list[ParsedItem] = field(default_factory=list)
    think: str | None = None
    failure: str | None = None
    repairs: list[str] = field(default_factory=list)
    item_failures: list[str] = field(default_factory=list)
    dropped_points: int = 0

    @property
    def ok(self) -> bool:
        """True when the answer could be used."""
        return self.failure is None


class _Notes:
    """An ordered set of repair codes."""

    def __init__(self) -> None:
        self.codes: list[str] = []

    def add(self, code: str) -> None:
        if code not in self.codes:
            self.codes.append(code)


# --------------------------------------------------------------------------------------------------------------
# Locating the think and answer text


_SPECIAL_TOKEN = re.compile(r"<\|[^<>|\s]{1,40}\|>")
_TAG = re.compile(r"<\s*(/?)\s*(think|answer)\s*>", re.IGNORECASE)
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n?(.*?)```", re.DOTALL)
_FENCE_OPEN = re.compile(r"```[ \t]*[A-Za-z0-9_+-]*[ \t]*\n?")
_BOXLIKE_OBJECT = re.compile(
    r"""\{\s*["'“‘]?\s*(?:""" + "|".join(sorted({*BOX_KEYS, *POINT_KEYS}, key=len, reverse=True)) + r")",
    re.IGNORECASE,
)


def _split_think(text: str, tags: list[re.Match[str]], notes: _Notes) -> tuple[str | None, int]:
    """Return the reasoning text and where the text after the reasoning starts."""
    opens = [m for m in tags if m.group(2).lower() == "think" and not m.group(1)]
    closes = [m for m in tags if m.group(2).lower() == "think" and m.group(1)]
    if opens:
        first = opens[0]
        close = next((c for c in closes if c.start() >= first.end()), None)
        if close is not None:
            return text[first.end() : close.start()].strip(), close.end()
        notes.add(PARTIAL_THINK)
        answer = next((m for m in tags if m.group(2).lower() == "answer" and m.start() >= first.end()), None)
        end = answer.start() if answer is not None else len(text)
        return text[first.end() : end].strip(), first.end()
    if closes:
        notes.add(PARTIAL_THINK)
        return text[: closes[0].start()].strip(), closes[-1].end()
    notes.add(MISSING_THINK)
    return None, 0


def _answer_text(text: str, tags: list[re.Match[str]], after_think: int, notes: _Notes) -> str | None:
    """Return the text between the answer tags, or None when there are no answer tags."""
    answer_tags = [m for m in tags if m.group(2).lower() == "answer"]
    opens = [m for m in answer_tags if not m.group(1)]
    closes = [m for m in answer_tags if m.group(1)]
    if len(opens) > 1 or len(closes) > 1:
        notes.add(MULTIPLE_ANSWERS)
    pairs = [(a, b) for a, b in itertools.pairwise(answer_tags) if not a.group(1) and b.group(1)]
    if pairs:
        a, b = pairs[-1]
        return text[a.end() : b.start()]
    if opens:
        notes.add(MISSING_ANSWER_CLOSE)
        return text[opens[-1].end() :]
    if closes:
        notes.add(MISSING_ANSWER_OPEN)
        start = after_think if after_think <= closes[0].start() else 0
        return text[start : closes[0].start()]
    return None


def _strip_fences(s: str, notes: _Notes) -> str:
    fenced = _FENCE.findall(s)
    if fenced:
        notes.add(CODE_FENCE)
        return fenced[-1][1]
    if "```" in s:
        notes.add(CODE_FENCE)
        s = _FENCE_OPEN.sub("", s, count=1)
        return s.replace("```", "")
    return s


def _find_boxlike(s: str) -> list[tuple[int, int, Any, list[str]]]:
    """Return the top-level JSON structures in free text that hold a box or points key: (start, end, value, notes)."""
    found: list[tuple[int, int, Any, list[str]]] = []
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
        reader = _Lenient(s, start)
        try:
            value = reader.value(0)
        except _LenientError:
            continue
        end = max(reader.i, start + 1)
        found.append((start, end, value, reader.notes.codes))
    return found


# --------------------------------------------------------------------------------------------------------------
# A lenient JSON reader


class _LenientError(Exception):
    """The text cannot be read as JSON, even leniently."""


_QUOTES = {'"': '"', "'": "'", "“": "”", "”": "”", "‘": "’", "’": "’", "„": "“"}
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_\-.]*")
_SIGNED_WORD = re.compile(r"[+-]?(?:infinity|inf|nan)\b", re.IGNORECASE)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "/": "/", "\\": "\\", '"': '"', "'": "'"}
_LITERALS: dict[str, tuple[Any, str | None]] = {
    "true": (True, None),
    "false": (False, None),
    "null": (None, None),
    "True": (True, PYTHON_LITERALS),
    "False": (False, PYTHON_LITERALS),
    "None": (None, PYTHON_LITERALS),
}


class _Lenient:
    """A recursive-descent reader for JSON as small models write it; records what it had to forgive."""

    def __init__(self, s: str, start: int = 0) -> None:
        self.s = s
        self.i = start
        self.n = len(s)
        self.notes = _Notes()

    def ws(self) -> None:
        while self.i < self.n and self.s[self.i].isspace():
            self.i += 1

    def peek(self) -> str:
        return self.s[self.i] if self.i < self.n else ""

    def starts_value(self, c: str) -> bool:
        return c in "{[(" or c in _QUOTES or c in "-+.0123456789" or c.isalpha() or c == "_"

    def value(self, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise _LenientError("too deep")
        self.ws()
        c = self.peek()
        if not c:
            self.notes.add(TRUNCATED)
            return None
        if c == "{":
            return self.obj(depth)
        if c in "[(":
            return self.arr(depth)
        if c in _QUOTES:
            return self.string()
        if c in "-+.0123456789":
            return self.number()
        if c.isalpha() or c == "_":
            return self.word()
        raise _LenientError(f"unexpected {c!r}")

    def obj(self, depth: int) -> dict[str, Any]:
        self.i += 1
        out: dict[str, Any] = {}
        after_comma = False
        while True:
            self.ws()
            c = self.peek()
            if not c:
                self.notes.add(TRUNCATED)
                return out
            if c == "}":
                if after_comma:
                    self.notes.add(TRAILING_COMMA)
                self.i += 1
                return out
            if c in "])":
                self.notes.add(MISMATCHED_BRACKETS)
                return out
            if c == ",":
                self.notes.add(TRAILING_COMMA)
                self.i += 1
                after_comma = True
                continue
            if out and not after_comma:
                self.notes.add(MISSING_COMMA)
            if c in _QUOTES:
                key = self.string()
            else:
                m = _WORD.match(self.s, self.i)
                if m is None:
                    raise _LenientError(f"bad key at {self.i}")
                self.notes.add(UNQUOTED)
                key = m.group(0)
                self.i = m.end()
            self.ws()
            c = self.peek()
            if c in ":=":
                self.i += 1
            elif not c:
                self.notes.add(TRUNCATED)
                out[key] = None
                return out
            else:
                raise _LenientError(f"expected ':' at {self.i}")
            out[key] = self.value(depth + 1)
            self.ws()
            after_comma = False
            c = self.peek()
            if c == ",":
                self.i += 1
                after_comma = True
            elif c and c not in "}])" and not (c in _QUOTES or c.isalpha() or c == "_"):
                raise _LenientError(f"unexpected {c!r} in object")

    def arr(self, depth: int) -> list[Any]:
        opener = self.s[self.i]
        if opener == "(":
            self.notes.add(PYTHON_LITERALS)
        closer = "]" if opener == "[" else ")"
        self.i += 1
        out: list[Any] = []
        after_comma = True
        first = True
        while True:
            self.ws()
            c = self.peek()
            if not c:
                self.notes.add(TRUNCATED)
                return out
            if c in "])":
                if c != closer:
                    self.notes.add(MISMATCHED_BRACKETS)
                if after_comma and not first:
                    self.notes.add(TRAILING_COMMA)
                self.i += 1
                return out
            if c == "}":
                self.notes.add(MISMATCHED_BRACKETS)
                return out
            if c == ",":
                self.notes.add(TRAILING_COMMA)
                self.i += 1
                after_comma = True
                continue
            if not after_comma:
                self.notes.add(MISSING_COMMA)
            if not self.starts_value(c):
                raise _LenientError(f"unexpected {c!r} in list")
            out.append(self.value(depth + 1))
            first = False
            self.ws()
            after_comma = False
            if self.peek() == ",":
                self.i += 1
                after_comma = True

    def string(self) -> str:
        q = self.s[self.i]
        if q == "'":
            self.notes.add(SINGLE_QUOTES)
        elif q != '"':
            self.notes.add(SMART_QUOTES)
        closers = {_QUOTES[q], q}
        self.i += 1
        out: list[str] = []
        while self.i < self.n:
            c = self.s[self.i]
            if c in closers:
                self.i += 1
                return "".join(out)
            if c == "\\" and self.i + 1 < self.n:
                e = self.s[self.i + 1]
                if e == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", self.s[self.i + 2 : self.i + 6]):
                    out.append(chr(int(self.s[self.i + 2 : self.i + 6], 16)))
                    self.i += 6
                    continue
                out.append(_ESCAPES.get(e, e))
                self.i += 2
                continue
            out.append(c)
            self.i += 1
        self.notes.add(TRUNCATED)
        return "".join(out)

    def number(self) -> float:
        m = _NUMBER.match(self.s, self.i)
        if m is None:
            w = _SIGNED_WORD.match(self.s, self.i)
            if w is None:
                raise _LenientError(f"bad number at {self.i}")
            self.notes.add(PYTHON_LITERALS)
            self.i = w.end()
            return float(w.group(0).lower().replace("infinity", "inf"))
        self.i = m.end()
        return float(m.group(0))

    def word(self) -> Any:
        m = _WORD.match(self.s, self.i)
        if m is None:  # a non-ASCII letter
            self.notes.add(UNQUOTED)
            j = self.i
            while j < self.n and (self.s[j].isalnum() or self.s[j] == "_"):
                j += 1
            word, self.i = self.s[self.i : j], max(j, self.i + 1)
            return word
        word = m.group(0)
        self.i = m.end()
        if word in _LITERALS:
            value, note = _LITERALS[word]
            if note:
                self.notes.add(note)
            return value
        if word.lower() in ("nan", "inf", "infinity"):
            self.notes.add(PYTHON_LITERALS)
            return float(word.lower().replace("infinity", "inf"))
        self.notes.add(UNQUOTED)
        return word


def _loads(s: str, notes: _Notes) -> Any:
    """Read JSON strictly, else leniently; raise `_LenientError` when neither works."""
    s = s.strip()
    try:
        return json.loads(s)
    except (ValueError, RecursionError):
        pass
    start = 0
    if s and s[0] not in "[{(" and s[0] not in _QUOTES:
        first = min((i for i in (s.find("["), s.find("{")) if i >= 0), default=-1)
        if first < 0:
            raise _LenientError("no JSON list or object")
        notes.add(EXTRA_TEXT)
        start = first
    reader = _Lenient(s, start)
    value = reader.value(0)
    reader.ws()
    if reader.peek() == "," and isinstance(value, dict):
        values = [value]
        while reader.peek() == ",":
            reader.i += 1
            reader.ws()
            if not reader.peek():
                break
            if not reader.starts_value(reader.peek()):
                break
            values.append(reader.value(0))
            reader.ws()
        reader.notes.add(BARE_SEQUENCE)
        value = values
    reader.ws()
    if reader.i < reader.n:
        reader.notes.add(EXTRA_TEXT)
    for code in reader.notes.codes:
        notes.add(code)
    return value


# --------------------------------------------------------------------------------------------------------------
# From JSON values to items


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _to_float(x: Any, notes: _Notes) -> float | None:
    """Return x as a float (inf when too large), or None when it is not a number."""
    if _is_number(x):
        try:
            return float(x)
        except OverflowError:
            return math.inf if x > 0 else -math.inf
    if isinstance(x, str):
        m = _NUMBER.fullmatch(x.strip())
        if m is not None:
            notes.add(STRING_NUMBERS)
            return float(m.group(0))
        if _SIGNED_WORD.fullmatch(x.strip()):
            notes.add(STRING_NUMBERS)
            return float(x.strip().lower().replace("infinity", "inf"))
    return None


def _lower_keys(d: dict[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = str(k).strip().lower()
        out.setdefault(key, v)
    return out


def _pick(d: dict[Any, Any], keys: Sequence[str], notes: _Notes) -> tuple[bool, Any]:
    """Return (found, value) for the first of keys in d (case-insensitive); note an alternative key."""
    if keys[0] in d:
        return True, d[keys[0]]
    low = _lower_keys(d)
    for k in keys:
        if k in low:
            notes.add(ALT_KEY)
            return True, low[k]
    return False, None


def _box_numbers(raw: Any, notes: _Notes, depth: int = 0) -> list[float] | None:
    """Return the 4 box numbers of a box value in any accepted shape, or None."""
    if depth > 3:
        return None
    if isinstance(raw, str):
        nums = _NUMBER.findall(raw)
        if len(nums) != 4:
            return None
        notes.add(STRING_NUMBERS)
        return [float(v) for v in nums]
    if isinstance(raw, dict):
        low = _lower_keys(raw)
        for names in (("x1", "y1", "x2", "y2"), ("xmin", "ymin", "xmax", "ymax"), ("left", "top", "right", "bottom")):
            if all(n in low for n in names):
                notes.add(BOX_SHAPE)
                return _box_numbers([low[n] for n in names], notes, depth + 1)
        return None
    if not isinstance(raw, list | tuple):
        return None
    if len(raw) == 1 and isinstance(raw[0], list | tuple | str):
        notes.add(BOX_SHAPE)
        return _box_numbers(raw[0], notes, depth + 1)
    if len(raw) == 2 and all(isinstance(p, list | tuple) and len(p) == 2 for p in raw):
        notes.add(BOX_SHAPE)
        raw = [raw[0][0], raw[0][1], raw[1][0], raw[1][1]]
    if len(raw) != 4:
        return None
    out = [_to_float(v, notes) for v in raw]
    if any(v is None for v in out):
        return None
    return [v for v in out if v is not None]


def _label(x: Any, notes: _Notes) -> int | None:
    if isinstance(x, bool):
        return int(x)
    if _is_number(x) and x in (0, 1):
        return int(x)
    if isinstance(x, str):
        t = x.strip().lower()
        if t in ("1", "1.0", "positive", "pos", "foreground", "fg", "true"):
            notes.add(STRING_NUMBERS)
            return 1
        if t in ("0", "0.0", "negative", "neg", "background", "bg", "false"):
            notes.add(STRING_NUMBERS)
            return 0
    return None


def _one_point(raw: Any, notes: _Notes) -> tuple[float, float, int] | None:
    """Return (x, y, label) for one point in any accepted shape, or None when it is malformed."""
    if isinstance(raw, dict):
        low = _lower_keys(raw)
        if "x" not in low or "y" not in low:
            return None
        notes.add(POINT_SHAPE)
        label_raw = low.get("label", 1)
        raw = [low["x"], low["y"], label_raw]
    if isinstance(raw, str):
        nums = _NUMBER.findall(raw)
        if len(nums) not in (2, 3):
            return None
        notes.add(STRING_NUMBERS)
        raw = nums
    if not isinstance(raw, list | tuple) or len(raw) not in (2, 3):
        return None
    x, y = _to_float(raw[0], notes), _to_float(raw[1], notes)
    label = _label(raw[2], notes) if len(raw) == 3 else 1
    if x is None or y is None or label is None or not (math.isfinite(x) and math.isfinite(y)):
        return None
    return x, y, label


def _points(raw: Any, notes: _Notes) -> tuple[list[tuple[float, float, int]], int]:
    """Return the well-formed points of a points value and how many were malformed."""
    if raw is None:
        return [], 0
    if isinstance(raw, dict):
        raw = [raw]
    if isinstance(raw, str):
        nums = _NUMBER.findall(raw)
        notes.add(STRING_NUMBERS)
        raw = [nums[i : i + 2] for i in range(0, len(nums), 2)]
    if not isinstance(raw, list | tuple):
        return [], 1
    if raw and all(_to_float(v, _Notes()) is not None for v in raw):
        # Flat: one [x, y] or [x, y, label] point, or x, y pairs.
        notes.add(POINT_SHAPE)
        if len(raw) == 2 or (len(raw) == 3 and _label(raw[2], _Notes()) is not None):
            raw = [raw]
        elif len(raw) % 2 == 0:
            raw = [raw[i : i + 2] for i in range(0, len(raw), 2)]
        else:
            return [], 1
    good: list[tuple[float, float, int]] = []
    bad = 0
    for p in raw:
        q = _one_point(p, notes)
        if q is None:
            bad += 1
        else:
            good.append(q)
    return good, bad


def _item(
    raw: Any, stage: str, extent: tuple[float, float] | None, notes: _Notes
) -> tuple[ParsedItem | None, str | None, int]:
    """Return (item, failure code, dropped points) for one raw answer item."""
    points_raw: Any = None
    has_points = False
    labels_raw: Any = None
    if isinstance(raw, dict):
        found, box_raw = _pick(raw, BOX_KEYS, notes)
        if not found:
            return None, NO_BOX, 0
        has_points, points_raw = _pick(raw, POINT_KEYS, notes)
        _, labels_raw = _pick(raw, LABEL_KEYS, _Notes())
    elif isinstance(raw, list | tuple) and len(raw) == 4:
        notes.add(BARE_BOX)
        box_raw = raw
    else:
        return None, NO_BOX, 0
    nums = _box_numbers(box_raw, notes)
    if nums is None:
        return None, NO_BOX, 0
    if not all(math.isfinite(v) for v in nums):
        return None, NON_FINITE, 0
    x1, y1, x2, y2 = nums
    if x1 > x2 or y1 > y2:
        notes.add(SWAPPED_CORNERS)
        x1, x2 = min(x1, x2), max(x1, x2)
        y1, y2 = min(y1, y2), max(y1, y2)
    if extent is not None:
        w, h = extent
        if x2 <= 0 or y2 <= 0 or x1 >= w or y1 >= h:
            return None, BOX_OUTSIDE, 0
        if x1 < 0 or y1 < 0 or x2 > w or y2 > h:
            notes.add(CLIPPED)
            x1, y1, x2, y2 = max(x1, 0.0), max(y1, 0.0), min(x2, float(w)), min(y2, float(h))
    if x2 <= x1 or y2 <= y1:
        return None, EMPTY_BOX, 0
    pts, dropped = _points(points_raw, notes)
    if isinstance(labels_raw, list) and len(labels_raw) == len(pts) and pts:
        labels = [_label(v, notes) for v in labels_raw]
        if all(v is not None for v in labels):
            pts = [(x, y, int(v)) for (x, y, _), v in zip(pts, labels, strict=True) if v is not None]
    inside = [(x, y, lab) for x, y, lab in pts if x1 <= x <= x2 and y1 <= y <= y2]
    dropped += len(pts) - len(inside)
    if stage == "refine" and not (has_points and inside):
        notes.add(MISSING_POINTS)
    item = ParsedItem(
        box=(x1, y1, x2, y2),
        points=[(x, y) for x, y, _ in inside],
        labels=[lab for _, _, lab in inside],
    )
    return item, None, dropped


def _as_list(value: Any, notes: _Notes) -> list[Any] | None:
    """Return the raw item list an answer value stands for, or None when it stands for none."""
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("[", "{"):
            inner = _Notes()
            try:
                value = _loads(text, inner)
            except (_LenientError, RecursionError):
                return None
            notes.add(DOUBLE_ENCODED)
            for code in inner.codes:
                notes.add(code)
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, list):
        if len(value) == 4 and all(_is_number(v) for v in value):
            return [value]
        return value
    if isinstance(value, dict):
        if _pick(value, BOX_KEYS, _Notes())[0]:
            notes.add(SINGLE_OBJECT)
            return [value]
        lists = [v for v in value.values() if isinstance(v, list)]
        if len(lists) == 1:
            notes.add(WRAPPED_LIST)
            return lists[0]
    return None


# --------------------------------------------------------------------------------------------------------------
# Public API


def parse_answer(
    text: str, stage: Literal["localize", "refine"] = "localize", extent: tuple[float, float] | None = None
) -> ParsedAnswer:
    """Parse a policy's answer into items, tolerating and recording common malformations.

    Args:
        text: the raw answer text (untrusted; any string).
        stage: ``"localize"`` (boxes) or ``"refine"`` (boxes and points; an item without points is noted).
        extent: ``(width, height)`` of the policy's frame; boxes are clipped to it and boxes outside it dropped.
            None: no clipping.

    Returns:
        The parse. ``failure`` is None when the answer is usable; an empty ``items`` list is then a valid
        "nothing here".

    Raises:
        InputError: ``extent`` is not two positive finite numbers (never raised because of ``text``).
    """
    if extent is not None:
        try:
            w, h = (float(v) for v in extent)
        except (TypeError, ValueError) as e:
            raise InputError(f"extent must be (width, height), got {extent!r}") from e
        if not (math.isfinite(w) and math.isfinite(h) and w > 0 and h > 0):
            raise InputError(f"extent must be two positive finite numbers (width, height), got {extent!r}")
        extent = (w, h)
    try:
        return _parse(text, stage, extent)
    except Exception:  # a bug here must not crash the agent; the tests fuzz for it
        log.exception("parse_answer failed on %.200r", text)
        return ParsedAnswer(failure=PARSER_ERROR)


def _parse(text: Any, stage: str, extent: tuple[float, float] | None) -> ParsedAnswer:
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    notes = _Notes()
    text = _SPECIAL_TOKEN.sub("", text)
    tags = list(_TAG.finditer(text))
    think, after_think = _split_think(text, tags, notes)
    raw = _answer_text(text, tags, after_think, notes)

    def fail(code: str) -> ParsedAnswer:
        return ParsedAnswer(think=think, failure=code, repairs=notes.codes)

    value: Any
    if raw is not None:
        body = _strip_fences(raw, notes).strip()
        if not body:
            return fail(NO_ANSWER)
        if body[0] not in "[{(\"'":
            found = _find_boxlike(body)
            if found:
                start, end, value, codes = found[-1]
                for code in codes:
                    notes.add(code)
                notes.add(EXTRA_TEXT)
                return _finish(value, think, stage, extent, notes)
        try:
            value = _loads(body, notes)
        except (_LenientError, RecursionError):
            return fail(BAD_JSON)
        return _finish(value, think, stage, extent, notes)
    # No answer tags: look for the JSON after the reasoning.
    rest = text[after_think:]
    rest = _TAG.sub(" ", rest)
    body = _strip_fences(rest, _Notes()).strip()
    if body[:1] in ("[", "{"):
        try:
            value = _loads(body, notes)
        except (_LenientError, RecursionError):
            return fail(NO_ANSWER)
        if "```" in rest:
            notes.add(CODE_FENCE)
        notes.add(MISSING_ANSWER_TAGS)
        return _finish(value, think, stage, extent, notes)
    found = _find_boxlike(rest)
    if not found:
        return fail(NO_ANSWER)
    start, end, value, codes = found[-1]
    notes.add(MISSING_ANSWER_TAGS)
    for code in codes:
        notes.add(code)
    if rest[:start].strip() or rest[end:].strip():
        notes.add(EXTRA_TEXT)
    return _finish(value, think, stage, extent, notes)


def _finish(
    value: Any, think: str | None, stage: str, extent: tuple[float, float] | None, notes: _Notes
) -> ParsedAnswer:
    raw_items = _as_list(value, notes)
    if raw_items is None:
        return ParsedAnswer(think=think, failure=NO_BOX, repairs=notes.codes)
    if len(raw_items) > MAX_ITEMS:
        notes.add(TOO_MANY_ITEMS)
        raw_items = raw_items[:MAX_ITEMS]
    items: list[ParsedItem] = []
    failures: list[str] = []
    dropped_points = 0
    for raw in raw_items:
        item, failure, dropped = _item(raw, stage, extent, notes)
        dropped_points += dropped
        if item is None:
            failures.append(failure or NO_BOX)
        else:
            items.append(item)
    if dropped_points:
        notes.add(DROPPED_POINTS)
    if failures and items:
        notes.add(DROPPED_ITEMS)
    failure = failures[0] if failures and not items else None
    return ParsedAnswer(
        items=items,
        think=think,
        failure=failure,
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
    clean = _TAG.sub("", _SPECIAL_TOKEN.sub("", think))
    return f"<think>{clean}</think>{answer}"
