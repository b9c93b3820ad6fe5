"""The offline default policy: reads the scene's map layers, no weights.

It answers in the same text format as a vision-language model (think + answer JSON, in image pixels), so
it is parsed, traced and scored exactly like one.

Localize: the query is read as a name, class or function (`tools.query.interpret_query`) and the map's
proposals for it (`tools.proposals.propose`: land-use areas, fills, road blocks cut to a class's usual size)
are the answer.

Blocks are the areas between the map's roads, as far as the roads reach (beyond the image when the layers do,
as in the windows of a scene-scale search).

Refine: each box keeps its extent and gets positive points on the target's map points and negative
points on other places' map points that fall inside it (another label inside the box is another place).
"""

from __future__ import annotations

import time
from collections import OrderedDict

from agent.parsing import ParsedItem, format_answer
from agent.policies import BasePolicy, PolicyReply, PolicyRequest, ReplyMeta
from tools.coords import ModelFrame
from tools.map_lookup import features_for
from tools.proposals import RoadBlocks, propose
from tools.query import QueryTarget, interpret_query
from tools.scene import LayerFeature, Scene


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
        self._blocks = RoadBlocks(max_cache)
        self._readings: OrderedDict[tuple[int, str], tuple[Scene, QueryTarget, list[LayerFeature]]] = OrderedDict()
        self._max_cache = max_cache

    # -- the two stages -------------------------------------------------------------------------------

    def localize(self, request: PolicyRequest) -> PolicyReply:
        """Answer stage 1: a box per place the map says matches the query."""
        t0 = time.perf_counter()
        scene = request.scene
        if not scene.layers:
            think = ("The scene has no map layers, so the map policy cannot read the map. "
                     "Pass vector layers (socio segment --layers) or use a vision-language policy.")  # fmt: skip
            return self._reply(format_answer([], think), t0)
        target, matches = self._read(scene, request.query)
        if target.level == "unknown":
            think = (f"The query {request.query!r} names nothing I know: no name, class or function in the map "
                     "layers matches it. Name a place or a kind of place the layers hold, or use a vision-language "
                     "policy (--policy openai).")  # fmt: skip
            return self._reply(format_answer([], think), t0)
        candidates = propose(scene, target, matches, self._blocks)
        lines = [f"The query reads as {target.describe()}.",
                 f"The map has {len(matches)} matching feature(s)."]  # fmt: skip
        lines += [f"Box {i + 1}: {c.reason}." for i, c in enumerate(candidates)]
        items = [ParsedItem(box=_round(tuple(c.box.as_list()))) for c in candidates]
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


def _round(v: tuple[float, ...]) -> tuple[float, ...]:
    return tuple(float(round(x)) for x in v)
