"""SynthCity: a deterministic procedural city with satellite-like images, maps, layers and socio-place truth.

SocioSeg cannot be had on our machines, so SynthCity is the measurement ground: the map says *what* (names,
classes, functions as POIs and a few land-use fills), the satellite image says *where and how big*, and
look-alikes (a pitch in a park, a mall roof beside a warehouse, parking beside a hospital) keep it hard.

>>> from evals.synthcity import generate_sample
>>> s = generate_sample(seed=0, index=0, split="test", size=256)
>>> s.sample_id, s.scene.sat.shape, s.scene.truth.any()
('test-0-00000', (256, 256, 3), np.True_)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evals.synthcity.sample import SynthSample, generate_sample
    from evals.synthcity.splits import SPLITS


def generate(
    out: str | Path,
    split: str,
    n: int,
    seed: int = 0,
    size: int = 768,
    gsd: float = 0.6,
    formats: Sequence[str] = ("raw", "parquet"),
    progress: bool = True,
) -> Path:
    """Generate ``n`` samples of a split and write them under ``out``.

    Writes ``<out>/<split>/<sample_id>/...`` and ``<out>/<split>/settings.json`` (format ``raw``) and
    ``<out>/<split>.parquet`` (format ``parquet``); complete samples already on disk are skipped, so an
    interrupted run can simply be rerun, but a rerun with another seed, size or gsd is refused.

    Args:
        out: output root folder.
        split: one of `SPLITS`.
        n: number of samples (indices 0..n-1).
        seed: the dataset seed; (seed, split, index) fixes every sample.
        size: tile size in pixels.
        gsd: ground sample distance in metres per pixel.
        formats: any of ``raw`` and ``parquet``.
        progress: show a progress bar with an ETA.

    Returns:
        The output root ``out``.

    Raises:
        InputError: an unknown split or format, n < 1, a bad size, gsd or seed, or ``<out>/<split>`` holds
            samples of other settings (or of unknown ones).
    """
    from evals.progress import progress_bar
    from evals.synthcity.export import run_generation

    with progress_bar(f"synthcity {split}", n, enabled=progress) as update:
        report = run_generation(out, split, n, seed, size, gsd, formats, lambda k: update(completed=k))
    return report.root


__all__ = ["SPLITS", "SynthSample", "generate", "generate_sample"]


def __getattr__(name: str) -> Any:
    """Import the generator on first use, so that `socio --help` does not pay for it."""
    if name in ("SynthSample", "generate_sample"):
        from evals.synthcity import sample

        return getattr(sample, name)
    if name == "SPLITS":
        from evals.synthcity.splits import SPLITS

        return SPLITS
    raise AttributeError(f"module 'evals.synthcity' has no attribute {name!r}")
