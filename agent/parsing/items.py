"""Turn JSON values from an answer into items: an ordered box, its points and their labels.

Accepted shapes, each noted as a `Repair` when it is not the reference's: a box of 4 finite numbers under
``bbox_2d`` (or ``bbox``, ``box``, ...; numbers may be strings; ``[[x1, y1], [x2, y2]]`` and ``{"x1": ...}``
shapes too); points under ``points`` (or ``point``, ``points_2d``, ...) as ``[x, y]`` or ``[x, y, label]``
(label 1 marks the target, 0 the background). Corners are put in order, the box is clipped to the extent when
one is given, and a malformed point or one outside its box is dropped and counted. ``as_written`` reads items
as the SocioReasoner reference passes them to SAM: ``[x, y, anything...]`` is the positive point ``[x, y]``,
and points outside the box and zero-area boxes are kept.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from agent.parsing.codes import Failure, Repair, RepairLog
from agent.parsing.lenient_json import NON_FINITE_WORD, NUMBER, LenientJSONError, loads

BOX_KEYS = ("bbox_2d", "bbox", "box", "bbox2d", "box_2d", "bounding_box", "boundingbox", "bndbox")
"""Keys read as the box, in order of preference (case-insensitive); the first is the reference key."""
POINT_KEYS = ("points", "point", "points_2d", "point_2d", "points2d", "keypoints", "point_coords")
"""Keys read as the points, in order of preference (case-insensitive); the first is the reference key."""
LABEL_KEYS = ("labels", "point_labels", "label")
"""Keys read as separate point labels (a list as long as the points)."""

Stage = Literal["localize", "refine"]
"""The stage an answer comes from: boxes (``localize``) or boxes and points (``refine``)."""

_BOX_NAMES = (("x1", "y1", "x2", "y2"), ("xmin", "ymin", "xmax", "ymax"), ("left", "top", "right", "bottom"))
_POSITIVE = ("1", "1.0", "positive", "pos", "foreground", "fg", "true")
_NEGATIVE = ("0", "0.0", "negative", "neg", "background", "bg", "false")


@dataclass
class ParsedItem:
    """One instance in an answer, in the policy's own frame: an ordered box and its points.

    Attributes:
        box: ``(x1, y1, x2, y2)`` with x1 < x2 and y1 < y2.
        points: ``(x, y)`` prompt points, each inside the box.
        labels: one label per point: 1 marks the target (the default), 0 the background.
    """

    box: tuple[float, float, float, float]
    points: list[tuple[float, float]] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Default every label to 1 and check there is one label per point."""
        if not self.labels and self.points:
            self.labels = [1] * len(self.points)
        if len(self.labels) != len(self.points):
            raise ValueError(f"ParsedItem has {len(self.points)} points but {len(self.labels)} labels")


def as_item_list(value: Any, log: RepairLog) -> list[Any] | None:
    """Return the raw item list an answer value stands for, or None when it stands for none.

    A list is itself; a single box object, a list under the one list-valued key of an object, a bare box of 4
    numbers and a JSON string holding any of these are accepted too.
    """
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("[", "{"):
            try:
                reading = loads(text)
            except (LenientJSONError, RecursionError):
                return None
            log.add(Repair.DOUBLE_ENCODED)
            log.extend(reading.repairs)
            value = reading.value
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, list):
        if len(value) == 4 and all(_is_number(v) for v in value):
            return [value]
        return value
    if isinstance(value, dict):
        if _pick(value, BOX_KEYS, RepairLog())[0]:
            log.add(Repair.SINGLE_OBJECT)
            return [value]
        lists = [v for v in value.values() if isinstance(v, list)]
        if len(lists) == 1:
            log.add(Repair.WRAPPED_LIST)
            return lists[0]
    return None


