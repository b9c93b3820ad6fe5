"""Overlapping windows over a large raster, and instance pieces merged across window seams.

Windows (`grid_windows`) follow TorchGeo's ``GridGeoSampler``: a regular grid of ``tile`` x ``tile`` windows with
stride ``tile - overlap``, the last row and column shifted back to end at the raster's edge, so every window
is whole and every pixel is covered. Sizes are in the pixels the policy sees; with resampling (``scale`` source
pixels per output pixel) each window reads ``tile * scale`` source pixels.

Merging (`merge_pieces`): each window reports its instances as polygons in the raster CRS. Two pieces from
different windows are the same place when, inside the region the two windows share, they cover mostly the
same ground (their intersection there is at least ``min_shared`` of the smaller one's part there). Same-place
pieces are grouped transitively (union-find) and their union (`shapely.union_all`, then `shapely.make_valid`)
is the merged instance. Two places that merely touch at a seam are never merged: they share no overlap.

Edge fragments (`edge_fragments`): a place seen by one window only, at its edge, inside another window that
looked at the same ground from nearer its own centre and found nothing there, is a fragment (a box that pokes
into the window from a place beyond it, a mask cut by the window's edge): the more central view decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import shapely
from affine import Affine
from pydantic import BaseModel, ConfigDict
from shapely.geometry import Polygon, box
from shapely.geometry.base import BaseGeometry

from tools.errors import InputError
from tools.raster_window import PixelWindow


class GridWindow(BaseModel):
    """One window of the grid: its row and column and the pixels it reads."""

    model_config = ConfigDict(frozen=True)

    row: int
    col: int
    window: PixelWindow

    @property
    def id(self) -> str:
        """A stable name, ``r003c012``."""
        return f"r{self.row:03d}c{self.col:03d}"

    def footprint(self, raster_transform: Affine) -> Polygon:
        """Return the window's outline in the raster CRS."""
        x0, y0, x1, y1 = self.window.bounds_px()
        corners = [raster_transform @ (x, y) for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))]
        return Polygon(corners)


def _starts(extent: int, size: int, stride: int) -> list[int]:
    if extent <= size:
        return [0]
    starts = list(range(0, extent - size, stride))
    if starts[-1] + size < extent:
        starts.append(extent - size)
    return starts


def grid_windows(
    hw: tuple[int, int],
    tile: int,
    overlap: int,
    scale: tuple[float, float] = (1.0, 1.0),
    region: tuple[int, int, int, int] | None = None,
) -> list[GridWindow]:
    """Return the overlapping windows that cover a raster (or a region of it), row by row.

    Args:
        hw: the raster's (height, width) in source pixels.
        tile: window side in output pixels (what the policy sees).
        overlap: pixels (output) shared by neighbouring windows; at least 1 so seams can be merged.
        scale: source pixels per output pixel along x and y (1 = no resampling).
        region: (x0, y0, x1, y1) source pixels to cover (default: the whole raster).

    Raises:
        InputError: the tile or overlap is out of range, or the region is empty.

    >>> [w.window.col_off for w in grid_windows((100, 250), 100, 20)]
    [0, 80, 150]
    """
    if tile < 32:
        raise InputError(f"--tile must be at least 32 pixels, got {tile}; SocioSeg-like tiles are 768")
    if not 0 < overlap <= tile // 2:
        raise InputError(f"--overlap must be between 1 and half the tile ({tile // 2}), got {overlap}")
    h, w = hw
    x0, y0, x1, y1 = region or (0, 0, w, h)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 <= x0 or y1 <= y0:
        raise InputError(f"the region to search {region} does not overlap the {w}x{h} raster")
    sx, sy = scale
    size_x, size_y = max(1, round(tile * sx)), max(1, round(tile * sy))
    stride_x, stride_y = max(1, round((tile - overlap) * sx)), max(1, round((tile - overlap) * sy))
    out = []
    for r, row in enumerate(_starts(y1 - y0, size_y, stride_y)):
        for c, col in enumerate(_starts(x1 - x0, size_x, stride_x)):
            width, height = min(size_x, x1 - x0), min(size_y, y1 - y0)
            out_w = tile if width == size_x else max(1, round(width / sx))
            out_h = tile if height == size_y else max(1, round(height / sy))
            win = PixelWindow(col_off=x0 + col, row_off=y0 + row, width=width, height=height, out_width=out_w,
                              out_height=out_h)  # fmt: skip
            out.append(GridWindow(row=r, col=c, window=win))
    return out


