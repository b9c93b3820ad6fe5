"""The web app's state: the backends, the loaded scenes with their map layers, and the answers so far.

One `Workspace` serves every request of a `socio serve` process. The segmenter and the scene store are shared,
so scene loads and queries run one at a time under a lock (the segmenter keeps one image encoding, which the
queries on a scene reuse); answers and scenes are kept in bounded LRU maps. Files are read only under the
allowed roots (`ServeSettings.roots`); images larger than the pixel limit are refused before they are read.
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
from agent.serving.models import AskRequest, LoadSceneRequest, SceneEntry, SceneInfo, SceneList
from tools.errors import InputError
from tools.registry import ToolContext
from tools.scene import Scene, load_scene, load_scene_dir
from tools.scene_store import SceneStore

SAT_NAMES = ("sat.tif", "sat.tiff", "sat.png", "sat.jpg")
SCAN_DEPTH = 4
"""Folder levels under each root that the scene list looks through."""
SCAN_LIMIT = 200
"""At most this many scene folders are listed (and this many times ten folders visited)."""


class NotFoundError(InputError):
    """A scene or answer id that the server does not hold (HTTP 404)."""


@dataclass(frozen=True)
class ServeSettings:
    """What a `socio serve` process may read and how much.

    Attributes:
        roots: folders whose files may be read (resolved; ``..`` and symlinks out of them refused).
        max_pixels: the largest image (width x height) a scene may have.
        max_scenes: scenes kept loaded (least recently used dropped first).
        max_answers: answers kept for their trace and downloads.
    """

    roots: tuple[Path, ...]
    max_pixels: int = 25_000_000
    max_scenes: int = 8
    max_answers: int = 64


@dataclass
class LoadedScene:
    """A scene and its map layers, rendered once on load."""

    scene: Scene
    name: str
    layers: dict[str, ImageLayer]


def _image_pixels(path: Path) -> int:
    """Return width x height of an image file from its header (nothing decoded)."""
    from PIL import Image

    if path.suffix.lower() in (".tif", ".tiff"):
        import rasterio

        with rasterio.open(path) as src:
            return int(src.width) * int(src.height)
    with Image.open(path) as im:
        return int(im.size[0]) * int(im.size[1])


class Workspace:
    """Backends, scenes and answers of one web app (thread-safe)."""

    def __init__(self, backend: BackendConfig, settings: ServeSettings, backends: Backends | None = None) -> None:
        """Build the backends once and start with no scene loaded."""
        self.config = backend
        self.settings = settings
        self.backends = backends or backend.build()
        self.store = SceneStore(max_scenes=settings.max_scenes)
        self.ctx = ToolContext(store=self.store, roots=settings.roots)
        self._lock = threading.Lock()
        self._scenes: OrderedDict[str, LoadedScene] = OrderedDict()
        self._answers: OrderedDict[str, AnswerRecord] = OrderedDict()

    # -- scenes ---------------------------------------------------------------------------------------

    def list_scenes(self) -> SceneList:
        """Return the scene folders under the roots (a folder with a satellite image and map.png)."""
        found: list[SceneEntry] = []
        visited = 0
        truncated = False
        for root in self.settings.roots:
            stack = [(root.resolve(), 0)]
            while stack:
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
                    geo = (d / "sat.tif").is_file() or (d / "sat.tiff").is_file() or (d / "georef.json").is_file()
                    found.append(SceneEntry(path=str(d), name=d.name, georeferenced=geo))
                if depth < SCAN_DEPTH:
                    stack += [(c, depth + 1) for c in reversed(children) if self._inside(c)]
        return SceneList(roots=[str(r) for r in self.settings.roots], scenes=found, truncated=truncated)

    def _inside(self, path: Path) -> bool:
        try:
            self.ctx.resolve_path(path)
        except InputError:
            return False
        return True

    def _checked(self, path: str, what: str) -> Path:
        p = self.ctx.resolve_path(path, what)
        if not p.exists():
            raise InputError(f"the {what} {path} does not exist; give a path under {self._roots_text()}")
        return p

    def _roots_text(self) -> str:
        return ", ".join(str(r) for r in self.settings.roots)

    def _check_size(self, image: Path, what: str) -> None:
        try:
            px = _image_pixels(image)
        except Exception as e:  # an unreadable header: load_scene says what is wrong with the file
            if isinstance(e, MemoryError):
                raise
            return
        if px > self.settings.max_pixels:
            raise InputError(f"the {what} {image} has {px:,} pixels, over this server's limit of "
                             f"{self.settings.max_pixels:,}; crop it, or start socio serve with a larger "
                             "--max-pixels")  # fmt: skip

    def load(self, req: LoadSceneRequest) -> SceneInfo:
        """Load a scene from a folder or from its files (under the roots) and render its map layers.

        Raises:
            InputError: a path outside the roots, a missing or unreadable file, an image over the pixel limit.
        """
        from tools.load_scene import content_id

        if req.path:
            if req.sat or req.map or req.layers:
                raise InputError("give either path (a scene folder) or sat and map (and layers), not both")
            folder = self._checked(req.path, "scene folder")
            if not folder.is_dir():
                raise InputError(f"{req.path} is not a folder; give a scene folder (sat.png or sat.tif, map.png)")
            sat = next((folder / n for n in SAT_NAMES if (folder / n).is_file()), None)
            if sat is not None:
                self._check_size(sat, "satellite image")
            for p in folder.iterdir():  # every file the loader may read must lie under the roots too
                if p.is_symlink():
                    self.ctx.resolve_path(p, "file")
            load = lambda: load_scene_dir(folder)  # noqa: E731
            name = folder.name
        elif req.sat and req.map:
            sat, map_path = self._checked(req.sat, "satellite image"), self._checked(req.map, "map image")
            layers = self._checked(req.layers, "layers file") if req.layers else None
            self._check_size(sat, "satellite image")
            self._check_size(map_path, "map image")
            load = lambda: load_scene(sat, map_path, layers)  # noqa: E731
            name = sat.parent.name + "/" + sat.stem
        else:
            raise InputError("give path (a scene folder under the roots), or sat and map (and layers)")
        with self._lock:
            scene = load()
            scene.scene_id = content_id(scene)
            if scene.scene_id not in self._scenes:
                layers_png = {"sat": image_layer(scene.sat, scene.georef), "map": image_layer(scene.map, scene.georef)}
                self._scenes[scene.scene_id] = LoadedScene(scene, name, layers_png)
                self.store.put(scene)
            self._scenes.move_to_end(scene.scene_id)
            while len(self._scenes) > self.settings.max_scenes:
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
        return SceneInfo(scene_id=s.scene_id, name=loaded.name, width=w, height=h, view=view_of(s.georef),
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

    def ask(self, req: AskRequest) -> AnswerRecord:
        """Answer a question on a loaded scene: segment the places, or answer a spatial question.

        Raises:
            NotFoundError: the scene is not loaded.
            InputError: an empty question, or ``mode=ask`` where no chat is available.
            BackendError: the policy or segmenter failed.
        """
        from agent.run import run_query

        question = req.question.strip()
        if not question:
            raise InputError("the question is empty; say what to find, e.g. 'schools'")
        mode = req.mode
        if mode == "ask" and not self.chat_available:
            raise InputError("spatial questions need agent.chat, which this installation lacks; use mode segment")
        if mode == "auto":
            mode = "ask" if self.chat_available else "segment"
        answer_id = uuid.uuid4().hex[:12]
        with self._lock:
            scene = self._scene(req.scene_id).scene
            self._scenes.move_to_end(req.scene_id)
            if scene.scene_id not in self.store:
                self.store.put(scene)
            if mode == "ask":
                from agent.serving.chat_answers import from_chat

                record = from_chat(answer_id, scene, question, self.backends)
            else:
                t0 = time.perf_counter()
                result = run_query(scene, question, store=self.store, **self.backends.run_kwargs())
                record = from_segmentation(answer_id, scene, question, result)
                record.seconds = time.perf_counter() - t0
            self._answers[answer_id] = record
            while len(self._answers) > self.settings.max_answers:
                self._answers.popitem(last=False)
        return record

    def answer(self, answer_id: str) -> AnswerRecord:
        """Return a kept answer.

        Raises:
            NotFoundError: no answer with this id (or it was dropped, the oldest first).
        """
        with self._lock:
            record = self._answers.get(answer_id)
        if record is None:
            raise NotFoundError(f"no answer {answer_id!r}; ask again (the server keeps the last "
                                f"{self.settings.max_answers})")  # fmt: skip
        return record

    def describe(self) -> dict[str, Any]:
        """Return the backends' spec strings (for /api/health)."""
        return {"policy": self.config.policy_spec(), "segmenter": self.config.segmenter_spec()}
