"""``socio eval``: evaluate a policy and segmenter on a dataset split, resumably, and write the report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from agent.backends import BackendConfig
from socioagent.options import backend_options


@backend_options()
def eval_command(
    data: Annotated[str, typer.Option(help="dataset: synth:DIR, socioseg:PATH (raw folder or parquet) or PATH")],
    backend: BackendConfig,
    split: Annotated[str, typer.Option(help="split to evaluate")] = "test",
    out: Annotated[
        Path | None, typer.Option(help="output folder (default runs/eval/<data>-<split>-<policy>-<segmenter>)")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="evaluate only the first N samples (in id order)")] = None,
    workers: Annotated[int, typer.Option(min=1, help="worker processes, each with its own policy and segmenter")] = 1,
    force: Annotated[bool, typer.Option(help="discard earlier results in --out instead of resuming")] = False,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
) -> None:
    """Evaluate on a dataset split: gIoU, cIoU and instance F1 per level, with 95% intervals.

    Results go to OUT/results.jsonl as they finish; rerun the same command to resume after an interruption.
    """
    from evals.report import write_report
    from evals.runner import EvalConfig, run_eval

    if out is None:
        name = Path(data.partition(":")[2] or data).name or "data"
        parts = (name, split, backend.policy_spec(), backend.segmenter_spec())
        out = Path("runs") / "eval" / "-".join(p.replace(":", "_").replace("/", "_") for p in parts)
    cfg = EvalConfig(data=data, split=split, backend=backend, out=out, limit=limit, workers=workers, force=force)
    run_eval(cfg, progress=not quiet)
    report = write_report(cfg.out)
    _print_summary(report, cfg.out)


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
