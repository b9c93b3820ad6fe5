"""Merge the windows' instances across seams and write the search's outputs (instances.gpkg/.geojson, mask.tif).

Pieces are merged in the raster CRS by `tools.tiling.merge_pieces`, in window order, so a single-process run
and a Ray run (windows finishing in any order) give the same instances; edge fragments
(`tools.tiling.edge_fragments`) are dropped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shapely.geometry.base import BaseGeometry

from agent.scene_files import SearchFolder
from agent.scene_window import WindowResult, geometry_of
from tools.mask_raster import write_mask_geotiff
from tools.raster_window import RasterInfo
from tools.tiling import GridWindow, Piece, edge_fragments, merge_pieces
from tools.vector_io import instances_geojson_lonlat, write_gpkg


@dataclass
class MergedOutput:
    """The merged instances: one record (fields) and one geometry (raster CRS) per instance; edge fragments dropped."""

    records: list[dict[str, Any]]
    geometries: list[BaseGeometry]
    pieces: int
    fragments: int = 0


def _area_m2(geoms: Sequence[BaseGeometry], crs: str) -> list[float]:
    """Return geodesic areas in square metres (valid for any CRS, degrees included)."""
    import geopandas as gpd
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    ll = gpd.GeoSeries(list(geoms), crs=crs).to_crs("EPSG:4326")
    return [round(abs(geod.geometry_area_perimeter(g)[0]), 1) for g in ll]


def merge_windows(
    results: Sequence[WindowResult], windows: Sequence[GridWindow], info: RasterInfo, query: str, level: str
) -> MergedOutput:
    """Merge the instances of every window (in grid order) into one record per place."""
    order = {w.id: k for k, w in enumerate(windows)}
    footprints = {w.id: w.footprint(info.affine) for w in windows}
    pieces: list[Piece] = []
    for r in sorted(results, key=lambda r: order.get(r.window_id, len(order))):
        for inst in r.instances:
            pieces.append(Piece(r.window_id, footprints[r.window_id], geometry_of(inst), inst.model_dump()))
    merged = merge_pieces(pieces)
    ran = {r.window_id for r in results}
    fragments = set(edge_fragments(merged, pieces, {w: f for w, f in footprints.items() if w in ran}))
    merged = [m for k, m in enumerate(merged) if k not in fragments]
    geoms = [m.geometry for m in merged]
    areas = _area_m2(geoms, info.crs or "") if geoms and info.crs else [0.0] * len(geoms)
    records = []
    for k, (m, area) in enumerate(zip(merged, areas, strict=True)):
        parts = [pieces[i] for i in m.pieces]
        weights = [max(p.geometry.area, 1e-12) for p in parts]
        score = sum(p.data["score"] * w for p, w in zip(parts, weights, strict=True)) / sum(weights)
        sources = Counter(p.data["source"] for p in parts)
        main = max(parts, key=lambda p: p.geometry.area)
        windows_seen = m.window_ids(pieces)
        records.append({
            "instance": k, "query": query, "level": level, "score": round(score, 4),
            "source": sources.most_common(1)[0][0], "windows": ";".join(windows_seen), "n_windows": len(windows_seen),
            "area_m2": area, "reason": main.data["reason"],
        })  # fmt: skip
    return MergedOutput(records=records, geometries=geoms, pieces=len(pieces), fragments=len(fragments))


def write_search_outputs(folder: SearchFolder, merged: MergedOutput, info: RasterInfo) -> dict[str, Path]:
    """Write instances.gpkg (raster CRS), instances.geojson (lon/lat) and mask.tif (raster grid), each atomically."""
    import json

    from tools.files import atomic_write_bytes

    crs = info.crs or ""
    root = folder.root
    gpkg = write_gpkg(root / "instances.gpkg", merged.records, merged.geometries, crs, layer="instances")
    doc = instances_geojson_lonlat(merged.records, merged.geometries, crs)
    geojson = atomic_write_bytes(root / "instances.geojson", json.dumps(doc).encode())
    mask = write_mask_geotiff(root / "mask.tif", info.hw, info.affine, info.crs, merged.geometries)
    return {"instances.gpkg": gpkg, "instances.geojson": geojson, "mask.tif": mask}
