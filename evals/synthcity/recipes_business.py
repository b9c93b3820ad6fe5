"""Recipes of business, housing, industry and transport places.

Malls, office parks, residential compounds, factories, warehouses, railway stations and parking lots.

Each draws a w x h site in the canonical frame of `evals.synthcity.places` (front along y = h) and returns
the POI anchor. Sizes are in metres.
"""

from __future__ import annotations

import numpy as np

from evals.synthcity.drawing import Drawing, ellipse, rect, scatter
from evals.synthcity.features import (
    bld,
    cars_at,
    parking,
    perimeter_trees,
    slab_rows,
    variant,
)


def shopping_mall(d: Drawing, rng: np.random.Generator, w: float, h: float) -> tuple[float, float]:
    """Draw a mall: one huge flat roof with plant and skylights, entrance plazas and wide parking."""
    d.ground(rect(0, 0, w, h), "asphalt")
    roof = variant(rng, "roof_mall")
    rw, rh = w * rng.uniform(0.55, 0.75), h * rng.uniform(0.45, 0.6)
    x0, y0 = (w - rw) / 2, rng.uniform(8, max(9, h * 0.12))
    parking(d, rng, 6, y0 + rh + 20, w - 6, h - 6, occupancy=rng.uniform(0.4, 0.9))
    if x0 > 22:
        parking(d, rng, 4, y0, x0 - 6, y0 + rh, occupancy=rng.uniform(0.3, 0.9))
        parking(d, rng, x0 + rw + 6, y0, w - 4, y0 + rh, occupancy=rng.uniform(0.3, 0.9))
    d.ground(rect(x0 + rw * 0.35, y0 + rh, x0 + rw * 0.65, y0 + rh + 16), "plaza")
    bld(d, rect(x0, y0, x0 + rw, y0 + rh), rng.uniform(18, 28), roof, "flat", units=0.9)
    if rng.random() < 0.6:  # a second, taller block
        bld(d, rect(x0 + rw * 0.05, y0 + rh * 0.1, x0 + rw * 0.35, y0 + rh * 0.6), rng.uniform(30, 45), roof, units=0.5)
    for k in range(int(rng.integers(1, 4))):
        yy = y0 + rh * (0.3 + 0.2 * k)
        d.paint(np.array([[x0 + rw * 0.4, yy], [x0 + rw * 0.95, yy]]), 3.0, "skylight")
    perimeter_trees(d, rng, w, h, spacing=10, r=2.8, sides="sew")
    return (x0 + rw / 2, y0 + rh / 2)


