"""Non-target parcels: houses, mid-rise blocks, shop rows, small sheds, lawns, vacant lots, ponds.

Clutter fills every parcel that holds no place. Its looks overlap the places' on purpose (a lawn with trees
is no park, a shed is no factory) but it never carries a socio-class. Recipes share the canonical frame of
`evals.synthcity.places` (front along y = h) and return the drawing plus, for some, a point where a
shop-like POI may sit.
"""

from __future__ import annotations

import numpy as np

from evals.synthcity.drawing import Building, Drawing, TolerantRng, blob, rect, scatter
from evals.synthcity.features import cars_at, parking, perimeter_trees, tree_clump
from evals.synthcity.places import orientation

KINDS = ("houses", "midrise", "shops", "green", "vacant", "sheds", "towers", "pond")

CLUTTER_FUNCTIONS: dict[str, str | None] = {
    "houses": "residential",
    "midrise": "residential",
    "towers": "residential",
    "shops": "commerce",
    "green": None,
    "vacant": None,
    "sheds": None,
    "pond": None,
}
"""The socio-function a clutter kind serves in plain words (None: none a query names).

Houses, mid-rise blocks and towers are where people live; a row of shops, with shop POIs on the map, is
commerce. A query for "places for living" or "places for business" is answered by them as much as by a
residential compound or a mall, yet clutter is never in the truth; so SynthCity never asks a function-level
query for a function listed here (`evals.synthcity.splits`). An unnamed lawn is no park and a shed no
factory (the look-alikes are the point): recreation and industry queries stay.
"""


def _houses(d: Drawing, rng: np.random.Generator, w: float, h: float, arid: bool) -> list[tuple[float, float]]:
    d.ground(rect(0, 0, w, h), "yard" if not arid else "soil")
    rows = [(h, 1)] if h < 45 else [(h, 1), (0.0, -1)]
    depth = h if len(rows) == 1 else h / 2
    roof_key = "roof_house"
    row_roof = f"{roof_key}:{int(rng.integers(0, 8))}"
    for y_edge, sign in rows:
        x = 0.0
        while x < w - 10:
            lot = min(rng.uniform(13, 22), w - x)
            if lot < 10:
                break
            y_front = y_edge - sign * rng.uniform(4, 8)
            hd = min(rng.uniform(8, 12), depth - 8)
            hw = min(rng.uniform(8, 13), lot - 3)
            if hd < 5 or hw < 5:
                x += lot
                continue
            ya, yb = sorted((y_front, y_front - sign * hd))
            xa = x + rng.uniform(1.5, max(1.6, lot - hw - 1.5))
            roof = row_roof if rng.random() < 0.6 else f"{roof_key}:{int(rng.integers(0, 8))}"
            if arid:
                d.building(Building(rect(xa, ya, xa + hw, yb), rng.uniform(4, 8), roof, "flat", units=0.6))
                d.paint(
                    rect(
                        x + 0.3, min(y_edge, y_edge - sign * depth), x + lot - 0.3, max(y_edge, y_edge - sign * depth)
                    ),
                    0.4,
                    "wall",
                    closed=True,
                )
            else:
                d.ground(rect(x + 0.5, min(ya, yb) - 3, x + lot - 0.5, max(ya, yb) + 3), "lawn")
                d.building(Building(rect(xa, ya, xa + hw, yb), rng.uniform(5, 9), roof, "gable", np.array([1.0, 0.0])))
            by = ya - 6 if sign > 0 else yb + 2
            d.add_trees(
                scatter(
                    rng,
                    (x + 1, min(by, by + 4), x + lot - 1, max(by, by + 4)),
                    int(rng.integers(0, 3)),
                    (2.0, 4.0),
                    2 if arid else 0,
                )
            )
            if not arid and rng.random() < 0.05:
                d.ground(rect(xa, by, xa + 6, by + 3.5), "pool")
            if rng.random() < 0.4:
                cy = y_edge - sign * 2.5
                cars_at(
                    d, rng, np.array([[xa + hw + 2.5 if xa + hw + 4 < x + lot else xa + 2, cy]]), np.array([np.pi / 2])
                )
            x += lot
    return []


