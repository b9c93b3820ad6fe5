"""``socio demo``: the offline default end to end on a generated scene, with a short human summary.

The scene comes from SynthCity, generated in code from a fixed seed (no files ship with the package), so
the demo needs no download, no weights and no GPU. Other backends are one flag away (the same flags as
``socio segment``).
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import typer

from agent.backends import BackendConfig
from agent.explain import notices
from agent.outputs import SEGMENT_FILES, output_files
from agent.run import run_query
from tools.outdir import OutputDir
from tools.raster_io import geotiff_bytes

DEMO_SEED = 7
DEMO_INDEX = 0
DEMO_SPLIT = "test"
DEMO_FILES = (*SEGMENT_FILES, "sat.png", "map.png", "truth.png", "layers.geojson", "sat.tif")
"""What ``socio demo`` writes at the top of ``--out`` (other files there, such as ``again/``, are kept)."""


def run_demo(out: Path, backend: BackendConfig | None = None, query: str | None = None) -> dict[str, float]:
    """Generate the demo scene, answer its query, write outputs and print a summary.

    Args:
        out: the output folder.
        backend: the backends (default: the offline default, map policy + classical segmenter).
        query: another query than the scene's own (then no IoU is reported).

    Returns:
        The headline numbers (IoU with the ground truth, seconds).
    """
    from evals.metrics import iou_counts, sample_iou
    from evals.synthcity import generate_sample

    backend = backend or BackendConfig()
    od = OutputDir(out, owned=DEMO_FILES)  # the location is checked before the work
    b = backend.build()

    t0 = time.perf_counter()
    sample = generate_sample(seed=DEMO_SEED, index=DEMO_INDEX, split=DEMO_SPLIT)
    gen_s = time.perf_counter() - t0
    truth = sample.scene.truth
    scene = replace(sample.scene, truth=None)  # the policy must not see the answer
    q = query or sample.query
    result = run_query(scene, q, **b.run_kwargs())
    iou = sample_iou(*iou_counts(result.mask, truth)) if query is None else float("nan")
    files = output_files(scene, result, extra_png={"sat.png": scene.sat, "map.png": scene.map,
                                                   "truth.png": truth.astype(np.uint8) * 255})  # fmt: skip
    files["layers.geojson"] = json.dumps(sample.layers_geojson).encode()
    files["sat.tif"] = geotiff_bytes(scene.sat, scene.georef)
    od.write_files(files)
    _print_summary(sample, scene, q, result, iou, gen_s, out)
    for line in notices(result, backend.max_instances):
        typer.secho(line, fg=typer.colors.YELLOW, err=True)
    return {"iou": iou, "total_s": result.timings.total_s, "generate_s": gen_s}


def _clip(text: str, n: int) -> str:
    """Shorten text to at most n characters at a word boundary, with an ellipsis."""
    return text if len(text) <= n else text[: text.rfind(" ", 0, n - 1)] + " …"


def _print_summary(sample, scene, q, result, iou, gen_s, out) -> None:
    h, w = scene.hw
    gsd = scene.georef.pixel_size if scene.georef else 0.0
    area_m2 = int(result.mask.sum()) * gsd * gsd
    stage1 = result.stages[0].raw.split("</think>")[0].removeprefix("<think>") if result.stages else ""
    t = result.timings
    lines = [
        "socioagent demo: offline default (map policy + classical segmenter; no model weights, no GPU)"
        if (result.policy, result.segmenter) == ("map", "classical")
        else f"socioagent demo: policy {result.policy}, segmenter {result.segmenter}",
        f"  scene    SynthCity {sample.split} tile, {w}x{h} px at {gsd:.2f} m/px, "
        f"{scene.georef.crs if scene.georef else 'no CRS'} (generated in {gen_s:.2f} s)",
        f"  query    {q!r}" + (f"  [{sample.level} level]" if q == sample.query else ""),
        f"  reading  {_clip(stage1.strip(), 150)}",
        f"  found    {len(result.instances)} instance(s), {int(result.mask.sum()):,} px ({area_m2:,.0f} m²)"
        + (f"; IoU with the ground truth {iou:.3f}" if iou == iou else ""),
        f"  time     {t.total_s:.2f} s (policy {t.policy_s:.3f} s, segmenter {t.segment_s:.2f} s, "
        f"agent overhead {t.overhead_s * 1000:.0f} ms, one-time imports included); segmenter encodes: {result.encodes}",
        f"  outputs  {out}/: overlay.png (look here first), mask.png, result.json, instances.geojson, "
        "inputs: sat.tif (GeoTIFF), sat.png, map.png, layers.geojson, truth.png",
        f"  again    socio segment --sat {out}/sat.tif --map {out}/map.png --layers {out}/layers.geojson "
        f"--query {q!r} --out {out}/again",
    ]
    typer.echo("\n".join(lines))
