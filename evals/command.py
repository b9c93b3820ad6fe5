"""``socio eval``: evaluate a policy and segmenter on a dataset split, resumably, and write the report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer


def eval_command(
    data: Annotated[str, typer.Option(help="dataset: synth:DIR, socioseg:PATH (raw folder or parquet) or PATH")],
    split: Annotated[str, typer.Option(help="split to evaluate")] = "test",
    policy: Annotated[str, typer.Option(help="map | openai | hf | oracle-box | random-box")] = "map",
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible server URL (--policy openai)")] = None,
    model: Annotated[str | None, typer.Option(help="model name (openai) or local path / hub id (hf)")] = None,
    segmenter: Annotated[str, typer.Option(help="classical | sam2")] = "classical",
    checkpoint: Annotated[str | None, typer.Option(help="SAM 2 checkpoint: .pt path or pulled hub id")] = None,
    refine: Annotated[int, typer.Option(min=0, max=8, help="refine rounds after localize (0 = stage 1 only)")] = 1,
    out: Annotated[
        Path | None, typer.Option(help="output folder (default runs/eval/<data>-<split>-<policy>-<segmenter>)")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="evaluate only the first N samples (in id order)")] = None,
    workers: Annotated[int, typer.Option(min=1, help="worker processes, each with its own policy and segmenter")] = 1,
    force: Annotated[bool, typer.Option(help="discard earlier results in --out instead of resuming")] = False,
    seed: Annotated[int, typer.Option(help="seed of the random-box baseline")] = 0,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
) -> None:
    """Evaluate on a dataset split: gIoU, cIoU and instance F1 per level, with 95% intervals.

    Results go to OUT/results.jsonl as they finish; rerun the same command to resume after an interruption.
    """
    from evals.report import write_report
    from evals.runner import EvalConfig, run_eval

    policy_spec, options = _policy(policy, base_url, model)
    seg = segmenter
    if out is None:
        name = Path(data.partition(":")[2] or data).name or "data"
        tag = "-".join(p.replace(":", "_").replace("/", "_") for p in (name, split, policy_spec, seg))
        out = Path("runs") / "eval" / tag
    cfg = EvalConfig(
        data=data, split=split, policy=policy_spec, policy_options=options, segmenter=seg, checkpoint=checkpoint,
        max_rounds=refine, out=out, limit=limit, workers=workers, seed=seed, force=force,
    )  # fmt: skip
    run_eval(cfg, progress=not quiet)
    report = write_report(cfg.out)
    _print_summary(report, cfg.out)


def _policy(policy: str, base_url: str | None, model: str | None) -> tuple[str, dict[str, Any]]:
    from tools.errors import InputError

    name = policy.partition(":")[0]
    if name == "openai":
        options: dict[str, Any] = {"base_url": base_url} if base_url else {}
        if model:
            return f"openai:{model}", options
        return policy, options
    if name == "hf":
        if model and ":" not in policy:
            return f"hf:{model}", {}
        if ":" not in policy:
            raise InputError("--policy hf needs --model <local path or hub id>")
        return policy, {}
    if base_url or model:
        raise InputError(f"--base-url and --model are for --policy openai or hf, not {policy!r}")
    return policy, {}


def _print_summary(report: dict[str, Any], out: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    def cell(s: dict[str, Any], key: str) -> str:
        v = s.get(key)
        if v is None:
            return "-"
        ci = (s.get("ci95") or {}).get(key)
        return f"{100 * v:.1f} [{100 * ci[0]:.1f}-{100 * ci[1]:.1f}]" if ci else f"{100 * v:.1f}"

    table = Table(title="socio eval (%, 95% CI)")
    for col in ("set", "n", "gIoU", "cIoU", "F1"):
        table.add_column(col, justify="left" if col == "set" else "right")
    for name, s in {"all": report["overall"], **report["per_level"]}.items():
        table.add_row(name, str(s["n"]), cell(s, "giou"), cell(s, "ciou"), cell(s, "f1"))
    console = Console()
    console.print(table)
    t = report["timing"]
    ffr = report["format_failure_rate"]
    console.print(
        f"errors {report['n_errors']}  format failures "
        + (f"{100 * ffr:.1f}%" if ffr is not None else "-")
        + (f"  latency p50 {t['latency_p50_s']:.2f}s p95 {t['latency_p95_s']:.2f}s" if t["latency_p50_s"] else "")
    )
    console.print(f"report: {out / 'report.md'}  (report.json, results.jsonl, masks/, *.png)")
