"""``make policy``: train the small policy that ships in the package, from scratch, by one command.

Steps (each a real ``socio train`` run, so every number lands in a run folder's metrics.jsonl):

1. build the architecture (`train.tiny_vlm`: a ~1.2 M-parameter Qwen2.5-VL, tool-augmented ``zoom`` inputs);
2. SFT on the training split for about ``sft_share`` of the budget (the number of epochs is sized from the
   measured speed of the first steps);
3. GRPO from the SFT model for the rest of the budget;
4. select on the validation split (never the test split): the SFT model or the GRPO model, whichever has the
   higher gIoU through the real agent (`socio eval`, classical segmenter, one refine round);
5. copy the selected model into ``--install`` (the package's ``agent/policies/tiny_vlm/``) with a model card.

Usage:
    python -m socioagent.make_policy --data synth:DATA --work runs/policy --minutes 90 --install agent/policies/tiny_vlm
    python -m socioagent.make_policy --data synth:DATA --work /tmp/p --minutes 1 --limit 8 --val 4   # a smoke run
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from typing import Any

from train.tiny_vlm import build_tiny_vlm

ZOOM = {"inputs": "zoom", "crop_px": 140, "images": "map+sat"}
"""The shipped policy's inputs (chosen on val: see the model card)."""


def _socio(*args: str) -> None:
    from typer.main import get_command

    from socioagent.cli import app

    get_command(app).main(list(args), standalone_mode=False)


