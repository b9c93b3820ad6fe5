"""Run a search's windows on Ray: one actor per worker, each holding one policy and one segmenter.

The job (raster reader, stretch, vector features, backend config) is put in Ray's object store once; each actor
builds its backends from it in its constructor (one segmenter per actor) and answers windows, given by their
bounds, never by their pixels (each actor reads its own windows). GPUs, when the cluster has any, are actor
resources when the backends run a torch model (SAM 2, an in-process VLM): as many actors as GPUs, ``num_gpus=1``
each (a share of them with more ``workers`` than GPUs); otherwise (the offline default, an OpenAI server) one
actor per CPU. Each actor keeps two windows in flight so it never waits for the driver. Results come back to
the driver, which persists them as they arrive (`agent.scene_files`); the merge sorts them by window, so the
output does not depend on which actor finished first.

``address=None`` starts a local Ray (``ray.init()``) for the run and shuts it down afterwards; an address
(``ray://host:10001``, ``auto``, ``host:6379``) joins an existing cluster and leaves it running.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from agent.backends import BackendConfig
from agent.scene_window import WindowJob, WindowResult, WindowWorker
from tools.errors import InputError, SocioError, lazy_import
from tools.tiling import GridWindow

IN_FLIGHT = 2
"""Windows queued on each actor at a time."""


class WindowActor:
    """A Ray actor around a `WindowWorker` (the class is wrapped by ``ray.remote`` at run time)."""

    def __init__(self, job: WindowJob, threads: int) -> None:
        """Build the worker's backends once; limit OpenCV to ``threads`` threads (actors share the cores)."""
        import cv2

        cv2.setNumThreads(threads)
        self.worker = WindowWorker(job)

    def run(self, gw: GridWindow) -> WindowResult:
        """Answer one window."""
        return self.worker.run(gw)


def uses_gpu(backend: BackendConfig) -> bool:
    """Return whether a backend config runs a torch model (SAM 2 or an in-process VLM) that a GPU would serve."""
    return backend.device != "cpu" and (backend.segmenter == "sam2" or backend.policy == "hf")


def _cause(e: BaseException) -> BaseException:
    """Return the exception a Ray task raised (our own errors keep their class and message)."""
    cause = getattr(e, "cause", None)
    return cause if isinstance(cause, BaseException) else e


def run_on_ray(
    job: WindowJob,
    windows: Sequence[GridWindow],
    on_result: Callable[[WindowResult], None],
    address: str | None = None,
    workers: int | None = None,
) -> None:
    """Answer ``windows`` on Ray actors, calling ``on_result`` in the driver as each window finishes.

    Raises:
        DependencyNotFoundError: Ray is not installed (``pip install 'socioagent[ray]'``).
        InputError: the cluster cannot be reached, or ``workers`` is below 1.
        The first error a window raised (an `InputError` or `BackendError` keeps its class).
    """
    ray = lazy_import("ray", "ray")
    if workers is not None and workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers}")
    started = False
    if not ray.is_initialized():
        try:
            if address:
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise InputError(f"cannot reach the Ray cluster at {address or 'a new local instance'} ({e}); "
                             "check --ray ADDRESS (e.g. ray://head:10001 or auto)") from e  # fmt: skip
        started = not address
    try:
        resources = ray.cluster_resources()
        gpus = float(resources.get("GPU", 0)) if uses_gpu(job.backend) else 0.0
        cpus = max(1, int(resources.get("CPU", os.cpu_count() or 1)))
        n = workers or (int(gpus) if gpus >= 1 else cpus)
        n = max(1, min(n, len(windows)))
        threads = max(1, cpus // n)
        per_gpu = min(1.0, gpus / n) if gpus else 0.0
        actor_cls = ray.remote(num_cpus=1, num_gpus=per_gpu)(WindowActor)
        job_ref = ray.put(job)
        actors = [actor_cls.remote(job_ref, threads) for _ in range(n)]
        queue = list(windows)
        pending: dict[Any, Any] = {}

        def submit(actor: Any) -> None:
            if queue:
                pending[actor.run.remote(queue.pop(0))] = actor

        for actor in actors:
            for _ in range(IN_FLIGHT):
                submit(actor)
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            actor = pending.pop(ready[0])
            try:
                result = ray.get(ready[0])
            except Exception as e:
                cause = _cause(e)
                if isinstance(cause, SocioError):
                    raise cause from None
                raise
            on_result(result)
            submit(actor)
        for actor in actors:
            ray.kill(actor)
    finally:
        if started:
            ray.shutdown()
