"""Box proposals from the map layers: where the map says the places of a query are, and how big.

The map-grounded reading the offline rule policy answers with (`agent.policies.rule.MapPolicy`), and that the
map-layer lookup tool hands to any other policy (`tools.map_lookup.MapLookupOutput.proposals`):

- each matching land-use area gives its outline's box, grown a little (fills are drawn inside their parcels);
- each matching point of interest inside a land-use fill of its class gives that fill's box (a named place);
- each other matching point gives the road-bounded block around it, cut to the usual size of its class
  (`TYPICAL_SIZE_M`, metres; the scene's ground resolution, or `DEFAULT_GSD_M`);
- proposals whose boxes mostly overlap (two labels of one place) are merged, the larger kept.

`RoadBlocks` caches the road-block partition of the last scenes (it costs a polygon difference per scene).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict

from pydantic import BaseModel, Field
from shapely import STRtree, union_all
from shapely.geometry import Point as ShapelyPoint
from shapely.geometry import Polygon, box
from shapely.geometry.base import BaseGeometry

from tools.query import QueryTarget
from tools.scene import LayerFeature, Scene
from tools.schemas import Box

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


class Proposal(BaseModel):
    """A box where the map says a place of the query is.

    Attributes:
        box: XYXY in image pixels.
        source: ``area`` (a matching land-use area), ``fill`` (a point inside a fill of its class) or ``block``
            (a point's road block cut to its class's usual size).
        cls: the socio-class of the place, when known.
        function: its socio-function, when known.
        name: its name, when the map gives one.
        reason: one sentence saying where the box comes from.
    """

    box: Box
    source: str = Field(description="area, fill or block")
    cls: str | None = None
    function: str | None = None
    name: str | None = None
    reason: str = ""


class RoadBlocks:
    """The road-bounded blocks of the last ``max_cache`` scenes (keyed by scene id and checked by identity).

    Safe to share between threads (the MCP server's concurrent calls): the cache is read and written under a lock.
    """

    def __init__(self, max_cache: int = 16) -> None:
        """Create an empty cache."""
        self._blocks: OrderedDict[str, tuple[Scene, list[Polygon], STRtree | None]] = OrderedDict()
        self._max_cache = max_cache
        self._lock = threading.Lock()

    def block_at(self, scene: Scene, pt: ShapelyPoint) -> BaseGeometry | None:
        """Return the block holding (or within 30 px of) a point, or None."""
        blocks, tree = self.blocks_of(scene)
        if tree is None:
            return None
        hits = [blocks[i] for i in tree.query(pt, predicate="intersects")]
        if hits:
            return hits[0]
        nearest = tree.nearest(pt)
        return blocks[nearest] if nearest is not None and blocks[nearest].distance(pt) < 30 else None

    def blocks_of(self, scene: Scene) -> tuple[list[Polygon], STRtree | None]:
        """Return a scene's blocks and their index (computed once per scene)."""
        with self._lock:
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
            # boxed); layers clipped to the image (SynthCity tiles) give the image frame
            x0, y0, x1, y1 = union_all(lines).bounds
            free = box(min(x0, 0), min(y0, 0), max(x1, w), max(y1, h)).difference(union_all(roads))
            blocks = [g for g in getattr(free, "geoms", [free]) if g.area > 100]
        tree = STRtree(blocks) if blocks else None
        with self._lock:
            self._blocks[scene.scene_id] = (scene, blocks, tree)
            self._blocks.move_to_end(scene.scene_id)
            while len(self._blocks) > self._max_cache:
                self._blocks.popitem(last=False)
        return blocks, tree


def propose(scene: Scene, target: QueryTarget, matches: list[LayerFeature], blocks: RoadBlocks) -> list[Proposal]:
    """Return the proposals of the features a query matched (see the module docstring)."""
    h, w = scene.hw
    gsd = scene.georef.pixel_size if scene.georef else DEFAULT_GSD_M
    areas = [f for f in matches if f.geometry.geom_type in ("Polygon", "MultiPolygon")]
    points = [f for f in matches if f.geometry.geom_type == "Point"]
    out: list[tuple[tuple[float, float, float, float], Proposal]] = []

    def add(b: tuple[float, float, float, float], source: str, f: LayerFeature, reason: str) -> None:
        out.append((b, Proposal(box=Box(x1=b[0], y1=b[1], x2=b[2], y2=b[3]) if b[2] >= b[0] and b[3] >= b[1]
                                else Box(x1=0, y1=0, x2=0, y2=0), source=source, cls=f.cls,
                                function=f.function, name=f.name, reason=reason)))  # fmt: skip

    claimed: set[str] = set()
    for a in areas:
        grown = _grow(a.geometry.bounds, AREA_GROW, w, h)
        claimed.update(p.id for p in points if a.geometry.buffer(8).contains(p.geometry))
        add(grown, "area", a, f"land-use area of {a.cls or a.function} {a.name or a.id}")
    fills = [f for f in scene.layers if f.kind == "landuse" and f.geometry.geom_type in ("Polygon", "MultiPolygon")]
    for p in points:
        if p.id in claimed:
            continue
        fill = next((a for a in fills if a.cls and a.cls == p.cls and a.geometry.buffer(8).contains(p.geometry)), None)
        if fill is not None:  # the map draws this place's extent: use it (a name query lands here)
            add(_grow(fill.geometry.bounds, AREA_GROW, w, h), "fill", p, f"{p.name or p.cls} and its land-use fill")
            continue
        size_px = TYPICAL_SIZE_M.get(p.cls or "", 170.0) / gsd
        window = box(p.geometry.x - size_px / 2, p.geometry.y - size_px / 2,
                     p.geometry.x + size_px / 2, p.geometry.y + size_px / 2)  # fmt: skip
        block = blocks.block_at(scene, p.geometry)
        region = block.intersection(window) if block is not None else window
        if region.is_empty or region.area < 0.05 * window.area:
            region = window
        label = p.name or p.cls or p.id
        add(_clip(region.bounds, w, h), "block", p, f"map point {label!r}, block around it cut to a typical "
            f"{p.cls or 'place'}")  # fmt: skip
    return [prop for _, prop in _merge(out)]


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


def _merge(
    cands: list[tuple[tuple[float, ...], Proposal]], thresh: float = 0.6
) -> list[tuple[tuple[float, ...], Proposal]]:
    """Merge proposals whose boxes mostly overlap (two labels of one place), keeping the larger box."""
    out: list[tuple[tuple[float, ...], Proposal]] = []
    for c in sorted(cands, key=lambda c: -(c[0][2] - c[0][0]) * (c[0][3] - c[0][1])):
        if all(_iou(o[0], c[0]) < thresh for o in out):
            out.append(c)
    return [c for c in out if math.isfinite(sum(c[0])) and c[0][2] > c[0][0] and c[0][3] > c[0][1]]
