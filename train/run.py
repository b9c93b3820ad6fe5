"""What both trainers share around their step: the run folder, resume, metrics, checkpoints, Ctrl-C, final model.

`TrainingRun` is used as ``with TrainingRun(...) as run: for step in run.steps(): ...; run.log(row)``:

- it checks (or creates) the run folder (`train.checkpoint.prepare_run`: another run there is refused, a
  ``--resume`` with other settings is refused naming the field) and, on resume, restores the trainable weights,
  optimiser, scheduler, RNG states, step and data cursor, and cuts metrics.jsonl back to that step;
- `steps` yields the remaining step numbers; `log` appends a metrics row (rank 0) and writes a checkpoint every
  ``save_every`` steps; at the end the model is written to ``RUN/final`` (atomically) and the curves drawn.
- Ctrl-C (SIGINT) during a step lets the step finish, checkpoints it and then raises KeyboardInterrupt, so a
  rerun with ``--resume`` continues exactly there (a second Ctrl-C stops at once, keeping the previous
  checkpoint). Any other error keeps the previous checkpoint: a half-made step is never saved.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tools.outdir import OutputDir
from train.checkpoint import (
    FINAL,
    append_metrics,
    load_checkpoint,
    prepare_run,
    read_metrics,
    save_checkpoint,
    set_rng_state,
)
from train.curves import draw_curves
from train.distributed import World
from train.model import TrainableModel


class TrainingRun:
    """The run folder and the state that a checkpoint carries (see the module docstring)."""

    def __init__(
        self,
        out: Path,
        identity: dict[str, Any],
        tm: TrainableModel,
        optimizer: Any,
        scheduler: Any,
        total_steps: int,
        save_every: int,
        resume: bool,
        world: World,
        max_minutes: float | None = None,
    ) -> None:
        """Prepare the folder and restore a checkpoint when resuming.

        ``max_minutes`` is a wall-time budget: once this process has run that long, the loop ends after the
        step in progress and the run finishes as if its last step had run (checkpoint, ``final/``); the
        learning-rate schedule is not shortened. Every rank stops at the same step (the first rank past the
        budget decides).

        Raises:
            InputError: the folder holds another run, or a resumed run's settings differ.
        """
        self.out, self.tm, self.world = out, tm, world
        self.optimizer, self.scheduler = optimizer, scheduler
        self.total_steps, self.save_every = total_steps, save_every
        self.max_minutes = max_minutes
        self.step, self.cursor = 0, 0
        self.extra: dict[str, Any] = {}
        checkpoint = prepare_run(out, identity, resume) if world.is_main else None
        world.barrier()
        if not world.is_main:
            from train.checkpoint import latest_checkpoint

            checkpoint = latest_checkpoint(out) if resume else None
        if checkpoint is not None:
            state = load_checkpoint(checkpoint, tm)
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            set_rng_state(state["rng"])
            self.step, self.cursor, self.extra = state["step"], state["cursor"], state.get("extra", {})
            if world.is_main:
                read_metrics(out, up_to=self.step, repair=True)
        self.resumed_from = checkpoint
        self._saved_step = self._first_step = self.step
        self._t0 = time.perf_counter()

    def __enter__(self) -> TrainingRun:
        """Start the run; Ctrl-C now asks the loop to stop after the current step."""
        self._stop = False
        self._old_handler = None
        if threading.current_thread() is threading.main_thread():
            self._old_handler = signal.signal(signal.SIGINT, self._request_stop)
        return self

    def _request_stop(self, signum: int, frame: Any) -> None:
        self._stop = True
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl-C stops at once

    def __exit__(self, kind: Any, error: Any, tb: Any) -> None:
        """Finish the run (final model) when every step ran; restore the Ctrl-C handler."""
        if self._old_handler is not None:
            signal.signal(signal.SIGINT, self._old_handler)
        if kind is None:
            self.finish()

    def steps(self) -> Iterator[int]:
        """Yield the step numbers still to run (0-based); after a Ctrl-C, checkpoint and raise KeyboardInterrupt.

        Raises:
            KeyboardInterrupt: Ctrl-C was pressed; the finished steps are checkpointed.
        """
        while self.step < self.total_steps:
            if self._out_of_time():
                return
            if self._stop:
                if self.step > self._saved_step:
                    self.checkpoint()
                raise KeyboardInterrupt
            yield self.step

    def _out_of_time(self) -> bool:
        if self.max_minutes is None or self.step == self._first_step:
            return False  # a budget never stops a run (or a resumption) before one step
        late = float(self.seconds > 60.0 * self.max_minutes)
        return self.world.sum([late])[0] > 0 if self.world.size > 1 else bool(late)

    def log(self, row: dict[str, Any], cursor: int) -> None:
        """Record a finished step: its metrics row, the data cursor after it, and a checkpoint when due."""
        self.step += 1
        self.cursor = cursor
        if self.world.is_main:
            append_metrics(self.out, {"step": self.step, **row})
        if self.step % self.save_every == 0 and self.step < self.total_steps:
            self.checkpoint()

    def checkpoint(self) -> None:
        """Write a checkpoint of the current step (rank 0) and redraw the curves."""
        if self.world.is_main:
            state = {
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "step": self.step,
                "cursor": self.cursor,
                "extra": self.extra,
            }
            save_checkpoint(self.out, self.step, self.tm, state)
            draw_curves(read_metrics(self.out), self.out / "curves.png")
        self._saved_step = self.step
        self.world.barrier()

    def finish(self) -> None:
        """Write the last checkpoint and ``RUN/final`` (a loadable model), atomically."""
        self.checkpoint()
        if self.world.is_main:
            with OutputDir(self.out / FINAL, flag="--out").stage() as staged:
                self.tm.save(staged)

    @property
    def seconds(self) -> float:
        """Wall time since the run (or its resumption) started."""
        return time.perf_counter() - self._t0
