"""Drawing primitives of a SynthCity tile: ground fills, paint lines, buildings, trees and small objects.

Recipes (`evals.synthcity.places`, `evals.synthcity.clutter`) emit primitives in a local metric frame; the
layout moves them into image pixels with `Drawing.transformed`, and `evals.synthcity.render` paints them.
Colours are palette keys (looked up per region and season at render time) or explicit RGB tuples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

Colour = str | tuple[int, int, int]


@dataclass
class Building:
    """A building: footprint polygon, height in metres, and roof look.

    Attributes:
        poly: (N, 2) footprint vertices.
        height: height in metres (drives shadow length and lean).
        roof: roof colour (palette key or RGB).
        style: ``flat``, ``gable`` (two shaded halves), ``metal`` (ridged sheet), ``glass`` or ``dome``.
        ridge: (2,) unit vector along the ridge or corrugation, in the same frame as ``poly``.
        units: density of rooftop units (air conditioners, vents) on flat roofs, 0..1.
    """

    poly: np.ndarray
    height: float
    roof: Colour
    style: str = "flat"
    ridge: np.ndarray = field(default_factory=lambda: np.array([1.0, 0.0]))
    units: float = 0.0


@dataclass
class Drawing:
    """Primitives in draw order within each list; all coordinates share one frame.

    Attributes:
        grounds: (polygon (N, 2), material) fills, painted in order; later ones cover earlier ones.
        paints: (polyline (N, 2), width in metres, colour, closed) lines painted over the ground.
        objects: (rects (K, 4, 2), colour, height in metres) batches of small boxes (cars, graves, trucks).
        buildings: buildings.
        trees: (K, 4) rows of x, y, canopy radius in metres, kind (0 broadleaf, 1 conifer, 2 shrub).
    """

    grounds: list[tuple[np.ndarray, str]] = field(default_factory=list)
    paints: list[tuple[np.ndarray, float, Colour, bool]] = field(default_factory=list)
    objects: list[tuple[np.ndarray, Colour, float]] = field(default_factory=list)
    buildings: list[Building] = field(default_factory=list)
    trees: list[np.ndarray] = field(default_factory=list)

    def ground(self, poly: np.ndarray, material: str) -> None:
        """Add a ground fill."""
        self.grounds.append((np.asarray(poly, dtype=np.float64), material))

    def paint(self, pts: np.ndarray, width: float, colour: Colour, closed: bool = False) -> None:
        """Add a painted line (markings, paths, rails)."""
        self.paints.append((np.asarray(pts, dtype=np.float64), float(width), colour, closed))

    def building(self, b: Building) -> None:
        """Add a building."""
        self.buildings.append(b)

    def add_trees(self, xyrk: np.ndarray) -> None:
        """Add trees as rows of (x, y, radius, kind)."""
        arr = np.asarray(xyrk, dtype=np.float64).reshape(-1, 4)
        if len(arr):
            self.trees.append(arr)

    def add_objects(self, rects: np.ndarray, colour: Colour, height: float = 0.0) -> None:
        """Add a batch of small boxes of one colour."""
        arr = np.asarray(rects, dtype=np.float64).reshape(-1, 4, 2)
        if len(arr):
            self.objects.append((arr, colour, float(height)))

    def extend(self, other: Drawing) -> None:
        """Append all primitives of ``other`` (drawn after this drawing's own, list by list)."""
        self.grounds += other.grounds
        self.paints += other.paints
        self.objects += other.objects
        self.buildings += other.buildings
        self.trees += other.trees

    def transformed(self, m: np.ndarray, scale: float) -> Drawing:
        """Return a copy mapped by the 2x3 affine ``m``; lengths (widths, radii) are multiplied by ``scale``."""
        lin, off = m[:, :2], m[:, 2]

        def tp(p: np.ndarray) -> np.ndarray:
            return p @ lin.T + off

        out = Drawing()
        out.grounds = [(tp(p), mat) for p, mat in self.grounds]
        out.paints = [(tp(p), w * scale, c, cl) for p, w, c, cl in self.paints]
        out.objects = [(tp(r), c, h) for r, c, h in self.objects]
        out.buildings = [
            Building(tp(b.poly), b.height, b.roof, b.style, b.ridge @ lin.T / max(scale, 1e-9), b.units)
            for b in self.buildings
        ]
        if self.trees:
            t = np.concatenate(self.trees)
            t2 = t.copy()
            t2[:, :2] = tp(t[:, :2])
            t2[:, 2] = t[:, 2] * scale
            out.trees = [t2]
        return out


def rect(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """Return the (4, 2) polygon of an axis-aligned rectangle."""
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)


def oriented_rect(cx: float, cy: float, length: float, width: float, angle: float) -> np.ndarray:
    """Return the (4, 2) polygon of a rectangle centred at (cx, cy), its length along ``angle`` (radians)."""
    c, s = np.cos(angle), np.sin(angle)
    hl, hw = length / 2, width / 2
    pts = np.array([[-hl, -hw], [hl, -hw], [hl, hw], [-hl, hw]])
    return pts @ np.array([[c, s], [-s, c]]) + (cx, cy)


def oriented_rects(xy: np.ndarray, length: float, width: float, angles: np.ndarray) -> np.ndarray:
    """Return (K, 4, 2) rectangles centred at ``xy`` (K, 2) with per-rectangle ``angles``."""
    c, s = np.cos(angles)[:, None], np.sin(angles)[:, None]
    base = np.array(
        [[-length / 2, -width / 2], [length / 2, -width / 2], [length / 2, width / 2], [-length / 2, width / 2]]
    )
    x = base[None, :, 0] * c - base[None, :, 1] * s
    y = base[None, :, 0] * s + base[None, :, 1] * c
    return np.stack([x, y], axis=-1) + np.asarray(xy)[:, None, :]


def ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 40) -> np.ndarray:
    """Return an (n, 2) polygon approximating an axis-aligned ellipse."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.column_stack([cx + rx * np.cos(t), cy + ry * np.sin(t)])


def stadium_shape(
    cx: float, cy: float, straight: float, radius: float, horizontal: bool = True, n: int = 16
) -> np.ndarray:
    """Return the polygon of a running-track shape: two straights joined by half circles."""
    t = np.linspace(-np.pi / 2, np.pi / 2, n)
    right = np.column_stack([straight / 2 + radius * np.cos(t), radius * np.sin(t)])
    left = np.column_stack([-straight / 2 - radius * np.cos(t), -radius * np.sin(t)])
    pts = np.concatenate([right, left])
    if not horizontal:
        pts = pts[:, ::-1]
    return pts + np.array([cx, cy])


def blob(
    rng: np.random.Generator, cx: float, cy: float, rx: float, ry: float, n: int = 24, rough: float = 0.25
) -> np.ndarray:
    """Return an irregular closed shape (a pond, a shrub bed) of radii about (rx, ry)."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    k = rng.normal(0, 1, 4)
    r = 1 + rough * (0.5 * k[0] * np.sin(2 * t + k[1]) + 0.5 * k[2] * np.sin(3 * t + k[3]))
    r = np.clip(r, 0.55, 1.3)
    return np.column_stack([cx + rx * r * np.cos(t), cy + ry * r * np.sin(t)])


