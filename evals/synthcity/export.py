"""Write SynthCity samples as a SocioSeg-compatible raw folder and as HF-datasets-style parquet.

Raw layout, one folder per sample (written into a temporary folder, then renamed into place, so an
interrupted run never leaves a half-written sample and a rerun skips complete ones)::

    <out>/<split>/<sample_id>/map.png sat.png mask.png question.json meta.json sat.tif georef.json layers.geojson

Parquet: ``<out>/<split>.parquet`` with columns id, problem, map_image, sat_image, mask_label (each a struct of
PNG bytes and a path, as HF ``datasets.Image`` stores them), level, socio_class, socio_function.

``<out>/<split>/settings.json`` records what made the raw samples (split, seed, size, gsd and
`GENERATOR_VERSION`); it is written before the first sample, and a rerun into the same folder with other
settings is refused (it would mix tiles of two datasets), as is adding to a folder of samples without one.
A rerun with the same settings may ask for more samples: complete ones are skipped.

Bytes are deterministic: PNGs at fixed compression settings, the GeoTIFF by rasterio (deflate), JSON
with sorted keys, parquet by pyarrow.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from evals.synthcity.sample import GENERATOR_VERSION, SynthSample, check_args, check_count, generate_sample
from evals.synthcity.splits import get_split
from tools.errors import InputError
from tools.files import atomic_write_bytes, noisy_png_bytes, png_bytes
from tools.raster_io import geotiff_bytes

FORMATS = ("raw", "parquet")
RAW_FILES = ("map.png", "sat.png", "mask.png", "question.json", "meta.json", "sat.tif", "georef.json", "layers.geojson")
PNG_LEVEL = {"map": 6, "mask": 6}
"""PIL compress_level for the flat map and mask (the noisy satellite image goes through `noisy_png_bytes`)."""
ROW_GROUP = 16
SETTINGS = "settings.json"


def _json(obj: Any) -> bytes:
    return (json.dumps(obj, sort_keys=True, indent=1, ensure_ascii=False) + "\n").encode()


def encode_sample(s: SynthSample) -> dict[str, bytes]:
    """Return the raw files of a sample as {file name: bytes}."""
    meta = s.scene.meta
    return {
        "map.png": png_bytes(s.scene.map, PNG_LEVEL["map"]),
        "sat.png": noisy_png_bytes(s.scene.sat),
        "mask.png": png_bytes(s.scene.truth.astype(np.uint8) * 255, PNG_LEVEL["mask"]),
        "question.json": _json({"problem": s.query}),
        "meta.json": _json(meta),
        "sat.tif": geotiff_bytes(s.scene.sat, s.scene.georef),
        "georef.json": _json({"crs": meta["crs"], "transform": meta["transform"]}),
        "layers.geojson": (json.dumps(s.layers_geojson, sort_keys=True) + "\n").encode(),
    }


def is_complete(sample_dir: Path) -> bool:
    """Return True if a sample folder holds every raw file."""
    return sample_dir.is_dir() and all((sample_dir / f).is_file() for f in RAW_FILES)


def write_raw(files: dict[str, bytes], sample_dir: Path) -> None:
    """Write a sample's folder whole (`tools.outdir.OutputDir`: staged beside it, then swapped in).

    An incomplete folder of an older layout is replaced; a complete one is never rewritten.
    """
    from tools.outdir import OutputDir

    OutputDir(sample_dir, flag="--out").write_files(files)


@dataclass
class GenerationReport:
    """What a generation run did: counts, levels, multi-instance samples and where the files are."""

    root: Path
    split: str
    n: int
    generated: int = 0
    skipped: int = 0
    levels: Counter = field(default_factory=Counter)
    multi: int = 0
    raw_dir: Path | None = None
    parquet: Path | None = None
    seconds: float = 0.0

    @property
    def multi_fraction(self) -> float:
        """Fraction of samples with more than one target instance."""
        return self.multi / max(self.n, 1)


def parse_formats(formats: Sequence[str] | str) -> tuple[str, ...]:
    """Return the output formats as a tuple, or raise `InputError` naming the valid ones."""
    items = [f.strip() for f in (formats.split(",") if isinstance(formats, str) else formats) if f.strip()]
    bad = [f for f in items if f not in FORMATS]
    if bad or not items:
        raise InputError(f"unknown output format(s) {bad or items!r}; choose from: {', '.join(FORMATS)}")
    return tuple(dict.fromkeys(items))


def check_generation(
    split: str, n: int, seed: int, size: int, gsd: float, formats: Sequence[str] | str
) -> tuple[str, ...]:
    """Check every argument of a generation run and return the formats (the one check `socio synth` uses too).

    Raises:
        InputError: an unknown split or format, or a count, seed, size or gsd out of range; the messages name
            the ``socio synth`` flags.
    """
    get_split(split)
    check_count(n)
    check_args(seed, 0, size, gsd)
    return parse_formats(formats)


def _hf_metadata() -> bytes:
    image = {"_type": "Image"}
    value = {"dtype": "string", "_type": "Value"}
    features = {
        "id": value,
        "problem": value,
        "map_image": image,
        "sat_image": image,
        "mask_label": image,
        "level": value,
        "socio_class": value,
        "socio_function": value,
        "n_targets": {"dtype": "int32", "_type": "Value"},
    }
    return json.dumps({"info": {"features": features}}).encode()


def _parquet_schema(settings: dict[str, Any]) -> Any:
    import pyarrow as pa

    img = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    fields = [
        ("id", pa.string()),
        ("problem", pa.string()),
        ("map_image", img),
        ("sat_image", img),
        ("mask_label", img),
        ("level", pa.string()),
        ("socio_class", pa.string()),
        ("socio_function", pa.string()),
        ("n_targets", pa.int32()),
    ]
    meta = {b"huggingface": _hf_metadata(), b"synthcity": json.dumps(settings, sort_keys=True).encode()}
    return pa.schema(fields, metadata=meta)


def _row(meta: dict[str, Any], files: dict[str, bytes]) -> dict[str, Any]:
    sid = meta["id"]
    return {
        "id": sid,
        "problem": meta["query"],
        "map_image": {"bytes": files["map.png"], "path": f"{sid}/map.png"},
        "sat_image": {"bytes": files["sat.png"], "path": f"{sid}/sat.png"},
        "mask_label": {"bytes": files["mask.png"], "path": f"{sid}/mask.png"},
        "level": meta["level"],
        "socio_class": meta["class"],
        "socio_function": meta["function"],
        "n_targets": len(meta["instance_ids"]),
    }


def sample_settings(split: str, seed: int, size: int, gsd: float) -> dict[str, Any]:
    """Return what fixes a split's samples: the settings.json document (n aside: a rerun may add samples)."""
    return {"split": split, "seed": int(seed), "size": int(size), "gsd": float(gsd), "generator": GENERATOR_VERSION}


