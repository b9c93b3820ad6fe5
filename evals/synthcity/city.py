"""A SynthCity city: one contiguous georeferenced city of any size, laid out block by block.

The city lies in a local metric frame (u right, v down, origin at the top-left corner of the image; north up).
A grid of major roads (arterials and collectors, 110-300 m apart) crosses the whole city; each superblock
between them is laid out on its own, by the tile generator's builder (`evals.synthcity.layout`): zero to two
socio-places cut from it at a road-facing corner, the rest split into clutter parcels and local roads. A
block's layout depends only on (seed, block row, block column), so any part of the city can be rebuilt
without the rest: the renderer (`evals.synthcity.city_render`) rebuilds the blocks under each chunk it paints.

Places are sized as in tiles (40-420 m), so with SocioSeg-like search windows (about 460 m) many of them
straddle window seams: what the tiling and merging benchmarks need.

>>> city = CityPlan(seed=0, size=600, gsd=0.6)
>>> len(city.blocks) > 1 and len(city.major_roads) > 2
True
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
from affine import Affine

from evals.synthcity.drawing import Drawing, rect
from evals.synthcity.layout import ROAD_SPECS, CityLayout, Free, PlacedSite, Road, _Builder, draw_dims
from evals.synthcity.names import NameGenerator
from evals.synthcity.palette import SEASONS

CITY_CODE = 7919
"""Mixed into every random stream of a city, so cities never share a stream with tile splits."""

CITY_CLASS_WEIGHTS: dict[str, float] = {
    "school": 0.13, "kindergarten": 0.06, "university": 0.03, "hospital": 0.05, "clinic": 0.05, "park": 0.15,
    "zoo": 0.01, "stadium": 0.03, "shopping_mall": 0.05, "office_park": 0.07, "residential_compound": 0.12,
    "factory": 0.05, "warehouse": 0.05, "parking_lot": 0.07, "water_works": 0.02, "cemetery": 0.04,
}  # fmt: skip
"""How often each class is drawn for a block's places (railway stations need rail lines, which cities lack)."""

PLACES_PER_BLOCK = (0.35, 0.45, 0.20)
"""Probability that a superblock holds 0, 1 or 2 places."""


@dataclass
class CityBlock:
    """A superblock between major roads: its grid position and its rectangle (u0, v0, u1, v1) in metres."""

    row: int
    col: int
    rect: tuple[float, float, float, float]
    district: str


@dataclass
class BlockContent:
    """What a superblock holds, in the city's local metric frame.

    Attributes:
        block: the superblock.
        layout: the block's layout (sites, local roads, clutter, shop points, greens); ``layout.px`` maps to pixels.
        site_drawing: the places' primitives (drawn first).
        clutter_drawing: clutter parcels and strips (drawn after the roads).
    """

    block: CityBlock
    layout: CityLayout
    site_drawing: Drawing
    clutter_drawing: Drawing


def _stream(*key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([CITY_CODE, *key]))


class _BlockBuilder(_Builder):
    """The tile builder working on one superblock: every part of it counts as visible."""

    def __init__(self, rng: np.random.Generator, size: int, gsd: float, names: NameGenerator) -> None:
        self.rng, self.size, self.gsd, self.arid, self._names = rng, size, gsd, False, names
        self.T = size * gsd
        self.out = CityLayout(size, gsd, 0.0, np.array([[1 / gsd, 0.0, 0.0], [0.0, 1 / gsd, 0.0]]))
        self.roads_drawing = Drawing()
        self.sites_drawing = Drawing()
        self.free = []

    def visible_fractions(self, boxes: np.ndarray) -> np.ndarray:
        return np.ones(len(boxes))

    def touches_tile(self, u0: float, v0: float, u1: float, v1: float, margin: float = 0.0) -> bool:
        return True


