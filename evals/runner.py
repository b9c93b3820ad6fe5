"""The eval runner: every sample of a split through `agent.run.run_query`, scored, resumable and atomic.

The output folder (``--out``: config.json, results.jsonl, masks/) is described in `evals.results`; one
sample's row and what becomes of its errors in `evals.evaluator`; ``--workers N`` in `evals.workers`.

- ``config.json`` holds what defines the run (data, split, and `agent.backends.BackendConfig.identity`:
  policy, server, segmenter, refine rounds, prompts, sampling). A rerun with a different one is refused;
  ``--limit`` and ``--workers`` may change.
- A rerun skips the ids already in results.jsonl; a truncated last line (a kill mid-write) is cut off
  and its sample run again, so nothing is lost or duplicated.
- ``--limit N`` evaluates the first N samples in id order; the report covers every row in results.jsonl.
- A resumed or parallel run writes the same rows as an uninterrupted one when the policy and segmenter
  are deterministic per sample (the baselines and the map policy are; the classical segmenter is only
  when OpenCV's RNG is seeded where GrabCut runs).

Errors: a sample that cannot be loaded is an unscored row, an agent failure a scored miss (see
`evals.evaluator`). A `BackendError` (server down, model missing, a worker process that died) stops the
run: the rows already written stay, and the same command resumes once the backend is back. Ctrl-C stops
the run; finished rows stay, no worker process outlives it, and a rerun continues.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from agent.backends import BackendConfig
from evals.datasets import Sample
from evals.evaluator import SampleEvaluator
from evals.progress import progress_bar
from evals.results import RESULTS, EvalRow, ResultWriter, prepare_out, read_results
from evals.workers import rows_in_workers
from tools.outdir import check_location, lock_dir


class EvalConfig(BaseModel):
    """Everything one evaluation run needs."""

    model_config = ConfigDict(extra="forbid")

    data: str = Field(description="dataset spec: synth:DIR, socioseg:PATH or a bare PATH (see evals.datasets)")
    split: str = Field("test", description="split to evaluate")
    backend: BackendConfig = Field(default_factory=BackendConfig, description="the policy, segmenter and options")
    out: Path = Field(description="output folder: config.json, results.jsonl, masks/, report.*")
    limit: int | None = Field(None, ge=1, description="evaluate only the first N samples in id order")
    workers: int = Field(1, ge=1, le=64, description="worker processes (1 = in-process)")
    force: bool = Field(False, description="discard earlier results in --out instead of resuming")

    def identity(self) -> dict[str, Any]:
        """Return the fields that define the results (what config.json holds and a rerun must match).

        Raises:
            InputError: the data spec is bad.
        """
        from evals.datasets import parse_dataset_spec

        kind, path = parse_dataset_spec(self.data)
        return {"data": f"{kind}:{path.resolve()}", "split": self.split, **self.backend.identity()}


def rows_in_process(samples: Sequence[Sample], backend: BackendConfig, out: Path) -> Generator[EvalRow, None, None]:
    """Yield the samples' rows, in order, from one evaluator in this process."""
    evaluator = SampleEvaluator(backend, out)
    for s in samples:
        yield evaluator.evaluate(s)


def run_eval(cfg: EvalConfig, progress: bool = True) -> Path:
    """Evaluate a split, resuming from what ``cfg.out`` already holds; return the output folder.

    Raises:
        DatasetNotFoundError: the data or split is missing.
        InputError: a spec is bad, ``cfg.out`` holds results of a different config, cannot be written, or
            another run is writing it (the message names its pid).
        BackendError: a backend failed; finished rows are kept and a rerun resumes.
    """
    from evals.datasets import make_dataset

    dataset = make_dataset(cfg.data, cfg.split)
    check_location(cfg.out)  # a file, a read-only or full disk: refused before any sample runs
    with lock_dir(cfg.out, "socio eval"):  # one writer per folder: a second run names this one's pid
        return _run_locked(cfg, dataset, progress)


def _run_locked(cfg: EvalConfig, dataset: Any, progress: bool) -> Path:
    prepare_out(cfg.out, cfg.identity(), force=cfg.force)
    results_path = cfg.out / RESULTS
    done = read_results(results_path, repair=True)
    done_ids = {r.id for r in done if r.split == cfg.split}
    selected = dataset[: cfg.limit] if cfg.limit else list(dataset)
    todo = dataset.storage_order([s for s in selected if s.id not in done_ids])
    selected_ids = {s.id for s in selected}
    ious = [r.iou for r in done if r.id in selected_ids and r.scored]
    if not todo:
        return cfg.out
    if cfg.workers == 1 or len(todo) == 1:
        rows = rows_in_process(todo, cfg.backend, cfg.out)
    else:
        rows = rows_in_workers(todo, cfg.backend, cfg.out, cfg.workers)
    writer = ResultWriter(results_path)
    try:
        with progress_bar("eval", len(selected), len(selected) - len(todo), progress, giou="-") as update:
            for row in rows:
                writer.write(row)
                if row.scored:
                    ious.append(row.iou)
                update(advance=1, giou=f"{np.mean(ious):.3f}" if ious else "-")
    finally:
        rows.close()  # a worker pool stops here, not whenever the generator is collected
        writer.close()
    return cfg.out
