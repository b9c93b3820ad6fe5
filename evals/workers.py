"""Evaluate samples in spawned worker processes, each with its own policy and segmenter (``--workers N``).

Errors cross the process boundary as plain ``(kind, message)`` tuples (an exception may not pickle) and
are raised again in the parent as what they were: `BackendError`, `InputError`, or a `RuntimeError` for
anything else. A worker that dies (killed, out of memory, a crash in native code) ends the run with a
`BackendError` instead of hanging; on any early exit (an error, Ctrl-C) the workers are killed, so none
outlives the run; and a worker exits by itself when its parent dies, even of SIGKILL (`_die_with_parent`).
"""

from __future__ import annotations

import itertools
import os
import signal
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import Any, Literal

from agent.backends import BackendConfig
from evals.datasets import Sample
from evals.evaluator import SampleEvaluator
from evals.results import RESULTS, EvalRow
from tools.errors import BackendError, InputError, SocioError

ErrorKind = Literal["backend", "input", "other"]
WorkerError = tuple[ErrorKind, str]
"""An exception as it travels from a worker to the parent: its kind and its message."""

_WORKER: SampleEvaluator | None = None
_WORKER_ERROR: WorkerError | None = None


def error_tuple(e: BaseException) -> WorkerError:
    """Return an exception as a picklable ``(kind, message)`` pair.

    >>> error_tuple(BackendError("server down")), error_tuple(KeyError("x"))
    (('backend', 'server down'), ('other', "KeyError: 'x'"))
    """
    kind: ErrorKind = "backend" if isinstance(e, BackendError) else "input" if isinstance(e, InputError) else "other"
    return kind, str(e) if isinstance(e, SocioError) else f"{type(e).__name__}: {e}"


def raise_error(err: WorkerError) -> None:
    """Raise a worker's error in the parent as the kind of exception it was.

    >>> raise_error(("input", "bad --segmenter"))
    Traceback (most recent call last):
    tools.errors.InputError: bad --segmenter
    """
    kind, message = err
    if kind == "backend":
        raise BackendError(message)
    if kind == "input":
        raise InputError(message)
    raise RuntimeError(f"a worker failed: {message}")


def _die_with_parent(parent_pid: int) -> None:
    """Make this worker exit as soon as its parent does, whatever killed the parent (SIGKILL included).

    Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` (the kernel kills the worker when the parent goes). Everywhere,
    a daemon thread checks once a second that the parent is still ours (a dead parent's children are adopted:
    ``getppid`` changes) and exits at once. The multiprocessing resource tracker exits by itself once the
    parent and the workers (which hold its pipe) are gone.
    """
    import ctypes
    import sys
    import threading
    import time

    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _init_worker(backend_json: str, out: str, parent_pid: int | None = None) -> None:
    """Build the worker's own policy and segmenter; remember a failure to report it per task.

    A failure is not raised here: a raising initializer only breaks the pool with a generic message, while
    the remembered error reaches the parent, through the first task, as the `BackendError` or `InputError`
    it was.
    """
    global _WORKER, _WORKER_ERROR
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    if parent_pid is not None:
        _die_with_parent(parent_pid)
    try:
        import cv2

        cv2.setNumThreads(1)
        _WORKER = SampleEvaluator(BackendConfig.model_validate_json(backend_json), Path(out))
    except BaseException as e:
        _WORKER_ERROR = error_tuple(e)


def _work(sample: Sample) -> tuple[Literal["row"], EvalRow] | tuple[Literal["fatal"], WorkerError]:
    """Evaluate one sample in a worker; errors travel back as plain tuples."""
    if _WORKER_ERROR is not None:
        return "fatal", _WORKER_ERROR
    if _WORKER is None:
        return "fatal", ("other", "the worker has no evaluator: its initializer did not run")
    try:
        return "row", _WORKER.evaluate(sample)
    except BaseException as e:
        return "fatal", error_tuple(e)


def _stop_workers(pool: Any) -> None:
    """Kill the pool's worker processes (they ignore SIGINT and may be mid-sample), then shut it down."""
    if hasattr(pool, "kill_workers"):  # Python 3.14+
        pool.kill_workers()
    else:
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            if proc.is_alive():
                proc.kill()
    pool.shutdown(wait=True, cancel_futures=True)


def rows_in_workers(
    samples: Sequence[Sample], backend: BackendConfig, out: Path, workers: int
) -> Generator[EvalRow, None, None]:
    """Yield the samples' rows from ``workers`` spawned processes as they finish (not in input order).

    At most two samples per worker are in flight, so a stop loses little work. A worker that dies (killed,
    out of memory, a crash in native code) breaks the pool: the rows already finished are yielded and the
    run ends with a `BackendError` that says to rerun. On any early exit (an error, Ctrl-C, the caller
    closing the generator) the workers are killed, so none outlives the run.

    Args:
        samples: the samples to evaluate.
        backend: the policy and segmenter each worker builds.
        out: the output folder (masks go to ``out/masks``; the error message names ``out/results.jsonl``).
        workers: the number of processes (at most one per sample).

    Raises:
        BackendError: a worker's backend failed, or a worker died.
        InputError: a worker's spec or option is bad.
        RuntimeError: a worker failed otherwise.
    """
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    n = min(workers, len(samples))
    pool = ProcessPoolExecutor(
        n,
        mp_context=mp.get_context("spawn"),  # fresh interpreters: safe with torch and threads
        initializer=_init_worker,
        initargs=(backend.model_dump_json(), str(out), os.getpid()),
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
                    raise_error(payload)
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
            f"The {yielded} rows finished in this run are kept in {out / RESULTS}: rerun the same "
            "command to resume, with fewer --workers if memory is short (--workers 1 shows the error)"
        ) from broken
    finally:
        if finished:
            pool.shutdown(wait=True)
        else:
            _stop_workers(pool)
