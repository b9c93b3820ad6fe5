"""The offline planner's lexicon: units, number words, the relation phrases and the text helpers it reads with.

Split from `agent.planner.offline` (the grammar) so each stays small; nothing here knows the plan's types.
"""

from __future__ import annotations

import re

from agent.planner.plan import Output
from tools.errors import InputError

UNIT_WORDS: dict[str, str] = {
    "m": "m", "meter": "m", "meters": "m", "metre": "m", "metres": "m", "mtr": "m", "mtrs": "m",
    "km": "km", "kms": "km", "kilometer": "km", "kilometers": "km", "kilometre": "km", "kilometres": "km",
    "k": "km", "klick": "km", "klicks": "km",
    "mi": "mi", "mile": "mi", "miles": "mi",
    "ft": "ft", "foot": "ft", "feet": "ft",
}  # fmt: skip
"""Spellings of the four units."""

NUMBER_WORDS: dict[str, float] = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "half a": 0.5, "half an": 0.5, "a half": 0.5,
}  # fmt: skip

_NUM = (
    r"(?P<num>-?\s?\d+(?:[.,]\d+)?|minus\s+\d+(?:[.,]\d+)?|half an?|a half|an?"
    r"|one|two|three|four|five|six|seven|eight|nine|ten)"
)
_DIST = r"(?:an?\s+(?=\d))?" + _NUM + r"\s*-?\s*(?P<unit>[a-z]+\.?)(?P<walk>(?:'s)?\s+walk(?:ing)?(?:\s+distance)?)?"
_AWAY = r"(?:\s+away)?"

RELATIONS: list[tuple[str, str]] = [
    ("within", rf"within\s+(?:a\s+(?:distance|radius)\s+of\s+)?{_DIST}\s+(?:of|from|to|around)"),
    ("within", rf"(?:less|fewer|no\s+more|not\s+more)\s+than\s+{_DIST}{_AWAY}\s+(?:from|of|to)"),
    ("within", rf"(?:closer|nearer)\s+than\s+{_DIST}\s+(?:to|from)"),
    ("within", rf"(?:at\s+most|up\s+to|under|below)\s+{_DIST}{_AWAY}\s+(?:from|of|to)"),
    ("within", rf"{_DIST}\s+or\s+less{_AWAY}\s+from"),
    ("beyond", rf"(?:more|further|farther|greater)\s+than\s+{_DIST}{_AWAY}\s+(?:from|of|to)"),
    ("beyond", rf"(?:at\s+least|over|beyond)\s+{_DIST}{_AWAY}\s+(?:from|of)"),
    ("within", rf"{_DIST}{_AWAY}\s+(?:from|of|around)"),
    ("nearest_to", r"(?:nearest|closest)\s+(?:to|from)"),
    ("far", r"(?:far\s+(?:away\s+)?from|away\s+from|distant\s+from)"),
    ("near", r"(?:near(?:by)?(?:\s+to)?|close\s+to|next\s+to|around|beside|adjacent\s+to|in\s+the\s+vicinity\s+of|"
             r"not\s+far\s+from|in\s+walking\s+distance\s+(?:of|from|to)|a\s+short\s+walk\s+from)"),
    ("outside", r"outside(?:\s+of)?"),
    ("intersecting", r"(?:intersecting|intersects?|that\s+intersect|overlapping|overlaps?(?:\s+with)?|crossing|"
                     r"cross(?:es)?|touching|touch(?:es)?)"),
    ("inside", r"(?:inside(?:\s+of)?|within|contained\s+in|located\s+in|in|on)"),
]  # fmt: skip
"""Relation phrases in the order they are tried at one place of the text (distance forms before bare words)."""

RELATION_RE = re.compile(
    r"\b(?:"
    + "|".join(f"(?P<r{i}>{re.sub(r'[(][?]P<[a-z]+>', '(?:', p)})" for i, (_, p) in enumerate(RELATIONS))
    + r")\b"
)
RELATION_ONE = [(kind, re.compile(rf"\b{p}\b")) for kind, p in RELATIONS]
TO_RE = re.compile(r"\b(?:to|from)\b")

