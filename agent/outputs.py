"""Write a query's outputs to a folder, whole: mask.png, overlay.png, result.json and the instance polygons.

Everything is computed first, then written through `tools.outdir.OutputDir` (staged in a temporary sibling
and swapped in whole), so a failed run (a full disk included) leaves the previous outputs as they were and
never a mix of two runs. The polygons are ``instances.geojson`` when the scene is georeferenced (scene CRS,
named in its ``crs`` member) and ``instances_pixels.geojson`` when it is not: image pixel coordinates, which
a GIS must not read as the lon/lat a ``crs``-free GeoJSON means (RFC 7946).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from agent.result import AgentResult
from tools.files import png_bytes
from tools.outdir import OutputDir
from tools.render import user_overlay_image
from tools.scene import Scene
from tools.schemas import InstancePrompt
from tools.vector_io import instances_geojson


def result_document(result: AgentResult) -> dict[str, Any]:
    """Return the JSON document written as result.json (instances, stages with raw answers, timings, trace)."""
    return result.model_dump(mode="json")


def result_geojson(scene: Scene, result: AgentResult) -> dict[str, Any]:
    """Return the instances as polygons with score and provenance (scene CRS when georeferenced)."""
    from shapely.geometry import shape

    polys, props = [], []
    for i, inst in enumerate(result.instances):
        if inst.geometry is None:
            continue
        polys.append(shape(inst.geometry))
        props.append({"instance": i, "score": round(inst.score, 4), "area_px": inst.area, "source": inst.source,
                      "query": result.query, "policy": result.policy, "segmenter": result.segmenter,
                      "scene_id": result.scene_id})  # fmt: skip
    return instances_geojson(polys, props, scene.georef)


def user_overlay(scene: Scene, result: AgentResult) -> np.ndarray:
    """Render the person-facing overlay of a result (see `tools.render.user_overlay_image`)."""
    prompts = [InstancePrompt(box=i.box, points=i.points) for i in result.instances]
    return user_overlay_image(scene.map, scene.sat, prompts, result.instance_masks)


SEGMENT_FILES = ("mask.png", "overlay.png", "result.json", "instances.geojson", "instances_pixels.geojson")
"""What ``socio segment`` writes at the top of ``--out`` (its earlier versions are replaced or removed)."""


def geojson_name(scene: Scene) -> str:
    """Return the polygons' file name: instances.geojson (georeferenced) or instances_pixels.geojson."""
    return "instances.geojson" if scene.georef is not None else "instances_pixels.geojson"


def output_files(scene: Scene, result: AgentResult, extra_png: dict[str, np.ndarray] | None = None) -> dict[str, bytes]:
    """Return the encoded outputs of a result by file name (see the module docstring)."""
    gj = result_geojson(scene, result)
    if scene.georef is None:
        gj["coordinates"] = "image pixels of the satellite image: x right, y down, origin at its top-left corner"
    files: dict[str, bytes] = {
        "mask.png": png_bytes(result.mask.astype(np.uint8) * 255),
        "overlay.png": png_bytes(user_overlay(scene, result)),
        "result.json": json.dumps(result_document(result), indent=2).encode(),
        geojson_name(scene): json.dumps(gj).encode(),
    }
    for name, image in (extra_png or {}).items():
        files[name] = png_bytes(image)
    return files


def write_outputs(
    out: OutputDir | Path, scene: Scene, result: AgentResult, extra_png: dict[str, np.ndarray] | None = None
) -> dict[str, Path]:
    """Write mask.png (0/255, the satellite image's size), overlay.png, result.json and the polygons, whole.

    Args:
        out: the output folder, best an `OutputDir` made (and so checked) before the work.
        scene: the scene the result is for.
        result: the result.
        extra_png: more images to write, by file name.

    Returns:
        The written files by name.

    Raises:
        InputError: the folder cannot take the outputs (no space, read-only, ...); nothing was changed.
    """
    od = out if isinstance(out, OutputDir) else OutputDir(out, owned=SEGMENT_FILES)
    return od.write_files(output_files(scene, result, extra_png))