def _midrise(d: Drawing, rng: np.random.Generator, w: float, h: float, arid: bool) -> list[tuple[float, float]]:
    d.ground(rect(0, 0, w, h), "paving")
    roof = f"roof_mid:{int(rng.integers(0, 8))}"
    pois = []
    n = int(rng.integers(1, 4))
    for k in range(n):
        bw = (w - 6) / n - 6
        if bw < 10:
            break
        x = 4 + k * (bw + 6)
        bh = rng.uniform(0.35, 0.65) * h
        y = rng.uniform(3, max(3.5, h - bh - 12))
        d.building(Building(rect(x, y, x + bw, y + bh), rng.uniform(12, 40), roof, "flat", units=rng.uniform(0.2, 0.7)))
        pois.append((x + bw / 2, y + bh / 2))
    if h > 50:
        parking(d, rng, 4, h - 18, w - 4, h - 2, occupancy=0.5)
    d.add_trees(scatter(rng, (1, 1, w - 1, h - 1), int(w * h / 1500), (2.0, 3.5), 2 if arid else 0))
    return pois


def _shops(d: Drawing, rng: np.random.Generator, w: float, h: float, arid: bool) -> list[tuple[float, float]]:
    d.ground(rect(0, 0, w, h), "paving")
    depth = min(rng.uniform(12, 20), h * 0.5)
    x = 2.0
    pois = []
    while x < w - 8:
        sw = min(rng.uniform(8, 25), w - x - 2)
        if sw < 6:
            break
        d.building(
            Building(
                rect(x, h - depth - 3, x + sw, h - 3),
                rng.uniform(5, 12),
                f"roof_mid:{int(rng.integers(8))}",
                "flat",
                units=0.5,
            )
        )
        pois.append((x + sw / 2, h - depth / 2 - 3))
        x += sw + rng.uniform(0, 2)
    if h - depth > 22:
        parking(d, rng, 3, 3, w - 3, h - depth - 6, occupancy=0.6)
    return pois


def _green(d: Drawing, rng: np.random.Generator, w: float, h: float, arid: bool) -> list[tuple[float, float]]:
    d.ground(rect(0, 0, w, h), "grass" if not arid else "dry_grass")
    if rng.random() < 0.5:
        d.ground(blob(rng, w / 2, h / 2, w * 0.35, h * 0.35), "lawn" if not arid else "grass")
    d.add_trees(scatter(rng, (1, 1, w - 1, h - 1), int(w * h / 350), (2.0, 5.0), 2 if arid else 0))
    if w * h > 1500:
        tree_clump(d, rng, w / 2, h / 2, min(w, h) / 3, int(rng.integers(3, 10)))
    return []


def _vacant(d: Drawing, rng: np.random.Generator, w: float, h: float, arid: bool) -> list[tuple[float, float]]:
    d.ground(rect(0, 0, w, h), "soil" if arid or rng.random() < 0.6 else "dry_grass")
    for _ in range(int(rng.integers(1, 4))):
        d.ground(blob(rng, rng.uniform(0, w), rng.uniform(0, h), w * 0.2, h * 0.2), "dry_grass" if arid else "grass")
    if rng.random() < 0.35 and min(w, h) > 30:  # a construction site
        fx, fy = w * 0.2, h * 0.2
        d.ground(rect(fx, fy, w * 0.8, h * 0.7), "concrete")
        d.paint(np.array([[fx - 5, fy + 5], [fx + 35, fy + 5]]), 1.2, "crane")
        d.add_objects(
            np.stack([rect(w * 0.85, h * (0.2 + 0.1 * k), w * 0.85 + 6, h * (0.2 + 0.1 * k) + 2.4) for k in range(4)]),
            "container",
            2.5,
        )
    d.add_trees(scatter(rng, (1, 1, w - 1, h - 1), int(w * h / 2500), (1.5, 3.0), 2))
    return []


