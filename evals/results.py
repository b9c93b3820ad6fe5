"""The files of an eval output folder: the typed result row, results.jsonl, config.json and the mask PNGs.

Output folder (``--out``):

- ``config.json``: what defines the run (`evals.runner.EvalConfig.identity`). A rerun with a different one
  is refused (`prepare_out`).
- ``results.jsonl``: one `EvalRow` per line, ``json.dumps(..., sort_keys=True)``, appended by the parent
  process alone and flushed and fsynced line by line (`ResultWriter`). A truncated last line (a kill
  mid-write) is cut off by `read_results` and its sample run again, so nothing is lost or duplicated.
- ``masks/<id>.png``: the predicted mask, 0/255, the size of the truth mask (written atomically).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from evals.datasets import LevelSource
from tools.errors import InputError
from tools.files import atomic_write_bytes, png_bytes
from tools.outdir import WRITE_ERRNOS, write_failure
from tools.schemas import Level

RESULTS = "results.jsonl"
CONFIG = "config.json"
MASKS = "masks"
REPORT_FILES = ("report.json", "report.md", "per_level.png", "iou_hist.png", "overlays.png")


class EvalRow(BaseModel):
    """One evaluated sample: what was asked, how it scored, and what it cost (one line of results.jsonl).

    The score fields default to those of a row that could not be scored (``scored`` False: the sample's
    files are missing or corrupt), so such a row names only the sample and its ``error``.

    >>> row = EvalRow(id="s1", split="test", level="name", level_source="sidecar", query="q", scored=False,
    ...               error="sat.png is missing")
    >>> line = row.to_line()
    >>> line[:60]
    b'{"answers": 0, "encodes": 0, "error": "sat.png is missing", '
    >>> len(json.loads(line)), EvalRow.model_validate_json(line) == row
    (27, True)
    """

    model_config = ConfigDict(extra="forbid")

    id: str
    split: str
    level: Level
    level_source: LevelSource
    query: str
    socio_class: str | None = None
    socio_function: str | None = None
    error: str | None = Field(None, description="why the sample is unscored, or how the agent failed on it")
    scored: bool = Field(description="False: the sample's files could not be loaded; left out of the metrics")
    iou: float | None = Field(None, description="the sample's IoU (0 for an agent failure); None when unscored")
    intersection: int = 0
    union: int = 0
    pred_area: int = 0
    truth_area: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    truth_instances: int = 0
    pred_instances: int = 0
    format_failures: int = 0
    failures: list[str | None] = Field(default_factory=list, description="why each unusable answer was unusable")
    answers: int = Field(0, description="policy answers (localize + refine rounds)")
    latency_s: float = 0.0
    policy_s: float = 0.0
    segment_s: float = 0.0
    encodes: int = 0
    mask_path: str | None = Field(None, description="the predicted mask, relative to the output folder")

    @model_validator(mode="after")
    def _scored_rows_have_an_iou(self) -> EvalRow:
        if self.scored and self.iou is None:
            raise ValueError(f"row {self.id!r} is scored but has no iou")
        return self

    def to_line(self) -> bytes:
        """Return the row as one results.jsonl line (sorted keys, newline-terminated)."""
        return json.dumps(self.model_dump(), sort_keys=True).encode() + b"\n"


def mask_filename(sample_id: str) -> str:
    """Return a safe file name for a sample's mask.

    >>> mask_filename("a/b c.tif")
    'a_b_c.tif.png'
    """
    return re.sub(r"[^A-Za-z0-9._-]", "_", sample_id) + ".png"


def write_mask(path: Path, mask: np.ndarray) -> None:
    """Write a bool mask as a 0/255 single-band PNG, atomically."""
    atomic_write_bytes(path, png_bytes(mask.astype(np.uint8) * 255))


def read_results(path: Path, repair: bool = False) -> list[EvalRow]:
    """Read results.jsonl: the rows, first occurrence of each (split, id) kept, in file order.

    A last line without its newline is the trace of a kill mid-write: it is ignored, and cut off the
    file when ``repair`` is set (so that appending starts on a fresh line).

    Raises:
        InputError: a line other than the last is not valid JSON, or not a result row.
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
    rows: list[EvalRow] = []
    seen: set[tuple[str, str]] = set()
    for n, line in enumerate(data[:end].splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = EvalRow.model_validate_json(line)
        except ValidationError as e:
            what = "not valid JSON" if e.errors()[0]["type"] == "json_invalid" else "not a result row"
            raise InputError(
                f"{path} line {n} is {what} ({e.errors()[0]['msg']}); delete that line to rerun its sample, "
                "or use --force"
            ) from e
        key = (row.split, row.id)
        if key not in seen:
            seen.add(key)
            rows.append(row)
    return rows


class ResultWriter:
    """Append rows to results.jsonl, one flushed and fsynced line each."""

    def __init__(self, path: Path) -> None:
        """Open ``path`` for appending."""
        self.path = path
        self._f = open(path, "ab", buffering=0)  # noqa: SIM115 (closed by close()); unbuffered: a failed write is cut

    def write(self, row: EvalRow) -> None:
        """Append one row as one line, durably.

        Raises:
            InputError: the disk is full or the file cannot grow; the line is cut off again (a rerun resumes).
        """
        start = self._f.tell()
        data = memoryview(row.to_line())
        try:
            while data:
                data = data[self._f.write(data) :]
            os.fsync(self._f.fileno())
        except OSError as e:
            if e.errno not in WRITE_ERRNOS:
                raise
            with contextlib.suppress(OSError):
                self._f.truncate(start)
            raise write_failure(e, self.path.parent) from e

    def close(self) -> None:
        """Close the file."""
        self._f.close()


def prepare_out(out: Path, identity: dict[str, Any], force: bool = False) -> None:
    """Create the output folder and check (or write) its config.json.

    Args:
        out: the output folder.
        identity: what defines the run (`evals.runner.EvalConfig.identity`).
        force: discard the results, report and masks already in ``out`` instead of checking them.

    Raises:
        InputError: the folder holds results of a different config (or results without a config), and
            ``force`` is not set.
    """
    out.mkdir(parents=True, exist_ok=True)
    (out / MASKS).mkdir(exist_ok=True)
    cfg_path, results = out / CONFIG, out / RESULTS
    if force:
        for name in (RESULTS, CONFIG, *REPORT_FILES):
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
