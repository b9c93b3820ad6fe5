"""Benchmark the offline default and the agent's own overhead (issue: the two-stage agent end to end).

Measures, on this machine:
1. `socio demo` as a user runs it: wall time and peak RSS of the whole process (median of --runs).
2. The offline default per query on 768x768 SynthCity scenes (map policy + classical segmenter, one refine
   round): total time and the agent's own overhead (all but policy and segmenter calls), medians and p95.
3. SAM 2 encodes per query (random-initialised tiny SAM 2 on CPU): 1 whatever the number of prompts and
   stages.

Run: .venv/bin/python bench/bench_demo.py [--runs 5] [--scenes 30]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    """Describe the machine in one line."""
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}"


def bench_cli_demo(runs: int) -> dict[str, float]:
    """Time `socio demo` end to end in fresh processes and read each one's peak RSS."""
    socio = Path(sys.executable).with_name("socio")
    walls, rss = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as d:
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            t0 = time.perf_counter()
            subprocess.run([str(socio), "demo", "--out", d], check=True, capture_output=True)
            walls.append(time.perf_counter() - t0)
            after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            rss.append(max(after, before) / 1024)  # ru_maxrss is the max over children so far, in KiB
    return {"wall_s_median": statistics.median(walls), "wall_s_min": min(walls), "peak_rss_mib": max(rss)}


def bench_queries(n: int) -> dict[str, float]:
    """Answer n SynthCity queries with the offline default; return time and overhead percentiles."""
    from dataclasses import replace

    from agent.policies.rule import MapPolicy
    from agent.run import run_query
    from evals.synthcity import generate_sample
    from tools.segmenters import make_segmenter

    policy, seg = MapPolicy(), make_segmenter("classical")
    totals, overheads, policy_s, seg_s = [], [], [], []
    warm = generate_sample(seed=2, index=0, split="test")  # the first query in a process also pays lazy imports
    cold = run_query(replace(warm.scene, truth=None), warm.query, policy=policy, segmenter=seg, max_rounds=1)
    for i in range(n):
        s = generate_sample(seed=1, index=i, split="test")
        r = run_query(replace(s.scene, truth=None), s.query, policy=policy, segmenter=seg, max_rounds=1)
        totals.append(r.timings.total_s)
        overheads.append(r.timings.overhead_s)
        policy_s.append(r.timings.policy_s)
        seg_s.append(r.timings.segment_s)
    q = statistics.quantiles
    return {
        "total_s_median": statistics.median(totals), "total_s_p95": q(totals, n=20)[-1],
        "overhead_ms_median": 1000 * statistics.median(overheads), "overhead_ms_p95": 1000 * q(overheads, n=20)[-1],
        "policy_ms_median": 1000 * statistics.median(policy_s), "segment_ms_median": 1000 * statistics.median(seg_s),
        "first_query_total_s": cold.timings.total_s, "first_query_overhead_ms": 1000 * cold.timings.overhead_s,
    }  # fmt: skip


def bench_sam2_encodes() -> dict[str, float]:
    """Run one query with many prompts and two refine rounds on random tiny SAM 2; count encodes."""
    from dataclasses import replace

    from agent.policies.rule import MapPolicy
    from agent.run import run_query
    from evals.synthcity import generate_sample
    from tools.segmenters.sam2_backend import Sam2Segmenter

    seg = Sam2Segmenter(model="random:tiny", device="cpu")
    out = {}
    for i in range(3):
        s = generate_sample(seed=1, index=i, split="test")
        t0 = time.perf_counter()
        r = run_query(replace(s.scene, truth=None), s.query, policy=MapPolicy(), segmenter=seg, max_rounds=2)
        out[f"query{i}_encodes"] = r.encodes
        out[f"query{i}_prompts"] = sum(len(st.prompts) for st in r.stages)
        out[f"query{i}_s"] = time.perf_counter() - t0
    return out


def main() -> None:
    """Run the benchmarks and print a table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="socio demo runs")
    ap.add_argument("--scenes", type=int, default=30, help="SynthCity queries for the per-query figures")
    ap.add_argument("--no-sam2", action="store_true", help="skip the SAM 2 encode count")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    print(f"machine: {machine()}")
    for name, fn in [("socio demo (process)", lambda: bench_cli_demo(args.runs)),
                     ("offline default per query", lambda: bench_queries(args.scenes))] + (
                        [] if args.no_sam2 else [("SAM 2 encodes per query", bench_sam2_encodes)]):  # fmt: skip
        res = fn()
        print(f"\n{name}")
        for k, v in res.items():
            print(f"  {k:<22} {v:10.3f}")


if __name__ == "__main__":
    main()
