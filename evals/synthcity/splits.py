"""SynthCity splits: which classes, map styles and region looks each split draws from.

``train``, ``val`` and ``test`` share one distribution and differ only in their seed streams. Three
out-of-distribution splits change one thing each:

- ``ood-mapstyle``: the map is drawn in a style never used by train/val/test (``gmap``).
- ``ood-region``: the satellite image has an unseen region look (``arid``: sand-coloured ground, dry
  vegetation, flat pale roofs, dusty roads).
- ``ood-classes``: every target is of a class held out of train/val/test (`HELD_OUT_CLASSES`); those classes
  never appear in train/val/test tiles at all, not even as distractors.

Function-level queries name only functions whose truth can be complete: every class of the function that
may appear in a tile is a target class, and no clutter serves it. Houses, mid-rise blocks and towers are
places for living and shop rows (with shop POIs on the map) places for business, yet clutter is never truth;
so ``residential`` and ``commerce`` (`evals.synthcity.clutter.CLUTTER_FUNCTIONS`) get no function-level
query. Their places are still asked for by name and by class ("residential compounds", "shopping malls").

>>> get_split("ood-classes").target_classes
('kindergarten', 'zoo', 'water_works', 'cemetery')
>>> "zoo" in get_split("train").tile_classes
False
>>> "residential" in get_split("train").target_functions
False
"""

from __future__ import annotations

from dataclasses import dataclass

from evals.synthcity.clutter import CLUTTER_FUNCTIONS
from tools.errors import InputError
from tools.taxonomy import CLASSES, FUNCTIONS

SPLITS: tuple[str, ...] = ("train", "val", "test", "ood-mapstyle", "ood-region", "ood-classes")
"""The six split names."""

SYNTHCITY_CLASSES: tuple[str, ...] = (
    "school", "university", "kindergarten", "hospital", "clinic", "park", "zoo", "stadium", "shopping_mall",
    "office_park", "residential_compound", "factory", "warehouse", "railway_station", "parking_lot", "water_works",
    "cemetery",
)  # fmt: skip
"""The classes SynthCity draws, in their fixed order: the taxonomy's core (`tools.taxonomy.core`), not all of it."""

HELD_OUT_CLASSES: tuple[str, ...] = ("kindergarten", "zoo", "water_works", "cemetery")
"""Classes that never appear in train/val/test tiles; the only targets of ``ood-classes``."""

TRAIN_MAP_STYLES: tuple[str, ...] = ("amap", "amap_fresh")
"""Map styles of train/val/test (and of ood-region and ood-classes)."""

HELD_OUT_MAP_STYLE = "gmap"
"""The map style only ``ood-mapstyle`` uses."""

TRAIN_REGIONS: tuple[str, ...] = ("temperate",)
"""Satellite region looks of every split but ``ood-region``."""

HELD_OUT_REGION = "arid"
"""The satellite region look only ``ood-region`` uses."""

LEVEL_WEIGHTS: dict[str, float] = {"name": 0.43, "class": 0.39, "function": 0.18}
"""Query level proportions, as in SocioSeg (name 42.7%, class 38.7%, function 18.6%)."""

_SEEN = tuple(k for k in SYNTHCITY_CLASSES if k not in HELD_OUT_CLASSES)


@dataclass(frozen=True)
class SplitSpec:
    """What one split draws from.

    Attributes:
        name: the split name.
        code: a small stable integer mixed into every sample's seed, so splits never share a stream.
        target_classes: classes a query may target.
        tile_classes: classes that may appear in a tile at all (targets and distractors).
        target_functions: functions a function-level query may name; each has all its tile classes among
            ``target_classes`` and no clutter kind (see the module docstring), so every place or parcel that
            serves the function is in the truth.
        map_styles: map styles drawn uniformly.
        regions: satellite region looks drawn uniformly.
    """

    name: str
    code: int
    target_classes: tuple[str, ...]
    tile_classes: tuple[str, ...]
    target_functions: tuple[str, ...]
    map_styles: tuple[str, ...]
    regions: tuple[str, ...]


def _functions_covered(target: tuple[str, ...], tile: tuple[str, ...]) -> tuple[str, ...]:
    out = []
    for f in FUNCTIONS:
        if f in CLUTTER_FUNCTIONS.values():  # clutter of this function fills tiles and is never truth
            continue
        in_tile = [c for c in tile if CLASSES[c].function == f]
        if in_tile and all(c in target for c in in_tile):
            out.append(f)
    return tuple(out)


def _spec(
    name: str,
    code: int,
    target: tuple[str, ...],
    tile: tuple[str, ...],
    styles: tuple[str, ...],
    regions: tuple[str, ...],
) -> SplitSpec:
    return SplitSpec(name, code, target, tile, _functions_covered(target, tile), styles, regions)


_SPECS: dict[str, SplitSpec] = {
    s.name: s
    for s in (
        _spec("train", 1, _SEEN, _SEEN, TRAIN_MAP_STYLES, TRAIN_REGIONS),
        _spec("val", 2, _SEEN, _SEEN, TRAIN_MAP_STYLES, TRAIN_REGIONS),
        _spec("test", 3, _SEEN, _SEEN, TRAIN_MAP_STYLES, TRAIN_REGIONS),
        _spec("ood-mapstyle", 4, _SEEN, _SEEN, (HELD_OUT_MAP_STYLE,), TRAIN_REGIONS),
        _spec("ood-region", 5, _SEEN, _SEEN, TRAIN_MAP_STYLES, (HELD_OUT_REGION,)),
        _spec("ood-classes", 6, HELD_OUT_CLASSES, SYNTHCITY_CLASSES, TRAIN_MAP_STYLES, TRAIN_REGIONS),
    )
}


def get_split(name: str) -> SplitSpec:
    """Return the spec of a split, or raise `InputError` listing the valid names."""
    spec = _SPECS.get(name)
    if spec is None:
        raise InputError(f"unknown SynthCity split {name!r}; choose one of: {', '.join(SPLITS)}")
    return spec
