import math

import pytest
from affine import Affine
from shapely.geometry import Polygon

from tools.coords import (
    GeoRef,
    ModelFrame,
    box_from_pixels,
    box_to_pixels,
    geometry_to_crs,
    geometry_to_pixels,
    point_to_pixels,
    smart_resize,
)
from tools.schemas import Box


@pytest.mark.parametrize(
    ("hw", "factor", "expected"),
    [((768, 768), 28, (756, 756)), ((1024, 1024), 28, (756, 756)), ((512, 512), 28, (504, 504)),
     ((768, 768), 32, (768, 768)), ((100, 300), 28, (112, 308))],
)  # fmt: skip
def test_smart_resize_matches_qwen_rules(hw, factor, expected):
    h, w = smart_resize(*hw, factor=factor)
    assert (h, w) == expected
    assert h % factor == 0 and w % factor == 0
    assert h * w <= 768 * 768


def test_smart_resize_rejects_bad_sizes():
    with pytest.raises(ValueError, match="positive"):
        smart_resize(0, 10)
    with pytest.raises(ValueError, match="aspect ratio"):
        smart_resize(10, 5000)


@pytest.mark.parametrize(
    "frame", [ModelFrame("pixel"), ModelFrame("rel1000"), ModelFrame("abs", (756, 756)), ModelFrame("abs", (448, 644))]
)
def test_box_round_trip_through_every_frame(frame):
    hw = (768, 1024)
    b = Box(x1=10.5, y1=20.25, x2=700.0, y2=760.0)
    back = box_to_pixels(box_from_pixels(b, frame, hw, ndigits=6), frame, hw)
    assert back.as_list() == pytest.approx(b.as_list(), abs=1e-3)


def test_abs_frame_scales_by_resized_size():
    frame = ModelFrame("abs", model_hw=(756, 756))
    assert box_to_pixels([0, 0, 756, 756], frame, (768, 768)).as_list() == [0, 0, 768, 768]
    p = point_to_pixels([378, 189], frame, (768, 768), label=0)
    assert (p.x, p.y, p.label) == (384.0, 192.0, 0)
    assert frame.extent((768, 768)) == (756.0, 756.0)


def test_abs_frame_needs_model_size():
    with pytest.raises(ValueError, match="model_hw"):
        ModelFrame("abs")


def test_georef_round_trip_pixel_crs_pixel():
    g = GeoRef(crs="EPSG:32633", transform=Affine(0.6, 0, 500000.0, 0, -0.6, 6650000.0))
    x, y = g.to_crs(100, 200)
    assert (x, y) == (500060.0, 6649880.0)
    assert g.to_pixels(x, y) == pytest.approx((100, 200))
    assert math.isclose(g.pixel_size, 0.6)
    poly = Polygon([(0, 0), (10, 0), (10, 5), (0, 5)])
    there = geometry_to_crs(poly, g)
    assert there.area == pytest.approx(50 * 0.36)
    assert geometry_to_pixels(there, g).equals_exact(poly, 1e-6)
