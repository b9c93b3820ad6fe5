"""Read SocioSeg-schema data: the raw folder layout and the Hugging Face parquet files.

Raw layout: ``<root>/<split>/<id>/{map.png, sat.png, mask.png, question.json}``; ``question.json`` holds
``{"problem": "<query>"}``. SynthCity adds ``meta.json`` (the sidecar: ``level``, ``class``,
``function``), ``sat.tif`` (GeoTIFF), ``georef.json`` and ``layers.geojson``; all are optional here. A sample
folder is read by `tools.scene.load_scene_dir` (so ``sat.tif`` wins over ``sat.png``, as everywhere else)
and its truth from ``mask.png``.

Parquet: columns ``id``, ``problem``, ``map_image``, ``sat_image``, ``mask_label``; images are Hugging Face
``datasets`` Image structs ``{bytes, path}`` (plain binary or a path string also work). Optional columns
``level``, ``socio_class``, ``socio_function`` and ``split`` are read when present. Only the small text
columns are read when a split is opened; a sample's images are read with its row group (the last two
row groups read are cached per process), so loading in storage order reads each row group once.

A sidecar ``level`` (meta.json or the parquet column) must be ``name``, ``class`` or ``function``, or absent
(None) to have the level inferred from the query; any other value ("Class", "unknown") lists the sample with
an error naming the file, so the runner records it as an unscored error row. A row group that pyarrow cannot
decode (a damaged or truncated download) is an `InputError` naming the sample, the file and the row group.

Masks: by default any nonzero pixel in any band is the target; ``mask_rule="gray"`` reads them as the reference
does (``convert("L") > 0``), see `tools.images.binarize_mask`.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from evals.datasets import Dataset, LevelSource, Sample
from tools.errors import DatasetNotFoundError, InputError
from tools.images import MaskRule, binarize_mask
from tools.query import infer_level
from tools.schemas import Level

if TYPE_CHECKING:
    from tools.scene import Scene

IMAGE_COLUMNS = ("map_image", "sat_image", "mask_label")
REQUIRED_COLUMNS = ("id", "problem", *IMAGE_COLUMNS)
SIDECAR_COLUMNS = ("level", "socio_class", "socio_function", "split")
LEVELS = ("name", "class", "function")


def open_split(kind: str, spec: str, path: Path, split: str) -> Dataset:
    """Find the split under ``path`` (raw folder first, then parquet) and list its samples."""
    if not path.exists():
        hint = (
            "generate one with evals.synthcity.generate(out, split, n, seed)"
            if kind == "synth"
            else "download SocioSeg (Hugging Face vvangfaye/SocioSeg) or fix the path"
        )
        raise DatasetNotFoundError(f"dataset root {path} does not exist; {hint}")
    if path.is_file():
        if path.suffix != ".parquet":
            raise DatasetNotFoundError(f"{path} is not a parquet file or a dataset folder; give a folder or a .parquet")
        return Dataset(kind, spec, split, path, "parquet", _list_parquet([path], split, explicit=True))
    split_dir = path / split
    if split_dir.is_dir():
        return Dataset(kind, spec, split, path, "raw", _list_raw(split_dir, split))
    files = _parquet_files(path, split)
    if files:
        return Dataset(kind, spec, split, path, "parquet", _list_parquet(files, split, explicit=False))
    found = _available_splits(path)
    raise DatasetNotFoundError(
        f"no split {split!r} under {path}: looked for the folder {split_dir}, {path / (split + '.parquet')}, "
        f"{path / (split + '-*.parquet')} and {path / 'data' / (split + '-*.parquet')}; "
        + (f"found splits: {', '.join(found)}; pass --split NAME" if found else "the folder holds no dataset")
    )


def _parquet_files(path: Path, split: str) -> list[Path]:
    single = path / f"{split}.parquet"
    if single.is_file():
        return [single]
    for folder in (path, path / "data"):
        shards = sorted(folder.glob(f"{split}-*.parquet"))
        if shards:
            return shards
    return []


def _available_splits(path: Path) -> list[str]:
    names = {d.name for d in path.iterdir() if d.is_dir() and not d.name.startswith(".") and d.name != "data"}
    for folder in (path, path / "data"):
        if folder.is_dir():
            names |= {f.stem.split("-")[0] for f in folder.glob("*.parquet")}
    return sorted(names)


def _level(query: str, given: Any, origin: str) -> tuple[Level, LevelSource, str]:
    """Return the sidecar level when one is given, else the level inferred from the query (see `_level_error`)."""
    if isinstance(given, str) and given in LEVELS:
        return given, "sidecar", origin  # type: ignore[return-value]
    level, reason = infer_level(query)
    return level, ("unknown" if level == "unknown" else "inferred"), reason


def _level_error(sample_id: str, given: Any, where: str) -> str | None:
    """Return the error of a sidecar level that is neither absent (None) nor one of `LEVELS`, else None."""
    if given is None or (isinstance(given, str) and given in LEVELS):
        return None
    return (
        f"sample {sample_id!r}: the level {given!r} in {where} is not one of {', '.join(LEVELS)}; "
        "write one of those (lower case), or remove the level to have it inferred from the query"
    )


# ----------------------------------------------------------------------------------------------- raw folders


@dataclass(frozen=True)
class RawSource:
    """A sample folder of the raw layout."""

    folder: str

    def order_key(self) -> tuple:
        """Return the folder path (raw samples load equally fast in any order)."""
        return (self.folder,)

    def load(self, sample: Sample, mask_rule: MaskRule = "any_band") -> Scene:
        """Read the sample folder with `tools.scene.load_scene_dir` and set its truth from ``mask.png``."""
        from tools.scene import load_scene_dir

        d = Path(self.folder)
        if not (d / "mask.png").is_file():
            raise DatasetNotFoundError(_missing(sample, d / "mask.png"))
        try:
            scene = load_scene_dir(d, scene_id=sample.id)
        except InputError as e:
            raise InputError(f"sample {sample.id!r}: {e}; re-export the sample or remove its folder {d}") from e
        truth = _read_mask(d / "mask.png", sample, rule=mask_rule)
        _check_sizes(sample, scene.sat, scene.map, truth, str(d))
        scene.truth = truth
        scene.meta.update({"dataset_source": str(d), "query": sample.query, "level": sample.level})
        return scene


def _missing(sample: Sample, path: Path) -> str:
    return (
        f"sample {sample.id!r}: {path} is missing; every sample folder needs sat.png, map.png, mask.png and "
        "question.json (re-export the sample or remove its folder)"
    )


def _read_mask(source: Path | bytes, sample: Sample, where: str = "", rule: MaskRule = "any_band") -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as im:
            return binarize_mask(im, rule)
    except (UnidentifiedImageError, OSError) as e:
        name = where or str(source)
        raise InputError(
            f"sample {sample.id!r}: the mask {name} is not a readable image ({e}); re-export the sample"
        ) from e


def _check_sizes(sample: Sample, sat: np.ndarray, map_arr: np.ndarray, truth: np.ndarray, where: str) -> None:
    if sat.shape != map_arr.shape or truth.shape != sat.shape[:2]:
        raise InputError(
            f"sample {sample.id!r} in {where}: sizes differ (satellite {sat.shape[1]}x{sat.shape[0]}, map "
            f"{map_arr.shape[1]}x{map_arr.shape[0]}, mask {truth.shape[1]}x{truth.shape[0]}); all three must match"
        )


def _list_raw(split_dir: Path, split: str) -> list[Sample]:
    folders = sorted(d for d in split_dir.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not folders:
        raise DatasetNotFoundError(
            f"split folder {split_dir} has no sample folders; expected {split_dir}/<id>/"
            "{map.png, sat.png, mask.png, question.json}"
        )
    samples = []
    for d in folders:
        error = None
        query = ""
        qfile = d / "question.json"
        try:
            query = str(json.loads(qfile.read_text(encoding="utf-8"))["problem"]).strip()
            if not query:
                error = f"sample {d.name!r}: {qfile} has an empty problem (query); write the query into it"
        except FileNotFoundError:
            error = f'sample {d.name!r}: {qfile} is missing; write it as {{"problem": "<query>"}}'
        except (OSError, ValueError, KeyError, TypeError) as e:
            error = f'sample {d.name!r}: {qfile} is not valid ({e!r}); it must be JSON like {{"problem": "<query>"}}'
        side: dict[str, Any] = {}
        meta_file = d / "meta.json"
        if meta_file.is_file():
            try:
                side = json.loads(meta_file.read_text(encoding="utf-8"))
                if not isinstance(side, dict):
                    raise TypeError("not a JSON object")
            except (OSError, ValueError, TypeError) as e:
                error = error or f"sample {d.name!r}: sidecar {meta_file} is not valid JSON ({e}); fix or delete it"
                side = {}
        level, source, reason = _level(query, side.get("level"), "meta.json")
        error = error or _level_error(d.name, side.get("level"), f"sidecar {meta_file}")
        samples.append(
            Sample(
                id=d.name,
                query=query,
                split=split,
                level=level,
                level_source=source,
                level_reason=reason,
                socio_class=side.get("class", side.get("socio_class")),
                socio_function=side.get("function", side.get("socio_function")),
                source=RawSource(str(d)),
                error=error,
            )
        )
    return samples


# ----------------------------------------------------------------------------------------------- parquet


@dataclass(frozen=True)
class ParquetSource:
    """One row of a parquet file, addressed by row group and row within it."""

    path: str
    row_group: int
    row: int

    def order_key(self) -> tuple:
        """Return (file, row group, row): loading in this order reads each row group once."""
        return (self.path, self.row_group, self.row)

    def load(self, sample: Sample, mask_rule: MaskRule = "any_band") -> Scene:
        """Decode the row's three images into a Scene with its truth mask."""
        import pyarrow as pa

        from tools.scene import Scene

        where = f"{self.path} (row group {self.row_group}, row {self.row})"
        try:
            table = _row_group(self.path, self.row_group)
        except (OSError, pa.ArrowException) as e:
            raise InputError(
                f"sample {sample.id!r}: row group {self.row_group} of {self.path} could not be read ({e}); "
                "the file is damaged or truncated: re-download it"
            ) from e
        values = {c: table.column(c)[self.row].as_py() for c in IMAGE_COLUMNS}
        sat = _decode_rgb(values["sat_image"], sample, "sat_image", where)
        map_arr = _decode_rgb(values["map_image"], sample, "map_image", where)
        mask_bytes = _image_bytes(values["mask_label"], sample, "mask_label", where)
        truth = _read_mask(mask_bytes, sample, f"mask_label of {where}", mask_rule)
        _check_sizes(sample, sat, map_arr, truth, where)
        meta = {"dataset_source": where, "query": sample.query, "level": sample.level}
        return Scene(sample.id, sat, map_arr, truth=truth, meta=meta)


