"""The query plan of a sample: its level, the classes of its target instances and of its distractors.

The plan comes first and the city is built around it, so the level proportions, the multi-instance rate and
the confusable neighbours are controlled rather than left to chance. Class- and function-level truth
still covers every instance of the class or function that ends up in the tile (the layout never adds one
the plan did not ask for), and a function-level plan names only a function no clutter serves (see
`evals.synthcity.splits`: no "places for living" while houses fill the tile, unlabelled).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evals.synthcity.places import SIZES
from evals.synthcity.splits import LEVEL_WEIGHTS, SplitSpec
from tools.taxonomy import CLASSES

P_MULTI = {"name": 0.0, "class": 0.45, "function": 0.6}
"""Probability that a class- or function-level sample asks for more than one target instance."""

P_SAME_CLASS_DECOY = 0.35
"""Probability that a name-level sample gets a second, non-target instance of the target's class."""

MULTI_OK = tuple(c for c, (lo, _hi, _a, _b) in SIZES.items() if lo <= 150)
"""Classes small enough that two of them fit one tile."""

CONFUSERS: dict[str, tuple[str, ...]] = {
    "school": ("university", "park", "stadium", "residential_compound"),
    "university": ("school", "park", "office_park", "residential_compound"),
    "kindergarten": ("school", "clinic", "residential_compound"),
    "hospital": ("parking_lot", "office_park", "clinic", "residential_compound"),
    "clinic": ("hospital", "kindergarten", "parking_lot"),
    "park": ("cemetery", "zoo", "stadium", "residential_compound"),
    "zoo": ("park", "cemetery"),
    "stadium": ("school", "park", "university", "parking_lot"),
    "shopping_mall": ("warehouse", "parking_lot", "office_park"),
    "office_park": ("shopping_mall", "hospital", "residential_compound"),
    "residential_compound": ("office_park", "hospital", "university"),
    "factory": ("warehouse", "water_works"),
    "warehouse": ("shopping_mall", "factory", "parking_lot"),
    "railway_station": ("parking_lot", "warehouse", "shopping_mall"),
    "parking_lot": ("shopping_mall", "hospital"),
    "water_works": ("factory", "park"),
    "cemetery": ("park", "zoo"),
}
"""Classes that look like, or sit beside, each class: preferred distractors."""


@dataclass
class Plan:
    """What a sample asks for.

    Attributes:
        level: ``name``, ``class`` or ``function``.
        targets: classes of the target instances to place; the first is the primary (always placed).
        distractors: classes of non-target places to try to place.
        target_class: the class a class-level query names (None otherwise).
        target_function: the function a function-level query names, else the targets' function.
    """

    level: str
    targets: list[str]
    distractors: list[str]
    target_class: str | None
    target_function: str


def _choice(rng: np.random.Generator, items: list[str] | tuple[str, ...]) -> str:
    return str(items[int(rng.integers(len(items)))])


def make_plan(rng: np.random.Generator, spec: SplitSpec) -> Plan:
    """Draw the level, targets and distractors of one sample of a split."""
    levels = list(LEVEL_WEIGHTS)
    level = levels[int(rng.choice(len(levels), p=[LEVEL_WEIGHTS[k] for k in levels]))]
    target_class: str | None = None
    if level == "function":
        function = _choice(rng, spec.target_functions)
        members = [c for c in spec.target_classes if CLASSES[c].function == function]
        targets = [_choice(rng, members)]
        if rng.random() < P_MULTI["function"]:
            small = [c for c in members if c in MULTI_OK] or members
            targets.append(_choice(rng, small))
            if rng.random() < 0.2:
                targets.append(_choice(rng, small))
        excluded = set(members)
    else:
        target_class = _choice(rng, spec.target_classes)
        function = CLASSES[target_class].function
        targets = [target_class]
        if level == "class" and target_class in MULTI_OK and rng.random() < P_MULTI["class"]:
            targets.append(target_class)
            if rng.random() < 0.2:
                targets.append(target_class)
        excluded = {target_class} if level == "class" else set()
    # the station needs the rail line the layout draws beside the primary, so it goes first
    targets.sort(key=lambda c: c != "railway_station")
    pool = [c for c in spec.tile_classes if c not in excluded]
    confusers = [c for t in targets for c in CONFUSERS[t] if c in pool]
    distractors: list[str] = []
    if level == "name" and target_class in MULTI_OK and rng.random() < P_SAME_CLASS_DECOY:
        distractors.append(target_class)
    for _ in range(int(rng.integers(2, 6))):
        src = confusers if confusers and rng.random() < 0.5 else pool
        distractors.append(_choice(rng, src))
    if "railway_station" in distractors and "railway_station" not in targets:
        distractors.remove("railway_station")
        distractors.insert(0, "railway_station")
    return Plan(level, targets, distractors, target_class, function)
