"""The procedural city of one tile: a road hierarchy, blocks, parcels, places and clutter.

Everything is laid out in a local metric frame (u right, v down, origin at the tile centre) on a grid that
may be rotated against north, then moved into image pixels. Major roads (arterials, collectors, sometimes a
railway) bound superblocks; the superblock under the tile centre is sized so the plan's primary target fits.
Places are cut from the free rectangles guillotine-style, at a corner that faces a road; the rest is split
into clutter parcels, some separated by local roads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from evals.synthcity.clutter import build_clutter, choose_kind
from evals.synthcity.drawing import Drawing, rect, row_of_trees
from evals.synthcity.features import cars_at
from evals.synthcity.names import NameGenerator
from evals.synthcity.places import SIZES, build_place
from evals.synthcity.plan import Plan

ROAD_SPECS = {  # carriageway (m), sidewalk (m)
    "arterial": ((24.0, 36.0), (4.0, 7.0)),
    "collector": ((12.0, 18.0), (3.0, 5.0)),
    "local": ((6.5, 9.0), (2.0, 3.0)),
}


@dataclass
class Road:
    """A road or rail centreline in the local frame: p0 -> p1, with its carriageway width and class."""

    p0: np.ndarray
    p1: np.ndarray
    road_class: str  # arterial, collector, local, rail
    width: float
    sidewalk: float
    name: str | None = None
    tracks: int = 0


@dataclass
class PlacedSite:
    """A place before naming: its class, site rectangle (local frame), front side and drawing."""

    cls: str
    rect: tuple[float, float, float, float]
    front: str
    is_target: bool
    drawing: Drawing
    anchor: np.ndarray


@dataclass
class Free:
    """A free rectangle of the local frame and what borders each side (``road``, ``rail`` or ``none``)."""

    u0: float
    v0: float
    u1: float
    v1: float
    sides: dict[str, str]
    district: str = "mixed"

    @property
    def w(self) -> float:
        """Width along u."""
        return self.u1 - self.u0

    @property
    def h(self) -> float:
        """Height along v."""
        return self.v1 - self.v0


@dataclass
class CityLayout:
    """A tile's city in the local frame, plus the frame's map to image pixels.

    Attributes:
        size: tile size in pixels; gsd: metres per pixel; theta: grid rotation (radians).
        to_px: 2x3 affine from local metres to image pixels.
        roads: roads, rail lines and local roads.
        sites: placed places (targets first).
        drawing: every primitive of the tile, in the local frame, in draw order.
        shop_points: candidate points for non-socio POIs (local frame).
        greens: unnamed lawns and ponds big enough to show on a map: (polygon, "grass" | "water").
        clutter: every clutter parcel drawn: (kind, (u0, v0, u1, v1)) in the local frame (the grass strips
            narrower than 8 m between parcels aside).
    """

    size: int
    gsd: float
    theta: float
    to_px: np.ndarray
    roads: list[Road] = field(default_factory=list)
    sites: list[PlacedSite] = field(default_factory=list)
    drawing: Drawing = field(default_factory=Drawing)
    shop_points: list[np.ndarray] = field(default_factory=list)
    greens: list[tuple[np.ndarray, str]] = field(default_factory=list)
    clutter: list[tuple[str, tuple[float, float, float, float]]] = field(default_factory=list)

    def px(self, pts: np.ndarray) -> np.ndarray:
        """Map local-frame points (..., 2) to image pixels."""
        return np.asarray(pts, float) @ self.to_px[:, :2].T + self.to_px[:, 2]


def draw_dims(rng: np.random.Generator, cls: str, shrink: float = 0.0) -> tuple[float, float]:
    """Draw a (long, short) site size in metres for a class; ``shrink`` in [0, 1] pulls it to the small end."""
    lo, hi, a_lo, a_hi = SIZES[cls]
    long_side = rng.uniform(lo, lo + (hi - lo) * (1 - shrink))
    aspect = rng.uniform(a_lo, a_hi)
    short = max(long_side / aspect, lo / a_hi)
    return float(long_side), float(min(short, long_side))


class _Builder:
    def __init__(
        self, rng: np.random.Generator, plan: Plan, size: int, gsd: float, arid: bool, names: NameGenerator
    ) -> None:
        self.rng, self.plan, self.size, self.gsd, self.arid = rng, plan, size, gsd, arid
        self._names = names
        self.T = size * gsd
        theta = 0.0 if rng.random() < 0.45 else float(np.deg2rad(rng.uniform(-40, 40)))
        c, s = np.cos(theta), np.sin(theta)
        to_px = np.array([[c / gsd, -s / gsd, size / 2], [s / gsd, c / gsd, size / 2]])
        self.out = CityLayout(size, gsd, theta, to_px)
        self.ext = self.T / 2 * (abs(c) + abs(s)) + 40.0
        self.roads_drawing = Drawing()
        self.sites_drawing = Drawing()
        self.free: list[Free] = []

    # ---- visibility -------------------------------------------------------------------------------------
    def visible_fraction(self, u0: float, v0: float, u1: float, v1: float) -> float:
        return float(self.visible_fractions(np.array([[u0, v0, u1, v1]]))[0])

    def visible_fractions(self, boxes: np.ndarray) -> np.ndarray:
        """Return, per (u0, v0, u1, v1) row, the fraction of a 7x7 grid of its points inside the tile."""
        g = (np.arange(7) + 0.5) / 7
        gu, gv = np.meshgrid(g, g)
        u = boxes[:, :1] + (boxes[:, 2:3] - boxes[:, :1]) * gu.ravel()[None]
        v = boxes[:, 1:2] + (boxes[:, 3:4] - boxes[:, 1:2]) * gv.ravel()[None]
        p = self.out.px(np.stack([u, v], -1))
        inside = (p[..., 0] >= 0) & (p[..., 0] <= self.size) & (p[..., 1] >= 0) & (p[..., 1] <= self.size)
        return inside.mean(1)

    def touches_tile(self, u0: float, v0: float, u1: float, v1: float, margin: float = 0.0) -> bool:
        p = self.out.px(rect(u0, v0, u1, v1))
        m = margin / self.gsd
        return not (
            p[:, 0].max() < -m or p[:, 0].min() > self.size + m or p[:, 1].max() < -m or p[:, 1].min() > self.size + m
        )

    # ---- major roads ------------------------------------------------------------------------------------
    def _corridor(self, road_class: str) -> tuple[float, float]:
        (c_lo, c_hi), (s_lo, s_hi) = ROAD_SPECS[road_class]
        return float(self.rng.uniform(c_lo, c_hi)), float(self.rng.uniform(s_lo, s_hi))

    def _lines(self, central: float, rail_side: int | None) -> list[tuple[float, str, float, float]]:
        """Return (centre, class, carriageway, sidewalk) of the major lines along one axis, sorted."""
        rng = self.rng
        a = -central * rng.uniform(0.3, 0.7)

        def line(k: int) -> tuple[str, float, float]:
            if rail_side is not None and k == rail_side:
                tracks = int(rng.integers(2, 5))
                return "rail", tracks * 4.5 + 4.0, 3.0
            cls = "arterial" if rng.random() < 0.3 else "collector"
            cw, sw = self._corridor(cls)
            return cls, cw, sw

        out = []
        cls0, cw0, sw0 = line(0)
        cls1, cw1, sw1 = line(1)
        out.append((a - cw0 / 2 - sw0, cls0, cw0, sw0))
        out.append((a + central + cw1 / 2 + sw1, cls1, cw1, sw1))
        pos, prev = out[-1][0], out[-1][2] / 2 + out[-1][3]
        while pos < self.ext:
            cls, cw, sw = line(99)
            pos = pos + prev + rng.uniform(110, 300) + cw / 2 + sw
            prev = cw / 2 + sw
            out.append((pos, cls, cw, sw))
        pos, prev = out[0][0], out[0][2] / 2 + out[0][3]
        while pos > -self.ext:
            cls, cw, sw = line(99)
            pos = pos - prev - rng.uniform(110, 300) - cw / 2 - sw
            prev = cw / 2 + sw
            out.insert(0, (pos, cls, cw, sw))
        return out

    def build_grid(self, primary_dims: tuple[float, float], want_rail: bool, names: NameGenerator) -> None:
        rng = self.rng
        pu, pv = primary_dims if rng.random() < 0.5 else primary_dims[::-1]
        gu = pu + (rng.uniform(0, 110) if rng.random() < 0.75 else 4.0)
        gv = pv + (rng.uniform(0, 110) if rng.random() < 0.75 else 4.0)
        rail_axis = int(rng.integers(2)) if want_rail else -1
        rail_side = int(rng.integers(2)) if want_rail else None
        us = self._lines(gu, rail_side if rail_axis == 0 else None)
        vs = self._lines(gv, rail_side if rail_axis == 1 else None)
        e = self.ext + 60
        for axis, lines in ((0, us), (1, vs)):
            for c, cls, cw, sw in lines:
                p0, p1 = (np.array([c, -e]), np.array([c, e])) if axis == 0 else (np.array([-e, c]), np.array([e, c]))
                road = Road(p0, p1, cls, cw, sw, None if cls == "rail" else names.road())
                if cls == "rail":
                    road.tracks = round((cw - 4.0) / 4.5)
                self.out.roads.append(road)
        for i in range(len(us) - 1):
            for j in range(len(vs) - 1):
                u0 = us[i][0] + us[i][2] / 2 + us[i][3]
                u1 = us[i + 1][0] - us[i + 1][2] / 2 - us[i + 1][3]
                v0 = vs[j][0] + vs[j][2] / 2 + vs[j][3]
                v1 = vs[j + 1][0] - vs[j + 1][2] / 2 - vs[j + 1][3]
                if u1 - u0 < 10 or v1 - v0 < 10 or not self.touches_tile(u0, v0, u1, v1, 20):
                    continue
                sides = {"w": us[i][1], "e": us[i + 1][1], "n": vs[j][1], "s": vs[j + 1][1]}
                sides = {k: ("rail" if v == "rail" else "road") for k, v in sides.items()}
                district = str(rng.choice(["houses", "urban", "mixed"], p=[0.3, 0.4, 0.3]))
                self.free.append(Free(u0, v0, u1, v1, sides, district))

    # ---- places -----------------------------------------------------------------------------------------
    def _options(self, dims: tuple[float, float], need_rail: bool, is_target: bool, primary: bool) -> list:
        tile_area = self.T * self.T
        cand = []
        for fi, f in enumerate(self.free):
            for w, h in (dims, dims[::-1]):
                if w > f.w or h > f.h:
                    continue
                corners = {
                    "nw": (f.u0, f.v0),
                    "ne": (f.u1 - w, f.v0),
                    "sw": (f.u0, f.v1 - h),
                    "se": (f.u1 - w, f.v1 - h),
                }
                for key, (u0, v0) in corners.items():
                    faces = [s for s in key if f.sides[s] == ("rail" if need_rail else "road")]
                    if faces:
                        cand.append((fi, u0, v0, w, h, key, faces))
        if not cand:
            return []
        vis = self.visible_fractions(np.array([[c[1], c[2], c[1] + c[3], c[2] + c[4]] for c in cand]))
        opts = []
        for c, v in zip(cand, vis, strict=True):
            need = min(0.6 if is_target else 0.3, 0.6 * tile_area / (c[3] * c[4]))
            opts.append((float(v), bool(v >= need), *c))
        if not primary or any(o[1] for o in opts):
            opts = [o for o in opts if o[1]]
        return opts

    def place(self, cls: str, dims: tuple[float, float], is_target: bool, primary: bool) -> bool:
        rng = self.rng
        need_rail = cls == "railway_station"
        opts = self._options(dims, need_rail, is_target, primary)
        if not opts and not primary:
            opts = self._options(draw_dims(rng, cls, shrink=1.0), need_rail, is_target, primary)
        if not opts:
            return False
        wts = np.array([o[0] + 0.05 for o in opts])
        _vis, _, fi, u0, v0, w, h, key, faces = opts[int(rng.choice(len(opts), p=wts / wts.sum()))]
        f = self.free.pop(fi)
        if need_rail:
            front = {"n": "s", "s": "n", "w": "e", "e": "w"}[faces[0]]
        else:
            front = faces[int(rng.integers(len(faces)))]
        drawing, anchor = build_place(cls, w, h, front, rng)
        off = np.array([[1.0, 0, u0], [0, 1.0, v0]])
        drawing = drawing.transformed(off, 1.0)
        site_rect = (u0, v0, u0 + w, v0 + h)
        self.out.sites.append(PlacedSite(cls, site_rect, front, is_target, drawing, anchor + np.array([u0, v0])))
        self._split(f, u0, v0, w, h, key)
        return True

    def _gap(
        self, span: float, along: str, at: float, sign: float, lo: float, hi: float, ext: tuple[float, float]
    ) -> float:
        """Return the gap to leave at a cut starting at ``at`` going ``sign``; sometimes a local road runs in it.

        ``lo``/``hi`` bound the road along the cut and ``ext`` lets it reach past them into the major roads.
        """
        rng = self.rng
        if span > 50 and rng.random() < 0.45:
            cw, sw = self._corridor("local")
            total = cw + 2 * sw
            mid = at + sign * total / 2
            if along == "v":  # the road runs along v at u = mid, into the major roads at its ends
                p0, p1 = np.array([mid, lo - ext[0]]), np.array([mid, hi + ext[1]])
            else:
                p0, p1 = np.array([lo - ext[0], mid]), np.array([hi + ext[1], mid])
            name = self._names.road() if rng.random() < 0.3 else None
            self.out.roads.append(Road(p0, p1, "local", cw, sw, name))
            return total
        return float(rng.uniform(2, 6))

    @staticmethod
    def _reach(f: Free, side: str) -> float:
        return 8.0 if f.sides[side] == "road" else 0.0

    def _split(self, f: Free, u0: float, v0: float, w: float, h: float, key: str) -> None:
        west, north = key[1] == "w", key[0] == "n"
        rest_w, rest_h = f.w - w, f.h - h
        side_u = "w" if west else "e"  # the side of the remainder facing the place
        side_v = "n" if north else "s"
        pieces: list[Free] = []
        first_road = False
        if rest_w > 0:
            ext = (self._reach(f, "n"), self._reach(f, "s"))
            at, sign = (u0 + w, 1.0) if west else (f.u1 - w, -1.0)
            g = self._gap(f.h, "v", at, sign, f.v0, f.v1, ext) if rest_w > 20 else rest_w
            g = min(g, rest_w)
            a, b = (u0 + w + g, f.u1) if west else (f.u0, f.u1 - w - g)
            sides = dict(f.sides)
            first_road = g > 8
            sides[side_u] = "road" if first_road else "none"
            pieces.append(Free(a, f.v0, b, f.v1, sides, f.district))
        if rest_h > 0:
            ua, ub = (f.u0, f.u0 + w) if west else (f.u1 - w, f.u1)
            inner = 6.0 if first_road else 0.0
            ext = (self._reach(f, "w") if west else inner, inner if west else self._reach(f, "e"))
            at, sign = (v0 + h, 1.0) if north else (f.v1 - h, -1.0)
            g = self._gap(w, "u", at, sign, ua, ub, ext) if rest_h > 20 else rest_h
            g = min(g, rest_h)
            a, b = (v0 + h + g, f.v1) if north else (f.v0, f.v1 - h - g)
            sides = dict(f.sides)
            sides[side_v] = "road" if g > 8 else "none"
            sides["e" if west else "w"] = "none"
            pieces.append(Free(ua, a, ub, b, sides, f.district))
        for p in pieces:
            if p.w > 1 and p.h > 1:
                self.free.append(p)

    # ---- clutter ----------------------------------------------------------------------------------------
    def fill(self, f: Free, depth: int = 0) -> None:
        rng = self.rng
        if not self.touches_tile(f.u0, f.v0, f.u1, f.v1, 10):
            return
        if f.w < 8 or f.h < 8:
            d = Drawing()
            d.ground(rect(f.u0, f.v0, f.u1, f.v1), "dry_grass" if self.arid else "grass")
            d.add_trees(row_of_trees(*self._long_axis(f), 8.0, 2.5, rng, 2 if self.arid else 0))
            self.sites_drawing.extend(d)
            return
        target = {"houses": 75.0, "urban": 95.0, "mixed": 80.0}[f.district] * rng.uniform(0.6, 1.4)
        if max(f.w, f.h) <= target:
            self._clutter(f)
            return
        along_u = f.w >= f.h  # split across the longer side
        span = f.w if along_u else f.h
        cut = span * rng.uniform(0.35, 0.65)
        if span > 140 and depth < 2 and rng.random() < 0.6:
            cw, sw = self._corridor("local")
            gap = cw + 2 * sw
            if along_u:
                u = f.u0 + cut + gap / 2
                p0, p1 = np.array([u, f.v0 - self._reach(f, "n")]), np.array([u, f.v1 + self._reach(f, "s")])
            else:
                v = f.v0 + cut + gap / 2
                p0, p1 = np.array([f.u0 - self._reach(f, "w"), v]), np.array([f.u1 + self._reach(f, "e"), v])
            self.out.roads.append(Road(p0, p1, "local", cw, sw, self._names.road() if rng.random() < 0.3 else None))
            inner = "road"
        else:
            gap, inner = rng.uniform(0.5, 3.0), "none"
        if along_u:
            a = Free(f.u0, f.v0, f.u0 + cut, f.v1, {**f.sides, "e": inner}, f.district)
            b = Free(f.u0 + cut + gap, f.v0, f.u1, f.v1, {**f.sides, "w": inner}, f.district)
        else:
            a = Free(f.u0, f.v0, f.u1, f.v0 + cut, {**f.sides, "s": inner}, f.district)
            b = Free(f.u0, f.v0 + cut + gap, f.u1, f.v1, {**f.sides, "n": inner}, f.district)
        self.fill(a, depth + 1)
        self.fill(b, depth + 1)

    @staticmethod
    def _long_axis(f: Free) -> tuple[tuple[float, float], tuple[float, float]]:
        if f.w >= f.h:
            return (f.u0, (f.v0 + f.v1) / 2), (f.u1, (f.v0 + f.v1) / 2)
        return ((f.u0 + f.u1) / 2, f.v0), ((f.u0 + f.u1) / 2, f.v1)

    def _clutter(self, f: Free) -> None:
        rng = self.rng
        kind = choose_kind(rng, f.w, f.h, f.district)
        road_sides = [s for s in "snwe" if f.sides[s] == "road"]
        front = road_sides[int(rng.integers(len(road_sides)))] if road_sides else "s"
        d, pois = build_clutter(kind, f.w, f.h, front, rng, self.arid)
        off = np.array([[1.0, 0, f.u0], [0, 1.0, f.v0]])
        d = d.transformed(off, 1.0)
        self.sites_drawing.extend(d)
        self.out.clutter.append((kind, (f.u0, f.v0, f.u1, f.v1)))
        self.out.shop_points += [p + np.array([f.u0, f.v0]) for p in pois]
        if kind == "pond":  # the pond itself, not its parcel
            self.out.greens += [(p, "water") for p, m in d.grounds if m == "water"]
        elif kind == "green" and f.w * f.h > 900 and rng.random() < 0.5:
            self.out.greens.append((rect(f.u0, f.v0, f.u1, f.v1), "grass"))

    # ---- roads as drawings ------------------------------------------------------------------------------
    def draw_roads(self) -> None:
        rng = self.rng
        side, top, paint = Drawing(), Drawing(), Drawing()
        for r in self.out.roads:
            d = r.p1 - r.p0
            length = float(np.linalg.norm(d))
            t = d / length
            n = np.array([-t[1], t[0]])

            def band(half: float, r: Road = r, n: np.ndarray = n) -> np.ndarray:
                return np.array([r.p0 + n * half, r.p1 + n * half, r.p1 - n * half, r.p0 - n * half])

            if r.road_class == "rail":
                side.ground(band(r.width / 2 + r.sidewalk), "verge")
                top.ground(band(r.width / 2), "ballast")
                for k in range(r.tracks):
                    off = (k - (r.tracks - 1) / 2) * 4.5
                    for rail in (-0.75, 0.75):
                        paint.paint(np.array([r.p0 + n * (off + rail), r.p1 + n * (off + rail)]), 0.2, "rail")
                continue
            side.ground(band(r.width / 2 + r.sidewalk), "sidewalk")
            top.ground(band(r.width / 2), "asphalt" if r.road_class != "local" else "asphalt_light")
            if r.road_class in ("arterial", "collector"):
                paint.paint(np.array([r.p0 + n * 0.3, r.p1 + n * 0.3]), 0.2, "yellow")
                paint.paint(np.array([r.p0 - n * 0.3, r.p1 - n * 0.3]), 0.2, "yellow")
                lanes = max(1, int(r.width / 2 // 3.5))
                s = np.arange(0, length, 9.0)
                for k in range(1, lanes):
                    for sign in (1, -1):
                        o = n * sign * k * (r.width / 2) / lanes
                        segs = np.stack([r.p0 + o + t * s[:, None], r.p0 + o + t * (s[:, None] + 3.0)], 1)
                        paint.paint(segs, 0.15, "white")
                if r.sidewalk > 3.5 and rng.random() < 0.7:
                    for sign in (1, -1):
                        o = n * sign * (r.width / 2 + r.sidewalk * 0.55)
                        paint.add_trees(
                            row_of_trees(r.p0 + o, r.p1 + o, rng.uniform(7, 11), rng.uniform(2.5, 3.5), rng)
                        )
                ncar = int(length / 1000 * r.width * rng.uniform(0.4, 1.2))
                along = rng.uniform(0, length, ncar)
                lane = rng.integers(0, 2 * lanes, ncar)
                lane_w = r.width / (2 * lanes)
                offs = -r.width / 2 + (lane + 0.5) * lane_w
                xy = r.p0 + t * along[:, None] + n * offs[:, None]
                ang = np.full(ncar, np.arctan2(t[1], t[0]))
                cars_at(paint, rng, xy, ang + rng.normal(0, 0.02, ncar))
        self.roads_drawing.extend(side)
        self.roads_drawing.extend(top)
        self.roads_drawing.extend(paint)


def build_layout(
    rng: np.random.Generator, plan: Plan, size: int, gsd: float, names: NameGenerator, arid: bool = False
) -> CityLayout:
    """Build the city of one tile around a plan.

    The primary target is always placed; other targets and distractors are placed where they fit with enough
    of them inside the tile, and silently dropped otherwise.

    Returns:
        The layout; ``layout.drawing`` is still in the local frame (see `CityLayout.px`).
    """
    b = _Builder(rng, plan, size, gsd, arid, names)
    primary_dims = draw_dims(rng, plan.targets[0])
    want_rail = "railway_station" in plan.targets or "railway_station" in plan.distractors or rng.random() < 0.06
    b.build_grid(primary_dims, want_rail, names)
    multi = len(plan.targets) > 1
    for k, cls in enumerate(plan.targets):
        dims = primary_dims if k == 0 else draw_dims(rng, cls, shrink=0.7 if multi else 0.3)
        b.place(cls, dims, True, k == 0)
    for cls in plan.distractors:
        b.place(cls, draw_dims(rng, cls, shrink=0.5), False, False)
    free, b.free = b.free, []
    for f in free:
        b.fill(f)
    b.draw_roads()
    base = Drawing()
    e = b.ext + 60
    base.ground(rect(-e, -e, e, e), "soil" if arid else "yard")
    for s in b.out.sites:
        base.extend(s.drawing)
    out = b.out
    out.drawing = base
    out.drawing.extend(b.roads_drawing)
    out.drawing.extend(b.sites_drawing)
    for s in out.sites:  # ponds inside places show on the map as water
        for poly, mat in s.drawing.grounds:
            if mat == "water" and _area(poly) > 300:
                out.greens.append((poly, "water"))
    return out


def _area(poly: np.ndarray) -> float:
    x, y = poly[:, 0], poly[:, 1]
    return float(abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))) / 2)
