"""Evaluate a spatial plan on loaded data: entity sets from `agent.chat.data`, relations from `tools.spatial`.

Sets are feature frames in the data's metric CRS indexed by feature id, so ``and`` / ``or`` / ``not`` are set
operations on ids (order: first appearance). A set that went through a distance relation carries a
``distance_m`` column (the distance to the nearest reference feature), one that was ranked by area ``area_m2``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from agent.chat.data import ChatData
from agent.planner.plan import Combine, Distance, Entities, Exclude, Extreme, Nearest, Node, Plan, Topology
from tools import spatial
from tools.query.entity import EntityReading


@dataclass
class LeafCount:
    """How many features an entity set of the plan holds in the data."""

    phrase: str
    level: str
    key: str
    label: str
    count: int


@dataclass
class Execution:
    """The result of a plan: the answer set and what the executor saw on the way.

    Attributes:
        features: the answer set (metric CRS, indexed by feature id).
        leaves: every entity set of the plan with its size, in plan order (each once).
        references: the features of the sets the answer was related to (for drawing), by id.
    """

    features: gpd.GeoDataFrame
    leaves: list[LeafCount] = field(default_factory=list)
    references: gpd.GeoDataFrame | None = None


class _Run:
    def __init__(self, data: ChatData) -> None:
        self.data = data
        self.leaves: dict[tuple[str, str], LeafCount] = {}
        self.refs: list[gpd.GeoDataFrame] = []

    def eval(self, node: Node) -> gpd.GeoDataFrame:
        if isinstance(node, Entities):
            frame = self.data.entity_set(node.level, node.key, node.phrase)
            label = EntityReading(node.phrase, node.level, node.key, "plan", 1.0).label()
            self.leaves.setdefault((node.level, node.key), LeafCount(node.phrase, node.level, node.key, label,
                                                                     len(frame)))  # fmt: skip
            return frame
        if isinstance(node, Distance):
            f, r = self.eval(node.features), self._ref(node.reference)
            fn = spatial.within_distance if node.op == "within" else spatial.beyond_distance
            return fn(f, r, node.distance_m)
        if isinstance(node, Topology):
            f, r = self.eval(node.features), self._ref(node.reference)
            fn = {"inside": spatial.inside, "outside": spatial.outside, "intersecting": spatial.intersecting}[node.op]
            return fn(f, r)
        if isinstance(node, Nearest):
            f, r = self.eval(node.features), self._ref(node.reference)
            return spatial.nearest(f, r, node.k)
        if isinstance(node, Extreme):
            return spatial.ranked_by_area(self.eval(node.features), node.k, largest=node.op == "largest")
        if isinstance(node, Combine):
            sets = [self.eval(i) for i in node.items]
            return _intersection(sets) if node.op == "and" else _union(sets)
        assert isinstance(node, Exclude)
        base, minus = self.eval(node.features), self.eval(node.exclude)
        return base[~base.index.isin(minus.index)]

    def _ref(self, node: Node) -> gpd.GeoDataFrame:
        r = self.eval(node)
        self.refs.append(r)
        return r


def _intersection(sets: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    first = sets[0]
    keep = np.ones(len(first), dtype=bool)
    for s in sets[1:]:
        keep &= first.index.isin(s.index)
    out = first[keep].copy()
    for s in sets[1:]:  # a later set's distances are the ones the last relation measured
        for col in ("distance_m", "area_m2"):
            if col in s.columns:
                out[col] = s.loc[out.index, col].to_numpy()
    return out


def _union(sets: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    parts = [s for s in sets if len(s)]
    if not parts:
        return sets[0]
    merged = pd.concat(parts)
    merged = merged[~merged.index.duplicated(keep="first")]
    return gpd.GeoDataFrame(merged, geometry="geometry", crs=sets[0].crs)


def execute(plan: Plan, data: ChatData) -> Execution:
    """Evaluate a plan on data and return the answer set with the size of each entity set."""
    run = _Run(data)
    features = run.eval(plan.root)
    refs = _union(run.refs) if run.refs else None
    return Execution(features=features, leaves=list(run.leaves.values()), references=refs)
