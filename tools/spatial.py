"""Spatial relations between feature sets, computed in a local metric CRS with shapely and geopandas.

Every distance and area is measured in the UTM zone of the data (`metric_crs`, geopandas' ``estimate_utm_crs``),
geometry to geometry: a point inside a polygon is 0 m from it, a park's edge 80 m from a hospital's wall is 80 m
away however large both are. A feature that is also in the reference set is related to the other reference
features only (by index label: indexes are feature ids, the same feature has the same label in both sets). Sets are
GeoDataFrames in that CRS; each function returns the rows of ``features`` that satisfy the relation (index
kept), with a ``distance_m`` column where a distance decides.

>>> import geopandas as gpd
>>> from shapely.geometry import Point, box
>>> a = gpd.GeoDataFrame(geometry=[Point(0, 0), Point(500, 0), Point(2000, 0)], crs="EPSG:32635")
>>> b = gpd.GeoDataFrame(geometry=[box(400, -10, 450, 10)], index=["h1"], crs="EPSG:32635")
>>> list(within_distance(a, b, 100).index), list(beyond_distance(a, b, 1000).index)
([1], [2])
>>> list(nearest(a, b, k=1).distance_m)
[50.0]
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from shapely import STRtree
from shapely.geometry.base import BaseGeometry

from tools.errors import InputError


def metric_crs(frame: gpd.GeoDataFrame) -> CRS:
    """Return the UTM CRS of a frame's data (the zone of its centre), or its own CRS when already projected in m.

    Raises:
        InputError: the frame has no CRS, or is empty and not projected.
    """
    if frame.crs is None:
        raise InputError("the vector data has no CRS; set one (e.g. `ogr2ogr -a_srs EPSG:4326 ...`) and ask again")
    crs = CRS.from_user_input(frame.crs)
    if crs.is_projected and crs.axis_info and crs.axis_info[0].unit_name in ("metre", "meter"):
        return crs
    if frame.empty:
        raise InputError("the vector data holds no feature, so it has no place on Earth to measure in")
    return frame.estimate_utm_crs()


def to_metric(frame: gpd.GeoDataFrame, crs: CRS) -> gpd.GeoDataFrame:
    """Return a frame in the metric CRS ``crs`` (a copy only when it has to be reprojected)."""
    return frame if frame.crs is not None and CRS.from_user_input(frame.crs).equals(crs) else frame.to_crs(crs)


def _tree(reference: gpd.GeoDataFrame) -> STRtree:
    return STRtree(np.asarray(reference.geometry.values, dtype=object))


def distances_to(features: gpd.GeoDataFrame, reference: gpd.GeoDataFrame) -> pd.Series:
    """Return each feature's distance in metres to the nearest reference geometry (inf when there is none)."""
    if reference.empty or features.empty:
        return pd.Series(np.full(len(features), np.inf), index=features.index, dtype=float)
    geoms = np.asarray(features.geometry.values, dtype=object)
    ref_geoms = np.asarray(reference.geometry.values, dtype=object)
    out = np.full(len(features), np.inf)
    shared = features.index.isin(reference.index)
    if (~shared).any():
        rows = np.flatnonzero(~shared)
        idx, dist = _tree(reference).query_nearest(geoms[rows], return_distance=True, all_matches=False)
        out[rows[idx[0]]] = dist  # an empty geometry has no nearest neighbour and stays at inf
    ref_pos = {label: j for j, label in enumerate(reference.index)}
    for i in np.flatnonzero(shared):  # a feature that is in the reference set is measured to the others
        others = np.delete(ref_geoms, ref_pos[features.index[i]])
        if len(others):
            out[i] = float(shapely.distance(geoms[i], others).min())
    return pd.Series(out, index=features.index)


def _with_distance(features: gpd.GeoDataFrame, keep: np.ndarray, dist: pd.Series) -> gpd.GeoDataFrame:
    out = features[keep].copy()
    out["distance_m"] = dist[keep].to_numpy()
    return out


