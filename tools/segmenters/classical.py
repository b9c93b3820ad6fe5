"""The offline default segmenter: box- and point-prompted GrabCut (OpenCV), never worse than the box.

For each prompt, GrabCut runs on a crop around the box (the box plus a margin), downscaled so that its
longer side is at most ``max_side`` pixels. Pixels outside the box are sure background; pixels inside are
probable foreground; positive points are sure-foreground seeds and negative points sure-background seeds.
The result is cleaned (small specks opened away, the components that hold the positive points kept, holes
filled) and upsampled back to scene pixels.

When the result is not trustworthy the segmenter says so and returns the filled box instead
(``sources[i] == "box-fallback"``). It is *unsure* when any of these holds:

- the clipped box is smaller than ``min_box_side`` pixels on a side, or GrabCut raised;
- the mask covers less than ``min_cover`` of the box;
- the mask covers more than ``max_cover`` of the box and its colours do not clearly stand out
  (``separation < sure_separation``): the box is close to the mask anyway, and the safer answer. On
  SynthCity such masks are mostly whole parcels with parts nibbled away (a car park, a row of trees);
- the mask does not span the box: its bounding box is narrower or shorter than ``min_extent`` of the box.
  A box prompt says the object reaches every side of it, so a mask that does not has likely found a part
  (a building inside a campus) rather than the place. A negative point inside the box lifts this rule:
  it says the box holds more than the object;
- the mask is fragmented: more than ``max_parts`` components, or its largest one holds less than
  ``min_main_part`` of it;
- the mask's colours are barely separable from the rest of the crop: ``separation < min_separation``.

``separation`` is the Bhattacharyya (Hellinger) distance between the foreground and background colour
histograms of the downscaled crop (0 = the same colours, 1 = disjoint). The score of a ``model`` mask is
that separation, halved at the ``min_cover``/``min_extent`` bounds and in full 0.1 above them; the score
of a ``box-fallback`` mask is ``FALLBACK_SCORE``. Scores lie in [0, 1].

The thresholds were chosen on SynthCity's val split (40 scenes, 190 places) and on drawn shapes, with
oracle boxes padded by 2 px, 5% and 10% of their size, for the largest worst-case gain in mean IoU over
the box itself (val: +0.012, +0.028, +0.040); ``bench/bench_segmenters.py`` prints the same table on the
test split. On SynthCity the gain is small with tight boxes (parcels are mostly axis-aligned rectangles,
so the box is already good) and grows with looser boxes; on drawn shapes it is large.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from tools.errors import InputError
from tools.schemas import InstancePrompt
from tools.segmenters import SegmentResult, image_key

FALLBACK_SCORE = 0.25
"""Score reported for a box-fallback mask: low, because it is only the box."""


@dataclass(frozen=True)
class ClassicalConfig:
    """Knobs of the classical segmenter (the defaults were chosen as the module docstring says).

    Attributes:
        max_side: the crop is downscaled so that its longer side is at most this many pixels.
        margin: background margin around the box, as a fraction of the box's longer side.
        min_margin: the margin is at least this many scene pixels.
        iterations: GrabCut iterations.
        point_radius: radius of a point seed, as a fraction of the downscaled crop's longer side.
        min_box_side: boxes thinner than this (scene pixels, after clipping) fall back at once.
        min_cover: below this fraction of the box covered, the mask is unsure.
        max_cover: above this fraction of the box covered, the mask is unsure unless its colours stand out.
        sure_separation: a colour separation that lifts the ``max_cover`` rule.
        min_extent: the mask's bounding box must span at least this fraction of the box's width and height
            (unless a negative point lies inside the box).
        max_parts: more components than this and the mask is fragmented.
        min_main_part: the largest component must hold at least this fraction of the mask.
        min_separation: below this colour separation the mask is unsure.
    """

    max_side: int = 160
    margin: float = 0.2
    min_margin: int = 8
    iterations: int = 3
    point_radius: float = 0.02
    min_box_side: int = 4
    min_cover: float = 0.15
    max_cover: float = 0.65
    sure_separation: float = 0.85
    max_parts: int = 4
    min_main_part: float = 0.9
    min_separation: float = 0.4
    min_extent: float = 0.75


class ClassicalSegmenter:
    """Box- and point-prompted GrabCut that falls back to the box when it is unsure.

    Attributes:
        name: ``"classical"``.
        encode_count: how many times a new scene image was taken in (there is no real encoding; the count
            follows the protocol: setting the image already held costs nothing).
        config: the knobs, see `ClassicalConfig`.
    """

    name = "classical"

    def __init__(self, config: ClassicalConfig | None = None, **overrides: float | int) -> None:
        """Create the segmenter.

        Args:
            config: the knobs; the defaults when None.
            **overrides: individual `ClassicalConfig` fields to change, e.g. ``iterations=5``.

        Raises:
            InputError: an override names no `ClassicalConfig` field.
        """
        base = config or ClassicalConfig()
        unknown = sorted(set(overrides) - set(ClassicalConfig.__dataclass_fields__))
        if unknown:
            fields = ", ".join(ClassicalConfig.__dataclass_fields__)
            raise InputError(f"unknown classical segmenter option(s) {unknown}; choose from: {fields}")
        self.config = ClassicalConfig(**{**base.__dict__, **overrides})
        self.encode_count = 0
        self.lock = threading.RLock()
        self._key: str | None = None
        self._image: np.ndarray | None = None

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the knobs only (worker processes get a fresh segmenter: no lock, no scene)."""
        return {"config": self.config}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["config"])

    def set_scene(self, scene_id: str, image: np.ndarray) -> None:
        """Keep an (H, W, 3) uint8 RGB image for later prompts, unless ``scene_id`` is already set.

        Raises:
            InputError: the image is not (H, W, 3) (or (H, W, 4), alpha dropped) uint8.
        """
        key = image_key(scene_id, image)
        with self.lock:
            if key == self._key and self._image is not None:
                return
            self._image = as_rgb_image(image)
            self._key = key
            self.encode_count += 1

    def predict(self, prompts: Sequence[InstancePrompt]) -> SegmentResult:
        """Return one mask per prompt, in scene pixels.

        Args:
            prompts: boxes (XYXY scene pixels, may reach outside the image) with optional points.

        Returns:
            masks (N, H, W) bool, scores (N,) float32 in [0, 1], sources ``"model"`` or ``"box-fallback"``.

        Raises:
            RuntimeError: no scene was set.
        """
        if self._image is None:
            raise RuntimeError("call set_scene(...) first")
        h, w = self._image.shape[:2]
        masks = np.zeros((len(prompts), h, w), dtype=bool)
        scores = np.zeros(len(prompts), dtype=np.float32)
        sources: list[str] = []
        for i, prompt in enumerate(prompts):
            scores[i], source = self._segment_one(self._image, prompt, masks[i])
            sources.append(source)
        return SegmentResult(masks=masks, scores=scores, sources=sources)

    def _segment_one(self, image: np.ndarray, prompt: InstancePrompt, out: np.ndarray) -> tuple[float, str]:
        """Write one mask into ``out`` (H, W) and return its score and source."""
        cfg = self.config
        h, w = image.shape[:2]
        bx1, by1, bx2, by2 = _pixel_box(prompt.box.as_list(), w, h)
        if bx2 - bx1 < cfg.min_box_side or by2 - by1 < cfg.min_box_side:
            out[by1:by2, bx1:bx2] = True
            return FALLBACK_SCORE, "box-fallback"
        crop_mask = self._grabcut(image, prompt, (bx1, by1, bx2, by2))
        if crop_mask is None:
            out[by1:by2, bx1:bx2] = True
            return FALLBACK_SCORE, "box-fallback"
        (cx1, cy1, cx2, cy2), mask, score = crop_mask
        out[cy1:cy2, cx1:cx2] = mask
        return score, "model"

    def _grabcut(
        self, image: np.ndarray, prompt: InstancePrompt, box: tuple[int, int, int, int]
    ) -> tuple[tuple[int, int, int, int], np.ndarray, float] | None:
        """Run GrabCut around one box; return (crop window, crop mask, score), or None when unsure."""
        cfg = self.config
        h, w = image.shape[:2]
        bx1, by1, bx2, by2 = box
        pad = max(cfg.min_margin, round(cfg.margin * max(bx2 - bx1, by2 - by1)))
        cx1, cy1, cx2, cy2 = max(bx1 - pad, 0), max(by1 - pad, 0), min(bx2 + pad, w), min(by2 + pad, h)
        crop = image[cy1:cy2, cx1:cx2]
        scale = min(1.0, cfg.max_side / max(cx2 - cx1, cy2 - cy1))
        sw, sh = max(1, round((cx2 - cx1) * scale)), max(1, round((cy2 - cy1) * scale))
        small = cv2.resize(crop, (sw, sh), interpolation=cv2.INTER_AREA) if scale < 1.0 else crop.copy()
        small = cv2.GaussianBlur(small, (3, 3), 0)

        # Box in crop pixels after downscaling.
        rx1, ry1 = int((bx1 - cx1) * scale), int((by1 - cy1) * scale)
        rx2, ry2 = min(sw, int(np.ceil((bx2 - cx1) * scale))), min(sh, int(np.ceil((by2 - cy1) * scale)))
        seeds = np.full((sh, sw), cv2.GC_BGD, dtype=np.uint8)
        seeds[ry1:ry2, rx1:rx2] = cv2.GC_PR_FGD
        radius = max(1, round(cfg.point_radius * max(sw, sh)))
        positives: list[tuple[int, int]] = []
        negatives: list[tuple[int, int]] = []
        for p in prompt.points:
            px, py = int((p.x - cx1) * scale), int((p.y - cy1) * scale)
            if not (0 <= px < sw and 0 <= py < sh):
                continue  # a point outside the crop says nothing about this box
            (positives if p.label == 1 else negatives).append((px, py))
        for px, py in negatives:
            cv2.circle(seeds, (px, py), radius, cv2.GC_BGD, -1)
        for px, py in positives:
            cv2.circle(seeds, (px, py), radius, cv2.GC_FGD, -1)
        box_area = (rx2 - rx1) * (ry2 - ry1)
        negatives_in_box = any(rx1 <= px < rx2 and ry1 <= py < ry2 for px, py in negatives)
        if box_area == 0 or not (seeds == cv2.GC_BGD).any():
            return None

        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        try:
            # GrabCut's k-means draws from OpenCV's per-thread RNG: seed it so that the same image and
            # prompts give the same mask on every run, thread and worker.
            cv2.setRNGSeed(0)
            cv2.grabCut(small, seeds, None, bgd, fgd, cfg.iterations, cv2.GC_INIT_WITH_MASK)
        except cv2.error:
            return None
        fg = ((seeds == cv2.GC_FGD) | (seeds == cv2.GC_PR_FGD)).astype(np.uint8)
        fg = _clean(fg, positives, negatives)
        if fg is None:
            return None

        ys, xs = np.nonzero(fg)
        extent = min((xs.max() + 1 - xs.min()) / (rx2 - rx1), (ys.max() + 1 - ys.min()) / (ry2 - ry1))
        cover = float(fg.sum()) / box_area
        n_parts, main_share = _fragmentation(fg)
        separation = _separation(small, fg)
        if (
            cover < cfg.min_cover
            or (cover > cfg.max_cover and separation < cfg.sure_separation)
            or n_parts > cfg.max_parts
            or main_share < cfg.min_main_part
            or separation < cfg.min_separation
            or (extent < cfg.min_extent and not negatives_in_box)
        ):
            return None

        full = cv2.resize(fg.astype(np.float32), (cx2 - cx1, cy2 - cy1), interpolation=cv2.INTER_LINEAR) >= 0.5
        full[: by1 - cy1, :] = False
        full[by2 - cy1 :, :] = False
        full[:, : bx1 - cx1] = False
        full[:, bx2 - cx1 :] = False
        margin = min(cover - cfg.min_cover, 1.0 if negatives_in_box else extent - cfg.min_extent)
        score = float(np.clip(separation * (0.5 + 0.5 * min(1.0, margin / 0.1)), 0.0, 1.0))
        return (cx1, cy1, cx2, cy2), full, score


