"""Answers as the web app keeps them: a sentence, GeoJSON features for the map, the trace, and file downloads.

A segmentation (`agent.run.run_query`) becomes an `AnswerRecord` here (`from_segmentation`): one feature per
instance, named after the map feature it covers; a chat answer (`agent.chat.ask`) becomes one in
`agent.serving.chat_answers`. Both are drawn, traced and downloaded the same way.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from agent.result import AgentResult
from agent.serving.display import View, feature_collection, view_of
from tools.coords import geometry_to_crs
from tools.map_lookup import features_for
from tools.query import interpret_query
from tools.scene import LayerFeature, Scene

POPUP_FIELDS = ("name", "class", "score", "distance_m")
"""The properties a feature's popup shows (each when present)."""
_WRITE_LOCK = threading.Lock()


@dataclass
class AnswerRecord:
    """One answer, kept by the server so that its trace and files can be fetched later.

    Attributes:
        answer_id: the id the API names it by.
        scene_id: the scene asked about (None for a chat answer over vectors alone).
        question: the question, verbatim.
        mode: ``segment`` or ``ask``.
        sentence: the answer in words.
        features: GeoJSON FeatureCollection in the view's coordinates (lon/lat, or image pixels).
        view: ``lonlat`` or ``pixels``.
        trace: the plan (chat answers), the stages and the timings, JSON-ready.
        seconds: wall time of the answer.
    """

    answer_id: str
    scene_id: str | None
    question: str
    mode: str
    sentence: str
    features: dict[str, Any]
    view: View
    trace: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def write(self, folder: Path, fmt: str) -> Path:
        """Write the features once to ``folder`` as ``socio-ID.geojson`` or ``socio-ID.gpkg`` and return the file.

        GeoJSON is RFC 7946 lon/lat (or image pixels, with no ``crs`` member); the GeoPackage is EPSG:4326 (or
        has no CRS, for image pixels). Both are written atomically.
        """
        from tools.files import atomic_write_bytes
        from tools.vector_io import write_gpkg

        path = folder / f"socio-{self.answer_id}.{fmt}"
        with _WRITE_LOCK:  # two downloads of one answer write it once
            if path.is_file():
                return path
            if fmt == "geojson":
                return atomic_write_bytes(path, (json.dumps(self.features, indent=1) + "\n").encode())
            feats = self.features["features"]
            records = [_flat(f.get("properties") or {}) for f in feats]
            geoms = [shape(f["geometry"]) for f in feats]
            crs = "EPSG:4326" if self.view == "lonlat" else None
            return write_gpkg(path, records, geoms, crs)  # type: ignore[arg-type]


def _flat(props: dict[str, Any]) -> dict[str, Any]:
    """Return properties a GeoPackage column can hold: nested values as JSON text."""
    return {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in props.items()}


def _named_place(poly: BaseGeometry, candidates: list[LayerFeature]) -> LayerFeature | None:
    """Return the map feature an instance covers most (points: the one inside it), or None."""
    best, best_score = None, 0.0
    for f in candidates:
        g = f.geometry
        if g.geom_type == "Point":
            score = 1.0 if poly.contains(g) else 0.0
        else:
            inter = poly.intersection(g).area if poly.intersects(g) else 0.0
            score = inter / max(min(poly.area, g.area), 1e-9)
        if score > best_score:
            best, best_score = f, score
    return best


def segmentation_features(scene: Scene, result: AgentResult) -> list[dict[str, Any]]:
    """Return one GeoJSON feature per instance, in the scene's view (lon/lat or pixels), with popup fields.

    ``name`` and ``class`` come from the map feature the instance covers (the query's reading of the scene's
    layers, `tools.query.interpret_query`); ``score`` is the segmenter's; ``distance_m`` is absent (a
    segmentation measures no distance).
    """
    target = interpret_query(result.query, scene.layers)
    candidates = features_for(target, scene.layers, result.query) if scene.layers else []
    out = []
    for i, inst in enumerate(result.instances):
        if inst.geometry is None:
            continue
        poly = shape(inst.geometry)
        place = _named_place(poly, candidates)
        props: dict[str, Any] = {"instance": i, "score": round(inst.score, 4), "area_px": inst.area,
                                 "source": inst.source, "query": result.query}  # fmt: skip
        if place is not None and place.name:
            props["name"] = place.name
        cls = (place.cls if place is not None else None) or target.cls
        if cls:
            props["class"] = cls
        if scene.georef is not None:
            props["area_m2"] = round(inst.area * scene.georef.pixel_size**2, 1)
        geom = poly if scene.georef is None else geometry_to_crs(poly, scene.georef)
        out.append({"type": "Feature", "properties": props, "geometry": mapping(geom)})
    if scene.georef is not None and out:
        from tools.vector_io import instances_geojson_lonlat

        records = [f["properties"] for f in out]
        geoms = [shape(f["geometry"]) for f in out]
        out = instances_geojson_lonlat(records, geoms, scene.georef.crs)["features"]
    return out


def segmentation_sentence(result: AgentResult, features: list[dict[str, Any]]) -> str:
    """Say in words what a segmentation found."""
    n = len(features)
    if n == 0:
        return f"Found no place for {result.query!r} in this scene."
    names = [str(f["properties"]["name"]) for f in features if f["properties"].get("name")]
    named = f": {', '.join(names[:5])}{', ...' if len(names) > 5 else ''}" if names else ""
    return f"Found {n} place{'s' if n != 1 else ''} for {result.query!r}{named}."


def segmentation_trace(result: AgentResult) -> dict[str, Any]:
    """Return the trace the web app shows: the stages (what each policy call answered), the steps and timings."""
    stages = [{"stage": s.stage, "round": s.round, "ok": s.ok, "failure": s.failure, "instances": len(s.prompts),
               "latency_s": round(s.latency_s, 4), "raw": s.raw, "repairs": s.repairs}
              for s in result.stages]  # fmt: skip
    return {
        "plan": None,
        "policy": result.policy,
        "segmenter": result.segmenter,
        "stages": stages,
        "steps": [t.model_dump(mode="json") for t in result.trace],
        "timings": result.timings.model_dump(mode="json"),
        "format_failures": result.format_failures,
    }


def from_segmentation(answer_id: str, scene: Scene, question: str, result: AgentResult) -> AnswerRecord:
    """Return a segmentation's answer record: its features, sentence and trace."""
    feats = segmentation_features(scene, result)
    return AnswerRecord(answer_id=answer_id, scene_id=scene.scene_id, question=question, mode="segment",
                        sentence=segmentation_sentence(result, feats), features=feature_collection(feats),
                        view=view_of(scene.georef), trace=segmentation_trace(result),
                        seconds=result.timings.total_s)  # fmt: skip
