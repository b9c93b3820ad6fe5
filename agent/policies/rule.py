"""The offline default policy: reads the scene's map layers, no weights.

It answers in the same text format as a vision-language model (think + answer JSON, in image pixels), so
it is parsed, traced and scored exactly like one.

Localize: the query is read as a name, class or function (`tools.query.interpret_query`); each
matching land-use area gives a box (its outline, grown a little, since fills rarely follow the parcel
exactly); each matching point of interest not inside such an area gives the road-bounded block around it,
cut to the usual size of its class.

Blocks are the areas between the map's roads, as far as the roads reach (beyond the image when the layers do,
as in the windows of a scene-scale search).

Refine: each box keeps its extent and gets positive points on the target's map points and negative
points on other places' map points that fall inside it (another label inside the box is another place).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass

from shapely import STRtree, union_all
from shapely.geometry import Point as ShapelyPoint
from shapely.geometry import Polygon, box
from shapely.geometry.base import BaseGeometry

from agent.parsing import ParsedItem, format_answer
from agent.policies import BasePolicy, PolicyReply, PolicyRequest, ReplyMeta
from tools.coords import ModelFrame
from tools.map_lookup import features_for
from tools.query import QueryTarget, interpret_query
from tools.scene import LayerFeature, Scene

DEFAULT_GSD_M = 0.6
"""Ground size of a pixel assumed when a scene has no georeferencing (SocioSeg-like tiles)."""

TYPICAL_SIZE_M: dict[str, float] = {
    "school": 170, "university": 320, "kindergarten": 70, "hospital": 220, "clinic": 60, "park": 220,
    "zoo": 300, "stadium": 220, "shopping_mall": 200, "office_park": 170, "residential_compound": 200,
    "factory": 180, "warehouse": 150, "railway_station": 220, "parking_lot": 80, "water_works": 170,
    "cemetery": 170,
}  # fmt: skip
"""The policy's prior on how wide a place of each class is, in metres (side of a square)."""

AREA_GROW = 0.08
"""Land-use fills are drawn inside their parcels: grow their box by this fraction of its size per side."""


@dataclass(frozen=True)
class _Candidate:
    box: tuple[float, float, float, float]
    reason: str