def as_rgb_image(image: np.ndarray) -> np.ndarray:
    """Return a contiguous (H, W, 3) uint8 copy of an RGB or RGBA image, or raise InputError."""
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4) or arr.dtype != np.uint8:
        raise InputError(
            f"segmenter images must be (H, W, 3) uint8 RGB, got shape {arr.shape} dtype {arr.dtype}; "
            "convert with np.asarray(PIL.Image.open(path).convert('RGB'))"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InputError(f"segmenter image is empty (shape {arr.shape}); pass a non-empty (H, W, 3) image")
    return np.ascontiguousarray(arr[:, :, :3])


def _pixel_box(box: list[float], w: int, h: int) -> tuple[int, int, int, int]:
    """Round an XYXY float box outward to whole pixels, clipped to the image (may come out empty)."""
    x1, y1, x2, y2 = box
    ix1, iy1 = min(max(int(np.floor(x1)), 0), w), min(max(int(np.floor(y1)), 0), h)
    ix2, iy2 = min(max(int(np.ceil(x2)), 0), w), min(max(int(np.ceil(y2)), 0), h)
    return ix1, iy1, max(ix1, ix2), max(iy1, iy2)


def _clean(fg: np.ndarray, positives: list[tuple[int, int]], negatives: list[tuple[int, int]]) -> np.ndarray | None:
    """Open away specks, keep the components that matter, and fill holes; None if nothing is left.

    The kept components are those that hold a positive point; without positive points, the largest one
    plus any other at least a quarter of its size. A hole is filled unless it holds a negative point.
    """
    opened = cv2.morphologyEx(fg, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    if opened.any():
        fg = opened
    n, labels, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    if n <= 1:
        return None
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = {int(labels[y, x]) for x, y in positives if labels[y, x] > 0}
    if not keep:
        biggest = int(areas.max())
        keep = {i + 1 for i, a in enumerate(areas) if a >= 0.25 * biggest}
    kept = np.isin(labels, list(keep)).astype(np.uint8)

    # Holes: background components that do not touch the crop border.
    nb, blabels = cv2.connectedComponents(1 - kept, connectivity=4)
    border = np.unique(np.concatenate([blabels[0], blabels[-1], blabels[:, 0], blabels[:, -1]]))
    blocked = {int(blabels[y, x]) for x, y in negatives}
    holes = [i for i in range(1, nb) if i not in set(border.tolist()) and i not in blocked]
    if holes:
        kept[np.isin(blabels, holes)] = 1
    return kept


def _fragmentation(fg: np.ndarray) -> tuple[int, float]:
    """Return the number of 8-connected components and the share of the mask in the largest."""
    n, _, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    if n <= 1:
        return 0, 0.0
    return n - 1, float(areas.max()) / float(areas.sum())


def _separation(image: np.ndarray, fg: np.ndarray) -> float:
    """Return the Bhattacharyya distance of the foreground and background colour histograms, in [0, 1]."""
    bins, ranges = [8, 8, 8], [0, 256, 0, 256, 0, 256]
    fg8 = fg.astype(np.uint8)
    h_fg = cv2.calcHist([image], [0, 1, 2], fg8, bins, ranges)
    h_bg = cv2.calcHist([image], [0, 1, 2], 1 - fg8, bins, ranges)
    if h_fg.sum() == 0 or h_bg.sum() == 0:
        return 0.0
    return float(np.clip(cv2.compareHist(h_fg, h_bg, cv2.HISTCMP_BHATTACHARYYA), 0.0, 1.0))
