"""Windows over large rasters, seam merging, and the pixel -> CRS -> pixel round trip in three CRSs."""

from __future__ import annotations

import math
import random

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from affine import Affine
from shapely.geometry import Polygon, box, shape

from tools.coords import GeoRef, geometry_to_crs, geometry_to_pixels
from tools.errors import InputError
from tools.mask_raster import write_mask_geotiff
from tools.raster_window import RasterReader
from tools.tiling import Piece, grid_windows, merge_pieces
from tools.vector_io import instances_geojson_lonlat, write_gpkg


def test_windows_cover_the_raster_and_the_last_ones_end_at_its_edges():
    wins = grid_windows((1000, 1300), tile=300, overlap=60)
    cover = np.zeros((1000, 1300), int)
    for w in wins:
        x0, y0, x1, y1 = w.window.bounds_px()
        assert (x1 - x0, y1 - y0) == (300, 300) and x1 <= 1300 and y1 <= 1000
        cover[y0:y1, x0:x1] += 1
    assert cover.min() >= 1
    assert max(w.window.bounds_px()[2] for w in wins) == 1300 and max(w.window.bounds_px()[3] for w in wins) == 1000
    assert len({w.id for w in wins}) == len(wins)


def test_resampled_windows_read_more_source_pixels_and_a_small_raster_is_one_window():
    wins = grid_windows((2000, 2000), tile=200, overlap=20, scale=(2.0, 2.0))
    assert {(w.window.width, w.window.out_width) for w in wins} == {(400, 200)}
    one = grid_windows((150, 120), tile=768, overlap=128)
    assert len(one) == 1 and one[0].window.out_hw == (150, 120)


@pytest.mark.parametrize(("tile", "overlap", "needle"), [(16, 4, "at least 32"), (256, 0, "between 1"),
                                                         (256, 200, "between 1")])  # fmt: skip
def test_bad_tiling_is_an_input_error(tile, overlap, needle):
    with pytest.raises(InputError, match=needle):
        grid_windows((500, 500), tile, overlap)


def _pieces_of(place: Polygon, windows: list[Polygon]) -> list[Piece]:
    return [Piece(f"w{i}", w, place.intersection(w)) for i, w in enumerate(windows) if place.intersects(w)]


def test_a_place_across_four_windows_merges_into_its_own_polygon():
    windows = [box(0, 0, 60, 60), box(50, 0, 110, 60), box(0, 50, 60, 110), box(50, 50, 110, 110)]
    place = Polygon([(20, 30), (90, 25), (85, 95), (30, 80)])
    pieces = _pieces_of(place, windows)
    merged = merge_pieces(pieces)
    assert len(pieces) == 4 and len(merged) == 1
    assert merged[0].geometry.symmetric_difference(place).area < 1e-6 * place.area
    assert merged[0].window_ids(pieces) == ["w0", "w1", "w2", "w3"]


def test_places_that_only_touch_at_a_seam_stay_apart_and_order_does_not_matter():
    windows = [box(0, 0, 60, 60), box(50, 0, 110, 60)]
    left, right = box(10, 10, 55, 40), box(55, 10, 100, 40)  # they meet on x = 55, inside the shared strip
    pieces = _pieces_of(left, windows) + _pieces_of(right, windows)
    merged = merge_pieces(pieces)
    areas = sorted(round(m.geometry.area) for m in merged)
    # each place is seen by both windows; the parts in the strip overlap only along a line
    assert areas == sorted([round(left.area), round(right.area)])
    shuffled = pieces[:]
    random.Random(0).shuffle(shuffled)
    assert sorted(round(m.geometry.area) for m in merge_pieces(shuffled)) == areas


def test_pieces_of_one_window_are_never_merged_with_each_other():
    w = box(0, 0, 100, 100)
    pieces = [Piece("a", w, box(10, 10, 50, 50)), Piece("a", w, box(40, 40, 80, 80))]
    assert len(merge_pieces(pieces)) == 2


