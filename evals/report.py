"""The eval report: report.json (numbers), report.md (a readable table) and plots, from results.jsonl.

``report.json`` depends only on ``results.jsonl`` and ``config.json``: rows are deduplicated and sorted by
(split, id), the bootstrap uses a fixed seed and floats are rounded to 6 digits, so the same results give a
byte-identical file however the run was interrupted, resumed or spread over workers. Wall times (latency
percentiles) live in its ``timing`` block: they are the one part that differs between two runs of the same
config.

Metric conventions are those of `evals.metrics`; rows that could not be scored (missing or corrupt
sample files) are counted under ``n_errors`` and left out of the metrics, while agent failures on valid
samples are misses: IoU 0 even on an empty truth, an empty prediction in cIoU and F1 (see `evals.runner`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from evals.metrics import SampleCounts, percentile, summarize
from evals.results import CONFIG, REPORT_FILES, RESULTS, EvalRow, read_results
from tools.files import atomic_write_bytes
from tools.outdir import OutputDir, write_new_file

LEVEL_KEYS = ("name", "class", "function")
BOOTSTRAP_SEED = 0
BOOTSTRAP_RESAMPLES = 1000
PLOTS = ("per_level.png", "iou_hist.png", "overlays.png")


def _round(x: Any) -> Any:
    if isinstance(x, float):
        return None if math.isnan(x) else round(x, 6)
    if isinstance(x, dict):
        return {k: _round(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_round(v) for v in x]
    return x


def _summary(rows: list[EvalRow]) -> dict[str, Any]:
    scored = [r for r in rows if r.scored]
    return summarize(SampleCounts.from_rows(scored), n_resamples=BOOTSTRAP_RESAMPLES, seed=BOOTSTRAP_SEED)


def build_report(rows: list[EvalRow], config: dict[str, Any]) -> dict[str, Any]:
    """Compute the report document from result rows (any order) and the run's config."""
    rows = sorted(rows, key=lambda r: (r.split, r.id))
    scored = [r for r in rows if r.scored]
    levels = list(LEVEL_KEYS) + (["unknown"] if any(r.level == "unknown" for r in rows) else [])
    splits = sorted({r.split for r in rows})
    answers = sum(r.answers for r in scored)
    failures = sum(r.format_failures for r in scored)
    sources = {"sidecar": 0, "inferred": 0, "unknown": 0}
    for r in rows:
        sources[r.level_source] += 1
    latencies = [r.latency_s for r in scored]
    report: dict[str, Any] = {
        "config": config,
        "n_rows": len(rows),
        "n_scored": len(scored),
        "n_errors": sum(1 for r in rows if r.error),
        "n_unscored": len(rows) - len(scored),
        "overall": _summary(rows),
        "per_level": {lvl: _summary([r for r in rows if r.level == lvl]) for lvl in levels},
        "level_sources": sources,
        "format_failure_rate": failures / answers if answers else None,
        "format_failures": failures,
        "answers": answers,
        "encodes_per_sample": sum(r.encodes for r in scored) / len(scored) if scored else None,
        "errors": [{"id": r.id, "split": r.split, "error": r.error} for r in rows if r.error][:50],
        "timing": {
            "latency_p50_s": percentile(latencies, 50),
            "latency_p95_s": percentile(latencies, 95),
            "latency_mean_s": sum(latencies) / len(latencies) if latencies else None,
        },
        "metrics": "gIoU/cIoU/instance F1 as in evals.metrics (F1: IoU>=0.5 one-to-one, components >10 px)",
    }
    if len(splits) > 1:
        report["per_split"] = {s: _summary([r for r in rows if r.split == s]) for s in splits}
    return _round(report)


