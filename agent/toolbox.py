"""The agent's tools: the tools' registry plus the tools that run the agent itself (``segment``; ``ask``).

`AGENT_REGISTRY` lists every tool of `tools.REGISTRY` (load_scene, map_lookup, render_overlay, sam_segment, ...)
and the ones defined here, which need the agent's backends and so cannot live on the tools' floor:

- ``segment``: the whole two-stage query (localize, segment, render, refine, segment) on a loaded scene through
  `agent.run.run_query`; instances with polygons and scores, the overlay as an image id, outputs written
  atomically under the server's output folder.
- ``ask``: a spatial question ("parks within 1 km of hospitals") about a map extract or a scene folder through
  `agent.chat.ask`; the data is loaded once per file (`ChatDataCache`) and its entity sets are segmented with the
  context's own backends (one segmenter for every call); asks on the same data take turns (a `ChatData` keeps
  what it segmented).

They take an `AgentToolContext`: a `tools.registry.ToolContext` with the built backends, where outputs go, and
a cancellation check that a serving front end sets per call (`agent.serving.limits.CancelToken.check`). The
same registry feeds the MCP server (`agent.serving.mcp_server`), ``socio tools`` and LangChain/LangGraph agents
(`tools.registry.ToolRegistry.langchain_tools`).
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from agent.backends import Backends
from agent.context import MAX_REFINE_ROUNDS
from agent.result import Timings
from tools.errors import ToolError
from tools.registry import REGISTRY, ToolContext, ToolRegistry
from tools.schemas import Box, InstancePrompt, Point

AGENT_REGISTRY = ToolRegistry(None, base=REGISTRY)
"""Every tool: the tools' own and the agent's."""


@dataclass
class AgentToolContext(ToolContext):
    """A tool context with what the agent's tools need.

    Attributes:
        backends: the policy and segmenter (with the refine rounds and protocol) that ``segment`` runs with.
        output_dir: gives the folder for a call's outputs from (scene id, name); None: nothing is written.
        check_cancelled: called between the steps of a long call; raises to stop it (None: never cancelled).
    """

    backends: Backends | None = None
    output_dir: Callable[[str, str], Path] | None = None
    check_cancelled: Callable[[], None] | None = None
    chat_data: ChatDataCache = field(default_factory=lambda: ChatDataCache())


class ChatDataCache:
    """Data loaded for ``ask``, by file (resolved path, modification time, size), with a lock per data set.

    Bounded: the ``max_items`` data sets used last are kept.
    """

    def __init__(self, max_items: int = 8) -> None:
        """Create an empty cache."""
        self._items: OrderedDict[tuple[str, int, int], tuple[Any, threading.Lock]] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[tuple[str, int, int], threading.Lock] = {}
        self.max_items = max_items

    def get(self, path: Path, load: Callable[[Path], Any]) -> tuple[Any, threading.Lock]:
        """Return (data, its lock) for ``path``, loading it with ``load`` once (concurrent callers wait for it)."""
        st = path.stat()
        key = (str(path), st.st_mtime_ns, st.st_size)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:
            with self._lock:
                hit = self._items.get(key)
            if hit is None:
                hit = (load(path), threading.Lock())
                with self._lock:
                    self._items[key] = hit
                    while len(self._items) > self.max_items:
                        self._items.popitem(last=False)
                    self._loading.pop(key, None)
            return hit


class SegmentQueryInput(BaseModel):
    """Arguments of segment."""

    scene_id: str = Field(description="the scene to search (from load_scene)")
    query: str = Field(
        min_length=1,
        max_length=500,
        description="what to find: a place name ('Maple Grove Primary School'), a class ('schools') or a function "
        "('places for healthcare')",
    )
    refine: int | None = Field(
        None, ge=0, le=MAX_REFINE_ROUNDS, description="refine rounds after localize (default: the server's setting)"
    )
    save: bool = Field(
        True, description="write result.json, instances.geojson, mask.png and overlay.png under the output folder"
    )


class FoundInstance(BaseModel):
    """One instance found: its box, prompt points, score, size and outline."""

    box: Box = Field(description="XYXY image pixels")
    points: list[Point] = Field(default_factory=list, description="the prompt points it was segmented from")
    score: float = Field(description="the segmenter's score in [0, 1]")
    area_px: int
    area_m2: float | None = Field(None, description="ground area, when the scene is georeferenced")
    source: str = Field(description="model, or box-fallback when the segmenter fell back to the box")
    mask_id: str | None = Field(None, description="the instance mask in the scene store (for render_overlay)")
    polygon: dict[str, Any] | None = Field(None, description="GeoJSON Polygon/MultiPolygon in image pixels")


class SegmentQueryOutput(BaseModel):
    """What segment found, and where its outputs are."""

    scene_id: str
    query: str
    count: int = Field(description="instances found")
    instances: list[FoundInstance]
    geojson: dict[str, Any] = Field(
        description="the instances as a FeatureCollection with score and provenance, in the scene CRS when "
        "georeferenced (its crs member names it), else in image pixels"
    )
    crs: str | None = None
    mask_id: str | None = Field(None, description="the union of the instance masks in the scene store")
    overlay_image_id: str = Field(description="the satellite image with the instances drawn, at the scene's size")
    format_failures: int = Field(description="policy answers that could not be used")
    policy: str
    segmenter: str
    timings: Timings
    output_dir: str | None = Field(None, description="folder the outputs were written to (save=true)")
    files: list[str] = Field(default_factory=list, description="names of the files written there")


@AGENT_REGISTRY.register(read_only=False, name="segment")
def segment(args: SegmentQueryInput, ctx: AgentToolContext) -> SegmentQueryOutput:
    """Find every instance of a place in a loaded scene: the whole two-stage query (localize, segment, refine).

    Reads the map and the satellite image together with the server's policy and segmenter, and returns the
    instances with polygons and scores, their GeoJSON (in the scene CRS when georeferenced) and the overlay
    image; with save, the outputs are written under the server's output folder.
    """
    from agent.outputs import result_geojson, write_outputs
    from agent.run import run_query
    from tools.render import render_user_overlay

    backends = getattr(ctx, "backends", None)
    if backends is None:
        raise ToolError("segment needs the agent's backends; this context has none (give AgentToolContext.backends)")
    scene = ctx.store.get(args.scene_id)
    kwargs = backends.run_kwargs()
    if args.refine is not None:
        kwargs["max_rounds"] = args.refine
    check = getattr(ctx, "check_cancelled", None)
    result = run_query(scene, args.query, store=ctx.store, on_event=(lambda _e: check()) if check else None,
                       **kwargs)  # fmt: skip
    if check:
        check()
    prompts = [InstancePrompt(box=i.box, points=i.points) for i in result.instances]
    overlay_id = ctx.store.put_image(scene.scene_id, render_user_overlay(scene.sat, prompts, result.instance_masks),
                                     "overlay")  # fmt: skip
    px_m2 = scene.georef.pixel_size**2 if scene.georef else None
    found = [FoundInstance(box=i.box, points=i.points, score=i.score, area_px=i.area,
                           area_m2=i.area * px_m2 if px_m2 else None, source=i.source, mask_id=i.mask_id,
                           polygon=i.geometry) for i in result.instances]  # fmt: skip
    out_dir, files = None, []
    make_dir = getattr(ctx, "output_dir", None)
    if args.save and make_dir is not None:
        d = make_dir(scene.scene_id, f"{args.query}-{uuid.uuid4().hex[:8]}")
        files = sorted(write_outputs(d, scene, result))
        out_dir = str(d)
    return SegmentQueryOutput(
        scene_id=scene.scene_id, query=args.query, count=len(found), instances=found,
        geojson=result_geojson(scene, result), crs=result.crs, mask_id=result.mask_id, overlay_image_id=overlay_id,
        format_failures=result.format_failures, policy=result.policy, segmenter=result.segmenter,
        timings=result.timings, output_dir=out_dir, files=files,
    )  # fmt: skip


class AskInput(BaseModel):
    """Arguments of ask."""

    question: str = Field(
        min_length=1, max_length=500,
        description="a spatial question: 'parks within 1 km of hospitals', 'how many schools', 'the largest park'",
    )  # fmt: skip
    data: str = Field(
        description="what to ask about: an .osm.pbf, GeoJSON or GeoPackage file, or a scene folder (sat.tif or "
        "sat.png, map.png, layers.geojson; its places are segmented), under the server's allowed folders"
    )
    save: bool = Field(True, description="write answer.json, answer.geojson and answer.png under the output folder")


class AskOutput(BaseModel):
    """The answer: its sentence (every number from the executor), plan, counts and the answer's places."""

    question: str
    sentence: str
    plan_text: str = Field(description="the plan, as a canonical question")
    plan: dict[str, Any]
    count: int = Field(description="places in the answer")
    entity_counts: list[dict[str, Any]] = Field(default_factory=list, description="places per entity set")
    distances_m: list[float] = Field(default_factory=list)
    areas_m2: list[float] = Field(default_factory=list)
    names: list[str | None] = Field(default_factory=list)
    features: dict[str, Any] = Field(description="the answer's places, a GeoJSON FeatureCollection in EPSG:4326")
    planner: str
    planner_format_failures: int = 0
    timings: dict[str, float] = Field(default_factory=dict)
    output_dir: str | None = Field(None, description="folder the answer files were written to (save=true)")
    files: list[str] = Field(default_factory=list)


