"""The scene store: pixels, masks and rendered images by id, so that graph state holds only ids.

The store is bounded: it keeps the most recently used ``max_scenes`` scenes, and a scene's masks and
images leave with it; ``max_items`` and ``max_images`` (optional) also bound the masks and the images kept per
scene (the oldest go first), for a long-running server whose clients query the same scene over and over.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from tools.errors import SceneNotFoundError, ToolError
from tools.scene import Scene


@dataclass
class _Entry:
    scene: Scene
    masks: dict[str, np.ndarray] = field(default_factory=dict)
    images: dict[str, np.ndarray] = field(default_factory=dict)


class SceneStore:
    """Scenes, masks and images by id, bounded in memory and safe to share between threads."""

    def __init__(self, max_scenes: int = 8, max_items: int | None = None, max_images: int | None = None) -> None:
        """Create an empty store: ``max_scenes`` scenes, each with ``max_items`` masks and ``max_images`` images.

        ``max_images`` defaults to ``max_items``; None keeps every mask (or image) until its scene leaves.
        """
        if max_scenes < 1:
            raise ValueError(f"max_scenes must be at least 1, got {max_scenes}")
        if max_items is not None and max_items < 1:
            raise ValueError(f"max_items must be at least 1, got {max_items}")
        self.max_scenes = max_scenes
        self.max_items = max_items
        self.max_images = max_images if max_images is not None else max_items
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._counter = 0

    def put(self, scene: Scene) -> str:
        """Add (or replace) a scene and return its id."""
        with self._lock:
            self._entries[scene.scene_id] = _Entry(scene)
            self._entries.move_to_end(scene.scene_id)
            while len(self._entries) > self.max_scenes:
                self._entries.popitem(last=False)
        return scene.scene_id

    def get(self, scene_id: str) -> Scene:
        """Return a scene, or raise `SceneNotFoundError` naming the fix."""
        return self._entry(scene_id).scene

    def __contains__(self, scene_id: object) -> bool:
        return scene_id in self._entries

    def _entry(self, scene_id: str) -> _Entry:
        with self._lock:
            entry = self._entries.get(scene_id)
            if entry is None:
                raise SceneNotFoundError(scene_id)
            self._entries.move_to_end(scene_id)
            return entry

    def _new_id(self, scene_id: str, prefix: str) -> str:
        with self._lock:
            self._counter += 1
            return f"{scene_id}:{prefix}{self._counter}"

    def put_mask(self, scene_id: str, mask: np.ndarray) -> str:
        """Store an (H, W) mask of a scene and return its id."""
        entry = self._entry(scene_id)
        if mask.shape != entry.scene.hw:
            raise ToolError(f"mask shape {mask.shape} does not match scene {scene_id!r} of size {entry.scene.hw}")
        mask_id = self._new_id(scene_id, "mask")
        with self._lock:
            entry.masks[mask_id] = mask.astype(bool, copy=False)
            self._trim(entry.masks, self.max_items)
        return mask_id

    @staticmethod
    def _trim(items: dict[str, np.ndarray], limit: int | None) -> None:
        while limit is not None and len(items) > limit:
            del items[next(iter(items))]

    def get_mask(self, mask_id: str) -> np.ndarray:
        """Return a stored (H, W) bool mask."""
        with self._lock:
            entry = self._entries.get(mask_id.rsplit(":", 1)[0])
            mask = entry.masks.get(mask_id) if entry is not None else None
        if mask is None:
            raise ToolError(f"no mask {mask_id!r} in the scene store; masks come from sam_segment")
        return mask

    def put_image(self, scene_id: str, image: np.ndarray, prefix: str = "img") -> str:
        """Store an (H, W, 3) uint8 image derived from a scene (an overlay) and return its id."""
        entry = self._entry(scene_id)
        image_id = self._new_id(scene_id, prefix)
        with self._lock:
            entry.images[image_id] = image
            self._trim(entry.images, self.max_images)
        return image_id

    def release(self, ids: list[str]) -> None:
        """Forget masks and images by id (ids of scenes no longer held are ignored)."""
        with self._lock:
            for i in ids:
                entry = self._entries.get(i.rsplit(":", 1)[0])
                if entry is not None:
                    entry.masks.pop(i, None)
                    entry.images.pop(i, None)

    def get_image(self, image_id: str) -> np.ndarray:
        """Return a stored image."""
        with self._lock:
            entry = self._entries.get(image_id.rsplit(":", 1)[0])
            image = entry.images.get(image_id) if entry is not None else None
        if image is None:
            raise ToolError(f"no image {image_id!r} in the scene store; images come from render_overlay")
        return image