def write_report(out_dir: str | Path, plots: bool = True) -> dict[str, Any]:
    """Write report.json, report.md and the plots for an eval output folder; return the report.

    Args:
        out_dir: the folder `evals.runner.run_eval` wrote.
        plots: also draw per_level.png, iou_hist.png and overlays.png.

    Raises:
        InputError: the folder has no results.jsonl.
    """
    from tools.errors import InputError

    out = Path(out_dir)
    if not (out / RESULTS).is_file():
        raise InputError(f"{out} has no {RESULTS}; run `socio eval --out {out}` first")
    config = json.loads((out / CONFIG).read_text()) if (out / CONFIG).is_file() else {}
    rows = read_results(out / RESULTS)
    report = build_report(rows, config)
    notes: list[str] = []
    # staged, then renamed in together: a full disk leaves the previous report whole (results.jsonl is untouched)
    with OutputDir(out, owned=REPORT_FILES, merge=True).stage() as staged:
        write_new_file(staged / "report.json", (json.dumps(report, indent=2, sort_keys=True) + "\n").encode())
        if plots:
            notes = draw_plots(out, report, rows, config, dest=staged)
        write_new_file(staged / "report.md", render_markdown(report, notes).encode())
    return report


# ----------------------------------------------------------------------------------------------- markdown


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def _with_ci(s: dict[str, Any], key: str) -> str:
    if s.get(key) is None:
        return "-"
    ci = (s.get("ci95") or {}).get(key)
    return f"{_pct(s[key])} [{_pct(ci[0])}, {_pct(ci[1])}]" if ci else _pct(s[key])


def _table(groups: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "| set | n | gIoU [95% CI] | cIoU [95% CI] | F1 [95% CI] | precision | recall |",
        "|---|---:|---|---|---|---:|---:|",
    ]
    for name, s in groups.items():
        lines.append(
            f"| {name} | {s['n']} | {_with_ci(s, 'giou')} | {_with_ci(s, 'ciou')} | {_with_ci(s, 'f1')} | "
            f"{_pct(s.get('precision'))} | {_pct(s.get('recall'))} |"
        )
    return lines


def render_markdown(report: dict[str, Any], notes: list[str] | None = None) -> str:
    """Render the report as Markdown: results table, level provenance, rates, errors, config, plots."""
    src = report["level_sources"]
    t = report["timing"]
    ffr = report["format_failure_rate"]
    eps = report["encodes_per_sample"]
    lines = [
        "# socio eval report",
        "",
        "Values in percent; 95% bootstrap intervals over samples (1000 resamples, seed 0).",
        "",
        *_table({"all": report["overall"], **report["per_level"]}),
        "",
    ]
    if "per_split" in report:
        lines += ["## Per split", "", *_table(report["per_split"]), ""]
    lines += [
        f"- levels: {src.get('sidecar', 0)} from sidecar, {src.get('inferred', 0)} inferred, "
        f"{src.get('unknown', 0)} unknown (inferred from the query text by the rule in tools/query/levels.py "
        "when the data has no level)",
        f"- samples: {report['n_rows']} rows, {report['n_scored']} scored, {report['n_errors']} with errors "
        f"({report['n_unscored']} unscorable: missing or corrupt files, left out; agent errors score IoU 0, "
        "even on an empty truth, and their empty prediction counts as it is in cIoU and F1)",
        f"- format failures: {report['format_failures']} of {report['answers']} answers"
        + (f" ({100 * ffr:.1f}%)" if ffr is not None else ""),
        "- latency: "
        + (
            f"p50 {t['latency_p50_s']:.3f} s, p95 {t['latency_p95_s']:.3f} s per sample"
            if t["latency_p50_s"] is not None
            else "-"
        ),
        f"- segmenter encodes per sample: {eps:.2f}" if eps is not None else "- segmenter encodes per sample: -",
        f"- metrics: {report['metrics']}",
        "",
    ]
    if report["errors"]:
        lines += ["## Errors", ""]
        lines += [f"- `{e['id']}`: {e['error']}" for e in report["errors"]]
        lines.append("")
    lines += ["## Config", "", "```json", json.dumps(report["config"], indent=2, sort_keys=True), "```", ""]
    lines += ["## Plots", ""]
    lines += [f"![{p}]({p})" for p in PLOTS]
    lines += [f"- {n}" for n in notes or []]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------- plots


def _save(fig: Any, path: Path) -> None:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    atomic_write_bytes(path, buf.getvalue())


