"""Name why an answer could not be used (`Failure`) and what was forgiven in it (`Repair`).

Both vocabularies are small and fixed so that they can be counted in metrics. The string values are what
result.json and results.jsonl store: never change one, only add members.
"""

from __future__ import annotations

import enum


class Failure(enum.StrEnum):
    """Why an answer, or one item of it, could not be used (``ParsedAnswer.failure``, ``item_failures``)."""

    NO_ANSWER = "no_answer"
    """No answer at all: empty text, empty answer tags, or no tags and no box-like JSON anywhere."""
    BAD_JSON = "bad_json"
    """An answer was found but even the lenient reader could not make JSON of it (in strict mode: the JSON is
    not standard JSON and no named repair covers it)."""
    NO_BOX = "no_box"
    """The JSON holds no usable box: not a list of objects, no box key, or a box that is not 4 numbers."""
    NON_FINITE = "non_finite"
    """A box coordinate is NaN or infinite."""
    BOX_OUTSIDE = "box_outside"
    """The box lies entirely outside the image extent."""
    EMPTY_BOX = "empty_box"
    """The box has zero width or height (after clipping)."""
    NEEDS_REPAIR = "needs_repair"
    """Strict mode only: the answer is usable only after the repairs listed in ``ParsedAnswer.repairs``."""
    BAD_POINTS = "bad_points"
    """The reference's strict reading only: an item's points are not ``[x, y, ...]`` pairs of finite numbers, so
    the whole item is skipped (`agent.parsing.reference`)."""
    PARSER_ERROR = "parser_error"
    """A bug in the parser; logged, never expected (the tests fuzz for it)."""


class Repair(enum.StrEnum):
    """A malformation that was tolerated and fixed (``ParsedAnswer.repairs``)."""

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
    """More than one answer tag; the last (or, when asked, the first) complete answer was used."""
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
    """More than ``MAX_ITEMS`` items; the rest were ignored."""


class RepairLog:
    """The repairs met while reading one answer: each code once, in the order met."""

    def __init__(self) -> None:
        """Start with no repairs."""
        self.codes: list[Repair] = []

    def add(self, code: Repair) -> None:
        """Record a repair (a second time changes nothing)."""
        if code not in self.codes:
            self.codes.append(code)

    def extend(self, codes: list[Repair]) -> None:
        """Record several repairs, in order."""
        for code in codes:
            self.add(code)