def _rows(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def _val_giou(model: Path, data: str, n: int, out: Path, workers: int) -> dict[str, Any]:
    _socio("eval", "--data", data, "--split", "val", "--limit", str(n), "--policy", "hf", "--model", str(model),
           "--max-tokens", "96", "--out", str(out), "--workers", str(workers), "--force", "--quiet")  # fmt: skip
    report = json.loads((out / "report.json").read_text())
    return {"giou": report["overall"]["giou"], "ci95": report["overall"]["ci95"]["giou"],
            "format_failure_rate": report["format_failure_rate"]}  # fmt: skip


def make_policy(args: argparse.Namespace) -> Path:
    """Run the recipe (see the module docstring) and return the selected model's folder."""
    import torch

    from prompts import template_path

    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    init = work / "init"
    if not (init / "config.json").is_file():
        texts = [template_path(n).read_text() for n in ("zoom_localize", "zoom_refine")]
        build_tiny_vlm(init, texts, crop_px=ZOOM["crop_px"], policy_config=ZOOM, seed=args.seed)
    limit = ["--limit", str(args.limit)] if args.limit else []
    common = ["--data", args.data, *limit, "--seed", str(args.seed), "--quiet"]

    # SFT, sized by a probe of its speed
    sft_min = args.minutes * args.sft_share
    probe = work / "probe"
    shutil.rmtree(probe, ignore_errors=True)
    _socio("train", "sft", *common, "--model", str(init), "--out", str(probe), "--epochs", "0.05", "--batch-size",
           "32", "--micro-batch-size", "32", "--cache", str(work / "cache"),
           "--example-workers", str(args.workers))  # fmt: skip
    speed = sorted(r["samples_per_s"] for r in _rows(probe))[len(_rows(probe)) // 2]
    n_examples = 2 * (args.limit or _count(args.data))
    epochs = max(0.5, round(sft_min * 60 * speed * 0.85 / n_examples, 2))
    sft = work / "sft"
    if not (sft / "final" / "config.json").is_file():
        shutil.rmtree(sft, ignore_errors=True)
        _socio("train", "sft", *common, "--model", str(init), "--out", str(sft), "--epochs", str(epochs),
               "--batch-size", "32", "--micro-batch-size", "32", "--learning-rate", str(args.sft_lr),
               "--warmup-steps", "200", "--save-every", "200", "--cache", str(work / "cache"),
               "--max-minutes", str(round(sft_min * 1.1, 2)))  # fmt: skip

    # GRPO for its share of the budget (its own share, not what SFT left: on a busy machine SFT runs over
    # its estimate, and GRPO squeezed to a couple of steps measures nothing)
    grpo = work / "grpo"
    grpo_min = args.minutes * (1.0 - args.sft_share)
    steps = max(args.grpo_min_steps, int(grpo_min * 60 / args.grpo_step_s))
    if not (grpo / "final" / "config.json").is_file():
        shutil.rmtree(grpo, ignore_errors=True)
        _socio("train", "grpo", *common, "--init", str(sft), "--out", str(grpo), "--steps", str(steps),
               "--group-size", "8", "--batch-size", str(args.grpo_batch_size), "--micro-batch-size", "16",
               "--max-new-tokens", "96",
               "--learning-rate", str(args.grpo_lr), "--beta", "0.02", "--temperature", "1.0", "--top-p", "1.0",
               "--stage2-grouping", args.grouping,
               "--save-every", "10", "--eval-every", str(max(1, steps // 3)), "--max-minutes", str(round(grpo_min, 2)),
               "--val", str(min(args.val, 20)))  # fmt: skip

    # select on val
    scores = {name: _val_giou(run / "final", args.data, args.val, work / f"val-{name}", args.workers)
              for name, run in (("sft", sft), ("grpo", grpo))}  # fmt: skip
    sft_steps = len(_rows(sft))
    steps = len(_rows(grpo))
    best = max(scores, key=lambda k: scores[k]["giou"])
    chosen = (sft if best == "sft" else grpo) / "final"
    card = {
        "selected": best, "val": scores, "sft_epochs": round(sft_steps * 32 / n_examples, 2),
        "sft_steps": sft_steps, "grpo_steps": steps, "minutes": args.minutes,
        "wall_min": round((time.perf_counter() - t_start) / 60, 1), "data": args.data, "limit": args.limit,
        "seed": args.seed, "inputs": ZOOM, "threads": args.threads, "grouping": args.grouping,
    }  # fmt: skip
    (work / "selection.json").write_text(json.dumps(card, indent=2))
    if args.install:
        install = Path(args.install)
        tmp = install.with_name(install.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(chosen, tmp)
        (tmp / "training.json").write_text(json.dumps(card, indent=2) + "\n")
        (tmp / "MODEL_CARD.md").write_text(model_card(card, tmp))
        shutil.rmtree(install, ignore_errors=True)
        tmp.rename(install)
    print(json.dumps(card, indent=2))
    return chosen


def model_card(card: dict[str, Any], folder: Path) -> str:
    """Return the model card (markdown) of an installed policy from its selection record."""
    config = json.loads((folder / "config.json").read_text())
    n_params = sum(f.stat().st_size for f in folder.glob("*.safetensors")) // 4
    val = "\n".join(
        f"| {name} | {100 * s['giou']:.1f} [{100 * s['ci95'][0]:.1f}, {100 * s['ci95'][1]:.1f}] | "
        f"{s['format_failure_rate'] or 0:.1%} |"
        for name, s in card["val"].items()
    )
    limit = f", first {card['limit']} scenes" if card["limit"] else ""
    return f"""# tiny-vlm: the small policy that ships with socioagent

A Qwen2.5-VL-architecture model (transformers `{config.get("architectures", ["?"])[0]}`, about {n_params:,}
float32 parameters, its own tokenizer, processor and chat template), trained from scratch on SynthCity by
`make policy` (`socioagent/make_policy.py`: `socio train sft`, then `socio train grpo`, selected on val).
Use it with `--policy tiny-vlm` (`socio segment`, `socio eval`, `socio demo`) or keep training it with
`socio train grpo --init tiny-vlm`.

- Inputs (`socioagent.json`): {json.dumps(card["inputs"])} — the map-layer lookup's output as text (candidate
  points with name and class, land-use and road-block boxes), and the map and satellite images cropped to the
  window around the candidates (the `zoom` tool), resized to at most {card["inputs"]["crop_px"]} px a side.
- Data: `{card["data"]}` train split (SynthCity generator, seed {card["seed"]}){limit}; selection on the val split only.
- Training: SFT {card["sft_epochs"]} epochs, then GRPO {card["grpo_steps"]} steps; budget {card["minutes"]} min,
  wall {card["wall_min"]} min on {card["threads"]} CPU threads. Selected: **{card["selected"]}**.

Validation (SynthCity val, classical segmenter, one refine round; gIoU with 95% bootstrap interval):

| model | val gIoU | format failures |
|---|---|---|
{val}

{card.get("notes", "")}

Test and out-of-distribution figures, and how it compares with the map policy: README, "The small policy".
Intended use: the offline default's image-reading policy on SynthCity-like tiles, and a starting point for
fine-tuning; it is not a general-purpose VLM and was never shown real imagery.
"""


def _count(data: str) -> int:
    from train.data import TrainData

    return len(TrainData.open(data, "train").samples)


def main() -> None:
    """Parse the flags and run the recipe."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="training data, e.g. synth:DIR (train and val splits)")
    ap.add_argument("--work", required=True, help="folder of the runs (init, sft, grpo, val evals)")
    ap.add_argument("--minutes", type=float, default=90.0, help="training budget in minutes (SFT + GRPO)")
    ap.add_argument("--sft-share", type=float, default=0.75, help="share of the budget spent on SFT")
    ap.add_argument("--limit", type=int, default=None, help="train on the first N scenes only")
    ap.add_argument("--val", type=int, default=150, help="validation scenes for the selection")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2, help="processes building the SFT examples and running val")
    ap.add_argument("--sft-lr", type=float, default=1e-3)
    ap.add_argument("--grpo-lr", type=float, default=1e-4)
    ap.add_argument("--grpo-step-s", type=float, default=8.0, help="expected seconds per GRPO step (sizes --steps)")
    ap.add_argument(
        "--grouping",
        default="per_chain",
        choices=("per_chain", "best_context"),
        help="GRPO stage-2 grouping (measured on val: see the README's 'The small policy')",
    )
    ap.add_argument("--grpo-batch-size", type=int, default=32, help="GRPO chains per step (a multiple of 8, G=8)")
    ap.add_argument(
        "--grpo-min-steps", type=int, default=2, help="GRPO steps planned at least (the time budget still ends the run)"
    )
    ap.add_argument("--install", default=None, help="copy the selected model here (the package's policy folder)")
    make_policy(ap.parse_args())


if __name__ == "__main__":
    main()
