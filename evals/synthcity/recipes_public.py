"""Recipes of public places.

Schools, universities, kindergartens, hospitals, clinics, parks, zoos, stadiums, water works and cemeteries.

Each draws a w x h site in the canonical frame of `evals.synthcity.places` (front along y = h) and returns
the POI anchor. Sizes are in metres.
"""

from __future__ import annotations

import numpy as np

from evals.synthcity.drawing import Drawing, blob, ellipse, rect, scatter, stadium_shape
from evals.synthcity.features import (
    bld,
    courts,
    curvy_path,
    parking,
    perimeter_trees,
    pitch,
    running_track,
    slab_rows,
    tree_clump,
    variant,
)


def school(d: Drawing, rng: np.random.Generator, w: float, h: float) -> tuple[float, float]:
    """Draw classroom slabs, a running track around a pitch, courts, a gym and trees."""
    d.ground(rect(0, 0, w, h), "paving")
    roof = variant(rng, "roof_school")
    surface = "track" if rng.random() < 0.8 else str(rng.choice(["track_blue", "track_green"]))
    side = w > 1.5 * h  # the sports ground takes one end, else the back
    if side:
        tw = min(0.85 * h, 92.0)
        tl = min(w * 0.5, 176.0, tw * 2.1)
        running_track(d, 6 + tl / 2, h / 2 - 4, tl, tw, lanes=min(8.0, tw * 0.12), surface=surface)
        bx0, by0, bx1, by1 = tl + 18, 8.0, w - 8, h - 8
    else:
        tw = min(0.48 * h, 92.0)
        tl = min(w - 12, 176.0, tw * 2.1)
        running_track(
            d, w / 2 if tl > w * 0.7 else 6 + tl / 2, 6 + tw / 2, tl, tw, lanes=min(8.0, tw * 0.12), surface=surface
        )
        if w - tl > 45:
            courts(d, rng, tl + 14, 6, w - 5, 6 + tw)
        bx0, by0, bx1, by1 = 8.0, tw + 16, w - 8, h - 8
    # classroom slabs in rows, joined by a corridor; a gym beside them
    depth = rng.uniform(12, 16)
    gap = rng.uniform(16, 24)
    n_rows = int(np.clip((by1 - by0 + gap) // (depth + gap), 1, 4))
    gym_w = 34.0 if bx1 - bx0 > 110 else 0.0
    length = min((bx1 - bx0 - gym_w - 10) * rng.uniform(0.7, 0.95), 110.0)
    x0 = bx0 + rng.uniform(0, max(0.1, bx1 - bx0 - gym_w - 10 - length))
    y_used = n_rows * depth + (n_rows - 1) * gap
    y0 = by0 + (by1 - by0 - y_used) / 2
    height = rng.uniform(14, 22)
    style = "flat" if rng.random() < 0.7 else "gable"
    main = (x0 + length / 2, y0 + depth / 2)
    for i in range(n_rows):
        b = y0 + i * (depth + gap)
        bld(d, rect(x0, b, x0 + length, b + depth), height, roof, style, units=0.2)
        if i > 0:
            d.ground(rect(x0 + 10, b - gap + 3, x0 + length - 10, b - 3), "lawn")
    if n_rows > 1:
        cx = x0 + (length * 0.2 if rng.random() < 0.5 else length * 0.8)
        bld(d, rect(cx - 4, y0 + depth, cx + 4, y0 + y_used - depth), height - 4, roof)
    if gym_w:
        gx = x0 + length + 10
        bld(
            d,
            rect(gx, by0 + 2, gx + gym_w, by0 + 2 + min(46.0, by1 - by0 - 4)),
            12,
            variant(rng, "roof_metal"),
            "metal",
        )
    if side and by1 - by0 - y_used > 40:
        courts(d, rng, bx0, y0 + y_used + 8, bx1, by1)
    perimeter_trees(d, rng, w, h, spacing=rng.uniform(7, 11), r=rng.uniform(2.5, 3.5))
    return main


def university(d: Drawing, rng: np.random.Generator, w: float, h: float) -> tuple[float, float]:
    """Draw a campus: a grid of quads with teaching buildings, lawns, dormitory rows, a sports ground."""
    d.ground(rect(0, 0, w, h), "lawn")
    roof = variant(rng, "roof_uni")
    nx, ny = max(2, int(w // 110)), max(2, int(h // 110))
    xs = np.linspace(0, w, nx + 1)
    ys = np.linspace(0, h, ny + 1)
    road = 7.0
    cells = [(i, j) for i in range(nx) for j in range(ny)]
    order = rng.permutation(len(cells))
    roles = ["sports", "library", "lawn", "dorm"] + ["teach"] * len(cells)
    main = (w / 2, h / 2)
    for k, idx in enumerate(order):
        i, j = cells[idx]
        a, b, c, e = xs[i] + road / 2, ys[j] + road / 2, xs[i + 1] - road / 2, ys[j + 1] - road / 2
        role = roles[k]
        cw, ch = c - a, e - b
        if role == "sports" and cw > 70 and ch > 50:
            d.ground(rect(a, b, c, e), "paving")
            tl, tw = min(cw - 8, 176), min(ch - 8, 92, (cw - 8) / 1.9)
            running_track(d, (a + c) / 2, (b + e) / 2, tl, tw, lanes=min(8.0, tw * 0.12))
        elif role == "library":
            d.ground(rect(a, b, c, e), "plaza")
            m = min(cw, ch) * 0.2
            poly = rect(a + m, b + m, c - m, e - m)
            bld(d, poly, rng.uniform(20, 35), roof, "flat", units=0.4)
            main = ((a + c) / 2, (b + e) / 2)
        elif role == "lawn":
            d.ground(rect(a + 3, b + 3, c - 3, e - 3), "lawn")
            d.paint(np.array([[a, b], [c, e]]), 3.0, "path")
            d.paint(np.array([[a, e], [c, b]]), 3.0, "path")
            if rng.random() < 0.5:
                d.ground(blob(rng, (a + c) / 2, (b + e) / 2, cw * 0.25, ch * 0.2), "water")
            d.add_trees(scatter(rng, (a + 4, b + 4, c - 4, e - 4), int(cw * ch / 500), (2.5, 4.5)))
        elif role == "dorm":
            slab_rows(
                d,
                rng,
                a + 5,
                b + 5,
                c - 5,
                e - 5,
                min(50, cw - 10),
                12,
                10,
                18,
                rng.uniform(18, 24),
                variant(rng, "roof_res"),
            )
        else:
            n = int(rng.integers(1, 4))
            for t in range(n):
                bw = rng.uniform(0.3, 0.8) * cw
                bh = rng.uniform(14, 22)
                yy = b + 4 + t * (ch - 8) / n
                if yy + bh > e - 4:
                    break
                xx = a + rng.uniform(4, max(5, cw - bw - 4))
                bld(
                    d,
                    rect(xx, yy, xx + bw, yy + bh),
                    rng.uniform(12, 30),
                    roof,
                    "flat" if rng.random() < 0.6 else "gable",
                    units=0.2,
                )
            d.add_trees(scatter(rng, (a + 2, b + 2, c - 2, e - 2), int(cw * ch / 1500), (2.0, 3.5)))
    for x in xs[1:-1]:
        d.ground(rect(x - road / 2, 0, x + road / 2, h), "asphalt_light")
    for y in ys[1:-1]:
        d.ground(rect(0, y - road / 2, w, y + road / 2), "asphalt_light")
    perimeter_trees(d, rng, w, h, spacing=9, r=3.2)
    return main


def kindergarten(d: Drawing, rng: np.random.Generator, w: float, h: float) -> tuple[float, float]:
    """Draw a small colourful building with a playground of rubber surfaces."""
    d.ground(rect(0, 0, w, h), "paving")
    roof = variant(rng, "roof_kinder")
    bw, bh = w * rng.uniform(0.45, 0.6), h * rng.uniform(0.3, 0.4)
    bld(d, rect(4, h - bh - 4, 4 + bw, h - 4), rng.uniform(7, 11), roof, "gable" if rng.random() < 0.5 else "flat")
    bld(d, rect(4, h * 0.25, 4 + bw * 0.4, h - bh - 4), rng.uniform(7, 10), roof, "flat")
    px0, py0 = 4 + bw * 0.45 + 4, 4
    d.ground(rect(px0, py0, w - 4, h - bh - 10), "lawn")
    colours = ["rubber_red", "rubber_green", "rubber_blue", "rubber_yellow"]
    for _ in range(int(rng.integers(2, 5))):
        cx, cy = rng.uniform(px0 + 4, w - 8), rng.uniform(py0 + 4, max(py0 + 5, h - bh - 14))
        r = rng.uniform(3, 7)
        shape = (
            ellipse(cx, cy, r, r * rng.uniform(0.6, 1.0), 20)
            if rng.random() < 0.5
            else rect(cx - r, cy - r, cx + r, cy + r * 0.7)
        )
        d.ground(shape, str(rng.choice(colours)))
    d.add_objects(np.array([rect(px0 + 6, py0 + 6, px0 + 9, py0 + 11)]), "toy", 2.0)
    perimeter_trees(d, rng, w, h, inset=2, spacing=7, r=2.5, sides="nw")
    return (4 + bw / 2, h - bh / 2 - 4)


def hospital(d: Drawing, rng: np.random.Generator, w: float, h: float) -> tuple[float, float]:
    """Draw a hospital: a block with wings, an in-patient tower, a helipad, parking and lawns."""
    d.ground(rect(0, 0, w, h), "paving")
    roof = variant(rng, "roof_hospital")
    park_depth = min(40.0, h * 0.25)
    parking(d, rng, 6, h - park_depth - 4, w * rng.uniform(0.5, 0.8), h - 4, occupancy=rng.uniform(0.6, 0.95))
    cx0, cy0, cx1, cy1 = w * 0.12, h * 0.12, w * 0.88, h - park_depth - 14
    # main block
    bh = (cy1 - cy0) * 0.35
    bld(
        d, rect(cx0, cy0 + (cy1 - cy0) * 0.35, cx1, cy0 + (cy1 - cy0) * 0.35 + bh), rng.uniform(15, 25), roof, units=0.6
    )
    # wings (a comb)
    nw = int(rng.integers(2, 5))
    ww = min(22.0, (cx1 - cx0) / (2 * nw))
    for k in range(nw):
        x = cx0 + (k + 0.5) * (cx1 - cx0) / nw - ww / 2
        bld(d, rect(x, cy0, x + ww, cy0 + (cy1 - cy0) * 0.35 + 1), rng.uniform(12, 22), roof, units=0.4)
        if rng.random() < 0.6:
            bld(d, rect(x, cy0 + (cy1 - cy0) * 0.35 + bh - 1, x + ww, cy1), rng.uniform(10, 18), roof, units=0.4)
    # tower with a helipad
    ts = min(34.0, (cx1 - cx0) * 0.3)
    tx, ty = cx0 + (cx1 - cx0) * rng.uniform(0.25, 0.75) - ts / 2, cy0 + (cy1 - cy0) * 0.35 + bh / 2 - ts / 2
    bld(d, rect(tx, ty, tx + ts, ty + ts), rng.uniform(45, 80), variant(rng, "roof_light"), units=0.2)
    hx, hy = (tx + ts / 2, ty + ts / 2) if rng.random() < 0.5 else (w - 18, h - park_depth - 10)
    r = min(8.0, ts * 0.35)
    if (hx, hy) != (tx + ts / 2, ty + ts / 2):
        d.ground(ellipse(hx, hy, r + 2, r + 2, 24), "concrete")
    d.paint(ellipse(hx, hy, r, r, 24), 0.6, "yellow", closed=True)
    d.paint(np.array([[hx - r * 0.35, hy - r * 0.45], [hx - r * 0.35, hy + r * 0.45]]), 0.7, "white")
    d.paint(np.array([[hx + r * 0.35, hy - r * 0.45], [hx + r * 0.35, hy + r * 0.45]]), 0.7, "white")
    d.paint(np.array([[hx - r * 0.35, hy], [hx + r * 0.35, hy]]), 0.7, "white")
    d.ground(rect(2, 2, cx0 - 4, h - park_depth - 8), "lawn")
    d.add_trees(scatter(rng, (4, 4, cx0 - 6, h - park_depth - 10), int(h / 14), (2.5, 4)))
    perimeter_trees(d, rng, w, h, spacing=8, r=3.0, sides="ne")
    return (tx + ts / 2, ty + ts / 2)


def clinic(d: Drawing, rng: np.random.Generator, w: float, h: float) -> tuple[float, float]:
    """Draw a small clinic: one flat-roofed building, a few parking stalls, some trees."""
    d.ground(rect(0, 0, w, h), "paving")
    bw, bh = w * rng.uniform(0.5, 0.75), h * rng.uniform(0.35, 0.55)
    x = rng.uniform(3, w - bw - 3)
    bld(d, rect(x, 3, x + bw, 3 + bh), rng.uniform(8, 16), variant(rng, "roof_light"), units=0.5)
    if rng.random() < 0.25:
        cx, cy, s = x + bw / 2, 3 + bh / 2, min(bw, bh) * 0.2
        d.paint(np.array([[cx - s, cy], [cx + s, cy]]), s * 0.5, (200, 40, 40))
        d.paint(np.array([[cx, cy - s], [cx, cy + s]]), s * 0.5, (200, 40, 40))
    if h - bh - 6 > 14:
        parking(d, rng, 3, 3 + bh + 3, w - 3, h - 2, occupancy=0.6)
    d.add_trees(scatter(rng, (1, 1, w - 1, h - 1), 3, (2, 3)))
    return (x + bw / 2, 3 + bh / 2)


def park(d: Drawing, rng: np.random.Generator, w: float, h: float) -> tuple[float, float]:
    """Draw a park: grass, tree clumps, winding paths to a plaza, often a pond, sometimes a pitch."""
    d.ground(rect(0, 0, w, h), "grass")
    for _ in range(int(rng.integers(1, 4))):
        d.ground(blob(rng, rng.uniform(0, w), rng.uniform(0, h), w * 0.2, h * 0.2), "lawn")
    cx, cy = w * rng.uniform(0.35, 0.65), h * rng.uniform(0.35, 0.65)
    if min(w, h) > 70 and rng.random() < 0.65:
        px, py = w * rng.uniform(0.25, 0.75), h * rng.uniform(0.25, 0.75)
        d.ground(blob(rng, px, py, w * rng.uniform(0.12, 0.25), h * rng.uniform(0.12, 0.25), rough=0.35), "water")
    if min(w, h) > 120 and rng.random() < 0.3:  # a sports pitch inside the park (still the park)
        a, b = w * 0.08, h * 0.62
        pitch(d, a, b, a + min(90, w * 0.45), b + min(55, h * 0.3))
    entrances = [(w / 2, h), (0, h * rng.uniform(0.2, 0.8)), (w, h * rng.uniform(0.2, 0.8)), (w * 0.3, 0)]
    for e in entrances[: int(rng.integers(2, 5))]:
        d.paint(curvy_path(rng, np.array(e), np.array([cx, cy]), min(w, h) * 0.12), rng.uniform(3, 5), "path")
    d.ground(ellipse(cx, cy, 9, 9, 24), "plaza")
    d.add_trees(scatter(rng, (2, 2, w - 2, h - 2), int(w * h / 600), (2.5, 5)))
    for _ in range(max(1, int(w * h / 5000))):
        tree_clump(d, rng, rng.uniform(0, w), rng.uniform(0, h), rng.uniform(10, 25), int(rng.integers(6, 20)))
    if rng.random() < 0.6:
        bld(d, rect(cx + 12, cy - 4, cx + 20, cy + 4), 5, variant(rng, "roof_pavilion"), "gable")
    return (cx, cy)


def zoo(d: Drawing, rng: np.random.Generator, w: float, h: float) -> tuple[float, float]:
    """Draw a zoo: enclosures of sand, earth and grass with pools, animal houses, paths and dense trees."""
    d.ground(rect(0, 0, w, h), "grass")
    nx, ny = max(2, int(w // 70)), max(2, int(h // 70))
    xs = np.linspace(0, w, nx + 1) + np.r_[0, rng.uniform(-8, 8, nx - 1), 0]
    ys = np.linspace(0, h, ny + 1) + np.r_[0, rng.uniform(-8, 8, ny - 1), 0]
    grounds = ["sand", "soil", "dry_grass", "grass", "gravel", "soil"]
    for i in range(nx):
        for j in range(ny):
            a, b, c, e = xs[i] + 4, ys[j] + 4, xs[i + 1] - 4, ys[j + 1] - 4
            d.ground(
                blob(rng, (a + c) / 2, (b + e) / 2, (c - a) / 2, (e - b) / 2, n=16, rough=0.15),
                str(rng.choice(grounds)),
            )
            if rng.random() < 0.5:
                d.ground(blob(rng, (a + c) / 2, (b + e) / 2, (c - a) * 0.15, (e - b) * 0.12), "water_green")
            if rng.random() < 0.5:
                tree_clump(d, rng, rng.uniform(a, c), rng.uniform(b, e), 10, int(rng.integers(3, 10)))
            if rng.random() < 0.4:
                bx, by = rng.uniform(a, c - 14), rng.uniform(b, e - 10)
                bld(d, rect(bx, by, bx + 14, by + 10), 5, variant(rng, "roof_zoo"), "gable")
            rocks = scatter(rng, (a, b, c, e), int(rng.integers(0, 6)), (0.8, 1.5))
            if len(rocks):
                d.add_objects(np.stack([rect(x - r, y - r, x + r, y + r) for x, y, r, _ in rocks]), "rock", 1.0)
    for x in xs[1:-1]:
        d.paint(np.array([[x, 0], [x, h]]), 5, "path")
    for y in ys[1:-1]:
        d.paint(np.array([[0, y], [w, y]]), 5, "path")
    if rng.random() < 0.5:  # an aviary
        ax, ay = w * rng.uniform(0.2, 0.8), h * rng.uniform(0.2, 0.6)
        d.ground(ellipse(ax, ay, 16, 16, 32), "net")
    parking(d, rng, w * 0.55, h - 30, w - 4, h - 3, occupancy=0.5)
    d.ground(rect(w * 0.3, h - 22, w * 0.5, h), "plaza")
    bld(d, rect(w * 0.35, h - 18, w * 0.45, h - 8), 7, variant(rng, "roof_zoo"), "gable")
    perimeter_trees(d, rng, w, h, spacing=6, r=3.5)
    d.add_trees(scatter(rng, (3, 3, w - 3, h - 3), int(w * h / 1400), (2.5, 4.5)))
    return (w * 0.4, h - 13)


def stadium(d: Drawing, rng: np.random.Generator, w: float, h: float) -> tuple[float, float]:
    """Draw a stadium: an oval bowl of stands with coloured seats and a canopy around a pitch, plus parking."""
    d.ground(rect(0, 0, w, h), "plaza")
    cx, cy = w / 2, h * 0.45
    ol, ow = min(w - 20, 230.0), min(h * 0.8, 190.0)
    ol = max(ol, ow)
    d.ground(stadium_shape(cx, cy, ol - ow, ow / 2, n=24), "stands")
    seat = str(rng.choice(["seat_blue", "seat_red", "seat_orange", "seat_green"]))
    d.ground(stadium_shape(cx, cy, ol - ow, ow / 2 - 6, n=24), seat)
    il, iw = ol * 0.72, ow * 0.62
    d.ground(stadium_shape(cx, cy, il - iw, iw / 2, n=24), "stands")
    if rng.random() < 0.6:
        running_track(d, cx, cy, il - 4, iw - 4, lanes=7)
    else:
        d.ground(stadium_shape(cx, cy, il - iw, iw / 2 - 3, n=24), "turf")
        pitch(
            d,
            cx - min(105, il * 0.75) / 2,
            cy - min(68, iw * 0.62) / 2,
            cx + min(105, il * 0.75) / 2,
            cy + min(68, iw * 0.62) / 2,
        )
    if rng.random() < 0.6:  # a canopy ring over the stands, in segments
        outer = stadium_shape(cx, cy, ol - ow, ow / 2 + 2, n=20)
        inner = stadium_shape(cx, cy, ol - ow, ow / 2 - 16, n=20)
        for k in range(len(outer)):
            k2 = (k + 1) % len(outer)
            bld(d, np.array([outer[k], outer[k2], inner[k2], inner[k]]), 28, variant(rng, "roof_light"), "flat")
    if h - (cy + ow / 2) > 25:
        parking(d, rng, 8, cy + ow / 2 + 8, w - 8, h - 4, occupancy=rng.uniform(0.2, 0.7))
    perimeter_trees(d, rng, w, h, spacing=9, r=3.0, sides="nwe")
    return (cx, cy)


def water_works(d: Drawing, rng: np.random.Generator, w: float, h: float) -> tuple[float, float]:
    """Draw a water treatment plant: round clarifiers with bridges, rectangular tanks, pumping halls."""
    d.ground(rect(0, 0, w, h), "lawn")
    r = rng.uniform(12, 22)
    nx = max(1, int((w * 0.65) // (2 * r + 8)))
    ny = max(1, min(3, int((h * 0.6) // (2 * r + 8))))
    water = str(rng.choice(["water_green", "water"]))
    for i in range(nx):
        for j in range(ny):
            cx, cy = 8 + r + i * (2 * r + 8), 8 + r + j * (2 * r + 8)
            d.ground(ellipse(cx, cy, r + 1.5, r + 1.5, 40), "concrete")
            d.ground(ellipse(cx, cy, r, r, 40), water)
            d.ground(ellipse(cx, cy, r * 0.15, r * 0.15, 16), "concrete")
            ang = rng.uniform(0, 2 * np.pi)
            d.paint(np.array([[cx, cy], [cx + r * np.cos(ang), cy + r * np.sin(ang)]]), 1.5, "bridge")
    tx0 = 8 + nx * (2 * r + 8)
    if w - tx0 > 30:
        tw = w - tx0 - 8
        th = min(h * 0.55, 80.0)
        d.ground(rect(tx0, 8, tx0 + tw, 8 + th), "concrete")
        k = max(2, int(tw // 12))
        for i in range(k):
            a = tx0 + 1.5 + i * (tw - 1.5) / k
            d.ground(rect(a, 9.5, a + (tw - 1.5) / k - 1.5, 6.5 + th), water)
    by = 8 + ny * (2 * r + 8) + 6
    if h - by > 20:
        bld(d, rect(10, by, 10 + min(60, w * 0.3), min(h - 8, by + 22)), 10, variant(rng, "roof_light"), units=0.4)
        bld(d, rect(w * 0.5, by + 4, w * 0.5 + 30, min(h - 8, by + 20)), 8, variant(rng, "roof_metal"), "metal")
    d.paint(np.array([[4, h - 6], [w - 4, h - 6]]), 6, "asphalt_light")
    perimeter_trees(d, rng, w, h, spacing=9, r=2.6)
    return (20 + min(60, w * 0.3) / 2, by + 10)


def cemetery(d: Drawing, rng: np.random.Generator, w: float, h: float) -> tuple[float, float]:
    """Draw a cemetery: blocks of small pale graves in rows, gravel paths, conifer rows and a chapel."""
    d.ground(rect(0, 0, w, h), "grass")
    bx, by = max(1, int(w // 40)), max(1, int(h // 40))
    xs, ys = np.linspace(4, w - 4, bx + 1), np.linspace(4, h - 4, by + 1)
    graves = []
    chapel = (int(rng.integers(bx)), int(rng.integers(by)))
    for i in range(bx):
        for j in range(by):
            a, b, c, e = xs[i] + 3, ys[j] + 3, xs[i + 1] - 3, ys[j + 1] - 3
            if (i, j) == chapel:
                d.ground(rect(a, b, c, e), "gravel")
                bld(
                    d,
                    rect(a + 6, b + 6, min(c - 4, a + 22), min(e - 4, b + 16)),
                    9,
                    variant(rng, "roof_chapel"),
                    "gable",
                )
                continue
            gx = np.arange(a + 1, c - 1.5, 2.2)
            gy = np.arange(b + 1, e - 2.5, 3.4)
            xx, yy = np.meshgrid(gx, gy)
            keep = rng.random(xx.size) < rng.uniform(0.6, 0.95)
            for x, y in zip(xx.ravel()[keep], yy.ravel()[keep], strict=True):
                graves.append(rect(x, y, x + 1.1, y + 2.1))
    if graves:
        g = np.stack(graves)
        half = rng.random(len(g)) < 0.5
        d.add_objects(g[half], "grave", 0.7)
        d.add_objects(g[~half], "grave_dark", 0.7)
    for x in xs:
        d.paint(np.array([[x, 0], [x, h]]), 3.0, "gravel_path")
        d.add_trees(
            np.column_stack(
                [
                    np.full(int(h // 9), x + 2.5),
                    np.arange(int(h // 9)) * 9 + 4,
                    np.full(int(h // 9), 2.2),
                    np.ones(int(h // 9)),
                ]
            )
        )
    for y in ys:
        d.paint(np.array([[0, y], [w, y]]), 3.0, "gravel_path")
    ci, cj = chapel
    return ((xs[ci] + xs[ci + 1]) / 2, (ys[cj] + ys[cj + 1]) / 2)
