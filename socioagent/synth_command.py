"""The ``socio synth`` command: generate a SynthCity split into a folder, with a progress bar and a summary.

Registered by ``agent/cli.py``; heavy imports happen inside the function so that ``socio --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def synth_command(
    out: Annotated[Path, typer.Option(help="Output folder: <out>/<split>/<id>/... and <out>/<split>.parquet.")],
    split: Annotated[
        str, typer.Option(help="Split: train, val, test, ood-mapstyle, ood-region or ood-classes.")
    ] = "test",
    n: Annotated[
        int, typer.Option(help="Number of samples (indices 0..n-1); complete ones on disk are skipped.")
    ] = 200,
    seed: Annotated[
        int, typer.Option(help="Dataset seed; (seed, split, index) fixes every sample, byte for byte.")
    ] = 0,
    size: Annotated[int, typer.Option(help="Tile size in pixels (SocioSeg tiles are 768); at least 128.")] = 768,
    gsd: Annotated[float, typer.Option(help="Ground sample distance in metres per pixel.")] = 0.6,
    formats: Annotated[
        str, typer.Option(help="Comma-separated outputs: raw (SocioSeg folder layout), parquet (HF datasets).")
    ] = "raw,parquet",
    city: Annotated[
        bool,
        typer.Option(
            "--city",
            help="Write one contiguous city instead of a split: <out>/city.tif (--size px square), layers.gpkg, "
            "truth.gpkg, city.json. --split, --n and --formats do not apply.",
        ),
    ] = False,
) -> None:
    """Generate a SynthCity split (tiles, maps, layers, masks, queries), or with --city one city of any size."""
    from tools.outdir import check_location, write_failure

    check_location(out)  # a file, a read-only or full disk: refused before anything is generated
    try:
        _synth(out, split, n, seed, size, gsd, formats, city)
    except OSError as e:  # a disk that fills up (or a file-size limit) part way: exit 2, finished samples kept
        from tools.outdir import WRITE_ERRNOS

        if e.errno not in WRITE_ERRNOS:
            raise
        raise write_failure(e, out) from e


def _synth(out: Path, split: str, n: int, seed: int, size: int, gsd: float, formats: str, city: bool) -> None:
    from rich.console import Console

    from evals.progress import progress_bar

    if city:
        from evals.synthcity.city_export import check_city_args, write_city

        check_city_args(seed, size, gsd)
        with progress_bar("synth city", 1) as update:
            report = write_city(out, seed, size, gsd, lambda k, total: update(completed=k, total=total))
        Console(stderr=True).print(
            f"[bold]city[/bold] {size}x{size} px at {gsd} m/px: {report.places} places, {report.features} map "
            f"features in {report.seconds:.1f} s -> {report.root}"
        )
        return
    from evals.synthcity.export import check_generation, run_generation

    fmts = check_generation(split, n, seed, size, gsd, formats)  # before the progress bar shows
    console = Console(stderr=True)
    with progress_bar(f"synth {split}", n) as update:
        report = run_generation(out, split, n, seed, size, gsd, fmts, lambda k: update(completed=k))
    levels = ", ".join(f"{k} {report.levels.get(k, 0)}" for k in ("name", "class", "function"))
    console.print(
        f"[bold]{split}[/bold]: {report.n} samples ({report.generated} generated, {report.skipped} already there) "
        f"in {report.seconds:.1f} s"
    )
    console.print(f"levels: {levels}; multi-instance: {report.multi_fraction:.1%}")
    if report.raw_dir is not None:
        console.print(f"raw folder: {report.raw_dir}")
    if report.parquet is not None:
        console.print(f"parquet: {report.parquet}")