class MapPolicy(BasePolicy):
    """Map-grounded rule policy (offline default)."""

    name = "map"

    def __init__(self, max_points: int = 3, max_cache: int = 16) -> None:
        """Create the policy.

        Args:
            max_points: at most this many positive and this many negative points per box in refine.
            max_cache: road-block partitions kept for this many scenes.
        """
        self.max_points = max_points
        self._blocks: OrderedDict[str, tuple[Scene, list[Polygon], STRtree | None]] = OrderedDict()
        self._readings: OrderedDict[tuple[int, str], tuple[Scene, QueryTarget, list[LayerFeature]]] = OrderedDict()
        self._max_cache = max_cache

    # -- the two stages -------------------------------------------------------------------------------

    def localize(self, request: PolicyRequest) -> PolicyReply:
        """Answer stage 1: a box per place the map says matches the query."""
        t0 = time.perf_counter()
        scene = request.scene
        if not scene.layers:
            think = ("The scene has no map layers, so the map policy cannot read the map. "
                     "Pass vector layers (--layers) or use a vision-language policy.")  # fmt: skip
            return self._reply(format_answer([], think), t0)
        target, matches = self._read(scene, request.query)
        if target.level == "unknown":
            return self._reply(format_answer([], f"The query {request.query!r} names nothing I know."), t0)
        candidates = self._candidates(scene, target, matches)
        lines = [f"The query reads as {target.describe()}.",
                 f"The map has {len(matches)} matching feature(s)."]  # fmt: skip
        lines += [f"Box {i + 1}: {c.reason}." for i, c in enumerate(candidates)]
        items = [ParsedItem(box=_round(c.box)) for c in candidates]
        return self._reply(format_answer(items, " ".join(lines)), t0, target=target.level)

    def refine(self, request: PolicyRequest) -> PolicyReply:
        """Answer stage 2: keep each box, add positive points on its target and negative points on others."""
        t0 = time.perf_counter()
        scene = request.scene
        wanted = {f.id for f in self._read(scene, request.query)[1]}
        pois = [f for f in scene.layers if f.kind == "poi" and f.geometry.geom_type == "Point"]
        items, lines = [], []
        for i, p in enumerate(request.previous):
            b = p.box
            inside = [f for f in pois if b.contains(f.geometry.x, f.geometry.y)]
            pos = [(f.geometry.x, f.geometry.y) for f in inside if f.id in wanted][: self.max_points]
            neg = [(f.geometry.x, f.geometry.y) for f in inside if f.id not in wanted][: self.max_points]
            if not pos:
                pos = [((b.x1 + b.x2) / 2, (b.y1 + b.y2) / 2)]
            items.append(ParsedItem(box=_round((b.x1, b.y1, b.x2, b.y2)), points=[_round(q) for q in pos + neg],
                                    labels=[1] * len(pos) + [0] * len(neg)))  # fmt: skip
            lines.append(f"Box {i + 1}: {len(pos)} positive point(s), {len(neg)} on other places' labels.")
        return self._reply(format_answer(items, " ".join(lines) or "Nothing to refine."), t0)

    # -- helpers --------------------------------------------------------------------------------------

    def _reply(self, text: str, t0: float, target: str | None = None) -> PolicyReply:
        return PolicyReply(text=text, frame=ModelFrame("pixel"), prompt="(rule policy: reads the map layers)",
                           latency_s=time.perf_counter() - t0, meta=ReplyMeta(policy="map", target=target))  # fmt: skip

    def _read(self, scene: Scene, query: str) -> tuple[QueryTarget, list[LayerFeature]]:
        """Read the query against the scene's layers once per query (both stages and every round reuse it)."""
        key = (id(scene), query)
        hit = self._readings.get(key)
        if hit is not None and hit[0] is scene:
            return hit[1], hit[2]
        target = interpret_query(query, scene.layers) if scene.layers else QueryTarget("unknown")
        matches = features_for(target, scene.layers, query)
        self._readings[key] = (scene, target, matches)
        while len(self._readings) > self._max_cache:
            self._readings.popitem(last=False)
        return target, matches

    def _candidates(self, scene: Scene, target: QueryTarget, matches: list[LayerFeature]) -> list[_Candidate]:
        h, w = scene.hw
        gsd = scene.georef.pixel_size if scene.georef else DEFAULT_GSD_M
        areas = [f for f in matches if f.geometry.geom_type in ("Polygon", "MultiPolygon")]
        points = [f for f in matches if f.geometry.geom_type == "Point"]
        out: list[_Candidate] = []
        claimed: set[str] = set()
        for a in areas:
            grown = _grow(a.geometry.bounds, AREA_GROW, w, h)
            claimed.update(p.id for p in points if a.geometry.buffer(8).contains(p.geometry))
            out.append(_Candidate(grown, f"land-use area of {a.cls or a.function} {a.name or a.id}"))
        fills = [f for f in scene.layers if f.kind == "landuse" and f.geometry.geom_type in ("Polygon", "MultiPolygon")]
        for p in points:
            if p.id in claimed:
                continue
            fill = next(
                (a for a in fills if a.cls and a.cls == p.cls and a.geometry.buffer(8).contains(p.geometry)), None
            )
            if fill is not None:  # the map draws this place's extent: use it (a name query lands here)
                out.append(
                    _Candidate(_grow(fill.geometry.bounds, AREA_GROW, w, h), f"{p.name or p.cls} and its land-use fill")
                )
                continue
            size_px = TYPICAL_SIZE_M.get(p.cls or "", 170.0) / gsd
            window = box(p.geometry.x - size_px / 2, p.geometry.y - size_px / 2,
                         p.geometry.x + size_px / 2, p.geometry.y + size_px / 2)  # fmt: skip
            block = self._block_at(scene, p.geometry)
            region = block.intersection(window) if block is not None else window
            if region.is_empty or region.area < 0.05 * window.area:
                region = window
            b = _clip(region.bounds, w, h)
            label = p.name or p.cls or p.id
            reason = f"map point {label!r}, block around it cut to a typical {p.cls or 'place'}"
            out.append(_Candidate(b, reason))
        return _merge(out)

    def _block_at(self, scene: Scene, pt: ShapelyPoint) -> BaseGeometry | None:
        blocks, tree = self._blocks_of(scene)
        if tree is None:
            return None
        hits = [blocks[i] for i in tree.query(pt, predicate="intersects")]
        if hits:
            return hits[0]
        nearest = tree.nearest(pt)
        return blocks[nearest] if nearest is not None and blocks[nearest].distance(pt) < 30 else None

    def _blocks_of(self, scene: Scene) -> tuple[list[Polygon], STRtree | None]:
        hit = self._blocks.get(scene.scene_id)
        if hit is not None and hit[0] is scene:  # the same scene object, not just the same id
            self._blocks.move_to_end(scene.scene_id)
            return hit[1], hit[2]
        gsd = scene.georef.pixel_size if scene.georef else DEFAULT_GSD_M
        roads, lines = [], []
        for f in scene.layers:
            if f.kind == "road" and f.geometry.geom_type in ("LineString", "MultiLineString"):
                lines.append(f.geometry)
                width_m = float(f.props.get("width_m", 8.0) or 8.0)
                roads.append(f.geometry.buffer(max(1.0, width_m / gsd / 2), cap_style="flat"))
        h, w = scene.hw
        blocks: list[Polygon] = []
        if roads:
            # blocks reach as far as the road centrelines do: a window of a larger scene is given the map around
            # it, and a place across the window's edge keeps its whole block (clipped to the image only when
            # boxed); layers clipped to the image (SynthCity tiles) give the image frame, as before
            x0, y0, x1, y1 = union_all(lines).bounds
            free = box(min(x0, 0), min(y0, 0), max(x1, w), max(y1, h)).difference(union_all(roads))
            blocks = [g for g in getattr(free, "geoms", [free]) if g.area > 100]
        tree = STRtree(blocks) if blocks else None
        self._blocks[scene.scene_id] = (scene, blocks, tree)
        while len(self._blocks) > self._max_cache:
            self._blocks.popitem(last=False)
        return blocks, tree


def _round(v: tuple[float, ...]) -> tuple[float, ...]:
    return tuple(float(round(x)) for x in v)


def _clip(b: tuple[float, float, float, float], w: int, h: int) -> tuple[float, float, float, float]:
    return (max(0.0, b[0]), max(0.0, b[1]), min(float(w), b[2]), min(float(h), b[3]))


def _grow(b: tuple[float, float, float, float], frac: float, w: int, h: int) -> tuple[float, float, float, float]:
    dx, dy = (b[2] - b[0]) * frac, (b[3] - b[1]) * frac
    return _clip((b[0] - dx, b[1] - dy, b[2] + dx, b[3] + dy), w, h)


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _merge(cands: list[_Candidate], thresh: float = 0.6) -> list[_Candidate]:
    """Merge candidates whose boxes mostly overlap (two labels of one place), keeping the larger box."""
    out: list[_Candidate] = []
    for c in sorted(cands, key=lambda c: -(c.box[2] - c.box[0]) * (c.box[3] - c.box[1])):
        if all(_iou(o.box, c.box) < thresh for o in out):
            out.append(c)
    return [c for c in out if math.isfinite(sum(c.box)) and c.box[2] > c.box[0] and c.box[3] > c.box[1]]
