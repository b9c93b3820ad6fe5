"""Reusable site features for SynthCity recipes: parking lots, pitches, running tracks, courts, building rows.

Every function draws into a `Drawing` in a metric frame (x right, y down) and returns nothing; sizes are in
metres.
"""

from __future__ import annotations

import numpy as np

from evals.synthcity.drawing import Building, Drawing, ellipse, oriented_rects, rect, row_of_trees, stadium_shape

CAR_COLOURS = ("car_white", "car_black", "car_silver", "car_grey", "car_red", "car_blue", "car_white", "car_silver")


def cars_at(
    d: Drawing, rng: np.random.Generator, xy: np.ndarray, angles: np.ndarray, length: float = 4.5, width: float = 1.9
) -> None:
    """Add cars (random colours) centred at ``xy`` (K, 2) with heading ``angles`` (radians)."""
    if len(xy) == 0:
        return
    colour = rng.integers(len(CAR_COLOURS), size=len(xy))
    rects = oriented_rects(xy, length, width, angles)
    for c in np.unique(colour):
        d.add_objects(rects[colour == c], CAR_COLOURS[int(c)], 1.5)


def parking(
    d: Drawing,
    rng: np.random.Generator,
    x0: float,
    y0: float,
    x1: float,
    y1: float,
    occupancy: float = 0.7,
    rows_along_x: bool | None = None,
    material: str = "asphalt",
) -> None:
    """Draw a surface car park: asphalt, double rows of 2.5 x 5 m stalls with 6 m aisles, parked cars."""
    w, h = x1 - x0, y1 - y0
    if w < 8 or h < 8:
        return
    d.ground(rect(x0, y0, x1, y1), material)
    if rows_along_x is None:
        rows_along_x = w >= h
    # work in a frame where stall rows run along u (length L) and modules stack along v (depth D)
    length, depth = (w, h) if rows_along_x else (h, w)
    module = 16.0
    n_mod = max(1, int((depth - 2) // module))
    off = (depth - n_mod * module) / 2
    n_stall = int((length - 4) // 2.5)
    if n_stall < 1:
        return
    u = 2 + (np.arange(n_stall + 1)) * 2.5
    segs, cars, angs = [], [], []
    for m in range(n_mod):
        base = off + m * module
        for va, vb in ((base, base + 5), (base + 11, base + 16)):
            segs.append(
                np.stack([np.column_stack([u, np.full_like(u, va)]), np.column_stack([u, np.full_like(u, vb)])], 1)
            )
            occ = rng.random(n_stall) < occupancy
            cu = u[:-1][occ] + 1.25
            cars.append(np.column_stack([cu, np.full_like(cu, (va + vb) / 2)]))
            angs.append(np.full(len(cu), np.pi / 2 + rng.normal(0, 0.03)))
    seg = np.concatenate(segs)
    car_xy = np.concatenate(cars)
    car_a = np.concatenate(angs)
    if not rows_along_x:
        seg = seg[..., ::-1]
        car_xy = car_xy[:, ::-1]
        car_a = car_a - np.pi / 2
    seg = seg + np.array([x0, y0])
    car_xy = car_xy + np.array([x0, y0])
    d.paint(seg, 0.15, "white")
    cars_at(d, rng, car_xy, car_a + rng.normal(0, 0.04, len(car_a)))


def pitch(d: Drawing, x0: float, y0: float, x1: float, y1: float, stripes: int = 10, lines: bool = True) -> None:
    """Draw a football pitch: mown stripes across its length, white lines, centre circle, boxes."""
    w, h = x1 - x0, y1 - y0
    along_x = w >= h
    d.ground(rect(x0, y0, x1, y1), "turf")
    n = max(4, stripes)
    for i in range(1, n, 2):
        if along_x:
            d.ground(rect(x0 + w * i / n, y0, x0 + w * (i + 1) / n, y1), "turf_dark")
        else:
            d.ground(rect(x0, y0 + h * i / n, x1, y0 + h * (i + 1) / n), "turf_dark")
    if not lines:
        return
    m = 1.5
    d.paint(rect(x0 + m, y0 + m, x1 - m, y1 - m), 0.15, "white", closed=True)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    r = min(w, h) * 0.13
    d.paint(ellipse(cx, cy, r, r, 24), 0.15, "white", closed=True)
    if along_x:
        d.paint(np.array([[cx, y0 + m], [cx, y1 - m]]), 0.15, "white")
        bw, bd = min(h * 0.6, 40), min(w * 0.16, 16)
        d.paint(rect(x0 + m, cy - bw / 2, x0 + m + bd, cy + bw / 2), 0.15, "white", closed=True)
        d.paint(rect(x1 - m - bd, cy - bw / 2, x1 - m, cy + bw / 2), 0.15, "white", closed=True)
    else:
        d.paint(np.array([[x0 + m, cy], [x1 - m, cy]]), 0.15, "white")
        bw, bd = min(w * 0.6, 40), min(h * 0.16, 16)
        d.paint(rect(cx - bw / 2, y0 + m, cx + bw / 2, y0 + m + bd), 0.15, "white", closed=True)
        d.paint(rect(cx - bw / 2, y1 - m - bd, cx + bw / 2, y1 - m), 0.15, "white", closed=True)


def running_track(
    d: Drawing,
    cx: float,
    cy: float,
    length: float,
    width: float,
    lanes: float = 7.0,
    surface: str = "track",
    horizontal: bool = True,
) -> None:
    """Draw an oval running track (outer size ``length`` x ``width``) with a pitch inside and lane lines."""
    radius = width / 2
    straight = max(length - width, 0.0)
    d.ground(stadium_shape(cx, cy, straight, radius, horizontal), surface)
    inner_r = max(radius - lanes, 4.0)
    d.ground(stadium_shape(cx, cy, straight, inner_r, horizontal), "turf")
    for k in range(1, 5):
        d.paint(stadium_shape(cx, cy, straight, inner_r + lanes * k / 5, horizontal), 0.12, "white", closed=True)
    pw, ph = straight + inner_r * 0.9, inner_r * 1.45
    if not horizontal:
        pw, ph = ph, pw
    if min(pw, ph) > 15:
        pitch(d, cx - pw / 2, cy - ph / 2, cx + pw / 2, cy + ph / 2, stripes=8)


def courts(
    d: Drawing, rng: np.random.Generator, x0: float, y0: float, x1: float, y1: float, surface: str | None = None
) -> None:
    """Fill a box with a grid of basketball/tennis courts (about 30 x 17 m each) with white lines."""
    surface = surface or str(rng.choice(["court_blue", "court_green", "court_red"]))
    cw, ch = (30.0, 17.0) if (x1 - x0) >= (y1 - y0) else (17.0, 30.0)
    nx, ny = int((x1 - x0) // cw), int((y1 - y0) // ch)
    if nx < 1 or ny < 1:
        return
    d.ground(rect(x0, y0, x0 + nx * cw, y0 + ny * ch), surface)
    for i in range(nx):
        for j in range(ny):
            a, b = x0 + i * cw, y0 + j * ch
            d.paint(rect(a + 1.5, b + 1.5, a + cw - 1.5, b + ch - 1.5), 0.15, "white", closed=True)
            if cw > ch:
                d.paint(np.array([[a + cw / 2, b + 1.5], [a + cw / 2, b + ch - 1.5]]), 0.12, "white")
            else:
                d.paint(np.array([[a + 1.5, b + ch / 2], [a + cw - 1.5, b + ch / 2]]), 0.12, "white")


def slab_rows(
    d: Drawing,
    rng: np.random.Generator,
    x0: float,
    y0: float,
    x1: float,
    y1: float,
    length: float,
    depth: float,
    gap_x: float,
    gap_y: float,
    height: float,
    roof: str,
    style: str = "flat",
    jitter: float = 0.0,
) -> list[np.ndarray]:
    """Lay out rows of identical slab buildings (long side along x) in a box; return their footprints."""
    nx = max(1, int((x1 - x0 + gap_x) // (length + gap_x)))
    ny = max(1, int((y1 - y0 + gap_y) // (depth + gap_y)))
    used_w = nx * length + (nx - 1) * gap_x
    used_h = ny * depth + (ny - 1) * gap_y
    if used_w > x1 - x0 + 1e-6 or used_h > y1 - y0 + 1e-6:
        return []
    ox, oy = x0 + (x1 - x0 - used_w) / 2, y0 + (y1 - y0 - used_h) / 2
    out = []
    for j in range(ny):
        for i in range(nx):
            a = ox + i * (length + gap_x) + rng.uniform(-jitter, jitter)
            b = oy + j * (depth + gap_y)
            poly = rect(a, b, a + length, b + depth)
            d.building(Building(poly, height, roof, style, np.array([1.0, 0.0]), units=0.3))
            out.append(poly)
    return out


def perimeter_trees(
    d: Drawing,
    rng: np.random.Generator,
    w: float,
    h: float,
    inset: float = 3.0,
    spacing: float = 8.0,
    r: float = 3.0,
    sides: str = "nsew",
    kind: int = 0,
) -> None:
    """Plant rows of trees just inside the edges of a w x h site (the given sides only)."""
    rows = {
        "n": ((inset, inset), (w - inset, inset)),
        "s": ((inset, h - inset), (w - inset, h - inset)),
        "w": ((inset, inset), (inset, h - inset)),
        "e": ((w - inset, inset), (w - inset, h - inset)),
    }
    for s in sides:
        p0, p1 = rows[s]
        d.add_trees(row_of_trees(p0, p1, spacing, r, rng, kind))


def tree_clump(
    d: Drawing,
    rng: np.random.Generator,
    cx: float,
    cy: float,
    radius: float,
    n: int,
    r: tuple[float, float] = (2.5, 5.0),
    kind: int = 0,
) -> None:
    """Plant a clump of trees around (cx, cy), denser at the centre."""
    if n <= 0:
        return
    ang = rng.uniform(0, 2 * np.pi, n)
    rad = radius * np.sqrt(rng.uniform(0, 1, n))
    rs = rng.uniform(r[0], r[1], n)
    d.add_trees(np.column_stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang), rs, np.full(n, kind)]))


def curvy_path(rng: np.random.Generator, p0: np.ndarray, p1: np.ndarray, wiggle: float, n: int = 12) -> np.ndarray:
    """Return a gently curving polyline from p0 to p1 (a park path)."""
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    t = np.linspace(0, 1, n)[:, None]
    base = p0 + (p1 - p0) * t
    v = p1 - p0
    normal = np.array([-v[1], v[0]]) / (np.linalg.norm(v) + 1e-9)
    k = rng.normal(0, 1, 2)
    off = wiggle * (k[0] * np.sin(np.pi * t) + 0.5 * k[1] * np.sin(2 * np.pi * t))
    return base + off * normal


def bld(
    d: Drawing,
    poly: np.ndarray,
    height: float,
    roof: str,
    style: str = "flat",
    along_x: bool = True,
    units: float = 0.0,
) -> None:
    """Add a building whose ridge runs along x (or y), with rooftop plant density ``units``."""
    d.building(Building(poly, height, roof, style, np.array([1.0, 0.0]) if along_x else np.array([0.0, 1.0]), units))


def variant(rng: np.random.Generator, key: str) -> str:
    """Return a palette key with a random variant index: ``"roof_res:3"``."""
    return f"{key}:{int(rng.integers(0, 8))}"