def _load_chat_data(path: Path, backends: Backends) -> Any:
    from agent.chat import load_data

    data = load_data(path, backends.config)
    data._built = backends  # segment with the context's backends: one segmenter (and its lock) for every call
    return data


@AGENT_REGISTRY.register(read_only=False, name="ask")
def ask(args: AskInput, ctx: AgentToolContext) -> AskOutput:
    """Answer a spatial question about a map extract or a scene folder ('parks within 1 km of hospitals').

    The question becomes a plan (entity sets, relations such as within a distance of, nearest, largest); the
    sets come from the map's features or, for a scene folder, from segmenting the scene; the relations are
    computed in a local metric CRS; every number in the answer's sentence comes from that computation.
    """
    from agent.chat import ask as chat_ask

    backends = getattr(ctx, "backends", None)
    if backends is None:
        raise ToolError("ask needs the agent's backends; this context has none (give AgentToolContext.backends)")
    given = Path(args.data)
    resolved = (ctx.resolve_folder(args.data, "data folder") if given.expanduser().resolve().is_dir()
                else ctx.resolve_path(args.data, "data file"))  # fmt: skip
    cache = getattr(ctx, "chat_data", None) or ChatDataCache()
    data, lock = cache.get(resolved, lambda p: _load_chat_data(p, backends))
    out = None
    make_dir = getattr(ctx, "output_dir", None)
    if args.save and make_dir is not None:
        out = make_dir("ask", f"{args.question}-{uuid.uuid4().hex[:8]}")
    with lock:  # a ChatData keeps what it segmented: asks on the same data take turns
        check = getattr(ctx, "check_cancelled", None)
        if check:
            check()
        answer = chat_ask(args.question, data, backend=backends.config, out=out)
    files = sorted(p.name for p in out.iterdir()) if out is not None else []
    return AskOutput(
        question=args.question, sentence=answer.sentence, plan_text=answer.plan_text,
        plan=answer.plan.model_dump(mode="json"), count=answer.count,
        entity_counts=[e.model_dump() for e in answer.entity_counts], distances_m=answer.distances_m,
        areas_m2=answer.areas_m2, names=answer.names, features=answer.features, planner=answer.planner,
        planner_format_failures=answer.planner_format_failures, timings=answer.timings,
        output_dir=str(out) if out is not None else None, files=files,
    )  # fmt: skip
