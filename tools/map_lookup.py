"""The map-layer lookup tool: a name, class or function in, matching map features with pixel boxes out.

The query is read by `tools.query.interpret_query` (name, function or class, then the MiniLM fallback);
this module picks the features a reading refers to and describes them in the tool's output schema.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, Field

from tools.proposals import Proposal, RoadBlocks, propose
from tools.query import QueryTarget, best_name_matches, interpret_query, match_class, match_function
from tools.registry import ToolContext, register
from tools.scene import LayerFeature, Scene
from tools.schemas import Box, Feature, Level, Point
from tools.taxonomy import CLASSES, FUNCTIONS, matches_class


def features_for(target: QueryTarget, features: Sequence[LayerFeature], query: str = "") -> list[LayerFeature]:
    """Return the layer features that a query target refers to (roads never match)."""
    candidates = [f for f in features if f.kind != "road"]
    match target.level:
        case "name":
            return [f for f, _ in best_name_matches(query or target.name or "", candidates)]
        case "class":  # the class, the classes that are kinds of it, and for "building" every building
            return [f for f in candidates if target.cls is not None and matches_class(target.cls, f.cls, f.kind)]
        case "function":
            return [f for f in candidates if f.function == target.function]
        case _:
            return []


def to_feature(f: LayerFeature, hw: tuple[int, int], score: float = 1.0) -> Feature:
    """Describe a layer feature in the tool's output schema (pixel box and a representative point)."""
    minx, miny, maxx, maxy = f.geometry.bounds
    box = Box(x1=minx, y1=miny, x2=maxx, y2=maxy).clip(hw[1], hw[0])
    rp = f.geometry if f.geometry.geom_type == "Point" else f.geometry.representative_point()
    kind = f.kind if f.kind in {"poi", "landuse", "road", "building"} else "other"
    return Feature(id=f.id, kind=kind, name=f.name, cls=f.cls, function=f.function, box=box,  # type: ignore[arg-type]
                   point=Point(x=rp.x, y=rp.y), score=score)  # fmt: skip


class MapLookupInput(BaseModel):
    """Arguments of map_lookup: a free-text query, or an explicit name, class or function."""

    scene_id: str = Field(description="the scene whose map layers to search")
    query: str | None = Field(None, description="free text: a place name, a class ('schools') or a function")
    name: str | None = Field(None, description="a place name, matched fuzzily")
    cls: str | None = Field(
        None, description=f"a socio-class key or name ({len(CLASSES)} kinds of place: school, park, supermarket, ...)"
    )
    function: str | None = Field(None, description=f"a socio-function key: {', '.join(FUNCTIONS)}")
    kinds: list[Literal["poi", "landuse", "building", "other"]] = Field(
        default_factory=lambda: ["poi", "landuse"], description="which feature kinds to return"
    )
    limit: int = Field(50, ge=1, le=1000, description="at most this many features")


class MapLookupOutput(BaseModel):
    """Features found, how the request was read, and where the map says the places are."""

    level: Level
    interpretation: str
    features: list[Feature]
    proposals: list[Proposal] = Field(
        default_factory=list,
        description="boxes where the map says the places are (land-use areas, fills, road blocks cut to size)",
    )


def lookup(scene: Scene, args: MapLookupInput) -> MapLookupOutput:
    """Run a lookup on a scene (the tool body, usable without a store)."""
    if args.name:
        target = QueryTarget("name", name=args.name, method="given", score=1.0)
        text = args.name
    elif args.cls:
        target = QueryTarget("class", cls=match_class(args.cls) or args.cls, method="given", score=1.0)
        text = args.cls
    elif args.function:
        target = QueryTarget("function", function=match_function(args.function) or args.function, method="given")
        text = args.function
    elif args.query:
        target = interpret_query(args.query, scene.layers)
        text = args.query
    else:
        return MapLookupOutput(level="unknown", interpretation="no query, name, class or function given", features=[])
    found = [f for f in features_for(target, scene.layers, text) if f.kind in args.kinds]
    feats = [to_feature(f, scene.hw, target.score) for f in found[: args.limit]]
    proposals = propose(scene, target, found[: args.limit], _BLOCKS)
    return MapLookupOutput(level=target.level, interpretation=target.describe(), features=feats, proposals=proposals)


_BLOCKS = RoadBlocks()
"""The road blocks of the scenes looked up last (see `tools.proposals.RoadBlocks`)."""


@register
def map_lookup(args: MapLookupInput, ctx: ToolContext) -> MapLookupOutput:
    """Search a scene's map layers for places by name, socio-class or socio-function.

    Returns the matching points of interest and land-use areas with their boxes and representative points
    in image pixels, how the request was read (name, class, function or unknown), and proposals: boxes where
    the map says the places are (land-use outlines, fills, road blocks cut to the class's usual size).
    """
    return lookup(ctx.store.get(args.scene_id), args)
