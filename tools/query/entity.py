"""Read an entity phrase of a spatial question ("hospitals", "places for education", "Kaisaniemen puisto").

A chat question names sets of places ("parks within 1 km of *hospitals*"); each phrase is read here, in the
order `tools.query.reading.interpret_query` uses, against the names the data holds instead of a scene's layers:

1. **taxonomy**: the phrase is wholly a taxonomy phrase (`tools.query.levels.infer_level` reads it as a class or
   a function), so "cafes" is the class even where a shop is named "Cafe";
2. **name**: the phrase names a feature of the data exactly (`tools.query.names.name_score` 1: equal words, or
   a name of two words or more inside the phrase);
3. **function** / **class**: the phrase names a socio-function or socio-class by a taxonomy synonym
   (``"places for healthcare"`` -> function ``healthcare``, ``"schools"`` -> class ``school``);
4. **typo**: misspelt words of a synonym (``"hosptials"`` -> ``hospital``; difflib ratio >= 0.85 per word);
   then a fuzzy name (score >= 0.8: "Kaisaniemen puistoo"), after the typo so that "resturants" is no
   "BW Restaurants";
5. **text model**: the bundled MiniLM reads free text (``"where kids learn"``) when sure enough;
6. otherwise ``unknown``, and the caller says it could not read the phrase; also when the phrase names two
   kinds of place that no rule relates ("parks that contain a playground"): better a clear "I could not read"
   than a silent guess.

>>> r = read_entity("hospitals"); (r.level, r.key)
('class', 'hospital')
>>> r = read_entity("places for education"); (r.level, r.key)
('function', 'education')
>>> r = read_entity("Kaisaniemen puisto", names=["Kaisaniemen puisto", "Esplanadi"]); (r.level, r.key)
('name', 'Kaisaniemen puisto')
>>> read_entity("hosptials").key, read_entity("pharmacys").key
('hospital', 'pharmacy')
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

from tools.errors import InputError
from tools.query.levels import infer_level, taxonomy_phrases
from tools.query.names import NAME_MATCH_THRESHOLD, name_score
from tools.query.reading import TEXT_MIN_MARGIN, TEXT_MIN_SCORE
from tools.query.semantic import match_taxonomy
from tools.query.words import FILLER, function_request, match_class, match_function, normalize, singular_words
from tools.schemas import Level
from tools.taxonomy import CLASSES, FUNCTIONS

TYPO_MIN_RATIO = 0.85
"""A misspelt word matches a synonym's word at this difflib ratio or above (words of 5 letters or more)."""

_ENTITY_FILLER = FILLER | {"there", "some", "nearby", "local"}


@dataclass(frozen=True)
class EntityReading:
    """How an entity phrase was read.

    Attributes:
        phrase: the phrase, verbatim.
        level: ``name``, ``class``, ``function`` or ``unknown``.
        key: the feature name (name level), the class key or the function key; None when unknown.
        method: the rule that decided (``name match``, ``taxonomy``, ``typo``, ``text model``, ...).
        score: how sure the reading is, in [0, 1].
    """

    phrase: str
    level: Level
    key: str | None
    method: str
    score: float

    def label(self) -> str:
        """Return the words a sentence uses for the set: the class or function label, or the name."""
        if self.level == "class" and self.key in CLASSES:
            return CLASSES[self.key].label.lower()
        if self.level == "function" and self.key in FUNCTIONS:
            return f"places for {FUNCTIONS[self.key].label.lower()}"
        return self.key or self.phrase


def strip_filler(phrase: str) -> str:
    """Return a phrase without leading filler words ("all the", "any", "some")."""
    words = normalize(phrase).split()
    while words and words[0] in _ENTITY_FILLER:
        words = words[1:]
    return " ".join(words)