def _sheds(d: Drawing, rng: np.random.Generator, w: float, h: float, arid: bool) -> list[tuple[float, float]]:
    d.ground(rect(0, 0, w, h), "concrete")
    sw, sh = w * rng.uniform(0.4, 0.7), h * rng.uniform(0.35, 0.6)
    roof = f"roof_metal:{int(rng.integers(8))}"
    d.building(Building(rect(4, 4, 4 + sw, 4 + sh), rng.uniform(6, 10), roof, "metal", np.array([0.0, 1.0])))
    if w - sw > 20:
        d.building(Building(rect(sw + 10, 6, w - 4, 6 + sh * 0.6), rng.uniform(5, 8), roof, "metal"))
    cars_at(
        d,
        rng,
        np.column_stack([rng.uniform(5, w - 5, 2), rng.uniform(sh + 10, h - 4, 2)]),
        rng.uniform(0, np.pi, 2),
        9.0,
        2.5,
    )
    return [(4 + sw / 2, 4 + sh / 2)]


def _towers(d: Drawing, rng: np.random.Generator, w: float, h: float, arid: bool) -> list[tuple[float, float]]:
    d.ground(rect(0, 0, w, h), "lawn" if not arid else "paving")
    s = min(rng.uniform(18, 28), w * 0.4, h * 0.4)
    n = int(np.clip((w - 10) // (s * 2.2), 1, 3))
    roof = f"roof_mid:{int(rng.integers(8))}"
    for k in range(n):
        x = 6 + k * (w - 12) / n
        d.building(Building(rect(x, h * 0.25, x + s, h * 0.25 + s), rng.uniform(50, 100), roof, "flat", units=0.3))
    parking(d, rng, 3, h * 0.25 + s + 8, w - 3, h - 2, occupancy=0.6)
    perimeter_trees(d, rng, w, h, spacing=8, r=2.6, sides="nwe", kind=2 if arid else 0)
    return []


def _pond(d: Drawing, rng: np.random.Generator, w: float, h: float, arid: bool) -> list[tuple[float, float]]:
    d.ground(rect(0, 0, w, h), "grass" if not arid else "dry_grass")
    d.ground(blob(rng, w / 2, h / 2, w * 0.42, h * 0.42, rough=0.3), "water")
    d.add_trees(scatter(rng, (0, 0, w, h * 0.1), int(w / 12), (2, 4)))
    return []


_RECIPES = {
    "houses": _houses,
    "midrise": _midrise,
    "shops": _shops,
    "green": _green,
    "vacant": _vacant,
    "sheds": _sheds,
    "towers": _towers,
    "pond": _pond,
}


def build_clutter(
    kind: str, w: float, h: float, front: str, rng: np.random.Generator, arid: bool = False
) -> tuple[Drawing, list[np.ndarray]]:
    """Draw a non-target parcel of ``kind`` on a w x h site whose front faces ``front``.

    Returns:
        The drawing in site coordinates and candidate points for shop-like POIs.
    """
    cw, ch, m = orientation(w, h, front)
    d = Drawing()
    pois = _RECIPES[kind](d, TolerantRng(rng), cw, ch, arid)
    return d.transformed(m, 1.0), [m[:, :2] @ np.asarray(p, float) + m[:, 2] for p in pois]


def choose_kind(rng: np.random.Generator, w: float, h: float, district: str) -> str:
    """Pick a clutter kind for a w x h parcel in a district (``houses``, ``urban`` or ``mixed``)."""
    small = min(w, h) < 25
    if small:
        return str(rng.choice(["green", "vacant", "shops"], p=[0.5, 0.2, 0.3]))
    weights = {
        "houses": {"houses": 0.7, "green": 0.1, "vacant": 0.08, "shops": 0.07, "pond": 0.05},
        "urban": {"midrise": 0.4, "shops": 0.2, "towers": 0.15, "green": 0.1, "vacant": 0.05, "sheds": 0.1},
        "mixed": {
            "houses": 0.25,
            "midrise": 0.25,
            "shops": 0.15,
            "sheds": 0.1,
            "green": 0.1,
            "vacant": 0.1,
            "pond": 0.05,
        },
    }[district]
    keys = list(weights)
    p = np.array([weights[k] for k in keys])
    return str(keys[int(rng.choice(len(keys), p=p / p.sum()))])
