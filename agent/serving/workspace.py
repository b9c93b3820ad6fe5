"""The web app's state: the backends, the loaded scenes with their map layers, and the answers so far.

One `Workspace` serves every request of a `socio serve` process. The segmenter and the scene store are shared,
so scene loads and queries run one at a time under a lock (the segmenter keeps one image encoding, which the
queries on a scene reuse); answers and scenes are kept in bounded LRU maps. Files are read only under the
allowed roots, images over the pixel limit are refused from their headers (`agent.serving.limits.ServeLimits`,
the rules ``socio mcp`` applies too), and scenes are loaded by the registry's ``load_scene`` tool.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.backends import BackendConfig, Backends
from agent.serving.answers import AnswerRecord, from_segmentation
from agent.serving.display import ImageLayer, image_layer, view_of
from agent.serving.limits import CancelToken, ServeLimits
from agent.serving.models import (
    AskRequest,
    LoadSceneRequest,
    SceneEntry,
    SceneFolder,
    SceneInfo,
    SceneList,
    SceneRaster,
)
from tools.errors import InputError
from tools.scene import Scene
from tools.scene_store import SceneStore

SAT_NAMES = ("sat.tif", "sat.tiff", "sat.png", "sat.jpg")
LAYER_NAMES = ("layers.geojson", "layers.gpkg")
VECTOR_SUFFIXES = (".gpkg", ".geojson", ".osm.pbf")
"""Vector files that make a GeoTIFF beside them a raster to ask about (``truth*`` files are not map layers)."""
SCAN_DEPTH = 4
"""Folder levels under each root that the scene list looks through."""
SCAN_LIMIT = 200
"""At most this many scene folders are listed (and this many times ten folders visited)."""
MAX_SCENES = 8
"""Scenes kept loaded (least recently used dropped first)."""
MAX_ANSWERS = 64
"""Answers kept for their trace and downloads."""


class NotFoundError(InputError):
    """A scene or answer id that the server does not hold (HTTP 404)."""


@dataclass
class LoadedScene:
    """A scene and its map layers, rendered once on load."""

    scene: Scene
    name: str
    layers: dict[str, ImageLayer]
    folder: Path | None = None
    chat: Any = None
    kind: str = "scene"


def _rasters(folder: Path) -> list[SceneEntry]:
    """Return the GeoTIFFs of a folder that have vector layers beside them (``layers.*`` first)."""
    try:
        files = sorted(p for p in folder.iterdir() if p.is_file())
    except OSError:
        return []
    vectors = [p for p in files if p.name.lower().endswith(VECTOR_SUFFIXES) and not p.name.startswith("truth")]
    vectors.sort(key=lambda p: (not p.name.startswith("layers"), p.name))
    if not vectors:
        return []
    return [SceneEntry(kind="raster", path=str(p), vectors=str(vectors[0]), name=f"{folder.name}/{p.name}",
                       georeferenced=True)
            for p in files if p.suffix.lower() in (".tif", ".tiff")]  # fmt: skip


class Workspace:
    """Backends, scenes and answers of one web app (thread-safe)."""

    def __init__(self, backend: BackendConfig, limits: ServeLimits, backends: Backends | None = None) -> None:
        """Build the backends once and start with no scene loaded."""
        self.config = backend
        self.limits = limits
        self.backends = backends or backend.build()
        self.store = SceneStore(max_scenes=MAX_SCENES)
        self.ctx = limits.tool_context(self.store, self.backends.segmenter)
        self._lock = threading.Lock()
        self._scenes: OrderedDict[str, LoadedScene] = OrderedDict()
        self._answers: OrderedDict[str, AnswerRecord] = OrderedDict()

    # -- scenes ---------------------------------------------------------------------------------------

    def list_scenes(self) -> SceneList:
        """Return the scene folders under the roots (a folder with a satellite image and map.png)."""
        found: list[SceneEntry] = []
        visited = 0
        truncated = False
        for root in self.limits.roots:
            stack = [(root, 0)]
            while stack and not truncated:
                d, depth = stack.pop()
                visited += 1
                if len(found) >= SCAN_LIMIT or visited > 10 * SCAN_LIMIT:
                    truncated = True
                    break
                try:
                    children = sorted(p for p in d.iterdir() if p.is_dir() and not p.name.startswith("."))
                except OSError:
                    continue
                if (d / "map.png").is_file() and any((d / n).is_file() for n in SAT_NAMES):
                    geo = (d / "sat.tif").is_file() or (d / "sat.tiff").is_file()
                    found.append(SceneEntry(path=str(d), name=d.name, georeferenced=geo))
                else:
                    found += _rasters(d)
                if depth < SCAN_DEPTH:  # a symlinked folder that leads out of the roots is not followed
                    stack += [(c, depth + 1) for c in reversed(children) if c.resolve().is_relative_to(root)]
        return SceneList(roots=[str(r) for r in self.limits.roots], scenes=found, truncated=truncated)

    def _folder_files(self, path: str) -> tuple[str, str, str | None, str]:
        """Return the (sat, map, layers, name) of a scene folder under the roots."""
        folder = self.ctx.resolve_folder(path, "scene folder")  # every entry under the roots, images in limits
        sat = next((folder / n for n in SAT_NAMES if (folder / n).is_file()), None)
        if sat is None or not (folder / "map.png").is_file():
            raise InputError(f"scene folder {path} needs a satellite image ({' or '.join(SAT_NAMES)}) and map.png")
        layers = next((folder / n for n in LAYER_NAMES if (folder / n).is_file()), None)
        return str(sat), str(folder / "map.png"), str(layers) if layers else None, folder.name

    def load(self, req: LoadSceneRequest, cancel: CancelToken | None = None) -> SceneInfo:
        """Load a scene from a folder or from its files (under the roots) and render its map layers.

        A folder's ``sat.tif`` (a GeoTIFF) georeferences the scene; a folder with ``sat.png`` alone is shown in
        image pixels.

        Raises:
            InputError: a path outside the roots, a missing or unreadable file, an image over the pixel limit.
        """
        from tools.load_scene import LoadSceneInput
        from tools.registry import REGISTRY

        if isinstance(req, SceneRaster):
            return self._load_raster(req, cancel)
        folder = None
        if isinstance(req, SceneFolder):
            sat, map_path, layers, name = self._folder_files(req.path)
            folder = Path(sat).parent
        else:
            sat, map_path, layers = req.sat, req.map, req.layers
            name = Path(sat).parent.name + "/" + Path(sat).stem
        with self._lock:
            if cancel is not None:
                cancel.check()
            out = REGISTRY.call("load_scene", LoadSceneInput(sat=sat, map=map_path, layers=layers), self.ctx)
            scene = self.store.get(out.scene_id)  # type: ignore[attr-defined]
            if scene.scene_id not in self._scenes:
                if cancel is not None:
                    cancel.check()
                layers_png = {"sat": image_layer(scene.sat, scene.georef), "map": image_layer(scene.map, scene.georef)}
                self._scenes[scene.scene_id] = LoadedScene(scene, name, layers_png, folder)
            elif folder is not None and self._scenes[scene.scene_id].folder is None:
                self._scenes[scene.scene_id].folder = folder
            self._scenes.move_to_end(scene.scene_id)
            while len(self._scenes) > MAX_SCENES:
                self._scenes.popitem(last=False)
            return self.info(scene.scene_id)

    def _load_raster(self, req: SceneRaster, cancel: CancelToken | None) -> SceneInfo:
        """Load a raster and its vector layers as chat data (`agent.chat.load_raster`) and show its footprint."""
        from agent.serving.chat_answers import load_raster_data
        from tools.load_scene import content_id

        raster = self.ctx.resolve_image(req.raster, "raster")
        vectors = self.ctx.resolve_path(req.vectors, "vectors file")
        with self._lock:
            if cancel is not None:
                cancel.check()
            data = load_raster_data(raster, vectors, self.config)
            data.use_backends(self.backends)  # one segmenter for the whole server
            scene = data.scene
            scene.scene_id = content_id(scene)
            if scene.scene_id not in self._scenes:
                if cancel is not None:
                    cancel.check()
                layers_png = {"sat": image_layer(scene.sat, scene.georef), "map": image_layer(scene.map, scene.georef)}
                self._scenes[scene.scene_id] = LoadedScene(scene, f"{raster.parent.name}/{raster.name}", layers_png,
                                                           chat=data, kind="raster")  # fmt: skip
                self.store.put(scene)
            self._scenes.move_to_end(scene.scene_id)
            while len(self._scenes) > MAX_SCENES:
                self._scenes.popitem(last=False)
            return self.info(scene.scene_id)

    def _scene(self, scene_id: str) -> LoadedScene:
        loaded = self._scenes.get(scene_id)
        if loaded is None:
            raise NotFoundError(f"no scene {scene_id!r} is loaded; load it with POST /api/scenes first")
        return loaded

    def info(self, scene_id: str) -> SceneInfo:
        """Describe a loaded scene for the map."""
        loaded = self._scene(scene_id)
        s = loaded.scene
        h, w = s.hw
        return SceneInfo(scene_id=s.scene_id, name=loaded.name, kind=loaded.kind, width=w, height=h,  # type: ignore[arg-type]
                         view=view_of(s.georef),
                         crs=s.georef.crs if s.georef else None, bounds=list(loaded.layers["sat"].bounds),
                         layers={k: f"/api/scenes/{s.scene_id}/layers/{k}" for k in loaded.layers},
                         layer_features=len(s.layers))  # fmt: skip

    def layer_png(self, scene_id: str, layer: str) -> bytes:
        """Return a scene's map layer (``sat`` or ``map``) as PNG bytes."""
        loaded = self._scene(scene_id)
        if layer not in loaded.layers:
            raise NotFoundError(f"scene {scene_id!r} has no layer {layer!r}; layers: {', '.join(loaded.layers)}")
        return loaded.layers[layer].png

    # -- questions ------------------------------------------------------------------------------------

    @property
    def chat_available(self) -> bool:
        """Whether spatial questions (``agent.chat.ask``) can be answered besides segmentation."""
        from agent.serving.chat_answers import chat_available

        return chat_available()

    def ask(self, req: AskRequest, cancel: CancelToken | None = None) -> AnswerRecord:
        """Answer a question on a loaded scene: segment the places, or answer a spatial question.

        ``auto`` asks the spatial planner (`agent.chat`) when it is installed and the scene is a georeferenced
        folder, and segments a question the planner cannot read; ``segment`` always segments; ``ask`` always plans.

        Args:
            req: the scene, the question and the mode.
            cancel: checked between the agent's steps; a cancelled call stops at the next one.

        Raises:
            NotFoundError: the scene is not loaded.
            InputError: an empty question, or ``mode=ask`` where no chat is available.
            BackendError: the policy or segmenter failed.
        """
        question = req.question.strip()
        if not question:
            raise InputError("the question is empty; say what to find, e.g. 'schools'")
        self._scene(req.scene_id)  # an unknown scene is a 404 whatever else is wrong
        if req.mode == "ask" and not self.chat_available:
            raise InputError("spatial questions need agent.chat, which this installation lacks; use mode segment")
        answer_id = uuid.uuid4().hex[:12]
        check = cancel.check if cancel is not None else (lambda: None)
        with self._lock:
            check()
            loaded = self._scene(req.scene_id)
            self._scenes.move_to_end(req.scene_id)
            scene = loaded.scene
            if scene.scene_id not in self.store:
                self.store.put(scene)
            record, note = None, None
            chat_ok = (loaded.folder is not None or loaded.chat is not None) and scene.georef is not None
            if req.mode == "ask" or (req.mode == "auto" and self.chat_available and chat_ok):
                record, note = self._ask_chat(answer_id, loaded, question, fallback=req.mode == "auto")
            if record is None:
                record = self._segment(answer_id, scene, question, check)
                if note:
                    record.trace["note"] = note
            self._answers[answer_id] = record
            while len(self._answers) > MAX_ANSWERS:
                self._answers.popitem(last=False)
        return record

    def _ask_chat(self, answer_id: str, loaded: LoadedScene, question: str,
                  fallback: bool) -> tuple[AnswerRecord | None, str | None]:  # fmt: skip
        """Answer with the chat planner; with ``fallback``, a question it cannot read is left to segmentation."""
        from agent.serving.chat_answers import PlannerRefusalError, from_chat, load_chat_data

        if loaded.chat is None and loaded.folder is None:
            raise InputError("spatial questions read a scene folder: load the scene by its folder (path), or use "
                             "mode segment")  # fmt: skip
        if loaded.chat is None:
            loaded.chat = load_chat_data(loaded.folder, self.config)
            loaded.chat.use_backends(self.backends)  # one segmenter for the whole server
        try:
            return from_chat(answer_id, loaded.scene.scene_id, question, loaded.chat), None
        except PlannerRefusalError as e:
            if not fallback:
                raise
            return None, f"the spatial planner could not read the question ({e}); answered by segmentation"

    def _segment(self, answer_id: str, scene: Scene, question: str, check: Any) -> AnswerRecord:
        from agent.run import run_query

        t0 = time.perf_counter()
        result = run_query(scene, question, store=self.store, on_event=lambda _: check(), **self.backends.run_kwargs())
        record = from_segmentation(answer_id, scene, question, result)
        record.seconds = time.perf_counter() - t0
        return record

    def answer(self, answer_id: str) -> AnswerRecord:
        """Return a kept answer.

        Raises:
            NotFoundError: no answer with this id (or it was dropped, the oldest first).
        """
        with self._lock:
            record = self._answers.get(answer_id)
        if record is None:
            raise NotFoundError(f"no answer {answer_id!r}; ask again (the server keeps the last {MAX_ANSWERS})")
        return record

    def describe(self) -> dict[str, Any]:
        """Return the backends' spec strings (for /api/health)."""
        return {"policy": self.config.policy_spec(), "segmenter": self.config.segmenter_spec()}
