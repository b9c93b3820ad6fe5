"""One window of a scene-scale search: read it, render its map, run the two-stage agent, return its pieces.

A `WindowWorker` holds one policy and one segmenter (built once from the `agent.backends.BackendConfig`) and
answers any number of windows; the single-process search uses one, and each Ray actor holds its own
(`agent.scene_ray`). A window's answer (`WindowResult`) is plain data: polygons in the raster CRS, so results
can be persisted, shipped between processes and merged across seams (`tools.tiling.merge_pieces`).

Per window:

1. the satellite pixels (`tools.raster_window.RasterReader`, stretched, nodata black) and the valid-pixel mask;
2. the map layers of the window plus a margin (so a POI just across a seam still tells the policy about a place
   that reaches into this window) and the map image of the window, from the vector data;
3. `agent.run.run_query` on that scene;
4. each instance mask loses its nodata pixels (nodata never produces instances); where the vector data holds
   the outline of a place the query names (an OSM park polygon) and an instance covers it, the instance
   becomes that outline clipped to the window (`snap_to_outlines`), instead of the segmenter's box-bound mask;
5. polygons in window pixels, then in the raster CRS.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import shapely
from affine import Affine
from pydantic import BaseModel, ConfigDict, Field
from shapely.geometry import box, mapping, shape
from shapely.geometry.base import BaseGeometry

from agent.backends import BackendConfig
from agent.result import AgentResult
from tools.coords import GeoRef, geometry_to_crs
from tools.instances import MIN_INSTANCE_AREA
from tools.map_lookup import features_for
from tools.query import QueryTarget
from tools.raster_stretch import Stretch
from tools.raster_window import PixelWindow, RasterReader
from tools.scene import LayerFeature, Scene
from tools.scene_store import SceneStore
from tools.tiling import GridWindow
from tools.vector_io import mask_polygons

OUTLINE_MIN_IOU = 0.3
"""An instance takes a matching outline's shape when their IoU (inside the window) is at least this."""
REASON_CHARS = 200
"""Length cap of the reasoning summary kept per instance."""


@dataclass(frozen=True)
class VectorFunctions:
    """The vector reader's three functions (`tools.vectors`, `tools.vector_window`, `tools.map_from_vectors`).

    Attributes:
        read: ``read_vectors(path, bbox=None, bbox_crs=None) -> GeoDataFrame``.
        layers: ``layers_for_window(gdf, transform, crs, hw) -> list[LayerFeature]`` (window pixels, clipped).
        render: ``render_window_map(gdf, transform, crs, hw, style) -> (H, W, 3) uint8``.
    """

    read: Callable[..., Any]
    layers: Callable[..., list[LayerFeature]]
    render: Callable[..., np.ndarray]


def default_vector_functions() -> VectorFunctions:
    """Return the project's vector reader (`tools.vectors`), window clipper and map renderer."""
    from tools.map_from_vectors import render_window_map
    from tools.vector_window import layers_for_window
    from tools.vectors import read_vectors

    return VectorFunctions(read=read_vectors, layers=layers_for_window, render=render_window_map)


class WindowInstance(BaseModel):
    """One instance a window found, in the raster CRS."""

    geometry: dict[str, Any] = Field(description="GeoJSON Polygon or MultiPolygon in the raster CRS")
    score: float
    source: str = Field(description="model, box-fallback or outline (the vector data's own outline)")
    area_px: int = Field(description="pixels of the instance in the window, after nodata is removed")
    reason: str = Field("", description="a short summary of the policy's reasoning for this instance")


class WindowResult(BaseModel):
    """What one window gave: its instances and how the run went."""

    model_config = ConfigDict(extra="forbid")

    window_id: str
    row: int
    col: int
    window: PixelWindow
    status: Literal["ok", "nodata"]
    instances: list[WindowInstance] = Field(default_factory=list)
    valid_fraction: float = 1.0
    dropped_nodata: int = Field(0, description="instances that lay entirely on nodata pixels")
    format_failures: int = 0
    features: int = Field(0, description="map features in the window and its margin")
    timings: dict[str, float] = Field(default_factory=dict, description="read, map, agent, vectorise seconds")


