"""Infer the level of a query (name, class or function) from its text alone, or say "unknown".

SocioSeg has no level field: the paper's per-task tables need a label that the data does not carry. When a
sample has no sidecar level, `infer_level` reads the query with the taxonomy (`tools.taxonomy`), the words
of `tools.query.words` (one plural rule) and this rule, first match wins:

1. The query is lower-cased and split into words; leading filler ("find", "all", "the", ...) is dropped.
2. ``places/areas/land/sites for|of|used for <function word>`` -> **function**.
3. The words are cut greedily into taxonomy phrases (the longest class or function synonym starting at each
   word; a class wins a tie). Words that are no phrase are *leftovers*; connectives ("and", "or") and
   generic nouns ("area", "place", ...) are ignored.
4. No leftovers, and two or more category phrases that all belong to one function ("Park and
   greenspace", "hospitals and clinics") -> **function**; of different functions -> unknown; but phrases
   that all name one class, none of them also a function word ("colleges and universities", "parks and
   gardens"), -> **class**.
5. No leftovers and one function phrase only ("education", "healthcare") -> **function**.
6. No leftovers and one class phrase ("Primary schools", "Express Delivery", "Business Office
   Building") -> **class**.
7. Leftovers that are Title-Case words (or numbers) in the original text, perhaps linked by "of", "the",
   ..., and at least two words in the query ("Jinan Zoo", "Tsinghua University", "University of Leming",
   "St. Luke's Primary School") -> **name**; but two words whose capitalised leftover is a common English
   word (a whole word of the bundled MiniLM vocabulary) and whose other word is no class or only a generic
   one ("Medical Service", "Chemical Company", "Logistics Park") -> **unknown**: categories outside our
   taxonomy look exactly like short names.
8. Lower-case leftovers beside exactly one class phrase that make up at most half of the words
   ("large parks") -> **class**.
9. Anything else (a single capitalised word, free text, mixed categories) -> **unknown**: better a
   counted unknown than a silent guess.

>>> infer_level("Jinan Zoo")[0], infer_level("Express Delivery")[0], infer_level("Park and greenspace")[0]
('name', 'class', 'function')
>>> infer_level("places for healthcare")[0], infer_level("Primary schools")[0], infer_level("Xinhua")[0]
('function', 'class', 'unknown')
"""

from __future__ import annotations

import re
from functools import lru_cache

from tools.query.words import (
    PhraseKind,
    content_start,
    function_phrases,
    function_request,
    phrase_table,
    singular,
)
from tools.schemas import Level
from tools.taxonomy import CLASSES

GENERIC = frozenset(
    ("and", "or", "area", "areas", "place", "places", "site", "sites", "region", "regions", "zone", "zones", "land")
)
"""Connectives and generic nouns that neither make nor break a level."""

GENERIC_CLASS_WORDS = frozenset(("station", "plant", "works", "mill", "office", "park", "garden", "plaza", "depot",
                                 "parking", "store", "center", "centre"))  # fmt: skip
"""Class synonyms that also end many other categories ("Logistics Park", "Power Plant", "Car Park")."""

NAME_LINKS = frozenset(("of", "the", "and", "de", "la", "du", "for", "on", "at", "in"))
"""Lower-case words a proper name may hold between its capitalised words ("University of Leming")."""

_TOKEN = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")


@lru_cache(maxsize=1)
def _common_words() -> frozenset[str]:
    """Whole words of the bundled MiniLM vocabulary (common English); empty if the model is not installed."""
    try:
        from tools.minilm import bundled_model_dir

        lines = (bundled_model_dir() / "vocab.txt").read_text(encoding="utf-8").splitlines()
    except (OSError, ImportError, ValueError):
        return frozenset()
    return frozenset(w for w in lines if w.isalpha() and w.islower())


def _segment(words: list[str]) -> tuple[list[tuple[PhraseKind, str]], list[int], bool]:
    """Cut words greedily into taxonomy phrases.

    Returns:
        The phrases' (kind, key), the leftover word indices, and whether a phrase is also a function word.
    """
    table = phrase_table()
    longest = max(len(k) for k in table)
    sing = [singular(w) for w in words]
    found: list[tuple[PhraseKind, str]] = []
    leftover: list[int] = []
    names_function = False
    i = 0
    while i < len(words):
        for n in range(min(longest, len(words) - i), 0, -1):
            phrase = tuple(sing[i : i + n])
            hit = table.get(phrase)
            if hit is not None:
                found.append(hit)
                names_function |= phrase in function_phrases()
                i += n
                break
        else:
            if words[i] not in GENERIC:
                leftover.append(i)
            i += 1
    return found, leftover, names_function


def taxonomy_phrases(text: str) -> list[tuple[PhraseKind, str]]:
    """Return the taxonomy phrases a text names, cut greedily left to right (as `infer_level` cuts them).

    >>> taxonomy_phrases("parks that contain a playground")
    [('class', 'park'), ('class', 'playground')]
    """
    return _segment([t.lower() for t in _TOKEN.findall(text)])[0]


def _function_of(kind: PhraseKind, key: str) -> str:
    return key if kind == "function" else CLASSES[key].function


def infer_level(query: str) -> tuple[Level, str]:
    """Return the level a query names (name/class/function/unknown) and the rule that decided it.

    Args:
        query: the query text, verbatim (case matters: proper names are Title-Case).

    Returns:
        ``(level, reason)``; the reason is a short phrase for reports.

    >>> infer_level("Tsinghua University")
    ('name', 'proper name before a class word')
    >>> infer_level("education")
    ('function', 'a function word')
    >>> infer_level("parks near the river")
    ('unknown', 'no rule applies')
    """
    tokens = _TOKEN.findall(query)
    words = [t.lower() for t in tokens]
    start = content_start(words)
    tokens, words = tokens[start:], words[start:]
    if not words:
        return "unknown", "empty query"

    if function_request(" ".join(words)):
        return "function", "'places for <function>' pattern"

    found, leftover, names_function = _segment(words)
    if not leftover:
        if len(found) >= 2:
            if len(set(found)) == 1 and found[0][0] == "class" and not names_function:
                return "class", "several words for one class"
            functions = {_function_of(kind, key) for kind, key in found}
            if len(functions) == 1:
                return "function", "several category words of one function"
            return "unknown", "category words of different functions"
        if len(found) == 1:
            kind, _ = found[0]
            return ("function", "a function word") if kind == "function" else ("class", "a class word")
        return "unknown", "no content words"

    capitals = [i for i in leftover if tokens[i][0].isupper() or tokens[i].isdigit()]
    titled = bool(capitals) and all(i in capitals or words[i] in NAME_LINKS for i in leftover)
    if titled and len(words) >= 2:
        has_class = any(kind == "class" for kind, _ in found)
        rest = [w for i, w in enumerate(words) if i not in leftover]
        generic = not has_class or all(singular(w) in GENERIC_CLASS_WORDS for w in rest)
        if len(words) <= 2 and generic and all(words[i] in _common_words() for i in capitals):
            return "unknown", "two common Title-Case words: a category or a short name"
        if found:
            return "name", "proper name before a class word"
        return "name", "Title-Case proper name"
    classes = [key for kind, key in found if kind == "class"]
    if len(found) == 1 and classes and not titled and len(leftover) * 2 <= len(words):
        return "class", "mostly a class word"
    return "unknown", "no rule applies"
