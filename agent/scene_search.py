"""Scene-scale search: a query over a raster of any size, window by window, merged into georeferenced instances.

``socio segment --raster city.tif --vectors layers.gpkg --query "schools" --out DIR`` runs `run_search`:

1. plan (`plan_search`): open the raster (`tools.raster_window`), check its CRS, compute the stretch from a sample
   of windows, read the vector data over the search region, choose the resampling (``gsd``: windows are read at
   this ground resolution, 0.6 m by default as SocioSeg's tiles), lay out overlapping windows
   (`tools.tiling.grid_windows`) and pick the windows to run: those where the map holds a feature the query
   names (within a margin), or every window with ``scan_all``;
2. claim the output folder (`agent.scene_files.SearchFolder`): a rerun skips finished windows, and a changed
   configuration is refused;
3. run the two-stage agent on each window (`agent.scene_window.WindowWorker`), in this process or on Ray
   (`agent.scene_ray`), persisting each window's result as it finishes;
4. merge instances across seams and write instances.gpkg, instances.geojson and mask.tif
   (`agent.scene_merge`).

Nothing is written before the inputs are checked, and every output is written atomically.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from pydantic import BaseModel, ConfigDict, Field
from shapely.geometry import box

from agent.backends import BackendConfig
from agent.scene_files import SearchFolder, file_fingerprint
from agent.scene_merge import MergedOutput, merge_windows, write_search_outputs
from agent.scene_window import VectorFunctions, WindowJob, WindowResult, WindowWorker, default_vector_functions
from tools.errors import InputError
from tools.map_lookup import features_for
from tools.query import QueryTarget, interpret_query
from tools.raster_stretch import Stretch, StretchMode, compute_stretch
from tools.raster_window import RasterInfo, RasterReader
from tools.tiling import GridWindow, grid_windows

SEARCH_VERSION = 1
"""Bump when a code change alters what a search writes: a rerun into an older folder is then refused."""

GSD_TOLERANCE = 0.02
"""Windows are read at native pixels when the ground resolution is within this fraction of the target."""

ProgressHandler = Callable[[int, int], None]


class SearchSpec(BaseModel):
    """What to search for, where, and how the raster is cut into windows."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    raster: Path = Field(description="GeoTIFF or COG of any size, with a CRS")
    vectors: Path | None = Field(None, description="map vectors: OSM .osm.pbf, GeoPackage or GeoJSON")
    query: str = Field(description="what to find: a name, a class ('schools') or a function")
    bbox: tuple[float, float, float, float] | None = Field(None, description="search only here: minx,miny,maxx,maxy")
    bbox_crs: str = Field("EPSG:4326", description="CRS of --bbox (default lon/lat)")
    tile: int = Field(768, description="window side in pixels, as the policy sees it")
    overlap: int = Field(128, description="pixels shared by neighbouring windows (seams are merged there)")
    gsd: float | None = Field(0.6, gt=0, description="read windows at this ground resolution (m/px); None: native")
    bands: tuple[int, ...] | None = Field(None, description="1-based bands read as R,G,B (one band: panchromatic)")
    stretch: StretchMode = Field("auto", description="auto, none or percentile (see tools.raster_stretch)")
    scan_all: bool = Field(False, description="run every window, not only those where the map names the query")
    outlines: bool = Field(True, description="use the outlines the vector data holds for the places found")
    style: str = Field("amap", description="map style of the rendered map images")
    margin_m: float = Field(180.0, ge=0, description="map context read around each window, in metres")

    def identity(self) -> dict[str, Any]:
        """Return the fields that define the answers (paths resolved), for search.json."""
        doc = self.model_dump(mode="json")
        doc["raster"] = str(self.raster.resolve())
        doc["vectors"] = str(self.vectors.resolve()) if self.vectors else None
        return doc


@dataclass
class SearchPlan:
    """The checked inputs and the windows of a search (see `plan_search`)."""

    reader: RasterReader
    stretch: Stretch
    region: tuple[int, int, int, int]
    scale: tuple[float, float]
    margin_px: int
    windows: list[GridWindow]
    chosen: list[GridWindow]
    gdf: Any
    target: QueryTarget
    matches: int
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def info(self) -> RasterInfo:
        """The raster's description."""
        return self.reader.info


