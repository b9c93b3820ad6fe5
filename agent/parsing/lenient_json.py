"""Read JSON as small vision-language models write it, and say what had to be forgiven.

Why not `json` or a JSON5 library: answers are untrusted model text, and the malformations small VLMs emit are
not a dialect. ``json.loads`` rejects all of them; JSON5 (``json5``, ``pyjson5``) accepts single quotes, unquoted
keys and trailing commas, but not typographic quotes, Python literals and tuples, missing commas, ``]`` where
``}`` belonged, or a generation cut off mid-list, and no library reports *which* liberties it took. This reader
accepts all of those, returns what was there, and names each liberty with a `Repair` code, so that a metric can
count them and strict mode can refuse them. Valid JSON is read by ``json.loads`` first; the tests check that
this reader, given valid JSON, returns exactly what ``json.loads`` does.
"""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

from agent.parsing.codes import Repair, RepairLog

MAX_DEPTH = 32
"""Deeper nesting than this is not an answer; the reader gives up."""

NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
"""A number as the reader accepts it (JSON's grammar, plus a leading ``+``, ``.5`` and ``5.``)."""
NON_FINITE_WORD = re.compile(r"[+-]?(?:infinity|inf|nan)\b", re.IGNORECASE)
"""``NaN``, ``inf``, ``-Infinity`` and the like, in any case."""

_QUOTES = {'"': '"', "'": "'", "“": "”", "”": "”", "‘": "’", "’": "’", "„": "“"}
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_\-.]*")
_HEX4 = re.compile(r"[0-9a-fA-F]{4}")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "/": "/", "\\": "\\", '"': '"', "'": "'"}
_LITERALS: dict[str, tuple[Any, Repair | None]] = {
    "true": (True, None),
    "false": (False, None),
    "null": (None, None),
    "True": (True, Repair.PYTHON_LITERALS),
    "False": (False, Repair.PYTHON_LITERALS),
    "None": (None, Repair.PYTHON_LITERALS),
}


class LenientJSONError(ValueError):
    """The text cannot be read as JSON, even leniently.

    Attributes:
        repairs: what `loads` had forgiven before it gave up (text skipped before the JSON).
    """

    def __init__(self, message: str, repairs: list[Repair] | None = None) -> None:
        """Keep the message and the repairs made so far."""
        super().__init__(message)
        self.repairs = repairs or []


class Reading(NamedTuple):
    """What `loads` made of a text.

    Attributes:
        value: the JSON value.
        repairs: what was forgiven, each code once, in the order met.
        standard: True when ``json.loads`` read the text as it was (then ``repairs`` is empty).
    """

    value: Any
    repairs: list[Repair]
    standard: bool


def loads(text: str) -> Reading:
    """Read JSON strictly, else leniently.

    Text before the first ``[`` or ``{`` and after the value is ignored (`Repair.EXTRA_TEXT`); objects separated
    by commas without a list around them become a list (`Repair.BARE_SEQUENCE`).

    Args:
        text: any text.

    Returns:
        The value, the repairs it needed and whether it was standard JSON.

    Raises:
        LenientJSONError: no JSON value could be read.
    """
    s = text.strip()
    try:
        return Reading(json.loads(s), [], True)
    except (ValueError, RecursionError):
        pass
    log = RepairLog()
    start = 0
    if s and s[0] not in "[{(" and s[0] not in _QUOTES:
        first = min((i for i in (s.find("["), s.find("{")) if i >= 0), default=-1)
        if first < 0:
            raise LenientJSONError("no JSON list or object")
        log.add(Repair.EXTRA_TEXT)
        start = first
    try:
        value, repairs = _read_all(s, start)
    except LenientJSONError as e:
        raise LenientJSONError(str(e), log.codes) from None
    log.extend(repairs)
    return Reading(value, log.codes, False)


def _read_all(s: str, start: int) -> tuple[Any, list[Repair]]:
    """Read the value at start and any comma-separated objects after it (`Repair.BARE_SEQUENCE`)."""
    reader = _Reader(s, start)
    value = reader.value(0)
    reader.ws()
    if reader.peek() == "," and isinstance(value, dict):
        values = [value]
        while reader.peek() == ",":
            reader.i += 1
            reader.ws()
            if not reader.peek() or not reader.starts_value(reader.peek()):
                break
            values.append(reader.value(0))
            reader.ws()
        reader.log.add(Repair.BARE_SEQUENCE)
        value = values
    reader.ws()
    if reader.i < reader.n:
        reader.log.add(Repair.EXTRA_TEXT)
    return value, reader.log.codes


def read_value(text: str, start: int) -> tuple[Any, int, list[Repair]]:
    """Read one value leniently from ``text[start:]``, ignoring what follows it.

    Args:
        text: any text.
        start: where the value begins.

    Returns:
        The value, where it ended and the repairs it needed.

    Raises:
        LenientJSONError: no value starts there.
    """
    reader = _Reader(text, start)
    value = reader.value(0)
    return value, reader.i, reader.log.codes


