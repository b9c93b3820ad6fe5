"""Score how well a query names a map feature (fuzzy, on normalised words)."""

from __future__ import annotations

from collections.abc import Sequence
from difflib import SequenceMatcher

from tools.query.words import normalize
from tools.scene import LayerFeature

NAME_MATCH_THRESHOLD = 0.8
"""A feature's name matches a query at this score or above."""


def name_score(query: str, name: str) -> float:
    """Score how well a query names a feature, in [0, 1].

    Equal normalised texts, or a name of two words or more inside the query, score 1; otherwise difflib's
    ratio of the two (below the threshold, only an upper bound of it is computed).

    >>> name_score("Maple Grove Primary School", "Maple Grove Primary School")
    1.0
    >>> name_score("find the maple grove primary school please", "Maple Grove Primary School")
    1.0
    >>> name_score("school", "Maple Grove Primary School") < 0.8
    True
    """
    q, n = normalize(query), normalize(name)
    if not q or not n:
        return 0.0
    if q == n:
        return 1.0
    if len(n.split()) >= 2 and f" {n} " in f" {q} ":
        return 1.0
    sm = SequenceMatcher(None, q, n)
    # real_quick_ratio and quick_ratio are upper bounds of ratio: skip the full computation when they fall short
    if sm.real_quick_ratio() < NAME_MATCH_THRESHOLD or sm.quick_ratio() < NAME_MATCH_THRESHOLD:
        return min(sm.quick_ratio(), NAME_MATCH_THRESHOLD - 1e-6)
    return sm.ratio()


def best_name_matches(query: str, features: Sequence[LayerFeature]) -> list[tuple[LayerFeature, float]]:
    """Return the named features that match the query best (ties kept, ordered by id), with their score.

    Only scores at `NAME_MATCH_THRESHOLD` or above count; an empty list means no feature is named.
    """
    scored = [(f, name_score(query, f.name)) for f in features if f.name]
    hits = [(f, s) for f, s in scored if s >= NAME_MATCH_THRESHOLD]
    if not hits:
        return []
    top = max(s for _, s in hits)
    return sorted([(f, s) for f, s in hits if s >= top - 1e-9], key=lambda fs: fs[0].id)