@dataclass
class WindowJob:
    """Everything a worker needs to answer windows (sent once to each Ray actor).

    Attributes:
        reader: the raster (reopens in each process).
        stretch: the raster's stretch, computed once from a sample.
        query: the query, verbatim.
        target: how the query reads against the whole map (used to find outlines of the places it names).
        backend: the backends to build, once per worker.
        gdf: the vector features in the raster CRS (None: no vector data; maps are blank).
        vectors: the vector reader's functions.
        style: the map style name.
        margin_px: map context around each window, in the window's pixels.
        outlines: snap instances to the outlines the vector data holds.
    """

    reader: RasterReader
    stretch: Stretch
    query: str
    target: QueryTarget
    backend: BackendConfig
    gdf: Any
    vectors: VectorFunctions | None
    style: str
    margin_px: int
    outlines: bool


def _reasons(result: AgentResult) -> list[str]:
    """Return a short reasoning summary per instance: the policy's own "Box k:" line, else its first words."""
    raw = result.stages[0].raw if result.stages else ""
    m = re.search(r"<think>(.*?)</think>", raw, re.S)
    think = " ".join((m.group(1) if m else raw).split())
    boxes = {int(k): v.strip() for k, v in re.findall(r"Box (\d+): ([^.]*)", think)}
    return [(boxes.get(i + 1) or think)[:REASON_CHARS] for i in range(len(result.instances))]


def _iou(a: BaseGeometry, b: BaseGeometry) -> float:
    union = a.union(b).area
    return a.intersection(b).area / union if union > 0 else 0.0


def snap_to_outlines(
    pieces: list[BaseGeometry], outlines: list[BaseGeometry], min_iou: float = OUTLINE_MIN_IOU
) -> tuple[list[BaseGeometry], list[bool]]:
    """Replace instance polygons by the outlines they match (one to one, greedily by IoU, at least ``min_iou``).

    Returns:
        The polygons, and per polygon whether it is now an outline.

    >>> from shapely.geometry import box
    >>> polys, snapped = snap_to_outlines([box(0, 0, 12, 12), box(50, 50, 60, 60)], [box(1, 1, 10, 10)])
    >>> [p.bounds for p in polys], snapped
    ([(1.0, 1.0, 10.0, 10.0), (50.0, 50.0, 60.0, 60.0)], [True, False])
    """
    pairs = sorted(((_iou(p, o), i, j) for i, p in enumerate(pieces) for j, o in enumerate(outlines)), reverse=True)
    out, snapped = list(pieces), [False] * len(pieces)
    used: set[int] = set()
    for iou, i, j in pairs:
        if iou < min_iou:
            break
        if snapped[i] or j in used:
            continue
        out[i], snapped[i] = outlines[j], True
        used.add(j)
    return out, snapped