@lru_cache(maxsize=2)
def _row_group(path: str, row_group: int) -> Any:
    """Read a row group's image columns (a pyarrow Table), cached per process."""
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).read_row_group(row_group, columns=list(IMAGE_COLUMNS))


def _image_bytes(value: Any, sample: Sample, column: str, where: str) -> bytes:
    if isinstance(value, dict):
        if value.get("bytes"):
            return value["bytes"]
        value = value.get("path")
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str) and value:
        p = Path(value)
        if not p.is_absolute():
            p = Path(where.split(" (row group")[0]).parent / p
        if p.is_file():
            return p.read_bytes()
        raise DatasetNotFoundError(
            f"sample {sample.id!r}: column {column} of {where} points to {p}, which does not exist; "
            "use parquet files with embedded image bytes (as on the Hugging Face hub)"
        )
    raise InputError(f"sample {sample.id!r}: column {column} of {where} holds no image; re-download the file")


def _decode_rgb(value: Any, sample: Sample, column: str, where: str) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    data = _image_bytes(value, sample, column, where)
    try:
        with Image.open(io.BytesIO(data)) as im:
            return np.ascontiguousarray(np.asarray(im.convert("RGB")))
    except (UnidentifiedImageError, OSError) as e:
        raise InputError(
            f"sample {sample.id!r}: column {column} of {where} is not a readable image ({e}); re-download the file"
        ) from e