def within_distance(features: gpd.GeoDataFrame, reference: gpd.GeoDataFrame, distance_m: float) -> gpd.GeoDataFrame:
    """Return the features at most ``distance_m`` metres from any reference geometry (0 m: touching or inside)."""
    dist = distances_to(features, reference)
    return _with_distance(features, (dist <= distance_m).to_numpy(), dist)


def beyond_distance(features: gpd.GeoDataFrame, reference: gpd.GeoDataFrame, distance_m: float) -> gpd.GeoDataFrame:
    """Return the features more than ``distance_m`` metres from every reference geometry (all, with none)."""
    dist = distances_to(features, reference)
    return _with_distance(features, (dist > distance_m).to_numpy(), dist)


def _any_predicate(features: gpd.GeoDataFrame, reference: gpd.GeoDataFrame, predicate: str) -> np.ndarray:
    """Return, per feature, whether ``feature <predicate> reference`` holds for some reference geometry."""
    hit = np.zeros(len(features), dtype=bool)
    if reference.empty or features.empty:
        return hit
    idx = _tree(reference).query(np.asarray(features.geometry.values, dtype=object), predicate=predicate)
    other = features.index.to_numpy()[idx[0]] != reference.index.to_numpy()[idx[1]]  # a feature is not inside itself
    hit[np.unique(idx[0][other])] = True
    return hit


def inside(features: gpd.GeoDataFrame, reference: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return the features that lie wholly inside one reference geometry (shapely ``covered_by``: edges count)."""
    return features[_any_predicate(features, reference, "covered_by")]


def intersecting(features: gpd.GeoDataFrame, reference: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return the features that share at least one point with a reference geometry."""
    return features[_any_predicate(features, reference, "intersects")]


def outside(features: gpd.GeoDataFrame, reference: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return the features that share no point with any reference geometry."""
    return features[~_any_predicate(features, reference, "intersects")]


def nearest(features: gpd.GeoDataFrame, reference: gpd.GeoDataFrame, k: int = 1) -> gpd.GeoDataFrame:
    """Return the ``k`` features nearest to the reference set (ties broken by row order), nearest first.

    A feature's distance to the set is its distance to the closest reference geometry. With no reference
    geometry, nothing is near: the result is empty.
    """
    if k < 1:
        raise InputError(f"nearest needs k >= 1, got {k}")
    if reference.empty:
        return features.iloc[0:0].assign(distance_m=pd.Series(dtype=float))
    dist = distances_to(features, reference)
    order = np.argsort(dist.to_numpy(), kind="stable")[:k]
    out = features.iloc[order].copy()
    out["distance_m"] = dist.iloc[order].to_numpy()
    return out


def areas_m2(features: gpd.GeoDataFrame) -> pd.Series:
    """Return each feature's area in square metres (0 for points and lines); the frame must be metric."""
    return features.geometry.area.astype(float)


def ranked_by_area(features: gpd.GeoDataFrame, k: int = 1, largest: bool = True) -> gpd.GeoDataFrame:
    """Return the ``k`` largest (or smallest) features with an area, with an ``area_m2`` column.

    Points and lines have no area and are left out: "the smallest park" is never a park's entrance node.
    """
    if k < 1:
        raise InputError(f"largest/smallest needs k >= 1, got {k}")
    area = areas_m2(features)
    has = features[(area > 0).to_numpy()].copy()
    has["area_m2"] = area[(area > 0).to_numpy()].to_numpy()
    order = np.argsort(-has["area_m2"].to_numpy() if largest else has["area_m2"].to_numpy(), kind="stable")[:k]
    return has.iloc[order]


def union_geometry(features: gpd.GeoDataFrame) -> BaseGeometry | None:
    """Return the union of a set's geometries, or None for an empty set."""
    return None if features.empty else features.geometry.union_all()