def draw_plots(
    out: Path, report: dict[str, Any], rows: list[EvalRow], config: dict[str, Any], dest: Path | None = None
) -> list[str]:
    """Draw per_level.png, iou_hist.png and overlays.png; return notes on what was skipped.

    Args:
        out: the eval folder (its masks are read).
        report: the report.
        rows: its rows.
        config: its config.json.
        dest: the folder to draw into (default ``out``).
    """
    import matplotlib

    matplotlib.use("Agg")
    dest = dest or out
    _per_level_plot(dest / "per_level.png", report)
    _iou_hist(dest / "iou_hist.png", [r.iou for r in rows if r.scored and r.iou is not None])
    return _overlays(out, rows, config, dest)


def _per_level_plot(path: Path, report: dict[str, Any]) -> None:
    import numpy as np
    from matplotlib.figure import Figure

    groups = {"all": report["overall"], **report["per_level"]}
    metrics = ("giou", "ciou", "f1")
    fig = Figure(figsize=(7, 3.6))
    ax = fig.add_subplot()
    x = np.arange(len(groups))
    width = 0.26
    for k, m in enumerate(metrics):
        vals = [100 * (s.get(m) or 0.0) for s in groups.values()]
        lo = [v - 100 * (s["ci95"][m][0] if s.get("ci95") and s["ci95"].get(m) else v / 100) for v, s in
              zip(vals, groups.values(), strict=True)]  # fmt: skip
        hi = [100 * (s["ci95"][m][1] if s.get("ci95") and s["ci95"].get(m) else v / 100) - v for v, s in
              zip(vals, groups.values(), strict=True)]  # fmt: skip
        ax.bar(x + (k - 1) * width, vals, width, yerr=[lo, hi], capsize=3, label={"f1": "F1"}.get(m, m[0] + "IoU"))
    ax.set_xticks(x, [f"{g}\n(n={s['n']})" for g, s in groups.items()])
    ax.set_ylabel("%")
    ax.set_ylim(0, 100)
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title("metrics per level, 95% bootstrap intervals")
    fig.tight_layout()
    _save(fig, path)


def _iou_hist(path: Path, ious: list[float]) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 3.2))
    ax = fig.add_subplot()
    ax.hist(ious, bins=20, range=(0, 1), color="#4477aa", edgecolor="white")
    ax.set_xlabel("per-sample IoU")
    ax.set_ylabel("samples")
    ax.set_title(f"IoU histogram (n={len(ious)})")
    fig.tight_layout()
    _save(fig, path)


def _overlays(out: Path, rows: list[EvalRow], config: dict[str, Any], dest: Path) -> list[str]:
    import cv2
    import numpy as np
    from matplotlib.figure import Figure

    scored = sorted((r for r in rows if r.scored and r.mask_path), key=lambda r: (r.iou or 0.0, r.id))
    best = scored[::-1][:4]
    worst = [r for r in scored[:4] if r not in best]
    picks = [("best", k + 1, r) for k, r in enumerate(best)] + [("worst", k + 5, r) for k, r in enumerate(worst)]
    fig = Figure(figsize=(12, 6.4))
    notes: list[str] = []
    try:
        from evals.datasets import make_dataset

        datasets: dict[str, Any] = {}
        for tag, pos, r in picks:
            if r.split not in datasets:
                datasets[r.split] = make_dataset(config["data"], r.split)
            scene = datasets[r.split].get(r.id).load_scene()
            pred = cv2.imread(str(out / str(r.mask_path)), cv2.IMREAD_GRAYSCALE)
            img = scene.sat.copy()
            if pred is not None and pred.shape == img.shape[:2]:
                on = pred > 0
                img[on] = (0.55 * img[on] + 0.45 * np.array([230, 40, 40])).astype(np.uint8)
            contours, _ = cv2.findContours(scene.truth.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
            cv2.drawContours(img, contours, -1, (40, 230, 40), max(1, img.shape[0] // 256))
            ax = fig.add_subplot(2, 4, pos)
            ax.imshow(img)
            ax.set_axis_off()
            ax.set_title(f"{tag} {r.id} IoU {r.iou or 0.0:.2f}\n{r.level}: {r.query[:28]}", fontsize=8)
    except Exception as e:  # the data may have moved since the run; the numbers do not need it
        notes.append(f"overlays.png not drawn: could not load the scenes ({e})")
        return notes
    fig.suptitle("best (top) and worst (bottom): green = truth outline, red = prediction", fontsize=10)
    fig.tight_layout()
    _save(fig, dest / "overlays.png")
    return notes
