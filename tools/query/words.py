"""Read a query's words: normalisation, the one plural rule, and the taxonomy phrases a text names.

Every reader of queries (the map lookup, the rule policy, level inference for datasets) goes through these
functions, so a word means the same thing everywhere. Phrases are compared word by word after `singular`,
on both sides: the query's words and the taxonomy's synonyms.

>>> singular("schools"), singular("universities"), singular("campus"), singular("glass"), singular("churches")
('school', 'university', 'campus', 'glass', 'church')
>>> match_class("Primary schools"), match_class("universities"), match_class("campus")
('school', 'university', 'university')
>>> match_function("places for healthcare"), function_request("find places for learning")
('healthcare', 'education')
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

from tools.taxonomy import CLASSES, FUNCTIONS

PhraseKind = Literal["class", "function"]

_WORD = re.compile(r"[a-z0-9]+")

_VERBS = ("find", "segment", "show", "locate", "highlight", "identify", "mark", "detect", "please")
FILLER = frozenset((*_VERBS, "all", "the", "a", "an", "any", "every", "each", "me", "of"))
"""Words dropped from the start of a query before its form is read ("find all the schools")."""

_FUNCTION_REQUEST = re.compile(r"^(?:places?|areas?|land|sites?|zones?|regions?|facilities) (?:for|of|used for) (.+)$")


def normalize(text: str) -> str:
    """Lower-case text and keep only words (letters and digits), joined by single spaces.

    >>> normalize("  St. Agnes' Hospital!! ")
    'st agnes hospital'
    """
    return " ".join(_WORD.findall(text.lower()))


def singular(word: str) -> str:
    """Return the singular of a lower-case English word by the project's one plural rule.

    ``-ies`` becomes ``-y`` (words over four letters: "universities", "factories"); ``-ches``, ``-shes``,
    ``-xes``, ``-sses`` and ``-zzes`` lose their ``es`` ("churches", "boxes", "glasses"); otherwise a final ``s``
    is dropped from words over three letters unless they end in ``ss`` or ``us`` ("glass", "campus").
    Irregular plurals ("children") are not handled; the rule is applied to the taxonomy's synonyms too, so a
    synonym that the rule mangles still matches its query word.
    """
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "xes", "sses", "zzes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us")):
        return word[:-1]
    return word


def singular_words(text: str) -> tuple[str, ...]:
    """Return the normalised words of a text, each made singular."""
    return tuple(singular(w) for w in normalize(text).split())


@lru_cache(maxsize=1)
def phrase_table() -> dict[tuple[str, ...], tuple[PhraseKind, str]]:
    """Map every taxonomy phrase (singular words) to ``(kind, key)``; a class wins a phrase both use.

    The phrases are each function's key and synonyms and each class's label and synonyms.
    """
    table: dict[tuple[str, ...], tuple[PhraseKind, str]] = {}
    for f in FUNCTIONS.values():
        for s in (f.key, *f.synonyms):
            table[singular_words(s)] = ("function", f.key)
    for c in CLASSES.values():
        for s in (c.label, *c.synonyms):
            table[singular_words(s)] = ("class", c.key)
    return table


@lru_cache(maxsize=1)
def function_phrases() -> frozenset[tuple[str, ...]]:
    """Return every function phrase (singular words), including those a class claims in `phrase_table`."""
    return frozenset(singular_words(s) for f in FUNCTIONS.values() for s in (f.key, *f.synonyms))


@lru_cache(maxsize=1)
def _synonyms() -> dict[PhraseKind, tuple[tuple[str, str], ...]]:
    """Return each kind's ``(singular phrase, key)`` pairs in taxonomy order (the order breaks ties)."""
    fun = tuple((" ".join(singular_words(s)), f.key) for f in FUNCTIONS.values() for s in (f.key, *f.synonyms))
    cls = tuple((" ".join(singular_words(s)), c.key) for c in CLASSES.values() for s in (c.label, *c.synonyms))
    return {"class": cls, "function": fun}


def _longest_phrase(kind: PhraseKind, text: str) -> str | None:
    """Return the key whose synonym is the longest phrase in text (first in taxonomy order on a tie)."""
    t = f" {' '.join(singular_words(text))} "
    best: tuple[int, str] | None = None
    for phrase, key in _synonyms()[kind]:
        if f" {phrase} " in t and (best is None or len(phrase) > best[0]):
            best = (len(phrase), key)
    return best[1] if best else None


def match_class(text: str) -> str | None:
    """Return the class key that a text names by one of its synonyms, or None.

    The longest matching synonym wins, so "primary school" beats "school" and "shopping mall" beats "mall".
    """
    return _longest_phrase("class", text)


def match_function(text: str) -> str | None:
    """Return the function key that a text names by one of its synonyms, or None (longest synonym wins)."""
    return _longest_phrase("function", text)


def content_start(words: list[str]) -> int:
    """Return where a query's content starts: the index of its first word that is not `FILLER`."""
    start = 0
    while start < len(words) and words[start] in FILLER:
        start += 1
    return start


def function_request(text: str) -> str | None:
    """Return the function a "places for <function>" query asks for, or None for any other form.

    Leading filler is skipped; the form is ``places|areas|land|sites|zones|regions|facilities`` then
    ``for|of|used for`` then words that name a function.
    """
    words = normalize(text).split()
    m = _FUNCTION_REQUEST.match(" ".join(words[content_start(words) :]))
    return match_function(m.group(1)) if m else None
