"""The small policy against the map policy on SynthCity: one table with 95% intervals, ablations on val.

Every cell is a real ``socio eval`` run (classical segmenter) in its own folder under ``--out``, so an
interrupted bench resumes where it stopped. Rows: the map policy, tiny-vlm after SFT, tiny-vlm after SFT +
GRPO, each with ``--refine 0`` (stage 1 only) and ``--refine 1`` (two stages); columns: the test split and
the three out-of-distribution splits. ``--ablations`` adds, on val, the selected model with each input
removed (the satellite crop's pixels shuffled, the map crop's pixels shuffled, the lookup's candidates
hidden from the text) — what the model reads. Inference cost per query (median, p95) comes from the eval
rows' latencies.

Usage (data from ``socio synth``, runs from ``make policy``):
    python bench/bench_tiny_vlm.py --data /work/data/synth --sft runs/policy/sft/final \\
        --grpo runs/policy/grpo/final --out runs/bench-tiny-vlm --ablations
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SPLITS = {"test": 200, "ood-mapstyle": 100, "ood-region": 100, "ood-classes": 100}


def _eval(out: Path, data: str, split: str, n: int, policy: list[str], refine: int, workers: int = 1) -> dict[str, Any]:
    from typer.main import get_command

    from socioagent.cli import app

    if not (out / "report.json").is_file():
        args = ["eval", "--data", data, "--split", split, "--limit", str(n), *policy, "--refine", str(refine),
                "--out", str(out), "--workers", str(workers), "--quiet"]  # fmt: skip
        if policy[1] != "map":
            args += ["--max-tokens", "96"]
        get_command(app).main(args, standalone_mode=False)
    return json.loads((out / "report.json").read_text())


def _cell(report: dict[str, Any]) -> dict[str, Any]:
    o = report["overall"]
    return {"n": o["n"], "giou": o["giou"], "ciou": o["ciou"], "f1": o["f1"], "ci95": o["ci95"],
            "ffr": report["format_failure_rate"] or 0.0, "p50_s": report["timing"]["latency_p50_s"],
            "p95_s": report["timing"]["latency_p95_s"]}  # fmt: skip


def _fmt(c: dict[str, Any], key: str) -> str:
    lo, hi = c["ci95"][key]
    return f"{100 * c[key]:.1f} [{100 * lo:.1f}, {100 * hi:.1f}]"


def _ablated(model: Path, ablate: str, root: Path) -> Path:
    """Copy a checkpoint with its socioagent.json asking for an input ablation."""
    dst = root / f"model-{ablate}"
    if not (dst / "config.json").is_file():
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(model, dst)
        cfg = json.loads((dst / "socioagent.json").read_text())
        (dst / "socioagent.json").write_text(json.dumps({**cfg, "ablate": ablate}))
    return dst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="SynthCity folder (test, ood-*, val splits)")
    ap.add_argument("--sft", required=True, help="checkpoint after SFT")
    ap.add_argument("--grpo", required=True, help="checkpoint after SFT + GRPO")
    ap.add_argument("--out", required=True, help="folder of the eval runs and the table")
    ap.add_argument("--ablations", action="store_true", help="also the input ablations on val")
    ap.add_argument("--selected", default="grpo", choices=("sft", "grpo"), help="model the ablations use")
    ap.add_argument("--val", type=int, default=150, help="val samples for the ablations")
    ap.add_argument("--workers", type=int, default=1, help="eval worker processes per cell (1 torch thread each)")
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of each split's n (a quick look)")
    ap.add_argument(
        "--cells",
        default=None,
        help="only these cells, comma-separated POLICY:REFINE:SPLIT (e.g. sft+grpo:1:test); default all",
    )
    ap.add_argument(
        "--ablation-list",
        default="none,shuffle-sat,shuffle-map,no-candidates",
        help="which input ablations to run with --ablations",
    )
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    out, data = Path(args.out), f"synth:{args.data}"
    out.mkdir(parents=True, exist_ok=True)
    rows = {"map": ["--policy", "map"], "sft": ["--policy", "hf", "--model", args.sft],
            "sft+grpo": ["--policy", "hf", "--model", args.grpo]}  # fmt: skip
    table: dict[str, Any] = {}
    if (out / "table.json").is_file():
        table = json.loads((out / "table.json").read_text())
    wanted = set(args.cells.split(",")) if args.cells else None
    for name, policy in rows.items():
        for refine in (0, 1):
            for split, n in SPLITS.items():
                if wanted is not None and f"{name}:{refine}:{split}" not in wanted:
                    continue
                n = max(1, round(n * args.scale))
                rep = _eval(out / f"{name}-r{refine}-{split}-n{n}", data, split, n, policy, refine, args.workers)
                table[f"{name}|{refine}|{split}"] = _cell(rep)
                (out / "table.json").write_text(json.dumps(table, indent=2))
                print(name, refine, split, _fmt(table[f"{name}|{refine}|{split}"], "giou"), flush=True)
    if args.ablations:
        model = Path(args.grpo if args.selected == "grpo" else args.sft)
        for ablate in args.ablation_list.split(","):
            m = model if ablate == "none" else _ablated(model, ablate, out)
            rep = _eval(
                out / f"val-{ablate}-n{args.val}",
                data,
                "val",
                args.val,
                ["--policy", "hf", "--model", str(m)],
                1,
                args.workers,
            )
            table[f"ablate|{ablate}"] = _cell(rep)
            print("ablate", ablate, _fmt(table[f"ablate|{ablate}"], "giou"), flush=True)
        rep = _eval(out / f"val-map-n{args.val}", data, "val", args.val, ["--policy", "map"], 1, args.workers)
        table["ablate|map"] = _cell(rep)
    (out / "table.json").write_text(json.dumps(dict(sorted(table.items())), indent=2))
    (out / "table.md").write_text(_markdown(table))
    print(_markdown(table))


def _markdown(table: dict[str, Any]) -> str:
    head = "| policy | refine | split | n | gIoU [95% CI] | cIoU [95% CI] | F1 [95% CI] | format fail | p50 s | p95 s |"
    lines = [head, "|---|---|---|---|---|---|---|---|---|---|"]
    for key, c in table.items():
        name, *rest = key.split("|")
        refine, split = rest if len(rest) == 2 else ("1", f"val ({rest[0]})")
        lines.append(f"| {name} | {refine} | {split} | {c['n']} | {_fmt(c, 'giou')} | {_fmt(c, 'ciou')} | "
                     f"{_fmt(c, 'f1')} | {c['ffr']:.1%} | {c['p50_s']:.3f} | {c['p95_s']:.3f} |")  # fmt: skip
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
