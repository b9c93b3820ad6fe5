"""Evaluation datasets: lazy sequences of samples (query, level, truth) from SocioSeg or SynthCity files.

A dataset lists its samples up front (ids, queries, levels: small text) and loads pixels only when a
sample's `Sample.load_scene` is called, so a split of thousands of 768x768 scenes never sits in memory.
Iteration is in sorted-id order, the same on every run.

Specs (`make_dataset`):
    ``synth:DIR``        a SynthCity export (`evals.synthcity.generate`): ``DIR/<split>/<id>/...``
                         with ``meta.json`` sidecars, or ``DIR/<split>.parquet``
    ``socioseg:PATH``    SocioSeg: a raw folder root holding ``<split>/<id>/{map.png, sat.png, mask.png,
                         question.json}``, a folder of parquet files (``<split>.parquet``,
                         ``<split>-*.parquet`` or the Hugging Face layout ``data/<split>-*.parquet``),
                         or one parquet file
    ``PATH``             the same as ``socioseg:PATH``

When both a raw folder and parquet files exist, the raw folder wins: it can carry sidecars, vector
layers and georeferencing. A sample's level comes from its sidecar (``meta.json`` ``level``, or a parquet
``level`` column) when present, else from `tools.query.infer_level`.

A sample whose files are missing or corrupt is still listed; its `Sample.error` says what is wrong (when
that is known from listing) and `Sample.load_scene` raises an `InputError` that names the file, so an
evaluation can record the sample as an error and go on.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, overload

from tools.errors import InputError
from tools.images import MaskRule
from tools.schemas import Level

if TYPE_CHECKING:
    from tools.scene import Scene

LevelSource = Literal["sidecar", "inferred", "unknown"]
DATASET_SPECS = ("synth:DIR", "socioseg:PATH", "PATH")


class SampleSource(Protocol):
    """Where a sample's pixels are, and how to load them (picklable, so worker processes can load)."""

    def load(self, sample: Sample, mask_rule: MaskRule = "any_band") -> Scene:
        """Load the sample's scene with its truth mask, binarised by ``mask_rule``."""
        ...

    def order_key(self) -> tuple:
        """Return a key that sorts samples in storage order (cheapest to read in sequence)."""
        ...


@dataclass(frozen=True)
class Sample:
    """One evaluation sample: a query on a scene, with its truth loaded on demand.

    Attributes:
        id: the sample id (unique within a split).
        query: the query text, verbatim ("" when it could not be read; see ``error``).
        split: the split it belongs to.
        level: ``name``, ``class``, ``function`` or ``unknown``.
        level_source: ``sidecar`` (given by the data), ``inferred`` (from the query text) or ``unknown``.
        level_reason: the sidecar file or the inference rule that decided the level.
        socio_class: the target's socio-class key, when the data says.
        socio_function: the target's socio-function key, when the data says.
        source: where the pixels are.
        error: a problem found while listing (a missing or corrupt question.json), or None.
    """

    id: str
    query: str
    split: str
    level: Level
    level_source: LevelSource
    level_reason: str
    socio_class: str | None
    socio_function: str | None
    source: SampleSource
    error: str | None = None

    def load_scene(self, mask_rule: MaskRule = "any_band") -> Scene:
        """Load the scene (satellite, map, layers, georef) with ``truth`` set from the mask.

        Args:
            mask_rule: how the mask image becomes the truth: ``any_band`` (any band > 0) or ``gray``
                (``convert("L") > 0``, the reference's; `tools.images.binarize_mask`).

        Raises:
            InputError: a file of the sample is missing or corrupt; the message names the file and the fix.
        """
        if self.error is not None:
            raise InputError(self.error)
        return self.source.load(self, mask_rule)


