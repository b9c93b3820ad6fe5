"""Benchmark the trainer on this machine with a tiny Qwen2.5-VL: SFT samples/s, GRPO rollouts/s, encodes, RSS.

Runs the real command lines, each in a fresh process under ``/usr/bin/time -v`` (peak RSS):

    python -m socioagent train sft  --data synth:ROOT/synth --model ROOT/tiny --out ROOT/sft ...
    python -m socioagent train grpo --data synth:ROOT/synth --init ROOT/sft --out ROOT/grpo --lora ...

on SynthCity train scenes (generated once), and reports the medians over steps of ``samples_per_s`` (SFT) and
``rollouts_per_s`` (GRPO, two-stage chains per second), segmenter encodes per group, and the learning curve
(reward per stage per step). ``--repeats`` runs each command several times (paired medians).

Usage:
    .venv/bin/python bench/bench_train.py [--n 16] [--size 128] [--sft-epochs 60] [--grpo-steps 10] [--repeats 1]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def timed(cmd: list[str], threads: int) -> tuple[float, float]:
    """Run ``cmd`` under /usr/bin/time -v; return (wall seconds, peak RSS in MiB)."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "HF_HUB_OFFLINE": "1"}
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v", *cmd], cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-3000:]}")
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    return wall, int(rss.group(1)) / 1024 if rss else float("nan")


def rows(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=REPO / "runs" / "bench_train")
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--sft-epochs", type=int, default=60)
    ap.add_argument("--grpo-steps", type=int, default=10)
    ap.add_argument("--group-size", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    sys.path.insert(0, str(REPO))
    from evals.synthcity import generate
    from tests.fixtures.tiny_qwen import build_tiny_qwen25vl

    root = args.root
    data = root / "synth"
    if not (data / "train" / "settings.json").is_file():
        generate(data, "train", args.n, seed=0, size=args.size, formats=("raw",), progress=False)
    tiny = root / "tiny"
    if not (tiny / "config.json").is_file():
        build_tiny_qwen25vl(tiny)
    py = [sys.executable, "-m", "socioagent", "train"]
    results: dict[str, list] = {"sft": [], "grpo": []}
    for rep in range(args.repeats):
        sft, grpo = root / f"sft-{rep}", root / f"grpo-{rep}"
        shutil.rmtree(sft, ignore_errors=True)
        shutil.rmtree(grpo, ignore_errors=True)
        sft_cmd = [*py, "sft", "--data", f"synth:{data}", "--model", str(tiny), "--out", str(sft), "--epochs",
                   str(args.sft_epochs), "--batch-size", "8", "--micro-batch-size", "8", "--learning-rate", "3e-3",
                   "--warmup-steps", "10", "--think", "--quiet"]  # fmt: skip
        wall, rss = timed(sft_cmd, args.threads)
        r = rows(sft)
        results["sft"].append({"wall_s": wall, "rss_mib": rss, "steps": len(r),
                               "samples_per_s": statistics.median(x["samples_per_s"] for x in r),
                               "final_loss": r[-1]["sft_loss"], "command": " ".join(sft_cmd)})  # fmt: skip
        grpo_cmd = [*py, "grpo", "--data", f"synth:{data}", "--init", str(sft), "--out", str(grpo), "--steps",
                    str(args.grpo_steps), "--group-size", str(args.group_size), "--batch-size",
                    str(2 * args.group_size), "--max-new-tokens", "48", "--learning-rate", "5e-4", "--lora",
                    "--lora-rank", "8", "--temperature", "1.0", "--top-p", "1.0", "--quiet"]  # fmt: skip
        wall, rss = timed(grpo_cmd, args.threads)
        r = rows(grpo)
        results["grpo"].append({
            "wall_s": wall, "rss_mib": rss, "steps": len(r),
            "rollouts_per_s": statistics.median(x["rollouts_per_s"] for x in r),
            "encodes_per_group": statistics.mean(x["encodes_per_group"] for x in r),
            "curve": [(x["step"], round(x["localize_reward"], 3), round(x["refine_reward"], 3),
                       round(x["final_iou"], 3)) for x in r],
            "command": " ".join(grpo_cmd),
        })  # fmt: skip
    (root / "bench.json").write_text(json.dumps(results, indent=2))
    for kind, runs in results.items():
        for i, res in enumerate(runs):
            print(kind, i, {k: v for k, v in res.items() if k not in ("command", "curve")})
    print("GRPO curve (step, stage-1 reward, stage-2 reward, final IoU):", results["grpo"][-1]["curve"])
    print("commands:", results["sft"][-1]["command"], "|", results["grpo"][-1]["command"])


if __name__ == "__main__":
    main()