def office_park(d: Drawing, rng: np.random.Generator, w: float, h: float) -> tuple[float, float]:
    """Draw an office park: glass towers with long shadows, a podium, lawns, a pool and parking."""
    d.ground(rect(0, 0, w, h), "lawn")
    d.ground(rect(w * 0.1, h * 0.1, w * 0.9, h * 0.75), "plaza")
    # towers on a loose grid over the plaza, one per cell, some cells left open
    x0, y0, x1, y1 = w * 0.1, h * 0.1, w * 0.9, h * 0.75
    nx, ny = max(1, int((x1 - x0) // 45)), max(1, int((y1 - y0) // 45))
    cw, ch = (x1 - x0) / nx, (y1 - y0) / ny
    main = (w / 2, h / 2)
    placed = 0
    cells = [(i, j) for j in range(ny) for i in range(nx)]
    for k, (i, j) in enumerate(cells):
        if placed >= 2 and rng.random() < 0.3 and k < len(cells) - 1:
            continue
        sx = min(rng.uniform(24, 42), cw - 8)
        sy = min(sx * rng.uniform(0.7, 1.0), ch - 8)
        if sx < 12 or sy < 12:
            continue
        x = x0 + i * cw + rng.uniform(4, cw - sx - 4)
        y = y0 + j * ch + rng.uniform(4, ch - sy - 4)
        style = "glass" if rng.random() < 0.6 else "flat"
        key = "roof_glass" if style == "glass" else "roof_light"
        bld(d, rect(x, y, x + sx, y + sy), rng.uniform(40, 140), variant(rng, key), style, units=0.3)
        if placed == 0:
            main = (x + sx / 2, y + sy / 2)
        placed += 1
    if rng.random() < 0.5:
        d.ground(rect(w * 0.45, h * 0.78, w * 0.6, h * 0.84), "pool")
    parking(d, rng, 4, h * 0.86, w - 4, h - 3, occupancy=rng.uniform(0.5, 0.9))
    perimeter_trees(d, rng, w, h, spacing=8, r=3.0)
    return main


def residential_compound(d: Drawing, rng: np.random.Generator, w: float, h: float) -> tuple[float, float]:
    """Draw a gated compound of identical apartment slabs (or towers) in rows, courtyards and a loop road."""
    d.ground(rect(0, 0, w, h), "lawn")
    d.ground(rect(6, 6, w - 6, h - 6), "yard")
    roof = variant(rng, "roof_res")
    road = 6.0
    d.paint(rect(10, 10, w - 10, h - 10), road, "asphalt_light", closed=True)
    height = rng.uniform(18, 33)
    if rng.random() < 0.7:
        length = min(rng.uniform(45, 80), w - 40)
        depth = rng.uniform(12, 16)
        gap_y = height * rng.uniform(1.0, 1.4)
        polys = slab_rows(
            d,
            rng,
            18,
            18,
            w - 18,
            h - 18,
            length,
            depth,
            rng.uniform(8, 14),
            gap_y,
            height,
            roof,
            "flat" if rng.random() < 0.6 else "gable",
        )
    else:
        s = rng.uniform(20, 28)
        polys = slab_rows(d, rng, 18, 18, w - 18, h - 18, s, s, s * 1.2, s * 1.4, rng.uniform(60, 100), roof)
    for p in polys:  # parked cars and trees along each block
        x0, _y0, x1, y1 = p[:, 0].min(), p[:, 1].min(), p[:, 0].max(), p[:, 1].max()
        xs = np.arange(x0 + 3, x1 - 3, 2.6)
        keep = rng.random(len(xs)) < 0.5
        cars_at(d, rng, np.column_stack([xs[keep], np.full(keep.sum(), y1 + 4.5)]), np.full(keep.sum(), np.pi / 2))
        d.add_trees(scatter(rng, (x0, y1 + 9, x1, y1 + 16), int((x1 - x0) / 10), (2.0, 3.5)))
    perimeter_trees(d, rng, w, h, inset=3, spacing=7, r=2.8)
    return (w / 2, h - 8)


def factory(d: Drawing, rng: np.random.Generator, w: float, h: float) -> tuple[float, float]:
    """Draw a factory: big ridged sheds, an office block, chimneys, tanks, stockpiles and trucks."""
    d.ground(rect(0, 0, w, h), "concrete")
    d.ground(rect(w * rng.uniform(0.5, 0.7), 4, w - 4, h * 0.45), "yard")
    roof = variant(rng, "roof_metal")
    n = int(rng.integers(1, 4))
    x = 6.0
    main = (w / 2, h / 2)
    for k in range(n):
        sw = (w * 0.62 - 6 * n) / n
        sh = h * rng.uniform(0.45, 0.7)
        if sw < 20:
            break
        bld(d, rect(x, h * 0.15, x + sw, h * 0.15 + sh), rng.uniform(9, 18), roof, "metal", along_x=sw < sh)
        if k == 0:
            main = (x + sw / 2, h * 0.15 + sh / 2)
        x += sw + 8
    bld(d, rect(8, h - 26, 8 + min(50, w * 0.3), h - 10), rng.uniform(10, 20), variant(rng, "roof_light"), units=0.4)
    tx = w * 0.72
    for _ in range(int(rng.integers(0, 5))):
        r = rng.uniform(5, 10)
        ty = rng.uniform(h * 0.5 + r, h - r - 6)
        if tx + r > w - 4:
            break
        bld(d, ellipse(tx + r, ty, r, r, 24), rng.uniform(8, 14), "tank", "dome")
        tx += 2 * r + 4
    for _ in range(int(rng.integers(0, 3))):
        cx, cy = rng.uniform(w * 0.6, w - 8), rng.uniform(8, h * 0.4)
        bld(d, ellipse(cx, cy, 2.2, 2.2, 12), rng.uniform(40, 80), "chimney", "flat")
    piles = scatter(rng, (w * 0.55, 6, w - 6, h * 0.42), int(rng.integers(4, 16)), (1.5, 4))
    if len(piles):
        d.add_objects(
            np.stack([rect(px - r, py - r * 0.6, px + r, py + r * 0.6) for px, py, r, _ in piles]),
            str(rng.choice(["pile_rust", "pile_blue", "pile_grey"])),
            2.5,
        )
    xy = np.column_stack([rng.uniform(w * 0.6, w - 10, 4), rng.uniform(h * 0.5, h - 10, 4)])
    cars_at(d, rng, xy, np.full(4, rng.uniform(0, np.pi)), 12.0, 2.6)
    perimeter_trees(d, rng, w, h, spacing=10, r=2.8, sides="s")
    return main


def warehouse(d: Drawing, rng: np.random.Generator, w: float, h: float) -> tuple[float, float]:
    """Draw a logistics warehouse: long low roofs, loading docks with lines of trailers, a wide apron."""
    d.ground(rect(0, 0, w, h), "concrete")
    roof = variant(rng, "roof_warehouse")
    n = 1 if h < 120 else int(rng.integers(1, 3))
    depth = min(rng.uniform(40, 75), (h - 40 * n) / n)
    length = w * rng.uniform(0.7, 0.9)
    x0 = (w - length) / 2
    y = 8.0
    main = (w / 2, h / 2)
    style = "flat" if rng.random() < 0.5 else "metal"
    for k in range(n):
        bld(d, rect(x0, y, x0 + length, y + depth), rng.uniform(9, 14), roof, style, units=0.15)
        if k == 0:
            main = (x0 + length / 2, y + depth / 2)
        docks = np.arange(x0 + 6, x0 + length - 6, 4.0)
        d.add_objects(np.stack([rect(a, y + depth, a + 3, y + depth + 1.0) for a in docks]), "dock", 0.5)
        keep = rng.random(len(docks)) < rng.uniform(0.3, 0.8)
        xy = np.column_stack([docks[keep] + 1.5, np.full(keep.sum(), y + depth + 8.5)])
        cars_at(d, rng, xy, np.full(keep.sum(), np.pi / 2), 14.0, 2.6)
        y += depth + 36
    perimeter_trees(d, rng, w, h, spacing=12, r=2.5, sides="s")
    return main


def railway_station(d: Drawing, rng: np.random.Generator, w: float, h: float) -> tuple[float, float]:
    """Draw a station: platforms with canopies between tracks at the back, the hall, a forecourt and parking."""
    d.ground(rect(0, 0, w, h), "plaza")
    n_plat = int(np.clip(h // 45, 1, 3))
    y = 0.0
    for _ in range(n_plat):
        d.ground(rect(0, y, w, y + 10), "ballast")
        for off in (3.0, 7.0):
            d.paint(np.array([[0, y + off - 0.75], [w, y + off - 0.75]]), 0.2, "rail")
            d.paint(np.array([[0, y + off + 0.75], [w, y + off + 0.75]]), 0.2, "rail")
        y += 10
        d.ground(rect(w * 0.05, y, w * 0.95, y + 9), "concrete")
        bld(d, rect(w * 0.1, y + 1.5, w * 0.9, y + 7.5), 6, variant(rng, "roof_station"), "metal")
        y += 9
    hall_h = min(h - y - 35, rng.uniform(25, 45))
    hall_w = min(w * 0.6, rng.uniform(60, 140))
    hx = (w - hall_w) / 2
    bld(
        d,
        rect(hx, y + 4, hx + hall_w, y + 4 + hall_h),
        rng.uniform(15, 28),
        variant(rng, "roof_station"),
        "gable" if rng.random() < 0.5 else "glass",
        units=0.2,
    )
    fy = y + 4 + hall_h
    d.ground(rect(hx - 10, fy, hx + hall_w + 10, h - 2), "plaza")
    for k in range(4):  # paving pattern on the forecourt
        d.paint(np.array([[hx - 10, fy + 5 + k * 6], [hx + hall_w + 10, fy + 5 + k * 6]]), 0.4, "paving_line")
    if hx > 30:
        parking(d, rng, 4, fy, hx - 14, h - 3, occupancy=0.8)
        parking(d, rng, hx + hall_w + 14, fy, w - 4, h - 3, occupancy=0.7)
    return (w / 2, y + 4 + hall_h / 2)


def parking_lot(d: Drawing, rng: np.random.Generator, w: float, h: float) -> tuple[float, float]:
    """Draw a surface parking lot: stall lines, cars, a planted edge."""
    d.ground(rect(0, 0, w, h), "sidewalk")
    parking(
        d,
        rng,
        2,
        2,
        w - 2,
        h - 2,
        occupancy=rng.uniform(0.35, 0.95),
        rows_along_x=bool(rng.random() < 0.5) if abs(w - h) < 10 else None,
    )
    perimeter_trees(d, rng, w, h, inset=1.5, spacing=9, r=2.5, sides=str(rng.choice(["n", "nw", "e", ""])))
    return (w / 2, h / 2)