def read_item(
    raw: Any, stage: Stage, extent: tuple[float, float] | None, log: RepairLog, as_written: bool = False
) -> tuple[ParsedItem | None, Failure | None, int]:
    """Read one raw answer item.

    Args:
        raw: the item's JSON value.
        stage: ``"refine"`` notes an item without points (`Repair.MISSING_POINTS`).
        extent: ``(width, height)`` to clip the box to; None: no clipping.
        log: where the repairs go.
        as_written: the reference's reading: every point positive (a third value and label lists ignored),
            points outside the box and zero-area boxes kept.

    Returns:
        ``(item, None, dropped points)``, or ``(None, failure, 0)`` when the item is unusable.
    """
    points_raw: Any = None
    has_points = False
    labels_raw: Any = None
    if isinstance(raw, dict):
        found, box_raw = _pick(raw, BOX_KEYS, log)
        if not found:
            return None, Failure.NO_BOX, 0
        has_points, points_raw = _pick(raw, POINT_KEYS, log)
        _, labels_raw = _pick(raw, LABEL_KEYS, RepairLog())
    elif isinstance(raw, list | tuple) and len(raw) == 4:
        log.add(Repair.BARE_BOX)
        box_raw = raw
    else:
        return None, Failure.NO_BOX, 0
    nums = _box_numbers(box_raw, log)
    if nums is None:
        return None, Failure.NO_BOX, 0
    if not all(math.isfinite(v) for v in nums):
        return None, Failure.NON_FINITE, 0
    x1, y1, x2, y2 = nums
    if x1 > x2 or y1 > y2:
        log.add(Repair.SWAPPED_CORNERS)
        x1, x2 = min(x1, x2), max(x1, x2)
        y1, y2 = min(y1, y2), max(y1, y2)
    if extent is not None:
        w, h = extent
        if x2 <= 0 or y2 <= 0 or x1 >= w or y1 >= h:
            return None, Failure.BOX_OUTSIDE, 0
        if x1 < 0 or y1 < 0 or x2 > w or y2 > h:
            log.add(Repair.CLIPPED)
            x1, y1, x2, y2 = max(x1, 0.0), max(y1, 0.0), min(x2, float(w)), min(y2, float(h))
    if (x2 <= x1 or y2 <= y1) and not as_written:
        return None, Failure.EMPTY_BOX, 0
    pts, dropped = _points(points_raw, log, as_written)
    if as_written:
        pts = [(x, y, 1) for x, y, _ in pts]
    elif isinstance(labels_raw, list) and len(labels_raw) == len(pts) and pts:
        labels = [_label(v, log) for v in labels_raw]
        if all(v is not None for v in labels):
            pts = [(x, y, int(v)) for (x, y, _), v in zip(pts, labels, strict=True) if v is not None]
    inside = [(x, y, lab) for x, y, lab in pts if as_written or (x1 <= x <= x2 and y1 <= y <= y2)]
    dropped += len(pts) - len(inside)
    if stage == "refine" and not (has_points and inside):
        log.add(Repair.MISSING_POINTS)
    item = ParsedItem(
        box=(x1, y1, x2, y2),
        points=[(x, y) for x, y, _ in inside],
        labels=[lab for _, _, lab in inside],
    )
    return item, None, dropped


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _to_float(x: Any, log: RepairLog) -> float | None:
    """Return x as a float (inf when too large), or None when it is not a number."""
    if _is_number(x):
        try:
            return float(x)
        except OverflowError:
            return math.inf if x > 0 else -math.inf
    if isinstance(x, str):
        m = NUMBER.fullmatch(x.strip())
        if m is not None:
            log.add(Repair.STRING_NUMBERS)
            return float(m.group(0))
        if NON_FINITE_WORD.fullmatch(x.strip()):
            log.add(Repair.STRING_NUMBERS)
            return float(x.strip().lower().replace("infinity", "inf"))
    return None


