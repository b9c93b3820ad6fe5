"""Benchmark SynthCity generation on one core: scenes/s for generate_sample alone and with the raw export.

Run: ``.venv/bin/python bench/bench_synth.py --n 20`` (768 x 768 tiles by default). Threads are pinned to one
(OMP, OpenBLAS, MKL, OpenCV) before numpy and OpenCV load. Reports the median per-scene wall and CPU time and
the rates they imply; on a shared machine the CPU-time rate is the steadier figure.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

cv2.setNumThreads(1)


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{platform.platform()} | {cpu} | {os.cpu_count()} cpus | load {load:.2f} | python {platform.python_version()} "
        f"| numpy {np.__version__} | opencv {cv2.__version__}"
    )


def _timed(fn: Callable[[], object]) -> tuple[float, float]:
    w, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w, time.process_time() - c


def _line(name: str, walls: list[float], cpus: list[float]) -> str:
    mw, mc = statistics.median(walls), statistics.median(cpus)
    return (
        f"{name:<28} median wall {mw * 1e3:7.1f} ms ({1 / mw:5.2f} scenes/s)   "
        f"median cpu {mc * 1e3:7.1f} ms ({1 / mc:5.2f} scenes/s)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20, help="scenes per measurement")
    ap.add_argument("--size", type=int, default=768, help="tile size in pixels")
    ap.add_argument("--split", default="test", help="split to generate")
    ap.add_argument("--seed", type=int, default=0, help="dataset seed")
    args = ap.parse_args()

    from evals.synthcity import generate_sample
    from evals.synthcity.export import encode_sample, write_raw

    generate_sample(args.seed, 0, args.split, args.size)  # warm imports, fonts, caches
    print(_machine())
    print(f"SynthCity {args.split}, {args.n} scenes of {args.size}x{args.size} px, 1 thread")

    walls, cpus = [], []
    for i in range(args.n):
        w, c = _timed(lambda i=i: generate_sample(args.seed, i, args.split, args.size))
        walls.append(w)
        cpus.append(c)
    print(_line("generate_sample", walls, cpus))

    walls, cpus = [], []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / args.split
        root.mkdir()
        for i in range(args.n):

            def job(i: int = i) -> None:
                s = generate_sample(args.seed, i, args.split, args.size)
                write_raw(encode_sample(s), root / s.sample_id)

            w, c = _timed(job)
            walls.append(w)
            cpus.append(c)
        size_mb = sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / args.n / 1e6
    print(_line("generate + write raw", walls, cpus))
    print(f"raw folder size: {size_mb:.2f} MB per scene")


if __name__ == "__main__":
    main()