def _describe(settings: dict[str, Any]) -> str:
    keys = ("seed", "size", "gsd", "generator")
    return ", ".join(f"{k} {settings.get(k, '?')}" for k in keys)


def read_settings(split_dir: Path) -> dict[str, Any] | None:
    """Return a raw split folder's settings.json, or None when it has none.

    Raises:
        InputError: the file is not a JSON object.
    """
    path = Path(split_dir) / SETTINGS
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise InputError(f"{path} is not valid JSON ({e}); use a new --out, or delete {split_dir}") from e
    if not isinstance(doc, dict):
        raise InputError(f"{path} is not a JSON object; use a new --out, or delete {split_dir}")
    return doc


def check_settings(split_dir: Path, settings: dict[str, Any]) -> None:
    """Refuse to add samples of other settings to a raw split folder; write settings.json into a new one.

    Raises:
        InputError: the folder's settings.json differs, or the folder holds samples but no settings.json.
    """
    old = read_settings(split_dir)
    if old is not None:
        if old != settings:
            raise InputError(
                f"{split_dir} holds samples generated with {_describe(old)}, not {_describe(settings)}; "
                f"mixing them would make a dataset of two kinds of tile: use a new --out (or delete {split_dir})"
            )
        return
    if split_dir.is_dir() and any(d.is_dir() and not d.name.startswith(".") for d in split_dir.iterdir()):
        raise InputError(
            f"{split_dir} holds samples but no {SETTINGS}, so their settings are unknown (an older generator "
            f"wrote them); to generate with {_describe(settings)} use a new --out (or delete {split_dir})"
        )
    split_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(split_dir / SETTINGS, _json(settings))


