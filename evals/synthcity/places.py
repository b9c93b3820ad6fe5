"""What each socio-class looks like from above: one recipe per class, in metres.

A recipe draws a place of size w x h into a `Drawing` in a canonical frame (x right, y down, the site's
road-facing front along y = h, its back along y = 0) and returns the (x, y) where its POI would sit (the
main building or the gate). `build_place` turns the canonical frame to the site's real orientation.
Sizes follow real sites: a school has a 200-400 m running track, a hospital a helipad, a mall one huge
roof in a sea of parking.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from evals.synthcity import recipes_business as rb
from evals.synthcity import recipes_public as rp
from evals.synthcity.drawing import Drawing, TolerantRng

Recipe = Callable[[Drawing, np.random.Generator, float, float], tuple[float, float]]

SIZES: dict[str, tuple[float, float, float, float]] = {
    "school": (120, 220, 1.1, 1.7),
    "university": (240, 420, 1.0, 1.5),
    "kindergarten": (42, 80, 1.0, 1.6),
    "hospital": (120, 240, 1.0, 1.6),
    "clinic": (30, 60, 1.0, 1.5),
    "park": (80, 340, 1.0, 2.0),
    "zoo": (220, 420, 1.0, 1.6),
    "stadium": (210, 300, 1.0, 1.3),
    "shopping_mall": (150, 280, 1.0, 1.6),
    "office_park": (100, 230, 1.0, 1.8),
    "residential_compound": (140, 320, 1.0, 1.7),
    "factory": (120, 320, 1.0, 2.0),
    "warehouse": (110, 260, 1.3, 2.5),
    "railway_station": (170, 320, 1.7, 3.0),
    "parking_lot": (36, 110, 1.0, 2.2),
    "water_works": (150, 300, 1.0, 1.6),
    "cemetery": (90, 280, 1.0, 1.8),
}
"""Per class: min and max length of the long side (m), min and max aspect ratio (long / short)."""


RECIPES: dict[str, Recipe] = {
    "school": rp.school,
    "university": rp.university,
    "kindergarten": rp.kindergarten,
    "hospital": rp.hospital,
    "clinic": rp.clinic,
    "park": rp.park,
    "zoo": rp.zoo,
    "stadium": rp.stadium,
    "shopping_mall": rb.shopping_mall,
    "office_park": rb.office_park,
    "residential_compound": rb.residential_compound,
    "factory": rb.factory,
    "warehouse": rb.warehouse,
    "railway_station": rb.railway_station,
    "parking_lot": rb.parking_lot,
    "water_works": rp.water_works,
    "cemetery": rp.cemetery,
}


def orientation(w: float, h: float, front: str) -> tuple[float, float, np.ndarray]:
    """Return the canonical (W, H) of a w x h site whose front faces ``front``, and the 2x3 canonical->site map.

    ``front`` is ``"s"`` (y = h), ``"n"`` (y = 0), ``"e"`` (x = w) or ``"w"`` (x = 0).
    """
    if front == "s":
        return w, h, np.array([[1.0, 0, 0], [0, 1.0, 0]])
    if front == "n":
        return w, h, np.array([[1.0, 0, 0], [0, -1.0, h]])
    if front == "e":  # canonical y -> site x
        return h, w, np.array([[0, 1.0, 0], [1.0, 0, 0]])
    return h, w, np.array([[0, -1.0, w], [1.0, 0, 0]])


def build_place(cls: str, w: float, h: float, front: str, rng: np.random.Generator) -> tuple[Drawing, np.ndarray]:
    """Draw a place of class ``cls`` on a w x h site whose front faces ``front``.

    Returns:
        The drawing in site coordinates ([0, w] x [0, h]) and the (2,) POI anchor in the same frame.
    """
    cw, ch, m = orientation(w, h, front)
    d = Drawing()
    anchor = RECIPES[cls](d, TolerantRng(rng), cw, ch)
    out = d.transformed(m, 1.0)
    return out, m[:, :2] @ np.asarray(anchor, float) + m[:, 2]
