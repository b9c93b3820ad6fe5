"""Benchmark the two protocols on SynthCity with oracle boxes: gIoU through each segmenter under each protocol.

With the oracle-box policy the answers are the truth's boxes (in scene pixels), so the protocols can differ only
where the segmenter's settings differ: not at all for the classical segmenter, and for SAM 2 through
``--protocol socioreasoner``'s multimask-and-best-score at the 756 model frame (against one mask on the 768
scene). SAM 2 here is the tiny config with random weights (the same weights under both protocols: the torch
seed is set before each build) at a 256-px model input, so its masks mean little; what the table shows is that
the settings reach the segmenter and what they change, not SAM's quality.

Generates the N SynthCity test scenes once (the same ones bench_eval.py makes for --seed and --size), then for
each segmenter and protocol runs every scene through `agent.run.run_query` (one refine round, as `socio eval`) and
scores it with `evals.metrics`. Writes ROOT/bench_protocols.md and .json.

Usage:
    .venv/bin/python bench/bench_protocols.py [--n 200] [--size 768] [--root runs/bench_protocols]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere
sys.path.insert(0, str(REPO / "bench"))

from bench_eval import generate  # noqa: E402  (the same scenes as bench_eval.py)

from agent.backends import BackendConfig  # noqa: E402
from agent.run import run_query  # noqa: E402
from evals.datasets import make_dataset  # noqa: E402
from evals.metrics import SampleCounts, instance_counts, iou_counts, summarize  # noqa: E402
from tools.segmenters import Segmenter  # noqa: E402

PROTOCOLS = ("socioagent", "socioreasoner")
SAM_IMAGE_SIZE = 256


def build_segmenter(name: str, protocol: str) -> Segmenter:
    """Build the classical segmenter, or tiny random SAM 2 (seeded, 256-px input) with the protocol's settings."""
    cfg = BackendConfig(policy="oracle-box", protocol=protocol)
    if name == "classical":
        return cfg.build_segmenter()
    import torch

    from tools.segmenters.sam2_backend import Sam2Segmenter

    torch.manual_seed(0)
    options = cfg.profile.segmenter_options("sam2")
    return Sam2Segmenter(model="random:tiny", device="cpu", image_size=SAM_IMAGE_SIZE, **options)  # type: ignore[arg-type]


def run_one(data: Path, n: int, segmenter: str, protocol: str) -> dict:
    """Run the first n test scenes; return the summary, seconds per scene and a weight checksum."""
    cfg = BackendConfig(policy="oracle-box", protocol=protocol)
    policy, seg = cfg.build_policy(), build_segmenter(segmenter, protocol)
    checksum = None
    if segmenter == "sam2":
        checksum = float(sum(p.detach().double().sum() for p in seg._predictor.model.parameters()))  # type: ignore[attr-defined]
    rule = cfg.profile.mask_rule
    rows = []
    t0 = time.perf_counter()
    for sample in list(make_dataset(f"synth:{data}", "test"))[:n]:
        scene = sample.load_scene(rule)
        truth = scene.truth
        result = run_query(scene, sample.query, policy=policy, segmenter=seg, max_rounds=cfg.refine, protocol=protocol)
        inter, union = iou_counts(result.mask, truth)
        c = instance_counts(result.mask, truth, result.instance_masks or None)
        rows.append({"intersection": inter, "union": union, "tp": c.tp, "fp": c.fp, "fn": c.fn, "error": None})
    seconds = (time.perf_counter() - t0) / max(1, len(rows))
    summary = summarize(SampleCounts.from_rows(rows))
    ious = [r["intersection"] / r["union"] if r["union"] else 1.0 for r in rows]
    return {"summary": summary, "s_per_scene": seconds, "ious": ious, "weights_checksum": checksum}


def pct(s: dict, key: str) -> str:
    """Format a metric with its 95% interval, in percent."""
    lo, hi = s["ci95"][key]
    return f"{100 * s[key]:.1f} [{100 * lo:.1f}, {100 * hi:.1f}]"


def main() -> None:
    """Run the benchmark and print the table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--size", type=int, default=768)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--segmenters", default="classical,sam2")
    ap.add_argument("--root", type=Path, default=REPO / "runs" / "bench_protocols")
    args = ap.parse_args()

    args.root.mkdir(parents=True, exist_ok=True)
    data, _ = generate(args.root, args.n, args.size, args.seed)
    results: dict[str, dict[str, dict]] = {}
    for segmenter in args.segmenters.split(","):
        for protocol in PROTOCOLS:
            r = run_one(data, args.n, segmenter, protocol)
            results.setdefault(segmenter, {})[protocol] = r
            print(f"{segmenter} {protocol}: gIoU {100 * r['summary']['giou']:.2f}  {r['s_per_scene']:.2f} s/scene",
                  flush=True)  # fmt: skip
    lines = [
        f"SynthCity test, n={args.n}, {args.size}px, oracle-box policy, refine=1; percent with 95% bootstrap "
        f"intervals; SAM 2 = tiny config, random weights (seeded, the same under both protocols), "
        f"{SAM_IMAGE_SIZE}-px model input",
        "",
        "| segmenter | protocol | gIoU | cIoU | F1 | samples whose IoU differs from socioagent | s/scene |",
        "|---|---|---|---|---|---:|---:|",
    ]
    for segmenter, by in results.items():
        base = np.array(by["socioagent"]["ious"])
        for protocol, r in by.items():
            s = r["summary"]
            differ = int(np.sum(np.abs(np.array(r["ious"]) - base) > 1e-12))
            lines.append(f"| {segmenter} | {protocol} | {pct(s, 'giou')} | {pct(s, 'ciou')} | {pct(s, 'f1')} | "
                         f"{differ} | {r['s_per_scene']:.2f} |")  # fmt: skip
    text = "\n".join(lines)
    print(text)
    (args.root / "bench_protocols.md").write_text(text + "\n")
    doc = {seg: {p: {k: v for k, v in r.items() if k != "ious"} for p, r in by.items()} for seg, by in results.items()}
    (args.root / "bench_protocols.json").write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