class _Reader:
    """A recursive-descent reader that records what it had to forgive."""

    def __init__(self, s: str, start: int = 0) -> None:
        self.s = s
        self.i = start
        self.n = len(s)
        self.log = RepairLog()

    def ws(self) -> None:
        while self.i < self.n and self.s[self.i].isspace():
            self.i += 1

    def peek(self) -> str:
        return self.s[self.i] if self.i < self.n else ""

    def starts_value(self, c: str) -> bool:
        return c in "{[(" or c in _QUOTES or c in "-+.0123456789" or c.isalpha() or c == "_"

    def value(self, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise LenientJSONError("too deep")
        self.ws()
        c = self.peek()
        if not c:
            self.log.add(Repair.TRUNCATED)
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
        raise LenientJSONError(f"unexpected {c!r}")

    def obj(self, depth: int) -> dict[str, Any]:
        self.i += 1
        out: dict[str, Any] = {}
        after_comma = False
        while True:
            self.ws()
            c = self.peek()
            if not c:
                self.log.add(Repair.TRUNCATED)
                return out
            if c == "}":
                if after_comma:
                    self.log.add(Repair.TRAILING_COMMA)
                self.i += 1
                return out
            if c in "])":
                self.log.add(Repair.MISMATCHED_BRACKETS)
                return out
            if c == ",":
                self.log.add(Repair.TRAILING_COMMA)
                self.i += 1
                after_comma = True
                continue
            if out and not after_comma:
                self.log.add(Repair.MISSING_COMMA)
            if c in _QUOTES:
                key = self.string()
            else:
                m = _WORD.match(self.s, self.i)
                if m is None:
                    raise LenientJSONError(f"bad key at {self.i}")
                self.log.add(Repair.UNQUOTED)
                key = m.group(0)
                self.i = m.end()
            self.ws()
            c = self.peek()
            if c in ":=":
                self.i += 1
            elif not c:
                self.log.add(Repair.TRUNCATED)
                out[key] = None
                return out
            else:
                raise LenientJSONError(f"expected ':' at {self.i}")
            out[key] = self.value(depth + 1)
            self.ws()
            after_comma = False
            c = self.peek()
            if c == ",":
                self.i += 1
                after_comma = True
            elif c and c not in "}])" and not (c in _QUOTES or c.isalpha() or c == "_"):
                raise LenientJSONError(f"unexpected {c!r} in object")

    def arr(self, depth: int) -> list[Any]:
        opener = self.s[self.i]
        if opener == "(":
            self.log.add(Repair.PYTHON_LITERALS)
        closer = "]" if opener == "[" else ")"
        self.i += 1
        out: list[Any] = []
        after_comma = True
        first = True
        while True:
            self.ws()
            c = self.peek()
            if not c:
                self.log.add(Repair.TRUNCATED)
                return out
            if c in "])":
                if c != closer:
                    self.log.add(Repair.MISMATCHED_BRACKETS)
                if after_comma and not first:
                    self.log.add(Repair.TRAILING_COMMA)
                self.i += 1
                return out
            if c == "}":
                self.log.add(Repair.MISMATCHED_BRACKETS)
                return out
            if c == ",":
                self.log.add(Repair.TRAILING_COMMA)
                self.i += 1
                after_comma = True
                continue
            if not after_comma:
                self.log.add(Repair.MISSING_COMMA)
            if not self.starts_value(c):
                raise LenientJSONError(f"unexpected {c!r} in list")
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
            self.log.add(Repair.SINGLE_QUOTES)
        elif q != '"':
            self.log.add(Repair.SMART_QUOTES)
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
                if e == "u" and _HEX4.fullmatch(self.s, self.i + 2, self.i + 6):
                    out.append(self.code_point())
                    continue
                out.append(_ESCAPES.get(e, e))
                self.i += 2
                continue
            out.append(c)
            self.i += 1
        self.log.add(Repair.TRUNCATED)
        return "".join(out)

    def code_point(self) -> str:
        """Read a ``uXXXX`` escape, joining a surrogate pair into one character as ``json`` does."""
        high = int(self.s[self.i + 2 : self.i + 6], 16)
        self.i += 6
        if (
            0xD800 <= high <= 0xDBFF
            and self.s.startswith("\\u", self.i)
            and _HEX4.fullmatch(self.s, self.i + 2, self.i + 6)
        ):
            low = int(self.s[self.i + 2 : self.i + 6], 16)
            if 0xDC00 <= low <= 0xDFFF:
                self.i += 6
                return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
        return chr(high)

    def number(self) -> float:
        m = NUMBER.match(self.s, self.i)
        if m is None:
            w = NON_FINITE_WORD.match(self.s, self.i)
            if w is None:
                raise LenientJSONError(f"bad number at {self.i}")
            self.log.add(Repair.PYTHON_LITERALS)
            self.i = w.end()
            return float(w.group(0).lower().replace("infinity", "inf"))
        self.i = m.end()
        return float(m.group(0))

    def word(self) -> Any:
        m = _WORD.match(self.s, self.i)
        if m is None:  # a non-ASCII letter
            self.log.add(Repair.UNQUOTED)
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
                self.log.add(note)
            return value
        if word.lower() in ("nan", "inf", "infinity"):
            self.log.add(Repair.PYTHON_LITERALS)
            return float(word.lower().replace("infinity", "inf"))
        self.log.add(Repair.UNQUOTED)
        return word
