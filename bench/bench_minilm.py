"""Benchmark the offline text encoder: numpy MiniLM (tools.minilm) against sentence-transformers on this machine.

Run ``.venv/bin/python bench/bench_minilm.py`` (``--help`` for options). Each backend is measured in a fresh
subprocess, so the load figures include importing its libraries (numpy + tokenizers + safetensors, or torch +
sentence-transformers) and reading the weights. It prints machine info, then per backend:

- load: seconds from a cold interpreter to a ready model (import + load), median over ``--loads`` processes;
- encode: median ms for one short query (``encode([q])``), over ``--queries`` calls after a warm-up;
- batch: ms per text for a batch of 64 mixed-length texts (median of 5);
- long: ms for one text cut at 256 tokens;
- and the cosine agreement between the two backends on the query set.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

QUERIES = [
    "where do kids go to learn?",
    "find the nearest ER",
    "green space for a picnic",
    "campus of higher education",
    "somewhere to leave my car",
    "Jinan Zoo",
    "Business Office Building",
    "Park and greenspace",
    "Express Delivery",
    "places for healthcare",
]

WORKER = r"""
import json, os, statistics, sys, time
t0 = time.perf_counter()
backend = sys.argv[1]
queries = json.loads(sys.argv[2])
n_queries = int(sys.argv[3])
os.environ["HF_HUB_OFFLINE"] = "1"
if backend == "numpy":
    from tools.minilm import TextEncoder
    model = TextEncoder.load()
    encode = lambda texts: model.encode(texts)
else:
    from sentence_transformers import SentenceTransformer
    import torch
    from tools.minilm import bundled_model_dir
    model = SentenceTransformer(str(bundled_model_dir()), device="cpu")
    encode = lambda texts: model.encode(texts, convert_to_numpy=True, normalize_embeddings=True, batch_size=32)
load_s = time.perf_counter() - t0
encode(queries[:2])  # warm-up
times = []
for i in range(n_queries):
    q = queries[i % len(queries)]
    t = time.perf_counter()
    encode([q])
    times.append((time.perf_counter() - t) * 1000)
batch = [q * (1 + i % 8) for i, q in enumerate(queries * 7)][:64]
bt = []
for _ in range(5):
    t = time.perf_counter()
    encode(batch)
    bt.append((time.perf_counter() - t) * 1000 / len(batch))
long_text = " ".join(["a school with a red running track next to the river"] * 40)
lt = []
for _ in range(5):
    t = time.perf_counter()
    encode([long_text])
    lt.append((time.perf_counter() - t) * 1000)
vecs = encode(queries)
print(json.dumps({
    "load_s": load_s,
    "encode_ms": statistics.median(times),
    "encode_p90_ms": sorted(times)[int(0.9 * (len(times) - 1))],
    "batch_ms_per_text": statistics.median(bt),
    "long_ms": statistics.median(lt),
    "vecs": [[float(x) for x in v] for v in vecs],
}))
"""


def machine_info() -> str:
    """Return one line about the CPU, cores and library versions."""
    import numpy as np

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    return (
        f"cpu: {cpu}; cores: {os.cpu_count()}; load avg (1 min): {load:.2f}; "
        f"python {platform.python_version()}; numpy {np.__version__}"
    )


def run_backend(backend: str, n_queries: int) -> dict:
    """Run the worker for one backend in a fresh interpreter and return its figures."""
    out = subprocess.run(
        [sys.executable, "-c", WORKER, backend, json.dumps(QUERIES), str(n_queries)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "TOKENIZERS_PARALLELISM": "false"},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """Measure both backends and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=100, help="single-query encode calls to time")
    parser.add_argument("--loads", type=int, default=3, help="cold-start processes per backend (median load)")
    parser.add_argument("--backends", default="numpy,sentence-transformers")
    args = parser.parse_args()

    print(machine_info())
    results: dict[str, dict] = {}
    for backend in args.backends.split(","):
        runs = [run_backend(backend, args.queries) for _ in range(max(1, args.loads))]
        r = dict(runs[-1])
        r["load_s"] = statistics.median(x["load_s"] for x in runs)
        r["encode_ms"] = statistics.median(x["encode_ms"] for x in runs)
        r["encode_p90_ms"] = statistics.median(x["encode_p90_ms"] for x in runs)
        r["batch_ms_per_text"] = statistics.median(x["batch_ms_per_text"] for x in runs)
        r["long_ms"] = statistics.median(x["long_ms"] for x in runs)
        results[backend] = r
        print(
            f"{backend:22} load {r['load_s']:.2f} s | encode 1 query {r['encode_ms']:.2f} ms "
            f"(p90 {r['encode_p90_ms']:.2f}) | batch of 64: {r['batch_ms_per_text']:.2f} ms/text | "
            f"256-token text {r['long_ms']:.1f} ms"
        )
    if {"numpy", "sentence-transformers"} <= results.keys():
        import numpy as np

        a = np.array(results["numpy"]["vecs"])
        b = np.array(results["sentence-transformers"]["vecs"])
        cos = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
        print(f"cosine numpy vs sentence-transformers over {len(QUERIES)} queries: min {cos.min():.6f}")


if __name__ == "__main__":
    main()