def _lower_keys(d: dict[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        out.setdefault(str(k).strip().lower(), v)
    return out


def _pick(d: dict[Any, Any], keys: Sequence[str], log: RepairLog) -> tuple[bool, Any]:
    """Return (found, value) for the first of keys in d (case-insensitive); note an alternative key."""
    if keys[0] in d:
        return True, d[keys[0]]
    low = _lower_keys(d)
    for k in keys:
        if k in low:
            log.add(Repair.ALT_KEY)
            return True, low[k]
    return False, None


def _box_numbers(raw: Any, log: RepairLog, depth: int = 0) -> list[float] | None:
    """Return the 4 box numbers of a box value in any accepted shape, or None."""
    if depth > 3:
        return None
    if isinstance(raw, str):
        nums = NUMBER.findall(raw)
        if len(nums) != 4:
            return None
        log.add(Repair.STRING_NUMBERS)
        return [float(v) for v in nums]
    if isinstance(raw, dict):
        low = _lower_keys(raw)
        for names in _BOX_NAMES:
            if all(n in low for n in names):
                log.add(Repair.BOX_SHAPE)
                return _box_numbers([low[n] for n in names], log, depth + 1)
        return None
    if not isinstance(raw, list | tuple):
        return None
    if len(raw) == 1 and isinstance(raw[0], list | tuple | str):
        log.add(Repair.BOX_SHAPE)
        return _box_numbers(raw[0], log, depth + 1)
    if len(raw) == 2 and all(isinstance(p, list | tuple) and len(p) == 2 for p in raw):
        log.add(Repair.BOX_SHAPE)
        raw = [raw[0][0], raw[0][1], raw[1][0], raw[1][1]]
    if len(raw) != 4:
        return None
    out = [_to_float(v, log) for v in raw]
    if any(v is None for v in out):
        return None
    return [v for v in out if v is not None]


def _label(x: Any, log: RepairLog) -> int | None:
    if isinstance(x, bool):
        return int(x)
    if _is_number(x) and x in (0, 1):
        return int(x)
    if isinstance(x, str):
        t = x.strip().lower()
        if t in _POSITIVE:
            log.add(Repair.STRING_NUMBERS)
            return 1
        if t in _NEGATIVE:
            log.add(Repair.STRING_NUMBERS)
            return 0
    return None


def _one_point(raw: Any, log: RepairLog, as_written: bool = False) -> tuple[float, float, int] | None:
    """Return (x, y, label) for one point in any accepted shape, or None when it is malformed.

    With ``as_written`` the label is 1 whatever a third value says (the reference reads ``[x, y, ...]`` as
    ``[x, y]``).
    """
    if isinstance(raw, dict):
        low = _lower_keys(raw)
        if "x" not in low or "y" not in low:
            return None
        log.add(Repair.POINT_SHAPE)
        raw = [low["x"], low["y"], low.get("label", 1)]
    if isinstance(raw, str):
        nums = NUMBER.findall(raw)
        if len(nums) not in (2, 3):
            return None
        log.add(Repair.STRING_NUMBERS)
        raw = nums
    if not isinstance(raw, list | tuple) or (len(raw) < 2 if as_written else len(raw) not in (2, 3)):
        return None
    x, y = _to_float(raw[0], log), _to_float(raw[1], log)
    label = _label(raw[2], log) if len(raw) == 3 and not as_written else 1
    if x is None or y is None or label is None or not (math.isfinite(x) and math.isfinite(y)):
        return None
    return x, y, label


def _points(raw: Any, log: RepairLog, as_written: bool = False) -> tuple[list[tuple[float, float, int]], int]:
    """Return the well-formed points of a points value and how many were malformed."""
    if raw is None:
        return [], 0
    if isinstance(raw, dict):
        raw = [raw]
    if isinstance(raw, str):
        nums = NUMBER.findall(raw)
        log.add(Repair.STRING_NUMBERS)
        raw = [nums[i : i + 2] for i in range(0, len(nums), 2)]
    if not isinstance(raw, list | tuple):
        return [], 1
    if raw and all(_to_float(v, RepairLog()) is not None for v in raw):
        # Flat: one [x, y] or [x, y, label] point, or x, y pairs.
        log.add(Repair.POINT_SHAPE)
        if len(raw) == 2 or (len(raw) == 3 and _label(raw[2], RepairLog()) is not None):
            raw = [raw]
        elif len(raw) % 2 == 0:
            raw = [raw[i : i + 2] for i in range(0, len(raw), 2)]
        else:
            return [], 1
    good: list[tuple[float, float, int]] = []
    bad = 0
    for p in raw:
        q = _one_point(p, log, as_written)
        if q is None:
            bad += 1
        else:
            good.append(q)
    return good, bad
