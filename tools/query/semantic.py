"""Read free text against the taxonomy with the bundled MiniLM sentence model (the fallback of `interpret_query`).

Every class is represented by its label, synonyms and description, every function likewise; a query is
embedded once and compared with all of them (`match_taxonomy`). The embeddings of the taxonomy's texts (about
2,000) are read from `CACHE_PATH` for the bundled model when the cache matches today's taxonomy, else computed
once per encoder.
"""

from __future__ import annotations

import hashlib
import io
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from tools.errors import InputError
from tools.files import atomic_write_bytes
from tools.minilm import TextEncoder, default_encoder
from tools.taxonomy import CLASSES, FUNCTIONS

FUNCTION_MARGIN = 0.05
"""How much better than the best class a function must match for the query to be read as a function."""


@dataclass(frozen=True)
class TaxonomyMatch:
    """The taxonomy entry a free-text query is closest to.

    Attributes:
        level: ``"class"`` (a kind of place, e.g. ``school``) or ``"function"`` (what places are for, e.g.
            ``education``).
        key: the class or function key.
        score: cosine similarity of the query to the entry's closest text, in [-1, 1].
        function: the function the match belongs to (the key itself for a function match).
        runner_up: the next best entry at the same level.
        runner_up_score: its score; ``score - runner_up_score`` is a margin callers can threshold.
        class_score: the best class score (for judging the class/function decision).
        function_score: the best function score.
    """

    level: Literal["class", "function"]
    key: str
    score: float
    function: str
    runner_up: str
    runner_up_score: float
    class_score: float
    function_score: float

    @property
    def margin(self) -> float:
        """How far the match is ahead of the runner-up."""
        return self.score - self.runner_up_score


def _class_texts() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for c in CLASSES.values():
        for text in dict.fromkeys((c.label, *c.synonyms, c.description)):
            out.append((c.key, text))
    return out


def _function_texts() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for f in FUNCTIONS.values():
        for text in dict.fromkeys((f.label, *f.synonyms, f.description)):
            out.append((f.key, text))
    return out


CACHE_PATH = Path(__file__).with_name("taxonomy_minilm.npz")
"""The bundled MiniLM's embeddings of every taxonomy text, float16 (encoding them takes a minute on 2 cores).

Rewrite it after changing the taxonomy's words (a test checks it is current):
``python -c "from tools.query.semantic import write_index_cache; write_index_cache()"``.
"""


def taxonomy_digest() -> str:
    """Return a hash of the texts the index embeds, in order (the cache is valid only for these)."""
    lines = [f"class\t{k}\t{t}" for k, t in _class_texts()] + [f"function\t{k}\t{t}" for k, t in _function_texts()]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _model_stamp(encoder: TextEncoder) -> str:
    """Return what identifies an encoder's weights for the cache: the weights file's name and size."""
    weights = Path(encoder.model_dir) / "model.safetensors"
    return f"{weights.name}:{weights.stat().st_size}" if weights.is_file() else ""


def _cached_vectors(encoder: TextEncoder, n: int) -> np.ndarray | None:
    """Return the cached embeddings when they were made by this encoder's weights for today's texts, else None."""
    if not CACHE_PATH.is_file():
        return None
    try:
        with np.load(CACHE_PATH) as z:
            if str(z["digest"]) != taxonomy_digest() or str(z["model"]) != _model_stamp(encoder):
                return None
            vecs = z["vectors"].astype(np.float32)
    except (OSError, KeyError, ValueError):  # an unreadable cache is recomputed, never trusted
        return None
    return vecs if vecs.shape[0] == n else None


def write_index_cache(encoder: TextEncoder | None = None, path: Path = CACHE_PATH) -> Path:
    """Embed every taxonomy text with the (bundled) encoder and write the cache file atomically."""
    enc = encoder or default_encoder()
    texts = [t for _, t in _class_texts()] + [t for _, t in _function_texts()]
    vecs = enc.encode(texts)
    buf = io.BytesIO()
    np.savez_compressed(buf, digest=taxonomy_digest(), model=_model_stamp(enc), vectors=vecs.astype(np.float16))
    atomic_write_bytes(path, buf.getvalue())
    return path


@dataclass(frozen=True)
class _TaxonomyIndex:
    class_keys: list[str]
    class_vecs: np.ndarray
    function_keys: list[str]
    function_vecs: np.ndarray


_index_lock = threading.Lock()
_indexes: dict[int, tuple[TextEncoder, _TaxonomyIndex]] = {}


def _taxonomy_index(encoder: TextEncoder) -> _TaxonomyIndex:
    """Return the taxonomy's text embeddings for an encoder: from `CACHE_PATH` when valid, else computed once."""
    with _index_lock:
        hit = _indexes.get(id(encoder))
        if hit is not None and hit[0] is encoder:
            return hit[1]
        cls = _class_texts()
        fun = _function_texts()
        vecs = _cached_vectors(encoder, len(cls) + len(fun))
        if vecs is None:
            vecs = encoder.encode([t for _, t in cls] + [t for _, t in fun])
        index = _TaxonomyIndex([k for k, _ in cls], vecs[: len(cls)], [k for k, _ in fun], vecs[len(cls) :])
        _indexes[id(encoder)] = (encoder, index)
        return index


def _best_per_key(keys: list[str], scores: np.ndarray) -> list[tuple[str, float]]:
    best: dict[str, float] = {}
    for k, s in zip(keys, scores.tolist(), strict=True):
        if s > best.get(k, -2.0):
            best[k] = s
    return sorted(best.items(), key=lambda kv: -kv[1])


def match_taxonomy(query: str, encoder: TextEncoder | None = None) -> TaxonomyMatch:
    """Match a free-text query to the closest socio-class or socio-function.

    Every class is represented by its label, synonyms and description, every function likewise; an entry's score
    is the cosine of the query to its closest text. The query is read as a *class* (the more specific answer)
    unless the best function beats the best class by `FUNCTION_MARGIN`, which happens for category phrasings
    such as "places for healthcare" (the function labels) but not for "campus of higher education".

    Args:
        query: the user's text, e.g. "where do kids go to learn?".
        encoder: the encoder to use; None uses `default_encoder`.

    Returns:
        The match, with the runner-up at the same level and both levels' best scores.

    Raises:
        InputError: the query is empty.
    """
    if not query or not query.strip():
        raise InputError("match_taxonomy needs a non-empty query")
    enc = encoder or default_encoder()
    index = _taxonomy_index(enc)
    q = enc.encode([query])[0]
    classes = _best_per_key(index.class_keys, index.class_vecs @ q)
    functions = _best_per_key(index.function_keys, index.function_vecs @ q)
    if functions[0][1] >= classes[0][1] + FUNCTION_MARGIN:
        (key, score), (ru, ru_score) = functions[0], functions[1]
        level: Literal["class", "function"] = "function"
        function = key
    else:
        (key, score), (ru, ru_score) = classes[0], classes[1]
        level = "class"
        function = CLASSES[key].function
    return TaxonomyMatch(
        level=level,
        key=key,
        score=score,
        function=function,
        runner_up=ru,
        runner_up_score=ru_score,
        class_score=classes[0][1],
        function_score=functions[0][1],
    )
