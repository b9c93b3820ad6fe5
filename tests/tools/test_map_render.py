"""Tests for tools.map_render and tools.map_style: any window size, styles by name or object, real vector files."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from affine import Affine
from shapely.geometry import LineString, Point, box

from tools.coords import GeoRef
from tools.errors import InputError
from tools.map_render import render_map
from tools.map_style import FUNCTION_COLOURS, STYLES, get_style
from tools.scene import LayerFeature, read_layers


def _not_background(img: np.ndarray, style: str = "amap") -> np.ndarray:
    return np.any(img != np.array(STYLES[style].background, np.uint8), axis=-1)


def test_output_has_the_requested_height_and_width():
    layers = [LayerFeature("p", "poi", Point(40, 30), name="Oakridge School", cls="school", function="education")]
    img = render_map(layers, "amap", (90, 250), 0.6)
    assert img.shape == (90, 250, 3) and img.dtype == np.uint8
    assert render_map([], "amap", (7, 3), 0.6).shape == (7, 3, 3)


def test_a_marker_is_drawn_at_its_poi_in_the_function_colour():
    layers = [LayerFeature("p", "poi", Point(120.5, 40.5), cls="school", function="education")]
    img = render_map(layers, "amap", (80, 300), 0.6)
    # below the pictogram, inside the round marker (diameter 15 px)
    assert tuple(img[46, 120]) == FUNCTION_COLOURS["education"]
    drawn = np.argwhere(_not_background(img))
    (y0, x0), (y1, x1) = drawn.min(axis=0), drawn.max(axis=0) + 1
    assert abs((x0 + x1) / 2 - 120.5) <= 1 and abs((y0 + y1) / 2 - 40.5) <= 1  # centred on the POI
    assert max(x1 - x0, y1 - y0) <= STYLES["amap"].icon_px + 2


def test_labels_stay_inside_a_wide_window():
    """A label near the right edge of a wide map is kept by the right edge, not cut at the map's height."""
    layers = [LayerFeature("p", "poi", Point(390, 50), name="Maple Grove Primary School", cls="school",
                           function="education")]  # fmt: skip
    img = render_map(layers, "amap", (100, 400), 0.6)
    cols = np.flatnonzero(_not_background(img).any(axis=0))
    assert cols.min() > 200 and cols.max() < 400


def test_style_by_name_or_object_and_options_are_used():
    road = LineString([(0, 70), (120, 70)])
    layers = [LayerFeature("a", "landuse", box(10, 10, 60, 40), cls="hospital", function="healthcare"),
              LayerFeature("r", "road", road, props={"road_class": "arterial"})]  # fmt: skip
    for name in STYLES:
        np.testing.assert_array_equal(render_map(layers, name, (100, 120), 0.6),
                                      render_map(layers, STYLES[name], (100, 120), 0.6))  # fmt: skip
    custom = dataclasses.replace(STYLES["amap"], background=(1, 2, 3), landuse={"healthcare": (9, 9, 9)})
    img = render_map(layers, custom, (100, 120), 0.6)
    assert tuple(img[0, 0]) == (1, 2, 3) and tuple(img[25, 35]) == (9, 9, 9)
    assert tuple(img[70, 60]) == STYLES["amap"].roads["arterial"][0]


def test_roads_are_drawn_by_their_width_in_metres():
    road = [LayerFeature("r", "road", LineString([(0, 50), (100, 50)]), props={"road_class": "local", "width_m": 10})]
    widths = [int(_not_background(render_map(road, "amap", (100, 100), gsd))[:, 50].sum()) for gsd in (1.0, 0.5)]
    assert widths[1] > widths[0] + 4


def test_bad_size_gsd_or_style_are_input_errors():
    with pytest.raises(InputError, match=r"\(height, width\)"):
        render_map([], "amap", (0, 10), 0.6)
    with pytest.raises(InputError, match="ground size"):
        render_map([], "amap", (10, 10), 0.0)
    with pytest.raises(InputError, match="amap, amap_fresh, gmap"):
        render_map([], "osm", (10, 10), 0.6)
    assert get_style(STYLES["gmap"]) is STYLES["gmap"]


def test_layers_from_a_georeferenced_vector_file_render_at_their_pixels(tmp_path):
    """OSM-tagged features in a UTM GeoJSON, read by the scene reader, land where the window puts them."""
    g = GeoRef(crs="EPSG:32650", transform=Affine(0.5, 0, 440000.0, 0, -0.5, 4420000.0))

    def crs(x: float, y: float) -> list[float]:
        return list(g.to_crs(x, y))

    feats = [
        {"type": "Feature", "properties": {"amenity": "school", "name": "No. 3 Middle School"},
         "geometry": {"type": "Point", "coordinates": crs(60.5, 45.5)}},
        {"type": "Feature", "properties": {"leisure": "park", "kind": "landuse"},
         "geometry": {"type": "Polygon", "coordinates": [[crs(150, 20), crs(230, 20), crs(230, 80), crs(150, 80),
                                                          crs(150, 20)]]}},
    ]  # fmt: skip
    path = tmp_path / "osm.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats,
                                "crs": {"type": "name", "properties": {"name": "EPSG:32650"}}}))  # fmt: skip
    layers = read_layers(path, g, (120, 260))
    assert {f.cls for f in layers} == {"school", "park"}
    img = render_map(layers, "amap", (120, 260), g.pixel_size)
    assert tuple(img[51, 60]) == FUNCTION_COLOURS["education"]
    assert tuple(img[70, 220]) == STYLES["amap"].grass