def scatter(
    rng: np.random.Generator, poly_box: tuple[float, float, float, float], n: int, r: tuple[float, float], kind: int = 0
) -> np.ndarray:
    """Return (n, 4) trees scattered uniformly in a box (x0, y0, x1, y1) with radii drawn from ``r``."""
    x0, y0, x1, y1 = poly_box
    if n <= 0 or x1 <= x0 or y1 <= y0:
        return np.zeros((0, 4))
    xs = rng.uniform(x0, x1, n)
    ys = rng.uniform(y0, y1, n)
    rs = rng.uniform(r[0], r[1], n)
    return np.column_stack([xs, ys, rs, np.full(n, kind)])


def row_of_trees(
    p0: tuple[float, float], p1: tuple[float, float], spacing: float, r: float, rng: np.random.Generator, kind: int = 0
) -> np.ndarray:
    """Return trees planted along the segment p0 -> p1 every ``spacing`` metres (a few missing)."""
    a, b = np.asarray(p0, float), np.asarray(p1, float)
    n = int(np.linalg.norm(b - a) // spacing) + 1
    if n < 1:
        return np.zeros((0, 4))
    t = (np.arange(n) + 0.5) / n
    keep = rng.random(n) > 0.12
    xy = a + (b - a) * t[:, None]
    rs = r * rng.uniform(0.8, 1.2, n)
    return np.column_stack([xy, rs, np.full(n, kind)])[keep]


class TolerantRng:
    """A numpy Generator whose ``uniform`` and ``integers`` accept empty ranges (they return the low end).

    Recipes size things relative to their site; on a small site a range can close up, and a sample must
    still be generated rather than fail.
    """

    def __init__(self, rng: np.random.Generator) -> None:
        """Wrap ``rng``; every draw still comes from it."""
        self._rng = rng

    def uniform(self, low: float = 0.0, high: float = 1.0, size: int | tuple[int, ...] | None = None) -> Any:
        """Draw like `numpy.random.Generator.uniform`, with ``high`` raised to ``low`` where it is below."""
        return self._rng.uniform(low, np.maximum(high, low), size)

    def integers(self, low: int, high: int | None = None, size: int | tuple[int, ...] | None = None) -> Any:
        """Draw like `numpy.random.Generator.integers`, with an empty range giving ``low``."""
        if high is None:
            low, high = 0, low
        return self._rng.integers(low, max(int(high), int(low) + 1), size)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rng, name)
