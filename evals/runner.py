"""The eval runner: every sample of a split through `agent.run.run_query`, scored, resumable and atomic.

Output folder (``--out``):

- ``config.json``: what defines the run (data, split, and `agent.backends.BackendConfig.identity`: policy,
  server, segmenter, refine rounds, prompts, sampling). A rerun with a different one is refused; ``--limit``
  and ``--workers`` may change.
- ``results.jsonl``: one JSON line per finished sample, appended by the parent process alone and
  flushed and fsynced line by line. A rerun skips the ids already there; a truncated last line (a kill
  mid-write) is cut off and its sample run again, so nothing is lost or duplicated.
- ``masks/<id>.png``: the predicted mask, 0/255, the size of the truth mask (written atomically).

``--limit N`` evaluates the first N samples in id order; the report covers every row in results.jsonl.
A resumed or parallel run writes the same rows as an uninterrupted one when the policy and segmenter are
deterministic per sample (the baselines and the map policy are; the classical segmenter is only when
OpenCV's RNG is seeded where GrabCut runs).

Errors, decided here:

- A sample whose files are missing or corrupt (`InputError` while loading) becomes a row with
  ``scored: false`` and the error message; it is left out of the metrics and counted in the report.
- An error inside the agent on a valid sample (a tool or parsing bug) becomes a row with ``scored: true``,
  an empty prediction and the error: the system failed on that sample, so it counts as a miss. The row's
  ``iou`` is 0 even when the truth is empty (where an empty prediction would score 1), and the report
  scores it so too: `evals.metrics.SampleCounts.from_rows` reads a scored row's ``error`` as a failure.
- A `BackendError` (server down, model missing) stops the run: the rows already written stay, and the
  same command resumes once the backend is back.
- A worker process that dies (``--workers N``: killed, out of memory, a crash in native code) ends the run
  with a `BackendError` instead of hanging: finished rows stay and a rerun continues.
- Ctrl-C stops the run; finished rows stay, no worker process outlives it, and a rerun continues.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from agent.backends import BackendConfig
from evals.progress import progress_bar
from tools.errors import BackendError, InputError, SocioError
from tools.files import atomic_write_bytes, png_bytes

RESULTS = "results.jsonl"
CONFIG = "config.json"
MASKS = "masks"


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


# ----------------------------------------------------------------------------------------------- files


def mask_filename(sample_id: str) -> str:
    """Return a safe file name for a sample's mask."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", sample_id) + ".png"


def write_mask(path: Path, mask: np.ndarray) -> None:
    """Write a bool mask as a 0/255 single-band PNG, atomically."""
    atomic_write_bytes(path, png_bytes(mask.astype(np.uint8) * 255))