CRS_CASES = {
    "utm": ("EPSG:32633", Affine(0.6, 0, 400_000, 0, -0.6, 6_600_000)),
    "web-mercator": ("EPSG:3857", Affine(1.2, 0, 2_780_000, 0, -1.2, 8_399_000)),
    "lonlat": ("EPSG:4326", Affine(0.5 / 55_430, 0, 24.9, 0, -0.5 / 111_320, 60.2)),  # about 0.5 m, read at 0.6
}


@pytest.mark.parametrize("case", list(CRS_CASES))
def test_polygons_round_trip_pixel_crs_pixel_within_one_pixel(tmp_path, case):
    """Window pixels -> raster CRS (GeoPackage) -> lon/lat (GeoJSON) -> raster pixels, and the mask on the grid."""
    crs, transform = CRS_CASES[case]
    path = tmp_path / f"{case}.tif"
    with rasterio.open(path, "w", driver="GTiff", height=600, width=600, count=1, dtype="uint8", crs=crs,
                       transform=transform) as dst:  # fmt: skip
        dst.write(np.full((1, 600, 600), 100, np.uint8))
    info = RasterReader(path).info
    gx, gy = info.ground_m
    scale = (0.6 / gx, 0.6 / gy)
    win = grid_windows(info.hw, tile=256, overlap=32, scale=scale)[4]  # a window inside the raster
    wt = win.window.transform(info.affine)
    poly_win = Polygon([(30.5, 40), (200, 35.25), (220, 180), (120, 230), (60.75, 150)])
    in_crs = geometry_to_crs(poly_win, GeoRef(crs, wt))
    write_gpkg(tmp_path / "p.gpkg", [{"id": 1}], [in_crs], crs)
    from_gpkg = pyogrio.read_dataframe(tmp_path / "p.gpkg").geometry.iloc[0]
    lonlat = shape(instances_geojson_lonlat([{"id": 1}], [from_gpkg], crs)["features"][0]["geometry"])
    back = gpd.GeoSeries([lonlat], crs="EPSG:4326").to_crs(crs).iloc[0]
    back_px = geometry_to_pixels(back, GeoRef(crs, info.affine))
    sx, sy = win.window.width / win.window.out_width, win.window.height / win.window.out_height
    expect = shapely.transform(poly_win, lambda c: c * [sx, sy] + [win.window.col_off, win.window.row_off])
    assert shapely.hausdorff_distance(back_px, expect) < 1.0
    write_mask_geotiff(tmp_path / "m.tif", info.hw, info.affine, crs, [in_crs])
    with rasterio.open(tmp_path / "m.tif") as m:
        mask = m.read(1) > 0
        assert m.crs == rasterio.crs.CRS.from_user_input(crs) and m.profile["tiled"] and m.profile["compress"]
    ys, xs = np.nonzero(mask)
    centres = shapely.points(xs + 0.5, ys + 0.5)
    assert shapely.contains(expect.buffer(1.0), centres).all()  # every mask pixel lies within 1 px of the polygon
    assert math.isclose(mask.sum(), expect.area, rel_tol=0.03)


def test_only_fragments_another_window_saw_more_centrally_are_dropped():
    from tools.tiling import edge_fragments

    fa, fb = box(0, 0, 60, 60), box(50, 0, 110, 60)
    pieces = [
        Piece("a", fa, box(56, 20, 60, 30)),  # A's edge, inside B nearer B's centre, B found nothing: fragment
        Piece("a", fa, box(1, 1, 8, 8)),  # A's outer edge: no other window saw it, kept
        Piece("b", fb, box(52, 40, 58, 50)),  # in the strip, but nearer B's centre than A's: B's own view, kept
    ]
    merged = merge_pieces(pieces)
    assert edge_fragments(merged, pieces, {"a": fa, "b": fb}) == [0]
    assert edge_fragments(merged[:2], pieces, {"a": fa}) == []  # B was not run: it saw nothing
