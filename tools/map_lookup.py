"""The map-layer lookup tool: a name, class or function in, matching map features with pixel boxes out.

Query interpretation (``interpret_query``) is shared with the rule policy. In order:

1. **name**: the query fuzzily matches the name of a feature in the scene's layers (score >= 0.8);
2. **class**: the query names a socio-class by a taxonomy synonym (``"schools"`` -> ``school``);
3. **function**: the query names a socio-function (``"places for healthcare"`` -> ``healthcare``);
4. **text model**: free text is matched to the taxonomy by the MiniLM sentence model when it is installed
   (``"where do kids go to learn?"`` -> ``education``), if its cosine and its margin over the runner-up are
   high enough;
5. otherwise the level is ``unknown`` and nothing is returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal

from pydantic import BaseModel, Field

from tools.registry import ToolContext, register
from tools.scene import LayerFeature, Scene
from tools.schemas import Box, Feature, Level, Point
from tools.taxonomy import CLASSES, FUNCTIONS, match_class, match_function, normalize

NAME_MATCH_THRESHOLD = 0.8
TEXT_MIN_SCORE = 0.45
"""The text model's reading is used only at this cosine or above (gibberish scores about 0.25-0.37)."""
TEXT_MIN_MARGIN = 0.05
"""... and only when it beats the runner-up by this much (else the query is ambiguous)."""


@dataclass(frozen=True)
class QueryTarget:
    """How a query was read: its level, its target, and how sure the reading is."""

    level: Level
    name: str | None = None
    cls: str | None = None
    function: str | None = None
    method: str = "none"
    score: float = 0.0

    def describe(self) -> str:
        """Return a short human description, e.g. ``class 'school' (taxonomy)``."""
        target = self.name or self.cls or self.function
        return f"{self.level} {target!r} ({self.method}, score {self.score:.2f})" if target else "nothing recognised"


def name_score(query: str, name: str) -> float:
    """Score how well a query names a feature, in [0, 1].

    >>> name_score("Maple Grove Primary School", "Maple Grove Primary School")
    1.0
    >>> name_score("find the maple grove primary school please", "Maple Grove Primary School")
    1.0
    >>> name_score("school", "Maple Grove Primary School") < 0.8
    True
    """
    q, n = normalize(query), normalize(name)
    if not q or not n:
        return 0.0
    if q == n:
        return 1.0
    if len(n.split()) >= 2 and f" {n} " in f" {q} ":
        return 1.0
    sm = SequenceMatcher(None, q, n)
    # real_quick_ratio and quick_ratio are upper bounds of ratio: skip the full computation when they fall short
    if sm.real_quick_ratio() < NAME_MATCH_THRESHOLD or sm.quick_ratio() < NAME_MATCH_THRESHOLD:
        return min(sm.quick_ratio(), NAME_MATCH_THRESHOLD - 1e-6)
    return sm.ratio()


def best_name_matches(query: str, features: list[LayerFeature]) -> list[tuple[LayerFeature, float]]:
    """Return named features scored against the query, best first, above the match threshold."""
    scored = [(f, name_score(query, f.name)) for f in features if f.name]
    hits = [(f, s) for f, s in scored if s >= NAME_MATCH_THRESHOLD]
    if not hits:
        return []
    top = max(s for _, s in hits)
    return sorted([(f, s) for f, s in hits if s >= top - 1e-9], key=lambda fs: fs[0].id)


def interpret_query(query: str, features: list[LayerFeature]) -> QueryTarget:
    """Read a query as a name, a class or a function (see the module docstring)."""
    named = best_name_matches(query, features)
    if named:
        f, s = named[0]
        return QueryTarget("name", name=f.name, cls=f.cls, function=f.function, method="name match", score=s)
    cls = match_class(query)
    fn = match_function(query)
    if fn and (cls is None or normalize(query).startswith(("places for", "place for", "areas for"))):
        return QueryTarget("function", function=fn, method="taxonomy", score=1.0)
    if cls:
        return QueryTarget("class", cls=cls, function=CLASSES[cls].function, method="taxonomy", score=1.0)
    try:
        from tools.text_match import match_taxonomy
    except ImportError:  # pragma: no cover - the module ships with the package
        return QueryTarget("unknown")
    try:
        m = match_taxonomy(query)
    except Exception:  # the text model is optional; missing weights mean "not recognised"
        return QueryTarget("unknown", method="text model unavailable")
    if m.score < TEXT_MIN_SCORE or m.margin < TEXT_MIN_MARGIN:
        return QueryTarget(
            "unknown", method=f"text model unsure ({m.key} {m.score:.2f}, {m.runner_up} {m.runner_up_score:.2f})"
        )
    if m.level == "class":
        return QueryTarget("class", cls=m.key, function=CLASSES[m.key].function, method="text model", score=m.score)
    return QueryTarget("function", function=m.key, method="text model", score=m.score)


def features_for(target: QueryTarget, features: list[LayerFeature], query: str = "") -> list[LayerFeature]:
    """Return the layer features that a query target refers to (roads never match)."""
    candidates = [f for f in features if f.kind != "road"]
    match target.level:
        case "name":
            return [f for f, _ in best_name_matches(query or target.name or "", candidates)]
        case "class":
            return [f for f in candidates if f.cls == target.cls]
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
    cls: str | None = Field(None, description=f"a socio-class key: {', '.join(CLASSES)}")
    function: str | None = Field(None, description=f"a socio-function key: {', '.join(FUNCTIONS)}")
    kinds: list[Literal["poi", "landuse", "building", "other"]] = Field(
        default_factory=lambda: ["poi", "landuse"], description="which feature kinds to return"
    )
    limit: int = Field(50, ge=1, le=1000, description="at most this many features")


class MapLookupOutput(BaseModel):
    """Features found, and how the request was read."""

    level: Level
    interpretation: str
    features: list[Feature]


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
    return MapLookupOutput(level=target.level, interpretation=target.describe(), features=feats)


@register
def map_lookup(args: MapLookupInput, ctx: ToolContext) -> MapLookupOutput:
    """Search a scene's map layers for places by name, socio-class or socio-function.

    Returns the matching points of interest and land-use areas with their boxes and representative points
    in image pixels, and how the request was read (name, class, function or unknown).
    """
    return lookup(ctx.store.get(args.scene_id), args)