@dataclass
class Piece:
    """One window's instance, in the raster CRS.

    Attributes:
        window_id: the window it came from.
        footprint: that window's outline in the raster CRS.
        geometry: the instance's polygon(s) in the raster CRS.
        data: anything the caller keeps with the piece (score, source, reasoning).
    """

    window_id: str
    footprint: BaseGeometry
    geometry: BaseGeometry
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class MergedInstance:
    """A place after merging: the union of its pieces, and which pieces those were (indices into the input)."""

    geometry: BaseGeometry
    pieces: list[int]

    def window_ids(self, pieces: Sequence[Piece]) -> list[str]:
        """Return the ids of the windows this instance was seen in, in order."""
        return sorted({pieces[i].window_id for i in self.pieces})


def _same_place(a: Piece, b: Piece, min_shared: float) -> bool:
    shared = a.footprint.intersection(b.footprint)
    if shared.area <= 0:
        return False
    pa, pb = a.geometry.intersection(shared), b.geometry.intersection(shared)
    small = min(pa.area, pb.area)
    if small <= 0:
        return False
    return pa.intersection(pb).area >= min_shared * small


def merge_pieces(pieces: Sequence[Piece], min_shared: float = 0.5) -> list[MergedInstance]:
    """Merge pieces of the same place seen in overlapping windows (see the module docstring).

    The result does not depend on the order of ``pieces`` within a group: instances come out ordered by their
    first piece, pieces within an instance ascending.

    >>> from shapely.geometry import box
    >>> fa, fb = box(0, 0, 10, 10), box(8, 0, 18, 10)
    >>> ps = [Piece("a", fa, box(5, 2, 10, 6)), Piece("b", fb, box(8, 2, 14, 6)), Piece("b", fb, box(15, 7, 17, 9))]
    >>> [(round(m.geometry.area), m.pieces) for m in merge_pieces(ps)]
    [(36, [0, 1]), (4, [2])]
    """
    n = len(pieces)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    geoms = [p.geometry for p in pieces]
    if n:
        tree = shapely.STRtree(geoms)
        left, right = tree.query(geoms, predicate="intersects")
        for i, j in zip(left.tolist(), right.tolist(), strict=True):
            if i >= j or pieces[i].window_id == pieces[j].window_id:
                continue
            if find(i) != find(j) and _same_place(pieces[i], pieces[j], min_shared):
                parent[max(find(i), find(j))] = min(find(i), find(j))
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    out = []
    for members in sorted(groups.values(), key=lambda m: m[0]):
        geom = shapely.make_valid(shapely.union_all([geoms[i] for i in members]))
        out.append(MergedInstance(geometry=_polygonal(geom), pieces=members))
    return out


def edge_fragments(
    merged: Sequence[MergedInstance], pieces: Sequence[Piece], footprints: dict[str, BaseGeometry]
) -> list[int]:
    """Return the indices of merged instances that are edge fragments (see the module docstring).

    Args:
        merged: the merged instances.
        pieces: the pieces they index.
        footprints: the outline of every window that was run, by id (windows not run saw nothing).

    >>> from shapely.geometry import box
    >>> fa, fb = box(0, 0, 10, 10), box(8, 0, 18, 10)
    >>> ps = [Piece("a", fa, box(9, 4, 10, 5)), Piece("b", fb, box(12, 2, 16, 6))]
    >>> edge_fragments(merge_pieces(ps), ps, {"a": fa, "b": fb})
    [0]
    """
    ids = list(footprints)
    tree = shapely.STRtree([footprints[i] for i in ids])
    centres = {i: footprints[i].centroid for i in ids}
    out = []
    for k, m in enumerate(merged):
        seen = m.window_ids(pieces)
        if len(seen) != 1 or m.geometry.is_empty or seen[0] not in centres:
            continue
        p = m.geometry.representative_point()
        own = p.distance(centres[seen[0]])
        others = [ids[j] for j in tree.query(p, predicate="within").tolist() if ids[j] != seen[0]]
        if any(p.distance(centres[o]) < own for o in others):
            out.append(k)
    return out


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    """Return the polygonal part of a geometry (make_valid can leave stray lines or points)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else box(0, 0, 0, 0)