def road_drawings(road: Road, rng: np.random.Generator, size: int, gsd: float) -> tuple[Drawing, Drawing]:
    """Draw one road as the tile builder does; return (its sidewalk band, the rest: carriageway, paint, cars, trees).

    The split lets a chunk paint every road's sidewalks before any carriageway, as a tile does.
    """
    b = _BlockBuilder(rng, size, gsd, NameGenerator(rng))
    b.out.roads = [road]
    b.draw_roads()
    d = b.roads_drawing
    side, rest = Drawing(), Drawing()
    side.grounds = d.grounds[:1]
    rest.grounds = d.grounds[1:]
    rest.paints, rest.objects, rest.buildings, rest.trees = d.paints, d.objects, d.buildings, d.trees
    return side, rest


@dataclass
class CityPlan:
    """The city's frame: its size, georeferencing, look, major roads and superblocks (deterministic from seed).

    Attributes:
        seed: the city seed.
        size: side in pixels (the city is square).
        gsd: metres per pixel.
        crs: the city's UTM CRS.
        transform: pixel-corner -> CRS transform.
        season: the look of the vegetation.
        major_roads: major road segments between crossings (local frame), with ids ``(axis, line, segment)``.
        blocks: the superblocks, row by row.
    """

    seed: int
    size: int
    gsd: float
    crs: str = ""
    transform: Affine = field(default_factory=Affine.identity)
    season: str = "summer"
    major_roads: list[tuple[tuple[int, int, int], Road]] = field(default_factory=list)
    blocks: list[CityBlock] = field(default_factory=list)

    def __post_init__(self) -> None:
        rng = _stream(self.seed, 0)
        zone = int(rng.integers(43, 54))
        extent = self.size * self.gsd
        x0 = round(float(rng.uniform(250_000, max(250_001.0, 750_000 - extent))), 1)
        y0 = round(float(rng.uniform(2_400_000 + extent, 5_300_000)), 1)
        self.crs = f"EPSG:{32600 + zone}"
        self.transform = Affine(self.gsd, 0.0, x0, 0.0, -self.gsd, y0)
        self.season = str(rng.choice(SEASONS[:3]))
        us, vs = self._lines(rng, extent), self._lines(rng, extent)
        names = NameGenerator(_stream(self.seed, 1))
        reach = 60.0
        for axis, lines, cross in ((0, us, vs), (1, vs, us)):
            for li, (c, cls, cw, sw) in enumerate(lines):
                name = names.road()
                stops = [-reach] + [x[0] for x in cross[1:-1]] + [extent + reach]
                for si in range(len(stops) - 1):
                    a, b = stops[si], stops[si + 1]
                    p0, p1 = (np.array([c, a]), np.array([c, b])) if axis == 0 else (np.array([a, c]), np.array([b, c]))
                    self.major_roads.append(((axis, li, si), Road(p0, p1, cls, cw, sw, name)))
        for j in range(len(vs) - 1):
            for i in range(len(us) - 1):
                u0 = us[i][0] + us[i][2] / 2 + us[i][3]
                u1 = us[i + 1][0] - us[i + 1][2] / 2 - us[i + 1][3]
                v0 = vs[j][0] + vs[j][2] / 2 + vs[j][3]
                v1 = vs[j + 1][0] - vs[j + 1][2] / 2 - vs[j + 1][3]
                if u1 - u0 < 10 or v1 - v0 < 10:
                    continue
                district = str(rng.choice(["houses", "urban", "mixed"], p=[0.3, 0.4, 0.3]))
                self.blocks.append(CityBlock(j, i, (u0, v0, u1, v1), district))
        self._cache: OrderedDict[tuple[int, int], BlockContent] = OrderedDict()

    @staticmethod
    def _lines(rng: np.random.Generator, extent: float) -> list[tuple[float, str, float, float]]:
        """Return (centre, class, carriageway, sidewalk) of the major roads along one axis, covering the city."""
        out = []
        pos = -float(rng.uniform(20, 120))
        while True:
            cls = "arterial" if rng.random() < 0.25 else "collector"
            (c_lo, c_hi), (s_lo, s_hi) = ROAD_SPECS[cls]
            cw, sw = float(rng.uniform(c_lo, c_hi)), float(rng.uniform(s_lo, s_hi))
            out.append((pos, cls, cw, sw))
            if pos > extent:
                return out
            pos += cw / 2 + sw + float(rng.uniform(110, 300)) + 14.0

    # -- blocks -----------------------------------------------------------------------------------------

    def block(self, blk: CityBlock, names: NameGenerator | None = None, cache: bool = True) -> BlockContent:
        """Lay out one superblock (the same result for the same seed, whatever else was built before).

        Args:
            blk: the superblock.
            names: the name source (a city-wide one gives names unique in the city); None: a throwaway one.
            cache: keep the result in a small LRU cache (the renderer's chunks share blocks).
        """
        key = (blk.row, blk.col)
        hit = self._cache.get(key) if names is None else None
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        rng = _stream(self.seed, 2, blk.row, blk.col)
        b = _BlockBuilder(rng, self.size, self.gsd, names or NameGenerator(_stream(self.seed, 3, blk.row, blk.col)))
        u0, v0, u1, v1 = blk.rect
        b.free = [Free(u0, v0, u1, v1, dict.fromkeys("nswe", "road"), blk.district)]
        n_places = int(rng.choice(len(PLACES_PER_BLOCK), p=PLACES_PER_BLOCK))
        classes = list(CITY_CLASS_WEIGHTS)
        weights = np.array([CITY_CLASS_WEIGHTS[c] for c in classes])
        for _ in range(n_places):
            cls = classes[int(rng.choice(len(classes), p=weights / weights.sum()))]
            b.place(cls, draw_dims(rng, cls, shrink=0.4), False, False)
        free, b.free = b.free, []
        for f in free:
            b.fill(f)
        sites = Drawing()
        for s in b.out.sites:
            sites.extend(s.drawing)
            for poly, mat in s.drawing.grounds:  # ponds inside places show on the map as water
                if mat == "water" and _area(poly) > 300:
                    b.out.greens.append((poly, "water"))
        content = BlockContent(blk, b.out, sites, b.sites_drawing)
        if cache and names is None:
            self._cache[key] = content
            while len(self._cache) > 256:
                self._cache.popitem(last=False)
        return content

    def blocks_in(self, u0: float, v0: float, u1: float, v1: float) -> list[CityBlock]:
        """Return the superblocks that overlap a rectangle of the local frame (metres)."""
        return [b for b in self.blocks if b.rect[0] < u1 and b.rect[2] > u0 and b.rect[1] < v1 and b.rect[3] > v0]

    def roads_in(self, u0: float, v0: float, u1: float, v1: float) -> list[tuple[tuple[int, int, int], Road]]:
        """Return the major road segments whose corridor overlaps a rectangle of the local frame (metres)."""
        out = []
        for key, r in self.major_roads:
            half = r.width / 2 + r.sidewalk
            lo, hi = np.minimum(r.p0, r.p1) - half, np.maximum(r.p0, r.p1) + half
            if lo[0] < u1 and hi[0] > u0 and lo[1] < v1 and hi[1] > v0:
                out.append((key, r))
        return out

    def major_road_stream(self, key: tuple[int, int, int]) -> np.random.Generator:
        """Return the random stream that draws a major road segment's cars and trees."""
        return _stream(self.seed, 4, *key)

    def local_road_stream(self, blk: CityBlock, k: int) -> np.random.Generator:
        """Return the random stream that draws the k-th local road of a block."""
        return _stream(self.seed, 5, blk.row, blk.col, k)


def site_rect_px(site: PlacedSite, gsd: float) -> np.ndarray:
    """Return a site's (4, 2) footprint in city pixels."""
    return rect(*site.rect) / gsd


def _area(poly: np.ndarray) -> float:
    x, y = poly[:, 0], poly[:, 1]
    return float(abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))) / 2)
