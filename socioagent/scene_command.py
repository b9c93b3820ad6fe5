"""``socio segment --raster``: scene-scale search from the command line, with a progress bar and a summary.

Called by `socioagent.cli.segment` when ``--raster`` is given; the work is `agent.scene_search.run_search`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer

from agent.backends import BackendConfig

RAY_LOCAL = "local"
"""``--ray`` with no address (or ``--ray local``): start a local Ray for the run."""


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """Parse ``--bbox minx,miny,maxx,maxy``.

    Raises:
        InputError: not four numbers in order.
    """
    from tools.errors import InputError

    if text is None:
        return None
    try:
        v = tuple(float(x) for x in text.split(","))
    except ValueError:
        v = ()
    if len(v) != 4 or v[0] >= v[2] or v[1] >= v[3]:
        raise InputError(
            f"--bbox {text!r}: give minx,miny,maxx,maxy with min < max, e.g. --bbox 24.93,60.16,24.96,60.18"
        )
    return v  # type: ignore[return-value]


def scene_search_command(backend: BackendConfig, out: Path, quiet: bool, ray: str | None, workers: int | None,
                         **spec_values: Any) -> None:  # fmt: skip
    """Run a scene-scale search and print what it did (see `agent.scene_search`)."""
    from pydantic import ValidationError

    from agent.backends import describe_validation_error
    from agent.scene_search import SearchSpec, run_search
    from evals.progress import progress_bar
    from tools.errors import InputError
    from tools.outdir import check_location
    from tools.raster_window import parse_bands

    if workers is not None and ray is None:
        raise InputError("--workers is for --ray; add --ray (a local Ray) or --ray ADDRESS")
    check_location(out)  # a file, a read-only or full disk: refused before any window runs
    spec_values["bands"] = parse_bands(spec_values.get("bands"))
    spec_values["bbox"] = parse_bbox(spec_values.get("bbox"))
    try:
        spec = SearchSpec(**spec_values)
    except ValidationError as e:
        raise InputError(describe_validation_error(e)) from None
    state: dict[str, Any] = {}

    def on_plan(plan: Any, resumed: int) -> None:
        if not quiet:
            for note in plan.notes:
                typer.secho(f"  {note}", err=True, fg=typer.colors.BRIGHT_BLACK)
            if resumed:
                typer.secho(f"  resuming: {resumed} window(s) already finished in {out}", err=True)
        state["bar"] = progress_bar("segment", len(plan.chosen), completed=resumed, enabled=not quiet, rate="-")
        state["update"] = state["bar"].__enter__()
        state["t0"], state["start"] = time.perf_counter(), resumed

    def on_progress(done: int, total: int) -> None:
        ran = done - state["start"]
        rate = ran / max(time.perf_counter() - state["t0"], 1e-9)
        state["update"](completed=done, rate=f"{rate:.2f} win/s")

    use_ray = ray is not None
    address = None if ray in (None, RAY_LOCAL) else ray
    try:
        report = run_search(spec, backend, out, ray=use_ray, ray_address=address, workers=workers, on_plan=on_plan,
                            on_progress=on_progress)  # fmt: skip
    finally:
        if "bar" in state:
            state["bar"].__exit__(None, None, None)
    if not quiet:
        s = report.summary
        typer.secho(f"{report.instances} instance(s) of {spec.query!r} from {s['pieces']} piece(s) in {s['chosen']} of "
                    f"{s['windows']} window(s) ({s['resumed']} resumed, {s['nodata_windows']} all nodata); "
                    f"{s['seconds']['total']:.1f} s", err=True)  # fmt: skip
        typer.secho(f"outputs: {', '.join(str(p) for p in report.files.values())}", err=True)
    if report.instances == 0:
        typer.secho(f"0 instances: {empty_search_reason(report.summary)}", fg=typer.colors.YELLOW, err=True)


def empty_search_reason(s: dict[str, Any]) -> str:
    """Return why a scene search found nothing, from its summary, with what to change."""
    if s.get("chosen", 0) == 0:
        if s.get("matches", 0) == 0:
            level = s.get("level")
            return (
                f"the vector data holds no feature the query names (read at the {level} level), so no "
                "window was run; check the query against --vectors, or add --scan-all to run every window"
            )
        return "no window of the raster holds a matching feature; check --bbox, or add --scan-all"
    if s.get("nodata_windows", 0) == s.get("chosen"):
        return "every window run was nodata (empty pixels); check the raster, --bands or --bbox"
    if s.get("format_failures", 0):
        return (f"{s['format_failures']} policy answer(s) were unusable (see windows/*.json); check the policy "
                "(--policy, --prompt-dir, --max-tokens)")  # fmt: skip
    return (f"{s.get('ran', 0) + s.get('resumed', 0)} window(s) ran and none gave an instance; try --segmenter sam2 "
            "or another --policy")  # fmt: skip