def read_results(path: Path, repair: bool = False) -> list[dict[str, Any]]:
    """Read results.jsonl: the rows, first occurrence of each (split, id) kept, in file order.

    A last line without its newline is the trace of a kill mid-write: it is ignored, and cut off the
    file when ``repair`` is set (so that appending starts on a fresh line).

    Raises:
        InputError: a line other than the last is not valid JSON.
    """
    if not path.is_file():
        return []
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end < len(data) and repair:
        with open(path, "r+b") as f:
            f.truncate(end)
            f.flush()
            os.fsync(f.fileno())
    rows: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for n, line in enumerate(data[:end].splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as e:
            raise InputError(
                f"{path} line {n} is not valid JSON ({e}); delete that line to rerun its sample, or use --force"
            ) from e
        key = (str(row.get("split")), str(row.get("id")))
        if key not in seen:
            seen.add(key)
            rows.append(row)
    return rows


class ResultWriter:
    """Append rows to results.jsonl, one flushed and fsynced line each."""

    def __init__(self, path: Path) -> None:
        """Open ``path`` for appending."""
        self._f = open(path, "ab")  # noqa: SIM115 (closed by close())

    def write(self, row: dict[str, Any]) -> None:
        """Append one row as one line, durably."""
        self._f.write(json.dumps(row, sort_keys=True).encode() + b"\n")
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        """Close the file."""
        self._f.close()


def prepare_out(cfg: EvalConfig) -> None:
    """Create the output folder and check (or write) its config.json.

    Raises:
        InputError: the folder holds results of a different config (or results without a config), and
            ``force`` is not set.
    """
    out = cfg.out
    out.mkdir(parents=True, exist_ok=True)
    (out / MASKS).mkdir(exist_ok=True)
    identity = cfg.identity()
    cfg_path, results = out / CONFIG, out / RESULTS
    if cfg.force:
        for name in (RESULTS, CONFIG, "report.json", "report.md", "per_level.png", "iou_hist.png", "overlays.png"):
            (out / name).unlink(missing_ok=True)
        for f in (out / MASKS).glob("*.png"):
            f.unlink()
    elif cfg_path.is_file():
        try:
            old = json.loads(cfg_path.read_text())
        except ValueError as e:
            raise InputError(f"{cfg_path} is not valid JSON ({e}); use a new --out, or --force to start over") from e
        if old != identity:
            diff = ", ".join(
                f"{k}: {old.get(k)!r} -> {identity.get(k)!r}"
                for k in sorted(set(old) | set(identity))
                if old.get(k) != identity.get(k)
            )
            raise InputError(
                f"{out} holds results of a different run ({diff}); use a new --out, or --force to discard them"
            )
        return
    elif results.is_file() and results.stat().st_size > 0:
        raise InputError(f"{out} has {RESULTS} but no {CONFIG}; use a new --out, or --force to discard them")
    atomic_write_bytes(cfg_path, (json.dumps(identity, indent=2, sort_keys=True) + "\n").encode())


# ----------------------------------------------------------------------------------------------- one sample


class SampleEvaluator:
    """Holds one policy and one segmenter and turns samples into result rows."""

    def __init__(self, cfg: EvalConfig) -> None:
        """Build the policy and the segmenter once.

        Raises:
            InputError: a spec or option is bad.
            BackendError: a backend cannot be reached or loaded.
        """
        from tools.scene_store import SceneStore

        self.cfg = cfg
        self.backends = cfg.backend.build()
        self.store = SceneStore(max_scenes=2)
        self.mask_dir = cfg.out / MASKS

    def evaluate(self, sample: Any) -> dict[str, Any]:
        """Run one sample and return its result row (never raises except `BackendError`)."""
        from agent.run import run_query
        from evals.metrics import instance_counts, iou_counts, sample_iou

        row: dict[str, Any] = {
            "id": sample.id,
            "split": sample.split,
            "level": sample.level,
            "level_source": sample.level_source,
            "query": sample.query,
            "socio_class": sample.socio_class,
            "socio_function": sample.socio_function,
            "error": None,
        }
        try:
            scene = sample.load_scene(self.cfg.backend.profile.mask_rule)
        except InputError as e:
            return row | {"scored": False, "error": str(e)} | _EMPTY_SCORES
        truth = scene.truth
        assert truth is not None  # load_scene always sets it
        t0 = time.perf_counter()
        result = None
        try:
            result = run_query(scene, sample.query, **self.backends.run_kwargs(), store=self.store)
            pred = np.asarray(result.mask, bool)
            if pred.shape != truth.shape:
                raise ValueError(f"the predicted mask is {pred.shape}, the truth {truth.shape}")
            instances = [m for m in result.instance_masks if m.shape == truth.shape] or None
        except BackendError:
            raise
        except Exception as e:  # an agent failure on a valid sample counts as a miss, recorded
            row["error"] = f"{type(e).__name__}: {e}"
            pred, instances = np.zeros_like(truth, dtype=bool), None
        latency = time.perf_counter() - t0
        inter, union = iou_counts(pred, truth)
        counts = instance_counts(pred, truth, instances)
        mask_path = Path(MASKS) / mask_filename(sample.id)
        write_mask(self.cfg.out / mask_path, pred)
        stages = result.stages if result is not None else []
        return row | {
            "scored": True,
            "iou": sample_iou(inter, union, failed=row["error"] is not None),
            "intersection": inter,
            "union": union,
            "pred_area": int(pred.sum()),
            "truth_area": int(truth.sum()),
            "tp": counts.tp,
            "fp": counts.fp,
            "fn": counts.fn,
            "truth_instances": counts.tp + counts.fn,
            "pred_instances": counts.tp + counts.fp,
            "format_failures": result.format_failures if result is not None else 0,
            "failures": [s.failure for s in stages if not s.ok],
            "answers": len(stages),
            "latency_s": round(latency, 4),
            "policy_s": round(result.timings.policy_s, 4) if result is not None else 0.0,
            "segment_s": round(result.timings.segment_s, 4) if result is not None else 0.0,
            "encodes": result.encodes if result is not None else 0,
            "mask_path": mask_path.as_posix(),
        }


_EMPTY_SCORES: dict[str, Any] = {
    "iou": None,
    "intersection": 0,
    "union": 0,
    "pred_area": 0,
    "truth_area": 0,
    "tp": 0,
    "fp": 0,
    "fn": 0,
    "truth_instances": 0,
    "pred_instances": 0,
    "format_failures": 0,
    "failures": [],
    "answers": 0,
    "latency_s": 0.0,
    "policy_s": 0.0,
    "segment_s": 0.0,
    "encodes": 0,
    "mask_path": None,
}


# ----------------------------------------------------------------------------------------------- workers

_WORKER: SampleEvaluator | None = None
_WORKER_ERROR: tuple[str, str] | None = None


def _init_worker(cfg_json: str) -> None:
    """Build the worker's own policy and segmenter; remember a failure to report it per task.

    A failure is not raised here: a raising initializer only breaks the pool with a generic message, while
    the remembered error reaches the parent, through the first task, as the `BackendError` or `InputError`
    it was.
    """
    global _WORKER, _WORKER_ERROR
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    try:
        import cv2

        cv2.setNumThreads(1)
        _WORKER = SampleEvaluator(EvalConfig.model_validate_json(cfg_json))
    except BaseException as e:
        _WORKER_ERROR = _error_tuple(e)


def _error_tuple(e: BaseException) -> tuple[str, str]:
    kind = "backend" if isinstance(e, BackendError) else "input" if isinstance(e, InputError) else "other"
    return kind, str(e) if isinstance(e, SocioError) else f"{type(e).__name__}: {e}"


def _work(sample: Any) -> tuple[str, Any]:
    """Evaluate one sample in a worker; errors travel back as plain tuples (they may not pickle)."""
    if _WORKER_ERROR is not None:
        return "fatal", _WORKER_ERROR
    assert _WORKER is not None
    try:
        return "row", _WORKER.evaluate(sample)
    except BaseException as e:
        return "fatal", _error_tuple(e)


def _raise(err: tuple[str, str]) -> None:
    kind, message = err
    if kind == "backend":
        raise BackendError(message)
    if kind == "input":
        raise InputError(message)
    raise RuntimeError(f"a worker failed: {message}")


def _stop_workers(pool: Any) -> None:
    """Kill the pool's worker processes (they ignore SIGINT and may be mid-sample), then shut it down."""
    if hasattr(pool, "kill_workers"):  # Python 3.14+
        pool.kill_workers()
    else:
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            if proc.is_alive():
                proc.kill()
    pool.shutdown(wait=True, cancel_futures=True)


def _rows_in_workers(cfg: EvalConfig, samples: list[Any]) -> Iterator[dict[str, Any]]:
    """Yield rows from spawned worker processes as they finish.

    At most two samples per worker are in flight, so a stop loses little work. A worker that dies (killed,
    out of memory, a crash in native code) breaks the pool: the rows already yielded are kept and the run
    ends with a `BackendError` that says to rerun. On any early exit (an error, Ctrl-C) the workers are
    killed, so none outlives the run.
    """
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    n = min(cfg.workers, len(samples))
    pool = ProcessPoolExecutor(
        n,
        mp_context=mp.get_context("spawn"),  # fresh interpreters: safe with torch and threads
        initializer=_init_worker,
        initargs=(cfg.model_dump_json(),),
    )
    queue = iter(samples)
    pending: set[Future] = set()
    yielded = 0
    finished = False
    try:
        for s in itertools.islice(queue, 2 * n):
            pending.add(pool.submit(_work, s))
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            ok = [f for f in done if f.exception() is None]
            for fut in ok:  # finished rows first, even when another task of the batch broke the pool
                kind, payload = fut.result()
                if kind == "fatal":
                    _raise(payload)
                yield payload
                yielded += 1
            for fut in done:
                if fut.exception() is not None:
                    raise fut.exception()  # type: ignore[misc]
            for s in itertools.islice(queue, len(ok)):
                pending.add(pool.submit(_work, s))  # raises BrokenProcessPool once a worker has died
        finished = True
    except BrokenProcessPool as broken:
        for fut in pending:  # rows that finished before the pool broke are kept too
            if fut.done() and not fut.cancelled() and fut.exception() is None and fut.result()[0] == "row":
                yield fut.result()[1]
                yielded += 1
        raise BackendError(
            f"a worker process died ({broken}); it may have run out of memory or crashed in native code. "
            f"The {yielded} rows finished in this run are kept in {cfg.out / RESULTS}: rerun the same "
            "command to resume, with fewer --workers if memory is short (--workers 1 shows the error)"
        ) from broken
    finally:
        if finished:
            pool.shutdown(wait=True)
        else:
            _stop_workers(pool)


def _rows_in_process(cfg: EvalConfig, samples: list[Any]) -> Iterator[dict[str, Any]]:
    evaluator = SampleEvaluator(cfg)
    for s in samples:
        yield evaluator.evaluate(s)


# ----------------------------------------------------------------------------------------------- the run


def run_eval(cfg: EvalConfig, progress: bool = True) -> Path:
    """Evaluate a split, resuming from what ``cfg.out`` already holds; return the output folder.

    Raises:
        DatasetNotFoundError: the data or split is missing.
        InputError: a spec is bad, or ``cfg.out`` holds results of a different config.
        BackendError: a backend failed; finished rows are kept and a rerun resumes.
    """
    from evals.datasets import make_dataset

    dataset = make_dataset(cfg.data, cfg.split)
    prepare_out(cfg)
    results_path = cfg.out / RESULTS
    done = read_results(results_path, repair=True)
    done_ids = {r["id"] for r in done if r.get("split") == cfg.split}
    selected = dataset[: cfg.limit] if cfg.limit else list(dataset)
    todo = dataset.storage_order([s for s in selected if s.id not in done_ids])
    selected_ids = {s.id for s in selected}
    ious = [r["iou"] for r in done if r["id"] in selected_ids and r.get("scored")]
    if not todo:
        return cfg.out
    rows = _rows_in_process if cfg.workers == 1 or len(todo) == 1 else _rows_in_workers
    writer = ResultWriter(results_path)
    try:
        with progress_bar("eval", len(selected), len(selected) - len(todo), progress, giou="-") as update:
            for row in rows(cfg, todo):
                writer.write(row)
                if row.get("scored"):
                    ious.append(row["iou"])
                update(advance=1, giou=f"{np.mean(ious):.3f}" if ious else "-")
    finally:
        writer.close()
    return cfg.out
