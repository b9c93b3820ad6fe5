"""The answer to a chat question: a sentence whose numbers all come from the executor, and the answer features.

`Answer` is what `agent.chat.ask` returns and what ``answer.json`` holds; ``features`` is a GeoJSON
FeatureCollection in EPSG:4326 whose features carry ``name``, ``class``, ``source`` (``osm``, ``vectors``,
``layers`` or ``segmentation``), ``osm_id`` (``node/N``, ``way/N``, ``relation/N`` for OSM) and, where measured,
``distance_m`` and ``area_m2``.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import geopandas as gpd
from pydantic import BaseModel, Field

from agent.chat.executor import Execution, LeafCount
from agent.planner.plan import Entities, Extreme, Nearest, Plan, node_text
from tools.taxonomy import CLASSES


class EntityCount(BaseModel):
    """How many features one entity set of the plan holds."""

    phrase: str
    level: str
    key: str
    count: int


class Answer(BaseModel):
    """The answer to one question (see the module docstring)."""

    query: str
    sentence: str = Field(description="the answer in words; every number in it comes from the executor")
    plan: Plan
    plan_text: str = Field(description="the plan as a canonical question")
    output: str
    count: int = Field(description="how many features the answer set holds")
    entity_counts: list[EntityCount] = Field(default_factory=list)
    distances_m: list[float] = Field(default_factory=list, description="per answer feature, where measured")
    areas_m2: list[float] = Field(default_factory=list, description="per answer feature, for largest/smallest")
    names: list[str | None] = Field(default_factory=list)
    features: dict[str, Any] = Field(description="GeoJSON FeatureCollection, EPSG:4326")
    data: dict[str, str] = Field(default_factory=dict, description="what was asked about")
    planner: str = "offline"
    planner_format_failures: int = 0
    timings: dict[str, float] = Field(default_factory=dict)


def plural(label: str) -> str:
    """Return the plural of a class label in lower case ("Pharmacy" -> "pharmacies", "Bus Stop" -> "bus stops")."""
    w = label.lower()
    if w.startswith("places for"):
        return w
    if w.endswith("y") and len(w) > 2 and w[-2] not in "aeiou":
        return w[:-1] + "ies"
    if w.endswith(("s", "ch", "sh", "x", "z")):
        return w + "es"
    return w + "s"


def metres(d: float) -> str:
    """Write a distance for a sentence: "0 m", "120 m", "1.25 km"."""
    if d < 1000:
        return f"{round(d):d} m"
    return f"{d / 1000:.2f} km"


def area_text(a: float) -> str:
    """Write an area for a sentence: "850 m²", "2.35 ha"."""
    return f"{round(a):,d} m²" if a < 10_000 else f"{a / 10_000:.2f} ha"


def _leaf_words(leaf: LeafCount) -> str:
    if leaf.level == "name":
        return f"nothing named {leaf.key!r}"
    label = CLASSES[leaf.key].label if leaf.level == "class" and leaf.key in CLASSES else leaf.label
    return f"no {plural(label)}"


def _names(frame: gpd.GeoDataFrame, limit: int = 8) -> str:
    names = [str(n) for n in frame["name"] if isinstance(n, str) and n]
    unnamed = len(frame) - len(names)
    shown = list(dict.fromkeys(names))[:limit]
    more = len(names) - len(shown)
    parts = shown + ([f"{more} more"] if more > 0 else []) + ([f"{unnamed} unnamed"] if unnamed else [])
    if not parts:
        return ""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _feature_name(row: Any) -> str:
    return str(row["name"]) if isinstance(row["name"], str) and row["name"] else "an unnamed one"


def sentence(plan: Plan, ex: Execution) -> str:
    """Write the answer sentence (see the module docstring); empty entity sets are said, never hidden."""
    f = ex.features
    n = len(f)
    desc = node_text(plan.root)
    while re.search(r"\([^()]*\)", desc):  # the canonical text's grouping reads badly in a sentence
        desc = re.sub(r"\(([^()]*)\)", r"\1", desc)
    desc = desc[4:] if desc.startswith("the ") else desc
    missing = [leaf for leaf in ex.leaves if leaf.count == 0]
    if missing:
        lack = "; ".join(_leaf_words(leaf) for leaf in missing)
        lead = f"There are {lack} in this area"
        if isinstance(plan.root, Entities) or n == 0:
            return f"{lead}, so the answer is empty." if not isinstance(plan.root, Entities) else f"{lead}."
        prefix = lead + "; "
    else:
        prefix = ""
    if plan.output == "count":
        s = f"There {'is' if n == 1 else 'are'} {n} {desc}."
    elif n == 0:
        s = f"No {desc} found."
    elif plan.output == "distance" and "distance_m" in f.columns:
        parts = [f"{_feature_name(r)} at {metres(float(r['distance_m']))}" for _, r in f.iterrows()]
        s = (
            f"The {desc}: {', '.join(parts)}."
            if len(parts) > 1
            else f"The {desc} is {parts[0].replace(' at ', ', ')} away."
        )
    elif isinstance(plan.root, Extreme) and "area_m2" in f.columns:
        parts = [f"{_feature_name(r)} ({area_text(float(r['area_m2']))})" for _, r in f.iterrows()]
        s = f"The {desc}: {', '.join(parts)}." if len(parts) > 1 else f"The {desc} is {parts[0]}."
    elif isinstance(plan.root, Nearest) and "distance_m" in f.columns:
        parts = [f"{_feature_name(r)} ({metres(float(r['distance_m']))})" for _, r in f.iterrows()]
        s = f"The {desc}: {', '.join(parts)}." if len(parts) > 1 else f"The {desc} is {parts[0]}."
    else:
        names = _names(f)
        s = f"I found {n} {desc}" + (f": {names}." if names else ".")
    return prefix + (s[0].lower() + s[1:] if prefix else s)


def features_geojson(frame: gpd.GeoDataFrame) -> dict[str, Any]:
    """Return answer features as a FeatureCollection in EPSG:4326 (see the module docstring)."""
    if frame.empty:
        return {"type": "FeatureCollection", "features": []}
    props: dict[str, list[Any]] = {
        "name": [n if isinstance(n, str) else None for n in frame["name"]],
        "class": [c if isinstance(c, str) else None for c in frame["cls"]],
        "source": list(frame["source"]),
    }
    if frame["osm_id"].notna().any():
        props["osm_id"] = [o if isinstance(o, str) else None for o in frame["osm_id"]]
    for col in ("distance_m", "area_m2", "score"):
        if col in frame.columns:
            props[col] = [None if v is None or not math.isfinite(float(v)) else round(float(v), 2) for v in frame[col]]
    out = gpd.GeoDataFrame(props, geometry=list(frame.geometry), crs=frame.crs).to_crs("EPSG:4326")
    return json.loads(out.to_json(drop_id=True))


def measured(frame: gpd.GeoDataFrame, col: str) -> list[float]:
    """Return a measured column as rounded floats (empty when the answer set was not measured so)."""
    if col not in frame.columns:
        return []
    return [round(float(v), 2) for v in frame[col] if v is not None and math.isfinite(float(v))]
