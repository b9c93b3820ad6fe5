"""Benchmark `socio eval` on SynthCity: wall time of the offline default and the baseline table.

Generates N SynthCity test scenes (768x768 by default) into an ignored folder once (reused while its
``test/settings.json`` matches --seed and --size and it holds the N samples; regenerated otherwise), then
runs the real command line for each policy (classical segmenter, one refine round):

    python -m socioagent.cli eval --data synth:runs/bench_eval/synth --policy POLICY --limit N \
        --out runs/bench_eval/POLICY --force --quiet

and prints gIoU / cIoU / F1 per level with 95% bootstrap intervals and the time per scene: the runner's
own per-sample latency (p50, p95; what one query costs) and the wall time of the whole command divided by
N ("wall s/scene", which also pays for process start, dataset listing and report drawing).
Results are also written to runs/bench_eval/bench.json and bench.md.

Usage:
    .venv/bin/python bench/bench_eval.py [--n 200] [--size 768] [--policies oracle-box,map,random-box]
                                         [--workers 1] [--root runs/bench_eval]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GSD = 0.6


def generate(root: Path, n: int, size: int, seed: int) -> tuple[Path, float | None]:
    """Generate the scenes once; return the data folder and the generation seconds (None when reused).

    The folder ``root/synth`` is reused when its settings.json matches (seed, size, the generator version)
    and its first n samples are complete; a folder of other settings is deleted and generated anew.
    """
    from evals.synthcity import generate as synth_generate
    from evals.synthcity.export import is_complete, read_settings, sample_settings
    from tools.errors import InputError

    data = root / "synth"
    split_dir = data / "test"
    try:
        have = read_settings(split_dir)
    except InputError:
        have = None
    same = have == sample_settings("test", seed, size, GSD)
    if same and all(is_complete(split_dir / f"test-{seed}-{i:05d}") for i in range(n)):
        return data, None
    if not same and data.exists():  # this benchmark's own cache, made with other settings
        shutil.rmtree(data)
    t0 = time.perf_counter()
    synth_generate(data, "test", n, seed, size=size, gsd=GSD)
    return data, time.perf_counter() - t0


def run_policy(data: Path, root: Path, policy: str, workers: int, refine: int, n: int) -> tuple[list[str], float, dict]:
    """Run one `socio eval` on the first n samples as a subprocess; return the command, its wall time, the report."""
    out = root / policy
    cmd = [sys.executable, "-m", "socioagent.cli", "eval", "--data", f"synth:{data}", "--policy", policy,
           "--limit", str(n), "--out", str(out), "--workers", str(workers), "--refine", str(refine),
           "--force", "--quiet"]  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env={**os.environ, "COLUMNS": "120"})
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{shlex.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return cmd, wall, json.loads((out / "report.json").read_text())


def fmt(s: dict, key: str) -> str:
    """Format one metric with its interval, in percent."""
    if s.get(key) is None:
        return "-"
    ci = (s.get("ci95") or {}).get(key)
    return f"{100 * s[key]:.1f} [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]" if ci else f"{100 * s[key]:.1f}"


def _seconds(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def per_scene(report: dict, wall: float, n: int) -> str:
    """Return the one-line time per scene of a run: the runner's p50 latency first, then wall / n."""
    p50 = report["timing"]["latency_p50_s"]
    return (
        f"{_seconds(p50)} s/scene (p50 of the runner's per-sample latency); {wall:.1f} s wall, "
        f"{wall / n:.3f} s/scene wall (includes process start, dataset listing and report drawing)"
    )


def render(results: dict[str, dict], n: int, size: int, refine: int, workers: int) -> str:
    """Return the Markdown tables: metrics per policy and level, then time per scene and failure rates."""
    lines = [
        f"SynthCity test, n={n}, {size}px, classical segmenter, refine={refine}, "
        f"workers={workers}; percent with 95% bootstrap intervals",
        "",
        "| policy | set | n | gIoU | cIoU | F1 |",
        "|---|---|---:|---|---|---|",
    ]
    for policy, r in results.items():
        rep = r["report"]
        levels = [k for k in ("name", "class", "function", "unknown") if k in rep["per_level"]]
        for name, s in {"all": rep["overall"], **{k: rep["per_level"][k] for k in levels}}.items():
            lines.append(f"| {policy} | {name} | {s['n']} | {fmt(s, 'giou')} | {fmt(s, 'ciou')} | {fmt(s, 'f1')} |")
    lines += [
        "",
        "| policy | s/scene (p50) | p95 s | wall s | wall s/scene | format failures | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for policy, r in results.items():
        rep, t = r["report"], r["report"]["timing"]
        ffr = rep["format_failure_rate"]
        lines.append(
            f"| {policy} | {_seconds(t['latency_p50_s'])} | {_seconds(t['latency_p95_s'])} | {r['wall_s']:.1f} | "
            f"{r['wall_s'] / n:.3f} | {'-' if ffr is None else f'{100 * ffr:.1f}%'} | {rep['n_errors']} |"
        )
    lines += [
        "",
        "s/scene (p50) and p95: the runner's per-sample latency (scene loading excluded: localize, segment, refine). "
        "wall s/scene: the command's wall time / n, which also includes process start, dataset listing and "
        "report drawing (and, with --workers, worker start).",
    ]
    return "\n".join(lines)


def main() -> None:
    """Run the benchmark and print the table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--size", type=int, default=768)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--policies", default="oracle-box,map,random-box")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--refine", type=int, default=1)
    ap.add_argument("--root", type=Path, default=REPO / "runs" / "bench_eval")
    args = ap.parse_args()

    args.root.mkdir(parents=True, exist_ok=True)
    data, gen_s = generate(args.root, args.n, args.size, args.seed)
    print(f"data: {data} ({args.n} test scenes, {args.size}px)" + (f", generated in {gen_s:.1f} s" if gen_s else ""))
    results = {}
    for policy in args.policies.split(","):
        cmd, wall, report = run_policy(data, args.root, policy, args.workers, args.refine, args.n)
        results[policy] = {"command": shlex.join(cmd), "wall_s": wall, "report": report}
        print(f"{policy}: {per_scene(report, wall, args.n)}  $ {shlex.join(cmd)}")
    text = render(results, args.n, args.size, args.refine, args.workers)
    print(text)
    (args.root / "bench.md").write_text(text + "\n")
    keep = ("overall", "per_level", "timing")
    summary = {
        p: {"command": r["command"], "wall_s": r["wall_s"], **{k: r["report"][k] for k in keep}}
        for p, r in results.items()
    }
    (args.root / "bench.json").write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
