"""Read vector data (OSM extracts, GeoJSON, GeoPackage, ...) into one typed frame that every caller shares.

`read_vectors` returns a GeoDataFrame with exactly the columns of `VECTOR_COLUMNS`:

- ``name`` (str | None): the feature's proper name;
- ``cls`` (str | None): its socio-class key (`tools.taxonomy.CLASSES`), from a ``class`` column or its OSM tags;
- ``function`` (str | None): its socio-function key, from a ``function`` column or its class;
- ``kind``: ``poi``, ``landuse``, ``road``, ``building``, ``water`` or ``other`` (`tools.osm_tags.feature_kind`),
  from a ``kind`` column when it holds one of them;
- ``osm_id`` (str | None): ``node/N``, ``way/N`` or ``relation/N`` for OSM features;
- ``tags`` (dict): every other attribute (OSM: the feature's tags, str -> str; files: their non-null columns);
- ``geometry``, with the CRS set (EPSG:4326 for OSM and GeoJSON).

OSM extracts are read by `tools.osm_read` (pyosmium); other files by pyogrio, every layer of a multi-layer file
(GeoPackage) in the first layer's CRS. A file without a CRS is refused, except GeoJSON (EPSG:4326 by its spec).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS
from pyproj.exceptions import CRSError
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from tools.errors import InputError
from tools.osm_read import FRAME_COLUMNS, read_osm
from tools.osm_tags import KINDS, feature_kind
from tools.taxonomy import CLASSES, class_for_osm

VECTOR_COLUMNS: tuple[str, ...] = FRAME_COLUMNS
"""The columns of every frame `read_vectors` returns, in order."""

OSM_SUFFIXES: tuple[str, ...] = (".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz")
"""File names that are read as OSM extracts."""

_RESERVED = ("name", "class", "cls", "function", "kind", "osm_id")


def is_osm_file(path: str | Path) -> bool:
    """Return whether a path names an OSM extract (by its suffix)."""
    return str(path).lower().endswith(OSM_SUFFIXES)


def _present(v: object) -> bool:
    return v is not None and not (isinstance(v, float) and np.isnan(v))


def read_vector_file(path: str | Path) -> gpd.GeoDataFrame:
    """Read every layer of a GeoJSON, GeoPackage, Shapefile or FlatGeobuf file as one raw GeoDataFrame.

    The columns are the file's own; layers after the first are reprojected to the first layer's CRS, which may
    be None (a file without a CRS; GeoJSON always reads as EPSG:4326).

    Raises:
        InputError: the file is missing, unreadable or holds no layer (the message names the file).
    """
    import pyogrio

    p = Path(path)
    if not p.is_file():
        raise InputError(f"vector file not found: {p}; check the path")
    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(p)]
        frames = [pyogrio.read_dataframe(p, layer=name) for name in layers]
    except Exception as e:  # pyogrio raises several unrelated types for bad files
        raise InputError(
            f"vector file {p} is not readable vector data ({e}); give GeoJSON, GeoPackage or an OSM extract"
        ) from e
    if not frames:
        raise InputError(f"vector file {p} holds no layer; give GeoJSON, GeoPackage or an OSM extract")
    crs = frames[0].crs
    same = [f if f.crs is None or crs is None or f.crs == crs else f.to_crs(crs) for f in frames]
    if len(same) == 1:
        return same[0]
    return gpd.GeoDataFrame(pd.concat(same, ignore_index=True), geometry=same[0].geometry.name, crs=crs)


def frame_from_file(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return a raw file's features as a vector frame (`VECTOR_COLUMNS`), in the same CRS and row order.

    ``name``, ``class`` (or ``cls``), ``function``, ``kind`` and ``osm_id`` columns are used when present; a class
    that is no taxonomy key stays in ``tags["class"]`` and the class comes from the OSM tags instead.
    """
    geom_col = gdf.geometry.name
    records = gdf.drop(columns=geom_col).to_dict("records")
    rows: dict[str, list] = {c: [] for c in VECTOR_COLUMNS if c != "geometry"}
    for geom, record in zip(gdf.geometry, records, strict=True):
        attrs = {k: v for k, v in record.items() if _present(v)}
        tags = {k: v for k, v in attrs.items() if k not in _RESERVED}
        given = attrs.get("class", attrs.get("cls"))
        if given is not None and str(given) not in CLASSES:
            tags["class"] = given
            given = None
        str_tags = {k: str(v) for k, v in tags.items()}
        cls = str(given) if given is not None else class_for_osm(str_tags)
        function = attrs.get("function") or (CLASSES[cls].function if cls else None)
        kind = attrs.get("kind")
        if kind not in KINDS:
            kind = feature_kind(str_tags, geom.geom_type if geom is not None else "")
        osm_id = attrs.get("osm_id")
        name = attrs.get("name")
        rows["name"].append(str(name) if name is not None else None)
        rows["cls"].append(cls)
        rows["function"].append(str(function) if function is not None else None)
        rows["kind"].append(kind)
        rows["osm_id"].append(str(osm_id) if osm_id is not None else None)
        rows["tags"].append(tags)
    columns = {c: pd.Series(v, dtype=object) for c, v in rows.items()}
    return gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries(list(gdf.geometry), crs=gdf.crs))


def _bbox_geometry(bbox: Sequence[float] | BaseGeometry, bbox_crs: Any, to_crs: Any, what: str) -> BaseGeometry:
    geom = bbox if isinstance(bbox, BaseGeometry) else box(*(float(v) for v in bbox))
    if bbox_crs is None:
        return geom
    try:
        return gpd.GeoSeries([geom], crs=CRS.from_user_input(bbox_crs)).to_crs(to_crs).iloc[0]
    except CRSError as e:
        raise InputError(
            f"bbox CRS {bbox_crs!r} for {what} is not a CRS pyproj knows ({e}); give e.g. EPSG:4326"
        ) from e


def read_vectors(
    path: str | Path, bbox: Sequence[float] | BaseGeometry | None = None, bbox_crs: Any = None
) -> gpd.GeoDataFrame:
    """Read OSM (``.osm.pbf``, ``.osm``), GeoJSON or GeoPackage features into a vector frame (see the module).

    Args:
        path: the vector file.
        bbox: keep only features that intersect this box ``(minx, miny, maxx, maxy)`` (or geometry).
        bbox_crs: the CRS of ``bbox``; None means the data's CRS (EPSG:4326 for OSM and GeoJSON).

    Returns:
        The frame, its CRS set; ``attrs["dropped"]`` lists OSM features the file holds too little of to draw.

    Raises:
        InputError: the file is missing, unreadable or corrupt, or has no CRS (except GeoJSON); the message names
            the file and the fix.
    """
    p = Path(path)
    if is_osm_file(p):
        window = _bbox_geometry(bbox, bbox_crs, "EPSG:4326", str(p)) if bbox is not None else None
        return read_osm(p, window)
    raw = read_vector_file(p)
    if raw.crs is None:
        raise InputError(
            f"vector file {p} has no CRS; set it (e.g. `ogr2ogr -a_srs EPSG:32633 fixed.gpkg {p.name}`, or "
            "geopandas `gdf.set_crs(...)`), or give GeoJSON in lon/lat"
        )
    frame = frame_from_file(raw)
    if bbox is not None:
        window = _bbox_geometry(bbox, bbox_crs, raw.crs, str(p))
        frame = frame[frame.intersects(window)].reset_index(drop=True)
    frame.attrs["dropped"] = []
    return frame