@dataclass
class SearchReport:
    """What a search did and wrote."""

    out: Path
    plan: SearchPlan
    results: list[WindowResult]
    resumed: int
    instances: int
    files: dict[str, Path]
    summary: dict[str, Any]


def _lonlat_bounds(info: RasterInfo) -> str:
    from pyproj import Transformer

    x0, y0 = info.affine @ (0, info.height)
    x1, y1 = info.affine @ (info.width, 0)
    t = Transformer.from_crs(info.crs, "EPSG:4326", always_xy=True)
    lo = t.transform_bounds(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
    return ", ".join(f"{v:.5f}" for v in lo)


def _region(spec: SearchSpec, info: RasterInfo) -> tuple[int, int, int, int]:
    """Return the search region in source pixels: the raster, or the part of it inside --bbox."""
    if spec.bbox is None:
        return 0, 0, info.width, info.height
    from pyproj import CRS, Transformer
    from pyproj.exceptions import CRSError

    try:
        t = Transformer.from_crs(CRS.from_user_input(spec.bbox_crs), info.crs, always_xy=True)
    except CRSError as e:
        raise InputError(f"--bbox-crs {spec.bbox_crs!r} is not a CRS pyproj knows ({e}); give e.g. EPSG:4326") from e
    minx, miny, maxx, maxy = t.transform_bounds(*spec.bbox)
    inv = ~info.affine
    xs, ys = zip(*(inv @ (x, y) for x in (minx, maxx) for y in (miny, maxy)), strict=True)
    x0, y0 = max(0, math.floor(min(xs))), max(0, math.floor(min(ys)))
    x1, y1 = min(info.width, math.ceil(max(xs))), min(info.height, math.ceil(max(ys)))
    if x1 - x0 < 1 or y1 - y0 < 1:
        raise InputError(
            f"--bbox {','.join(map(str, spec.bbox))} ({spec.bbox_crs}) does not overlap the raster {spec.raster} "
            f"(its lon/lat bounds: {_lonlat_bounds(info)}); give a bbox inside it"
        )
    return x0, y0, x1, y1


def _read_vectors(spec: SearchSpec, info: RasterInfo, region: tuple[int, int, int, int], margin_px: float, fns):
    x0, y0, x1, y1 = region
    corners = [info.affine @ (x, y) for x, y in ((x0 - margin_px, y0 - margin_px), (x1 + margin_px, y1 + margin_px))]
    (ax, ay), (bx, by) = corners
    bbox = (min(ax, bx), min(ay, by), max(ax, bx), max(ay, by))
    gdf = fns.read(spec.vectors, bbox=bbox, bbox_crs=info.crs)
    if gdf.crs is not None and info.crs is not None and not gdf.crs.equals(info.crs):
        gdf = gdf.to_crs(info.crs)
    if len(gdf) == 0 and spec.bbox is None:  # (inside a --bbox, an empty map is an answer, not a mistake)
        raise InputError(
            f"none of the features of {spec.vectors} overlaps the raster {spec.raster} (raster lon/lat bounds: "
            f"{_lonlat_bounds(info)}); give vectors of the same area (or check the raster's CRS)"
        )
    return gdf


def _no_crs_error(spec: SearchSpec, fns: VectorFunctions | None) -> InputError:
    what = ""
    if spec.vectors is not None and fns is not None:
        try:
            crs = fns.read(spec.vectors).crs
            what = f", so the vectors {spec.vectors} ({crs.to_string() if crs else 'no CRS'}) cannot be placed on it"
        except InputError:
            pass
    return InputError(
        f"raster {spec.raster} has no CRS{what}; give a georeferenced GeoTIFF (add one with gdal_edit.py -a_srs "
        "EPSG:XXXX -a_ullr ulx uly lrx lry), or use --sat/--map for a plain image"
    )


def plan_search(spec: SearchSpec, vectors: VectorFunctions | None = None) -> SearchPlan:
    """Check the inputs and lay out the windows (see the module docstring); writes nothing.

    Raises:
        InputError: an unreadable or corrupt raster, a raster without a CRS, vectors that cannot be read or do
            not overlap the raster, a bbox outside the raster, bad tiling or band options, an empty query.
    """
    t0 = time.perf_counter()
    if not spec.query.strip():
        raise InputError("the query is empty; say what to find, e.g. --query 'schools'")
    reader = RasterReader(spec.raster, spec.bands)
    info = reader.info
    fns = vectors or (default_vector_functions() if spec.vectors is not None else None)
    if info.crs is None:
        raise _no_crs_error(spec, fns)
    notes = [f"bands {','.join(map(str, info.bands))}: {info.band_reason}"]
    region = _region(spec, info)
    stretch = compute_stretch(reader, spec.stretch, region=region)
    notes.append(f"stretch: {stretch.describe()}")
    ground = f"{info.ground_m[0]:.4g} x {info.ground_m[1]:.4g} m/px" if info.ground_m else "unknown"
    if spec.gsd is not None and info.ground_m is not None:
        scale = (spec.gsd / info.ground_m[0], spec.gsd / info.ground_m[1])
        if max(abs(s - 1.0) for s in scale) <= GSD_TOLERANCE:
            scale = (1.0, 1.0)
        out_gsd = spec.gsd
        read_at = "native pixels" if scale == (1.0, 1.0) else f"{spec.gsd} m/px"
        notes.append(f"ground resolution {ground}, read at {read_at}")
    else:
        scale = (1.0, 1.0)
        out_gsd = math.sqrt(info.ground_m[0] * info.ground_m[1]) if info.ground_m else 1.0
    margin_px = round(spec.margin_m / out_gsd)
    windows = grid_windows(info.hw, spec.tile, spec.overlap, scale, region)
    gdf, target, n_matches = None, QueryTarget("unknown"), 0
    chosen = windows
    if spec.vectors is not None and fns is not None:
        gdf = _read_vectors(spec, info, region, margin_px * max(scale), fns)
        layers = fns.layers(gdf, info.affine, info.crs, info.hw)
        target = interpret_query(spec.query, layers)
        matches = features_for(target, layers, spec.query)
        n_matches = len(matches)
        notes.append(f"the query reads as {target.describe()}; {n_matches} matching map feature(s)")
        if not spec.scan_all:
            chosen = _candidate_windows(windows, [f.geometry for f in matches], margin_px * max(scale))
    elif not spec.scan_all:
        notes.append("no vector data: every window is run")
    notes.append(f"{len(chosen)} of {len(windows)} window(s) to run")
    return SearchPlan(reader=reader, stretch=stretch, region=region, scale=scale, margin_px=margin_px,
                      windows=windows, chosen=chosen, gdf=gdf, target=target, matches=n_matches, notes=notes,
                      seconds=time.perf_counter() - t0)  # fmt: skip


def _candidate_windows(windows: list[GridWindow], geoms: list, margin: float) -> list[GridWindow]:
    """Return the windows whose area plus ``margin`` source pixels holds one of ``geoms`` (source pixels)."""
    if not geoms:
        return []
    tree = shapely.STRtree(geoms)
    out = []
    for w in windows:
        x0, y0, x1, y1 = w.window.bounds_px()
        if len(tree.query(box(x0 - margin, y0 - margin, x1 + margin, y1 + margin), predicate="intersects")):
            out.append(w)
    return out


def run_search(
    spec: SearchSpec,
    backend: BackendConfig,
    out: str | Path,
    *,
    vectors: VectorFunctions | None = None,
    ray: bool = False,
    ray_address: str | None = None,
    workers: int | None = None,
    on_plan: Callable[[SearchPlan, int], None] | None = None,
    on_progress: ProgressHandler | None = None,
) -> SearchReport:
    """Run a scene-scale search and write its outputs to ``out`` (see the module docstring).

    Args:
        spec: what and where to search.
        backend: the policy and segmenter (built once per worker).
        out: the output folder (created; a rerun resumes it).
        vectors: the vector reader's functions (default: the project's, `default_vector_functions`).
        ray: run windows as Ray actors.
        ray_address: an existing Ray cluster's address (None with ``ray``: a local ``ray.init()``).
        workers: Ray actors to start (default: one per GPU when the cluster has GPUs, else one per CPU).
        on_plan: called once with the plan and the number of windows already finished.
        on_progress: called with (windows finished, windows to run) as windows finish.

    Raises:
        InputError: bad inputs (nothing is written) or a folder that holds another search.
        BackendError: a backend failed after its retries (finished windows stay saved).
    """
    t0 = time.perf_counter()
    plan = plan_search(spec, vectors)
    fns = vectors or (default_vector_functions() if spec.vectors is not None else None)
    identity = {"version": SEARCH_VERSION, **spec.identity(), "raster_bytes": file_fingerprint(spec.raster),
                "vectors_bytes": file_fingerprint(spec.vectors) if spec.vectors else None,
                "backend": backend.identity()}  # fmt: skip
    folder = SearchFolder(out)
    folder.claim(identity)
    chosen_ids = {w.id for w in plan.chosen}
    results = {k: v for k, v in folder.done().items() if k in chosen_ids}
    resumed = len(results)
    todo = [w for w in plan.chosen if w.id not in results]
    if on_plan is not None:
        on_plan(plan, resumed)
    job = WindowJob(reader=plan.reader, stretch=plan.stretch, query=spec.query, target=plan.target, backend=backend,
                    gdf=plan.gdf, vectors=fns, style=spec.style, margin_px=plan.margin_px,
                    outlines=spec.outlines)  # fmt: skip

    def finished(r: WindowResult) -> None:
        folder.save(r)
        results[r.window_id] = r
        if on_progress is not None:
            on_progress(len(results), len(plan.chosen))

    t1 = time.perf_counter()
    if todo and ray:
        from agent.scene_ray import run_on_ray

        run_on_ray(job, todo, finished, address=ray_address, workers=workers)
    elif todo:
        worker = WindowWorker(job)
        for w in todo:
            finished(worker.run(w))
    t2 = time.perf_counter()
    ordered = [results[w.id] for w in plan.chosen]
    merged = merge_windows(ordered, plan.windows, plan.info, spec.query, plan.target.level)
    t3 = time.perf_counter()
    files = write_search_outputs(folder, merged, plan.info)
    t4 = time.perf_counter()
    summary = _summary(plan, ordered, resumed, len(todo), merged,
                       {"plan": plan.seconds, "claim": t1 - t0 - plan.seconds, "windows": t2 - t1, "merge": t3 - t2,
                        "write": t4 - t3, "total": t4 - t0})  # fmt: skip
    folder.write_json("summary.json", summary)
    return SearchReport(out=Path(out), plan=plan, results=ordered, resumed=resumed, instances=len(merged.records),
                        files=files, summary=summary)  # fmt: skip


def _summary(
    plan: SearchPlan, results: list[WindowResult], resumed: int, ran: int, merged: MergedOutput,
    seconds: dict[str, float],
) -> dict[str, Any]:  # fmt: skip
    per_window: dict[str, float] = {}
    for r in results:
        for k, v in r.timings.items():
            per_window[k] = per_window.get(k, 0.0) + v
    info = plan.info
    area_km2 = 0.0
    if info.ground_m is not None:
        x0, y0, x1, y1 = plan.region
        area_km2 = (x1 - x0) * info.ground_m[0] * (y1 - y0) * info.ground_m[1] / 1e6
    return {
        "raster": info.path, "size": [info.width, info.height], "crs": info.crs, "area_km2": round(area_km2, 4),
        "windows": len(plan.windows), "chosen": len(plan.chosen), "ran": ran, "resumed": resumed,
        "nodata_windows": sum(r.status == "nodata" for r in results),
        "dropped_nodata": sum(r.dropped_nodata for r in results),
        "format_failures": sum(r.format_failures for r in results),
        "pieces": merged.pieces, "edge_fragments": merged.fragments, "instances": len(merged.records),
        "matches": plan.matches, "level": plan.target.level,
        "scale": list(plan.scale), "stretch": plan.stretch.model_dump(), "notes": plan.notes,
        "seconds": {k: round(v, 4) for k, v in seconds.items()},
        "window_seconds": {k: round(v, 4) for k, v in per_window.items()},
    }  # fmt: skip
