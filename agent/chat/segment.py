"""Entity sets from segmentation: the agent finds a phrase's places in the scene's image and map.

Each instance the agent segments (`agent.run.run_query`) becomes one feature: its mask outline (image pixels)
taken to the scene CRS and then to the data's metric CRS, named after the named layer feature of the set's class
that lies inside it (when one does), with ``source = "segmentation"``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd
from shapely.geometry import shape

from agent.backends import Backends
from tools.coords import geometry_to_crs
from tools.scene_store import SceneStore
from tools.taxonomy import CLASSES, FUNCTIONS, class_members

if TYPE_CHECKING:
    from agent.chat.data import ChatData


def agent_query(level: str, key: str) -> str:
    """Return the query the agent is asked for an entity set: a class label, "places for <function>", a name."""
    if level == "class" and key in CLASSES:
        return CLASSES[key].label
    if level == "function" and key in FUNCTIONS:
        return f"places for {FUNCTIONS[key].label.lower()}"
    return key


def _belongs(level: str, key: str, cls: str | None, function: str | None, name: str | None) -> bool:
    if level == "class":
        return cls is not None and cls in class_members(key)
    if level == "function":
        return function == key
    return name == key


def segment_entity(data: ChatData, level: str, key: str, phrase: str, built: Backends) -> gpd.GeoDataFrame:
    """Segment one entity set in the data's scene and return its features (metric CRS, indexed by ``fid``)."""
    from agent.run import run_query

    scene = data.scene
    assert scene is not None and scene.georef is not None
    store = SceneStore(max_scenes=2)
    result = run_query(scene, agent_query(level, key), **built.run_kwargs(), store=store)
    named = [f for f in scene.layers if f.name and _belongs(level, key, f.cls, f.function, f.name)]
    rows: list[dict[str, Any]] = []
    geoms = []
    for i, inst in enumerate(result.instances):
        if inst.geometry is None:
            continue
        px = shape(inst.geometry)
        inside = [f for f in named if px.buffer(2.0).covers(f.geometry)]
        name = inside[0].name if inside else None
        cls = (inside[0].cls if inside else None) or (key if level == "class" else None)
        function = CLASSES[cls].function if cls in CLASSES else (key if level == "function" else None)
        rows.append({"fid": f"seg/{level}:{key}/{i}", "name": name, "cls": cls, "function": function, "kind": "segment",
                     "osm_id": None, "source": "segmentation", "score": round(inst.score, 4)})  # fmt: skip
        geoms.append(geometry_to_crs(px, scene.georef))
    frame = gpd.GeoDataFrame(rows, geometry=geoms, crs=scene.georef.crs) if rows else None
    if frame is None:
        return gpd.GeoDataFrame({"fid": [], "name": [], "cls": [], "function": [], "kind": [], "osm_id": [],
                                 "source": []}, geometry=[], crs=data.crs)  # fmt: skip
    frame = frame.to_crs(data.crs)
    frame.index = pd.Index(frame["fid"])
    return frame
