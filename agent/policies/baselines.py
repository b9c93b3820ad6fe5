"""Evaluation baselines: the segmenter's ceiling (boxes from the truth) and the floor (random boxes).

Both answer text in the reference format, in image pixels (``ModelFrame("pixel")``), so their answers go
through the same parser, trace and metrics as any policy's.

- `OracleBoxPolicy` reads ``scene.truth`` (only `socio eval` sets it): one box per 8-connected truth
  component larger than `tools.instances.MIN_INSTANCE_AREA` pixels (the metric's own instances). In refine
  it adds one positive point per box, at the component's most interior pixel. Its score is what the
  segmenter makes of perfect boxes: the ceiling of any box-prompting policy with that segmenter.
- `RandomBoxPolicy` answers 1-2 boxes of plausible size (10-35% of the image side) at random places,
  deterministically per (seed, scene id); in refine it keeps its boxes and adds one random point inside
  each. Its score is the floor: what knowing nothing earns.
"""

from __future__ import annotations

import time
import zlib

import numpy as np

from agent.parsing import ParsedItem, format_answer
from agent.policies import BasePolicy, PolicyReply, PolicyRequest, ReplyMeta
from tools.coords import ModelFrame
from tools.errors import InputError
from tools.instances import MIN_INSTANCE_AREA, component_boxes, components


def _reply(name: str, text: str, t0: float, seed: int | None = None) -> PolicyReply:
    return PolicyReply(
        text=text,
        frame=ModelFrame("pixel"),
        prompt=f"({name} baseline: no prompt)",
        latency_s=time.perf_counter() - t0,
        meta=ReplyMeta(policy=name, seed=seed),
    )


class OracleBoxPolicy(BasePolicy):
    """Answer the bounding boxes of the ground truth's connected components (needs ``scene.truth``)."""

    name = "oracle-box"

    def __init__(self, min_area: int | None = None) -> None:
        """Create the oracle.

        Args:
            min_area: truth components of this many pixels or fewer are skipped (default: the metric's
                `tools.instances.MIN_INSTANCE_AREA`).
        """
        self.min_area = MIN_INSTANCE_AREA if min_area is None else int(min_area)

    def _items(self, request: PolicyRequest, with_points: bool) -> list[ParsedItem]:
        truth = request.scene.truth
        if truth is None:
            raise InputError("oracle-box needs ground truth; it only runs under socio eval")
        found = component_boxes(truth, self.min_area)
        boxes = [(float(x1), float(y1), float(x2), float(y2)) for x1, y1, x2, y2 in found]
        if not with_points:
            return [ParsedItem(box=b) for b in boxes]
        import cv2

        items = []
        for box, comp in zip(boxes, components(truth, self.min_area), strict=True):  # both in label order
            dist = cv2.distanceTransform(comp.astype(np.uint8), cv2.DIST_L2, 3)
            y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
            items.append(ParsedItem(box=box, points=[(float(x) + 0.5, float(y) + 0.5)]))
        return items

    def localize(self, request: PolicyRequest) -> PolicyReply:
        """Answer one box per truth component.

        Raises:
            InputError: the scene has no truth mask.
        """
        t0 = time.perf_counter()
        items = self._items(request, with_points=False)
        think = f"Oracle: the ground truth has {len(items)} component(s) larger than {self.min_area} px."
        return _reply(self.name, format_answer(items, think), t0)

    def refine(self, request: PolicyRequest) -> PolicyReply:
        """Answer the same boxes, each with a positive point at its component's most interior pixel.

        Raises:
            InputError: the scene has no truth mask.
        """
        t0 = time.perf_counter()
        items = self._items(request, with_points=True)
        think = f"Oracle: {len(items)} truth box(es), each with its most interior pixel as a point."
        return _reply(self.name, format_answer(items, think), t0)


class RandomBoxPolicy(BasePolicy):
    """Answer 1-2 random boxes of plausible size, the same ones for the same (seed, scene id)."""

    name = "random-box"

    def __init__(self, seed: int = 0, min_frac: float = 0.1, max_frac: float = 0.35, max_boxes: int = 2) -> None:
        """Create the baseline.

        Args:
            seed: the same seed and scene id always give the same boxes.
            min_frac: smallest box side, as a fraction of the image side.
            max_frac: largest box side, as a fraction of the image side.
            max_boxes: answer between 1 and this many boxes.

        Raises:
            InputError: the fractions are not 0 < min_frac <= max_frac <= 1, or max_boxes < 1.
        """
        if not 0 < min_frac <= max_frac <= 1 or max_boxes < 1:
            raise InputError(
                f"random-box needs 0 < min_frac <= max_frac <= 1 and max_boxes >= 1, got "
                f"min_frac={min_frac}, max_frac={max_frac}, max_boxes={max_boxes}"
            )
        self.seed = int(seed)
        self.min_frac, self.max_frac, self.max_boxes = min_frac, max_frac, max_boxes

    def _rng(self, scene_id: str, stage: str, round_: int) -> np.random.Generator:
        key = f"{self.seed}:{scene_id}:{stage}:{round_}".encode()
        return np.random.default_rng(zlib.crc32(key))

    def _boxes(self, request: PolicyRequest) -> list[tuple[float, float, float, float]]:
        h, w = request.scene.hw
        rng = self._rng(request.scene.scene_id, "localize", 0)
        boxes = []
        for _ in range(int(rng.integers(1, self.max_boxes + 1))):
            bw = max(2, round(w * rng.uniform(self.min_frac, self.max_frac)))
            bh = max(2, round(h * rng.uniform(self.min_frac, self.max_frac)))
            x1 = int(rng.integers(0, max(1, w - bw + 1)))
            y1 = int(rng.integers(0, max(1, h - bh + 1)))
            boxes.append((float(x1), float(y1), float(min(w, x1 + bw)), float(min(h, y1 + bh))))
        return boxes

    def localize(self, request: PolicyRequest) -> PolicyReply:
        """Answer 1-2 random boxes."""
        t0 = time.perf_counter()
        items = [ParsedItem(box=b) for b in self._boxes(request)]
        return _reply(self.name, format_answer(items, f"Random: {len(items)} box(es)."), t0, seed=self.seed)

    def refine(self, request: PolicyRequest) -> PolicyReply:
        """Keep the previous boxes (or draw new ones) and add one random point inside each."""
        t0 = time.perf_counter()
        boxes = [p.box.as_list() for p in request.previous] or self._boxes(request)
        rng = self._rng(request.scene.scene_id, "refine", request.round)
        items = []
        for x1, y1, x2, y2 in boxes:
            point = (round(float(rng.uniform(x1, x2)), 1), round(float(rng.uniform(y1, y2)), 1))
            items.append(ParsedItem(box=(x1, y1, x2, y2), points=[point]))
        return _reply(self.name, format_answer(items, f"Random: {len(items)} point(s)."), t0, seed=self.seed)
