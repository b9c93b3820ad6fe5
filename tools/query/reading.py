"""Read a query: on its own (`read_query`), or against a scene's map features (`interpret_query`).

`interpret_query` tries, in order:

1. **name**: the query fuzzily matches the name of a feature in the scene's layers (score >= 0.8);
2. **function**: the query names a socio-function (``"places for healthcare"`` -> ``healthcare``) and no
   class, or has the "places for <function>" form (``"places for green space"`` names the class park too);
3. **class**: the query names a socio-class by a taxonomy synonym (``"schools"`` -> ``school``);
4. **text model**: free text is matched to the taxonomy by the MiniLM sentence model when it is installed
   (``"where do kids go to learn?"`` -> ``education``), if its cosine and its margin over the runner-up are
   high enough;
5. otherwise the level is ``unknown``.

>>> r = read_query("Primary schools")
>>> r.level, r.cls, r.function
('class', 'school', None)
>>> read_query("places for green space and recreation").function_request
'recreation'
>>> interpret_query("hospitals", []).describe()
"class 'hospital' (taxonomy, score 1.00)"
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tools.errors import InputError
from tools.query.levels import infer_level
from tools.query.names import best_name_matches
from tools.query.semantic import match_taxonomy
from tools.query.words import function_request, match_class, match_function, normalize
from tools.scene import LayerFeature
from tools.schemas import Level
from tools.taxonomy import CLASSES

TEXT_MIN_SCORE = 0.45
"""The text model's reading is used only at this cosine or above (gibberish scores about 0.25-0.37)."""
TEXT_MIN_MARGIN = 0.05
"""... and only when it beats the runner-up by this much (else the query is ambiguous)."""


@dataclass(frozen=True)
class QueryReading:
    """What a query's words say on their own, before any scene or model is consulted.

    Attributes:
        text: the query, verbatim.
        words: its normalised words.
        cls: the class it names by a taxonomy synonym (the longest synonym wins), if any.
        function: the function it names by a synonym, if any.
        function_request: the function of a "places for <function>" form, else None.
        level: the level the text alone supports (`infer_level`: strict, ``unknown`` when in doubt).
        level_reason: the rule that decided ``level``.
    """

    text: str
    words: tuple[str, ...]
    cls: str | None
    function: str | None
    function_request: str | None
    level: Level
    level_reason: str


def read_query(text: str) -> QueryReading:
    """Read a query's words: the taxonomy class and function it names, its form and its text-only level."""
    level, reason = infer_level(text)
    return QueryReading(
        text=text,
        words=tuple(normalize(text).split()),
        cls=match_class(text),
        function=match_function(text),
        function_request=function_request(text),
        level=level,
        level_reason=reason,
    )


@dataclass(frozen=True)
class QueryTarget:
    """How a query was read against a scene: its level, its target, and how sure the reading is."""

    level: Level
    name: str | None = None
    cls: str | None = None
    function: str | None = None
    method: str = "none"
    score: float = 0.0

    def describe(self) -> str:
        """Return a short human description, e.g. ``class 'school' (taxonomy, score 1.00)``."""
        target = self.name or self.cls or self.function
        return f"{self.level} {target!r} ({self.method}, score {self.score:.2f})" if target else "nothing recognised"


def interpret_query(text: str, features: Sequence[LayerFeature]) -> QueryTarget:
    """Read a query as a name, a function or a class of the scene's features (see the module docstring).

    Args:
        text: the query, verbatim.
        features: the scene's map features (names are matched against them); may be empty.

    Returns:
        The target; level ``unknown`` when nothing is recognised or the text model is unsure or missing.
    """
    named = best_name_matches(text, features)
    if named:
        f, s = named[0]
        return QueryTarget("name", name=f.name, cls=f.cls, function=f.function, method="name match", score=s)
    r = read_query(text)
    if not r.words:
        return QueryTarget("unknown", method="empty query")
    if r.function and (r.cls is None or r.function_request):
        return QueryTarget("function", function=r.function, method="taxonomy", score=1.0)
    if r.cls:
        return QueryTarget("class", cls=r.cls, function=CLASSES[r.cls].function, method="taxonomy", score=1.0)
    try:
        m = match_taxonomy(text)
    except (InputError, ImportError, OSError):  # the text model is optional: without it, free text is unknown
        return QueryTarget("unknown", method="text model unavailable")
    if m.score < TEXT_MIN_SCORE or m.margin < TEXT_MIN_MARGIN:
        return QueryTarget(
            "unknown", method=f"text model unsure ({m.key} {m.score:.2f}, {m.runner_up} {m.runner_up_score:.2f})"
        )
    if m.level == "class":
        return QueryTarget("class", cls=m.key, function=CLASSES[m.key].function, method="text model", score=m.score)
    return QueryTarget("function", function=m.key, method="text model", score=m.score)