CONNECT_TAIL = frozenset((
    "that", "which", "who", "are", "is", "lie", "lies", "located", "situated", "found", "there", "being", "also",
    "both", "all", "ones", "those", "sit", "sits", "stand", "stands",
))  # fmt: skip
OUTPUT_PREFIXES: list[tuple[Output, str]] = [
    ("count", r"(?:how\s+many|the\s+number\s+of|number\s+of|count(?:\s+of)?|are\s+there\s+any|is\s+there\s+an?"
              r"|is\s+there\s+any|do\s+we\s+have\s+any)\s+"),
    ("distance", r"(?:how\s+far(?:\s+away)?\s+(?:is|are)|how\s+far|what\s+is\s+the\s+distance\s+(?:from|to)"
                 r"|what's\s+the\s+distance\s+(?:from|to)|distance\s+(?:from|to)|what\s+is\s+the\s+distance|what's\s+the\s+distance"
                 r"|(?:the\s+)?distance)\s+"),
    ("name", r"(?:what\s+(?:is|are)\s+the\s+names?\s+of|what's\s+the\s+name\s+of|what's(?=\s+the\s)"
             r"|names?\s+of|name|tell\s+me\s+the\s+names?\s+of|(?:which|what)(?:\s+(?:is|are))?)\s+"),
    ("features", r"(?:i'm\s+looking\s+for|i\s+am\s+looking\s+for|looking\s+for|show(?:\s+me)?|find(?:\s+me)?"
                 r"|list|where\s+(?:is|are)|give\s+me|get|display|map|highlight|"
                 r"i\s+want|i\s+need|look\s+for|search\s+for|locate|please|can\s+you\s+(?:show|find|list)(?:\s+me)?)\s+"),
]  # fmt: skip
TRAILING = re.compile(
    r"(?:\s+(?:are\s+there|is\s+there|exist|do\s+you\s+see|can\s+you\s+find|do\s+we\s+have|please|in\s+this\s+area|"
    r"in\s+the\s+area|here|around\s+here|on\s+the\s+map|in\s+the\s+data|in\s+this\s+extract|in\s+town|there|"
    r"in\s+total|altogether|are|is))+$"
)
SUPERLATIVE = re.compile(
    r"^(?:the\s+)?(?:(?P<k>\d+|two|three|four|five|six|seven|eight|nine|ten)\s+)?"
    r"(?P<which>largest|biggest|greatest|smallest|tiniest|nearest|closest)\s+(?P<rest>.+)$"
)
POST_SUPERLATIVE = re.compile(r"^(?P<rest>.+?)\s+(?:is|are)?\s*(?:the\s+)?(?P<which>largest|biggest|smallest)$")
LIST_SPLIT = re.compile(r"\s*(?:,\s*(?:and\s+|or\s+)?|\s+and\s+|\s+or\s+|\s*&\s*|\s*/\s*)\s*")
EXCLUDE = re.compile(r"\s+(?:but\s+not|except(?:\s+for)?(?:\s+(?:those|the\s+ones|ones))?|excluding|other\s+than)\s+")
BETWEEN = re.compile(r"^between\s+(?P<a>.+?)\s+and\s+(?P<b>.+)$")


def mask_parens(text: str) -> str:
    """Return the text with everything inside parentheses replaced by ``_`` (top-level matching only).

    Raises:
        InputError: the parentheses do not match.
    """
    out, depth = [], 0
    for ch in text:
        if ch == "(":
            depth += 1
            out.append("(" if depth == 1 else "_")
            continue
        if ch == ")":
            depth -= 1
            if depth < 0:
                raise InputError(f"unmatched ')' in {text!r}; check the parentheses")
            out.append(")" if depth == 0 else "_")
            continue
        out.append("_" if depth else ch)
    if depth:
        raise InputError(f"unmatched '(' in {text!r}; check the parentheses")
    return "".join(out)


def is_wrapped(text: str) -> bool:
    """Return whether the whole text is one parenthesised group."""
    if not (text.startswith("(") and text.endswith(")")):
        return False
    depth = 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and i < len(text) - 1:
            return False
    return True


def read_number(text: str) -> float:
    """Return a distance's number, written in digits ("1,5" too) or words ("half a").

    Raises:
        InputError: the number is negative.
    """
    t = re.sub(r"\s+", " ", text.strip())
    if t.startswith("minus") or t.startswith("-"):
        raise InputError(f"a negative distance ({text.strip()}) cannot be measured; give a distance of 0 or more")
    if t in NUMBER_WORDS:
        return float(NUMBER_WORDS[t])
    return float(t.replace(",", "."))


WALK_M_PER_MIN = 80.0
"""A minute's walk, in metres ("within a 5 minute walk of": within 400 m)."""


def read_distance(m: re.Match[str]) -> tuple[float, str]:
    """Return (value, unit) of a matched distance; minutes of walking become metres.

    Raises:
        InputError: an unknown unit.
    """
    num, unit = m.group("num"), m.group("unit").rstrip(".")
    value = read_number(num)
    if unit in ("minute", "minutes", "min", "mins") and m.group("walk"):
        return value * WALK_M_PER_MIN, "m"
    if unit not in UNIT_WORDS:
        raise InputError(f"unknown distance unit {unit!r} in {m.group(0)!r}; give the distance in m, km, mi or ft "
                         "(e.g. 'within 500 m of', or 'within a 5 minute walk of')")  # fmt: skip
    return value, UNIT_WORDS[unit]
