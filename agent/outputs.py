"""Write a query's outputs to a folder, atomically: mask.png, overlay.png, result.json, instances.geojson.

Everything is computed first and each file is written to a temporary name and renamed into place, so an
interrupted or failed run never leaves a half-written file in the output folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from agent.result import AgentResult
from tools.files import atomic_write_bytes, png_bytes
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


def write_outputs(
    out: Path, scene: Scene, result: AgentResult, extra_png: dict[str, np.ndarray] | None = None
) -> dict[str, Path]:
    """Write mask.png (0/255, the satellite image's size), overlay.png, result.json and instances.geojson.

    Returns:
        The written files by name.
    """
    files: dict[str, bytes] = {
        "mask.png": png_bytes(result.mask.astype(np.uint8) * 255),
        "overlay.png": png_bytes(user_overlay(scene, result)),
        "result.json": json.dumps(result_document(result), indent=2).encode(),
        "instances.geojson": json.dumps(result_geojson(scene, result)).encode(),
    }
    for name, image in (extra_png or {}).items():
        files[name] = png_bytes(image)
    written = {}
    for name, data in files.items():
        atomic_write_bytes(out / name, data)
        written[name] = out / name
    return written