def _parquet_matches(path: Path, settings: dict[str, Any]) -> bool:
    import pyarrow.parquet as pq

    try:
        md = pq.read_schema(path).metadata or {}
    except Exception:  # an unreadable or truncated file is simply rewritten
        return False
    return md.get(b"synthcity") == json.dumps(settings, sort_keys=True).encode()


def run_generation(
    out: str | Path,
    split: str,
    n: int,
    seed: int = 0,
    size: int = 768,
    gsd: float = 0.6,
    formats: Sequence[str] | str = FORMATS,
    on_sample: Callable[[int], None] | None = None,
) -> GenerationReport:
    """Generate ``n`` samples of a split into ``out`` and report what was done.

    Args:
        out: output root folder.
        split: the split name.
        n: number of samples (indices 0..n-1).
        seed: the dataset seed.
        size: tile size in pixels.
        gsd: metres per pixel.
        formats: ``raw`` and/or ``parquet`` (a sequence or a comma-separated string).
        on_sample: called with the count done after each sample (for progress bars).

    Raises:
        InputError: an unknown split or format, a bad count, seed, size or gsd (checked before anything is
            written), or a raw split folder of other settings (see the module docstring).
    """
    fmts = check_generation(split, n, seed, size, gsd, formats)
    root = Path(out)
    t0 = time.perf_counter()
    report = GenerationReport(root=root, split=split, n=n)
    split_dir = root / split
    settings = {**sample_settings(split, seed, size, gsd), "n": n}
    pq_path = root / f"{split}.parquet"
    if "raw" not in fmts and _parquet_matches(pq_path, settings):
        return _report_from_parquet(report, pq_path, t0)
    want_pq = "parquet" in fmts
    if "raw" in fmts:
        check_settings(split_dir, sample_settings(split, seed, size, gsd))
        report.raw_dir = split_dir
    writer = _ParquetSink(pq_path, _parquet_schema(settings)) if want_pq else None
    try:
        for i, (meta, files) in enumerate(_samples(split, n, seed, size, gsd, fmts, split_dir, report, writer)):
            report.levels[meta["level"]] += 1
            report.multi += len(meta["instance_ids"]) > 1
            if writer is not None:
                writer.add(_row(meta, files))
            if on_sample is not None:
                on_sample(i + 1)
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    if writer is not None:
        writer.close()
    if "parquet" in fmts:
        report.parquet = pq_path
    report.seconds = time.perf_counter() - t0
    return report


def _report_from_parquet(report: GenerationReport, path: Path, t0: float) -> GenerationReport:
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=["level", "n_targets"])
    report.skipped = table.num_rows
    report.levels.update(table.column("level").to_pylist())
    report.multi = sum(1 for k in table.column("n_targets").to_pylist() if k > 1)
    report.parquet = path
    report.seconds = time.perf_counter() - t0
    return report


def _samples(
    split: str,
    n: int,
    seed: int,
    size: int,
    gsd: float,
    fmts: tuple[str, ...],
    split_dir: Path,
    report: GenerationReport,
    writer: _ParquetSink | None,
) -> Iterator[tuple[dict, dict[str, bytes]]]:
    for i in range(n):
        sample_dir = split_dir / f"{split}-{seed}-{i:05d}"
        if "raw" in fmts and is_complete(sample_dir):
            report.skipped += 1
            meta = json.loads((sample_dir / "meta.json").read_text())
            names = ("map.png", "sat.png", "mask.png") if writer is not None else ()
            yield meta, {f: (sample_dir / f).read_bytes() for f in names}
            continue
        s = generate_sample(seed, i, split, size, gsd)
        files = encode_sample(s)
        if "raw" in fmts:
            write_raw(files, sample_dir)
        report.generated += 1
        yield s.scene.meta, files


class _ParquetSink:
    """Stream rows into a parquet file in row groups, via a temporary file renamed on close."""

    def __init__(self, path: Path, schema: Any) -> None:
        import pyarrow.parquet as pq

        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.tmp = path.with_name(f".tmp-{path.name}-{os.getpid()}")
        self.schema = schema
        self.rows: list[dict[str, Any]] = []
        self.writer = pq.ParquetWriter(self.tmp, schema, compression="snappy")

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        if len(self.rows) >= ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if self.rows:
            self.writer.write_table(pa.Table.from_pylist(self.rows, schema=self.schema))
            self.rows = []

    def close(self) -> None:
        self._flush()
        self.writer.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        self.writer.close()
        self.tmp.unlink(missing_ok=True)