def _list_parquet(files: list[Path], split: str, explicit: bool) -> list[Sample]:
    import pyarrow.parquet as pq

    samples: list[Sample] = []
    seen_splits: set[str] = set()
    for f in files:
        try:
            pf = pq.ParquetFile(f)
        except Exception as e:  # pyarrow raises ArrowInvalid, OSError, ... for bad files
            raise InputError(f"parquet file {f} is not readable ({e}); re-download or regenerate it") from e
        names = set(pf.schema_arrow.names)
        missing = [c for c in REQUIRED_COLUMNS if c not in names]
        if missing:
            raise DatasetNotFoundError(
                f"parquet file {f} lacks the SocioSeg columns {missing}; expected {', '.join(REQUIRED_COLUMNS)}"
            )
        columns = ["id", "problem", *(c for c in SIDECAR_COLUMNS if c in names)]
        for rg in range(pf.num_row_groups):
            for row, r in enumerate(pf.read_row_group(rg, columns=columns).to_pylist()):
                if r.get("split") is not None:
                    seen_splits.add(str(r["split"]))
                    if str(r["split"]) != split:
                        continue
                query = "" if r["problem"] is None else str(r["problem"])
                level, source, reason = _level(query, r.get("level"), f"{f.name} level column")
                error = _level_error(str(r["id"]), r.get("level"), f"the level column of {f} (row group {rg})")
                if not query:
                    error = f"sample {r['id']!r} in {f} has an empty problem (query)"
                samples.append(
                    Sample(
                        id=str(r["id"]),
                        query=query,
                        split=split,
                        level=level,
                        level_source=source,
                        level_reason=reason,
                        socio_class=r.get("socio_class"),
                        socio_function=r.get("socio_function"),
                        source=ParquetSource(str(f), rg, row),
                        error=error,
                    )
                )
    if not samples:
        found = f"; its split column holds {', '.join(sorted(seen_splits))}: pass --split NAME" if seen_splits else ""
        raise DatasetNotFoundError(
            f"no samples of split {split!r} in {', '.join(str(f) for f in files)}{found}"
            if explicit or seen_splits
            else f"parquet files {', '.join(str(f) for f in files)} hold no rows"
        )
    return samples
