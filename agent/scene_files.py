"""The output folder of a scene-scale search: resumable per-window results, then merged outputs, all atomic.

Layout of ``DIR``:

``search.json``
    What defines the search's answers (raster and vector files with a fingerprint of their bytes, the query,
    the tiling, the resampling, the backends). A rerun into the same folder must match it: a changed field is
    refused, naming the field.
``windows/<id>.json``
    One `agent.scene_window.WindowResult` per finished window, each written atomically; a rerun skips them.
``instances.gpkg`` (layer ``instances``, the raster's CRS), ``instances.geojson`` (RFC 7946: lon/lat WGS 84)
    The merged instances: query, level, score, source, windows (provenance), area and a short reasoning summary.
``mask.tif``
    The merged instances rasterised on the raster's own grid: tiled, deflate, 255 inside an instance.
``summary.json``
    Counts and timings of the run.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from agent.scene_window import WindowResult
from tools.errors import InputError
from tools.files import atomic_write_bytes

FINGERPRINT_BYTES = 1 << 20
"""A file's fingerprint hashes its size and its first and last MiB."""


def file_fingerprint(path: str | Path) -> str:
    """Return a cheap fingerprint of a file's bytes: its size and a hash of its first and last MiB."""
    p = Path(path)
    size = p.stat().st_size
    h = hashlib.blake2b(str(size).encode(), digest_size=12)
    with p.open("rb") as f:
        h.update(f.read(FINGERPRINT_BYTES))
        if size > FINGERPRINT_BYTES:
            f.seek(max(FINGERPRINT_BYTES, size - FINGERPRINT_BYTES))
            h.update(f.read(FINGERPRINT_BYTES))
    return h.hexdigest()


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flat(v, key + "."))
        else:
            out[key] = v
    return out


class SearchFolder:
    """A search's output folder (see the module docstring)."""

    def __init__(self, root: str | Path) -> None:
        """Name the folder; nothing is created until `claim`."""
        self.root = Path(root)
        self.windows_dir = self.root / "windows"

    def claim(self, identity: dict[str, Any]) -> None:
        """Take the folder for a search: write search.json, or check that it describes this same search.

        Raises:
            InputError: the folder holds another search (the message names the first field that differs), or
                is a file.
        """
        if self.root.exists() and not self.root.is_dir():
            raise InputError(f"--out {self.root} is a file; give a folder")
        doc = json.loads(json.dumps(identity))
        path = self.root / "search.json"
        if path.is_file():
            try:
                held = json.loads(path.read_text())
            except (OSError, ValueError) as e:
                raise InputError(f"{path} is unreadable ({e}); remove it or use another --out") from e
            mine, theirs = _flat(doc), _flat(held)
            for key in sorted(set(mine) | set(theirs)):
                if mine.get(key) != theirs.get(key):
                    raise InputError(
                        f"{self.root} holds a search with {key}={theirs.get(key)!r}, but this run has "
                        f"{key}={mine.get(key)!r}; use another --out, or delete {self.root} to start over"
                    )
            return
        if self.root.is_dir() and any(self.root.iterdir()):
            raise InputError(f"--out {self.root} is not empty and holds no search.json; give an empty or new folder")
        atomic_write_bytes(path, json.dumps(doc, indent=2).encode())

    def done(self) -> dict[str, WindowResult]:
        """Return the finished windows' results by window id (files that do not parse are redone)."""
        out: dict[str, WindowResult] = {}
        if not self.windows_dir.is_dir():
            return out
        for p in sorted(self.windows_dir.glob("*.json")):
            try:
                r = WindowResult.model_validate_json(p.read_text())
            except (OSError, ValueError):
                continue
            out[r.window_id] = r
        return out

    def save(self, result: WindowResult) -> None:
        """Persist one window's result atomically."""
        atomic_write_bytes(self.windows_dir / f"{result.window_id}.json", result.model_dump_json().encode())

    def write_json(self, name: str, doc: dict[str, Any]) -> Path:
        """Write a JSON document into the folder atomically."""
        return atomic_write_bytes(self.root / name, json.dumps(doc, indent=2).encode())