class Dataset(Sequence[Sample]):
    """A split of a dataset: samples in sorted-id order; pixels load per sample."""

    def __init__(self, name: str, spec: str, split: str, root: Path, fmt: str, samples: list[Sample]) -> None:
        """Hold already-listed samples (use `make_dataset` to build one)."""
        self.name = name
        self.spec = spec
        self.split = split
        self.root = root
        self.format = fmt
        self._samples = sorted(samples, key=lambda s: s.id)
        self._index = {s.id: i for i, s in enumerate(self._samples)}
        if len(self._index) != len(self._samples):
            dup = sorted({s.id for s in self._samples if sum(t.id == s.id for t in self._samples) > 1})
            raise InputError(f"dataset {spec!r} split {split!r} has duplicate sample ids {dup[:5]}; ids must be unique")

    def __len__(self) -> int:
        return len(self._samples)

    @overload
    def __getitem__(self, i: int) -> Sample: ...

    @overload
    def __getitem__(self, i: slice) -> list[Sample]: ...

    def __getitem__(self, i: int | slice) -> Sample | list[Sample]:
        return self._samples[i]

    def __iter__(self) -> Iterator[Sample]:
        return iter(self._samples)

    def __repr__(self) -> str:
        return f"Dataset({self.spec!r}, split={self.split!r}, format={self.format!r}, n={len(self)})"

    def ids(self) -> list[str]:
        """Return the sample ids in iteration (sorted) order."""
        return [s.id for s in self._samples]

    def get(self, sample_id: str) -> Sample:
        """Return the sample with this id.

        Raises:
            InputError: no such id in this split.
        """
        i = self._index.get(sample_id)
        if i is None:
            raise InputError(f"no sample {sample_id!r} in {self.spec!r} split {self.split!r}")
        return self._samples[i]

    def storage_order(self, samples: Sequence[Sample] | None = None) -> list[Sample]:
        """Return samples (default: all) in the order that is cheapest to load (file and row order)."""
        return sorted(self._samples if samples is None else samples, key=lambda s: s.source.order_key())

    def level_counts(self) -> dict[str, int]:
        """Return how many levels came from a sidecar, were inferred, or are unknown."""
        counts = {"sidecar": 0, "inferred": 0, "unknown": 0}
        for s in self._samples:
            counts[s.level_source] += 1
        return counts


def parse_dataset_spec(spec: str) -> tuple[str, Path]:
    """Split a dataset spec into its kind (``synth`` or ``socioseg``) and its path (``~`` expanded).

    A bare path, or one that starts with a Windows drive letter, means ``socioseg``.

    Raises:
        InputError: the prefix is unknown, or the spec has no path.

    >>> kind, path = parse_dataset_spec("synth:runs/synth")
    >>> kind, path.as_posix()
    ('synth', 'runs/synth')
    >>> parse_dataset_spec("data/socioseg")[0]
    'socioseg'
    """
    kind, sep, path = spec.partition(":")
    if not sep or len(kind) == 1:  # a bare path (or a Windows drive letter)
        kind, path = "socioseg", spec
    if kind not in ("synth", "socioseg"):
        raise InputError(f"unknown dataset spec {spec!r}; use one of: {', '.join(DATASET_SPECS)}")
    if not path:
        raise InputError(f"dataset spec {spec!r} has no path; use {kind}:PATH")
    return kind, Path(path).expanduser()


def make_dataset(spec: str, split: str = "test") -> Dataset:
    """Open a dataset split from a spec (see the module docstring); no image is decoded here.

    Args:
        spec: ``synth:DIR``, ``socioseg:PATH`` or a bare PATH.
        split: the split to open (``train``, ``val``, ``test``, or a SynthCity OOD split).

    Raises:
        DatasetNotFoundError: the root or the split does not exist, or has no samples.
        InputError: the spec's prefix is unknown, or a parquet file is unreadable or lacks columns.
    """
    from evals.datasets.socioseg import open_split

    kind, path = parse_dataset_spec(spec)
    return open_split(kind, spec, path, split)
