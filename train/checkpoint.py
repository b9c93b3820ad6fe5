"""A training run's folder: its identity, metrics, checkpoints (atomic, resumable) and final model.

Layout of ``RUN/``::

    run.json                     what defines the run (kind, config, data, initial model); a resume must match
    metrics.jsonl                one JSON row per step (``step`` field), appended and fsynced
    curves.png                   the metrics drawn (rewritten at each checkpoint)
    checkpoints/step-000020/     model/ (a loadable checkpoint: adapters merged) and state.pt (trainable
                                 weights, optimiser, scheduler, RNG states, step, data cursor)
    final/                       the finished model: ``--policy hf --model RUN/final``

A checkpoint is written into a temporary sibling and renamed into place, so a kill mid-write leaves the
previous checkpoint intact; only the newest ``keep`` checkpoints are kept. Resuming loads the trainable
weights, the optimiser, the scheduler and every RNG from ``state.pt``, truncates metrics.jsonl to the
checkpoint's step, and continues: the same seeds give the same parameters as an uninterrupted run.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from tools.errors import InputError
from tools.files import atomic_write_bytes
from tools.outdir import OutputDir

RUN_FILE = "run.json"
METRICS = "metrics.jsonl"
CHECKPOINTS = "checkpoints"
FINAL = "final"
_STEP = re.compile(r"^step-(\d{6,})$")


def checkpoint_dirs(run: Path) -> list[Path]:
    """Return the run's complete checkpoints, oldest first."""
    root = run / CHECKPOINTS
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir() if (m := _STEP.match(p.name)) and (p / "state.pt").is_file()]
    return [p for _, p in sorted(found)]


def latest_checkpoint(run: Path) -> Path | None:
    """Return the newest complete checkpoint of a run folder, or None."""
    dirs = checkpoint_dirs(run)
    return dirs[-1] if dirs else None


def prepare_run(run: Path, identity: dict[str, Any], resume: bool) -> Path | None:
    """Check (or create) a run folder; return the checkpoint to resume from (None: start fresh).

    Raises:
        InputError: ``run`` is a file; it holds another run and ``resume`` is not set; or ``resume`` is set
            and its identity differs (the message names each differing field).
    """
    if run.exists() and not run.is_dir():
        raise InputError(f"--out {run} is a file; give a folder for the training run")
    run_file = run / RUN_FILE
    if run_file.is_file():
        try:
            old = json.loads(run_file.read_text())
        except ValueError as e:
            raise InputError(f"{run_file} is not valid JSON ({e}); use a new --out") from e
        if not resume:
            raise InputError(f"--out {run} holds another training run; continue it with --resume, or use a new --out")
        diff = _diff(old, identity)
        if diff:
            raise InputError(f"cannot --resume {run}: its settings differ ({'; '.join(diff)}); use a new --out")
        return latest_checkpoint(run)
    if run.is_dir() and any(run.iterdir()):
        raise InputError(f"--out {run} is not empty and holds no training run; use a new or empty folder")
    if resume:
        raise InputError(f"--resume: {run} holds no training run to resume; drop --resume to start one")
    run.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(run_file, (json.dumps(identity, indent=2, sort_keys=True, default=str) + "\n").encode())
    return None


def _diff(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in sorted(set(old) | set(new)):
            out += _diff(old.get(k), new.get(k), f"{prefix}{k}.")
        return out
    new = json.loads(json.dumps(new, default=str))
    return [] if old == new else [f"{prefix.rstrip('.')}: {old!r} -> {new!r}"]


def rng_state() -> dict[str, Any]:
    """Return the states of every random number generator the trainer uses."""
    import torch

    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore `rng_state`."""
    import torch

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(run: Path, step: int, tm: Any, trainer_state: dict[str, Any], keep: int = 2) -> Path:
    """Write checkpoint ``step`` atomically (model/ and state.pt) and drop all but the newest ``keep``."""
    import torch

    root = run / CHECKPOINTS
    final = root / f"step-{step:06d}"
    # staged beside it and swapped in whole; a full disk is an InputError and the last checkpoint stays
    with OutputDir(final, flag="--out").stage() as staged:
        tm.save(staged / "model")
        weights = {n: p.detach().cpu().clone() for n, p in tm.model.named_parameters() if p.requires_grad}
        torch.save({**trainer_state, "weights": weights, "rng": rng_state()}, staged / "state.pt")
    for old in checkpoint_dirs(run)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def load_checkpoint(path: Path, tm: Any) -> dict[str, Any]:
    """Load a checkpoint's trainable weights into ``tm.model`` and return the rest of its state.

    Raises:
        InputError: the checkpoint's weights do not fit the model (another model or LoRA setting).
    """
    import torch

    state = torch.load(path / "state.pt", map_location="cpu", weights_only=False)
    params = dict(tm.model.named_parameters())
    weights = state.pop("weights")
    missing = sorted(set(weights) - set(params))
    if missing:
        raise InputError(f"checkpoint {path} has weights this model lacks ({missing[:3]}...); resume with its model")
    with torch.no_grad():
        for name, value in weights.items():
            params[name].copy_(value.to(params[name].device))
    return state


def append_metrics(run: Path, row: dict[str, Any]) -> None:
    """Append one metrics row to metrics.jsonl, durably."""
    with open(run / METRICS, "ab") as f:
        f.write(json.dumps(row, sort_keys=True).encode() + b"\n")
        f.flush()
        os.fsync(f.fileno())


def read_metrics(run: Path, up_to: int | None = None, repair: bool = False) -> list[dict[str, Any]]:
    """Read metrics.jsonl (rows with ``step`` <= ``up_to`` when given; a torn last line is dropped).

    With ``repair`` the file is rewritten to exactly those rows (before a resume appends to it).
    """
    path = run / METRICS
    if not path.is_file():
        return []
    rows = []
    for line in path.read_bytes().splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if up_to is None or row.get("step", 0) <= up_to:
            rows.append(row)
    if repair:
        atomic_write_bytes(path, b"".join(json.dumps(r, sort_keys=True).encode() + b"\n" for r in rows))
    return rows