class WindowWorker:
    """Answer windows one by one with one policy and one segmenter (see the module docstring)."""

    def __init__(self, job: WindowJob) -> None:
        """Build the job's backends (once) and keep the job."""
        self.job = job
        self.backends = job.backend.build()
        self.store = SceneStore(max_scenes=2)

    def run(self, gw: GridWindow) -> WindowResult:
        """Answer one window.

        Raises:
            InputError: the raster cannot be read there.
            BackendError: the policy or segmenter failed after their retries.
        """
        from agent.run import run_query

        job, win = self.job, gw.window
        t0 = time.perf_counter()
        sat, valid = job.reader.read(win, job.stretch)
        base = {"window_id": gw.id, "row": gw.row, "col": gw.col, "window": win}
        valid_fraction = float(valid.mean())
        if not valid.any():
            return WindowResult(**base, status="nodata", valid_fraction=0.0,
                                timings={"read": time.perf_counter() - t0})  # fmt: skip
        t1 = time.perf_counter()
        info = job.reader.info
        wt = win.transform(info.affine)
        layers, map_img = self._map(wt, win.out_hw)
        t2 = time.perf_counter()
        ground = None
        if info.ground_m is not None:
            gx, gy = info.ground_m
            ground = math.sqrt(gx * win.width / win.out_width * gy * win.height / win.out_height)
        georef = GeoRef(info.crs or "", wt, ground_m=ground)
        scene = Scene(scene_id=gw.id, sat=sat, map=map_img, layers=layers, georef=georef)
        b = self.backends
        result = run_query(scene, job.query, policy=b.policy, segmenter=b.segmenter, max_rounds=job.backend.refine,
                           store=self.store, policy_spec=b.policy_spec, segmenter_spec=b.segmenter_spec)  # fmt: skip
        t3 = time.perf_counter()
        instances, dropped = self._instances(result, valid, layers, scene)
        self.store.release([i.mask_id for i in result.instances if i.mask_id] + [result.mask_id or ""])
        timings = {"read": t1 - t0, "map": t2 - t1, "agent": t3 - t2, "vectorise": time.perf_counter() - t3}
        return WindowResult(**base, status="ok", instances=instances, valid_fraction=valid_fraction,
                            dropped_nodata=dropped, format_failures=result.format_failures, features=len(layers),
                            timings=timings)  # fmt: skip

    def _map(self, wt: Affine, hw: tuple[int, int]) -> tuple[list[LayerFeature], np.ndarray]:
        """Return the window's layers (with the margin, in window pixels) and its map image."""
        from tools.map_render import render_map

        job = self.job
        h, w = hw
        if job.gdf is None or job.vectors is None:
            gsd = abs(wt.a) or 1.0
            return [], render_map([], job.style, hw, gsd)
        m = job.margin_px
        wide = job.vectors.layers(job.gdf, wt @ Affine.translation(-m, -m), job.reader.info.crs, (h + 2 * m, w + 2 * m))
        shift = np.array([m, m], float)
        layers = [_shifted(f, shift) for f in wide]
        return layers, job.vectors.render(job.gdf, wt, job.reader.info.crs, hw, job.style)

    def _instances(
        self, result: AgentResult, valid: np.ndarray, layers: list[LayerFeature], scene: Scene
    ) -> tuple[list[WindowInstance], int]:
        h, w = valid.shape
        reasons = _reasons(result)
        kept: list[tuple[BaseGeometry, int, float, str, str]] = []
        dropped = 0
        for inst, mask, reason in zip(result.instances, result.instance_masks, reasons, strict=True):
            m = mask & valid
            area = int(np.count_nonzero(m))
            if area <= MIN_INSTANCE_AREA:
                dropped += 1
                continue
            polys = mask_polygons(m)
            if not polys:
                dropped += 1
                continue
            kept.append((shapely.union_all(polys), area, inst.score, inst.source, reason))
        if self.job.outlines and kept:
            frame = box(0, 0, w, h)
            if not valid.all():  # an outline over nodata loses those pixels too
                frame = shapely.union_all(mask_polygons(valid, min_area_px=0))
            outlines = [g for g in (_outline(f, frame) for f in self._outline_features(layers)) if g is not None]
            geoms, snapped = snap_to_outlines([k[0] for k in kept], outlines)
            kept = [(g, k[1], 1.0, "outline", k[4]) if s else k for g, s, k in zip(geoms, snapped, kept, strict=True)]
        out = []
        for geom, area, score, source, reason in kept:
            g = geometry_to_crs(geom, scene.georef) if scene.georef else geom
            out.append(WindowInstance(geometry=mapping(g), score=round(float(score), 4), source=source, area_px=area,
                                      reason=reason))  # fmt: skip
        return out, dropped

    def _outline_features(self, layers: list[LayerFeature]) -> list[LayerFeature]:
        matches = features_for(self.job.target, layers, self.job.query)
        return [f for f in matches if f.geometry.geom_type in ("Polygon", "MultiPolygon")]


def _outline(f: LayerFeature, frame: BaseGeometry) -> BaseGeometry | None:
    g = shapely.make_valid(f.geometry).intersection(frame)
    return g if not g.is_empty and g.area > MIN_INSTANCE_AREA else None


def _shifted(f: LayerFeature, shift: np.ndarray) -> LayerFeature:
    g = shapely.transform(f.geometry, lambda c: c - shift)
    return LayerFeature(id=f.id, kind=f.kind, geometry=g, name=f.name, cls=f.cls, function=f.function, props=f.props)


def geometry_of(instance: WindowInstance) -> BaseGeometry:
    """Return a window instance's shapely geometry (raster CRS)."""
    return shape(instance.geometry)