@lru_cache(maxsize=1)
def _synonym_words() -> tuple[tuple[tuple[str, ...], str, str], ...]:
    """Every taxonomy synonym as (singular words, kind, key); functions first so that classes win ties later."""
    out = [(singular_words(s), "function", f.key) for f in FUNCTIONS.values() for s in (f.key, f.label, *f.synonyms)]
    out += [(singular_words(s), "class", c.key) for c in CLASSES.values() for s in (c.label, *c.synonyms)]
    return tuple(out)


def _typo_match(phrase: str) -> tuple[str, str, float] | None:
    """Return (kind, key, score) of the synonym the phrase spells with small typos, or None.

    Every word must match the synonym's word at the same place (ratio >= `TYPO_MIN_RATIO`; words under five
    letters exactly); the best mean ratio wins, a class over a function on a tie.
    """
    words = singular_words(phrase)
    if not words:
        return None
    best: tuple[float, str, str] | None = None
    for syn, kind, key in _synonym_words():
        if len(syn) != len(words):
            continue
        ratios = []
        for w, s in zip(words, syn, strict=True):
            r = 1.0 if w == s else (SequenceMatcher(None, w, s).ratio() if min(len(w), len(s)) >= 5 else 0.0)
            if r < TYPO_MIN_RATIO:
                break
            ratios.append(r)
        else:
            score = sum(ratios) / len(ratios)
            if best is None or score > best[0] or (score == best[0] and kind == "class"):
                best = (score, kind, key)
    return (best[1], best[2], best[0]) if best else None


def read_entity(phrase: str, names: Iterable[str] = (), use_text_model: bool = True) -> EntityReading:
    """Read one entity phrase at name, class or function level (see the module docstring).

    Args:
        phrase: the words that name the set, e.g. ``"hospitals"`` or ``"the Kaisaniemi park"``.
        names: the feature names the data holds (matched first).
        use_text_model: fall back to the MiniLM sentence model for free text.

    Returns:
        The reading; level ``unknown`` (key None) when nothing is recognised.
    """
    text = strip_filler(phrase)
    if not text:
        return EntityReading(phrase, "unknown", None, "empty phrase", 0.0)
    level, _ = infer_level(text)
    if level in ("class", "function"):
        requested = function_request(text)
        cls, function = match_class(text), match_function(text)
        if level == "class" and cls:
            return EntityReading(phrase, "class", cls, "taxonomy", 1.0)
        if requested or function:
            return EntityReading(phrase, "function", requested or function, "taxonomy", 1.0)
    best_name, best_score = None, 0.0
    for n in names:
        s = name_score(text, n)
        if s > best_score:
            best_name, best_score = n, s
    if best_name is not None and best_score >= 1.0:
        return EntityReading(phrase, "name", best_name, "name match", best_score)
    if len(set(taxonomy_phrases(text))) >= 2 and level == "unknown":  # "parks that contain a playground"
        return EntityReading(phrase, "unknown", None, "several kinds of place in one phrase", 0.0)
    requested = function_request(text)
    cls, function = match_class(text), match_function(text)
    if requested or (function and cls is None):
        return EntityReading(phrase, "function", requested or function, "taxonomy", 1.0)
    if cls:
        return EntityReading(phrase, "class", cls, "taxonomy", 1.0)
    typo = _typo_match(text)
    if typo is not None:
        kind, key, score = typo
        return EntityReading(phrase, "class" if kind == "class" else "function", key, "typo", score)
    if best_name is not None and best_score >= NAME_MATCH_THRESHOLD:
        return EntityReading(phrase, "name", best_name, "name match", best_score)
    if use_text_model:
        try:
            m = match_taxonomy(text)
        except (InputError, ImportError, OSError):
            return EntityReading(phrase, "unknown", None, "text model unavailable", 0.0)
        if m.score >= TEXT_MIN_SCORE and m.margin >= TEXT_MIN_MARGIN:
            return EntityReading(phrase, m.level, m.key, "text model", m.score)
    return EntityReading(phrase, "unknown", None, "not recognised", 0.0)
