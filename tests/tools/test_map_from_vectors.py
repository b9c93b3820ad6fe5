"""Tests for tools.vector_window and tools.map_from_vectors: Helsinki's OSM features cut to raster windows in
UTM, Web Mercator and lon/lat, and maps of those windows drawn where the features are.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from affine import Affine
from pyproj import Transformer
from rasterio.features import rasterize
from shapely.geometry import box

from tools.errors import InputError
from tools.map_from_vectors import map_layers, render_window_map, window_gsd
from tools.map_render import render_map
from tools.map_style import STYLES
from tools.vector_window import layers_for_window, require_overlap
from tools.vectors import read_vectors

HELSINKI = Path(__file__).resolve().parents[1] / "data" / "osm" / "helsinki.osm.pbf"
CENTRE = (24.9440, 60.1700)  # between the railway station and Senate Square
SIZE = (600, 700)  # height, width: not square, so rows and columns cannot be swapped unnoticed


@pytest.fixture(scope="module")
def osm():
    return read_vectors(HELSINKI)


def window(crs: str, gsd: float) -> Affine:
    """A north-up window of SIZE pixels centred on CENTRE in a CRS, ``gsd`` CRS units a pixel."""
    x, y = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(*CENTRE)
    h, w = SIZE
    return Affine(gsd, 0, x - gsd * w / 2, 0, -gsd, y + gsd * h / 2)


WINDOWS = {"EPSG:32635": 0.6, "EPSG:3857": 1.2, "EPSG:4326": 1e-5}


@pytest.mark.parametrize("crs", sorted(WINDOWS))
def test_features_land_at_their_pixels_in_any_crs(osm, crs):
    t = window(crs, WINDOWS[crs])
    layers = layers_for_window(osm, t, crs, SIZE)
    pois = {f.id: f for f in layers if f.kind == "poi"}
    assert len(pois) > 50 and {f.kind for f in layers} >= {"poi", "road", "building", "landuse"}
    to = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    for oid, geom in zip(osm.osm_id, osm.geometry, strict=True):  # independent: pyproj, then the inverse affine
        if oid in pois:
            col, row = ~t @ to.transform(geom.x, geom.y)
            assert (pois[oid].geometry.x, pois[oid].geometry.y) == pytest.approx((col, row), abs=1e-6)
            assert 0 <= col <= SIZE[1] and 0 <= row <= SIZE[0]
    margin = box(-16, -16, SIZE[1] + 16, SIZE[0] + 16).buffer(1e-6)
    assert all(margin.covers(f.geometry) for f in layers)
    roads = [f for f in layers if f.kind == "road"]
    assert {f.props["road_class"] for f in roads} >= {"arterial", "local"} and all(
        f.props["width_m"] > 0 for f in roads
    )


def test_a_window_in_another_place_has_no_features_and_the_scene_check_names_the_file(osm):
    far = Affine(0.6, 0, 500000, 0, -0.6, 6000000)  # UTM 35N, 700 km south of Helsinki
    assert layers_for_window(osm, far, "EPSG:32635", SIZE) == []
    with pytest.raises(InputError, match=r"helsinki\.osm\.pbf does not overlap the raster: .*same area"):
        require_overlap(osm, far, "EPSG:32635", SIZE, str(HELSINKI))
    require_overlap(osm, window("EPSG:32635", 0.6), "EPSG:32635", SIZE, str(HELSINKI))  # overlaps: no error
    with pytest.raises(InputError, match="positive"):
        layers_for_window(osm, far, "EPSG:32635", (0, 10))
    with pytest.raises(InputError, match="not a CRS"):
        layers_for_window(osm, far, "EPSG:999999", SIZE)


def test_window_gsd_is_metres_in_any_crs():
    assert window_gsd(window("EPSG:32635", 0.6), "EPSG:32635", SIZE) == pytest.approx(0.6, rel=1e-3)  # UTM's scale
    # 1e-5 degrees at the centre, by the textbook series for WGS84's metres per degree of latitude and longitude
    phi = np.radians(CENTRE[1])
    per_lat = 111132.954 - 559.822 * np.cos(2 * phi) + 1.175 * np.cos(4 * phi)
    per_lon = np.pi / 180 * 6378137.0 * np.cos(phi) / np.sqrt(1 - 0.00669438 * np.sin(phi) ** 2)
    expected = np.sqrt(per_lat * per_lon) * 1e-5
    assert window_gsd(window("EPSG:4326", 1e-5), "EPSG:4326", SIZE) == pytest.approx(expected, rel=1e-3)
    assert window_gsd(window("EPSG:3857", 1.2), "EPSG:3857", SIZE) == pytest.approx(1.2 * np.cos(np.radians(60.17)),
                                                                                    rel=2e-3)  # fmt: skip


@pytest.mark.parametrize("style", ["amap", "gmap"])
def test_the_map_draws_a_marker_at_each_isolated_named_poi(osm, style):
    t = window("EPSG:32635", 0.6)
    layers = layers_for_window(osm, t, "EPSG:32635", SIZE)
    img = render_window_map(osm, t, "EPSG:32635", SIZE, style=style, layers=layers)
    assert img.shape == (*SIZE, 3) and img.dtype == np.uint8
    st = STYLES[style]
    drawn = [f for f in map_layers(layers) if f.kind == "poi"]
    r = st.icon_px
    found = []
    for f in drawn:
        x, y = f.geometry.x, f.geometry.y
        if f.cls is None or not (2 * r < x < SIZE[1] - 2 * r and 3 * r < y < SIZE[0] - 2 * r):
            continue
        isolated = not any(
            g is not f and abs(g.geometry.x - x) < 2 * r and abs(g.geometry.y - y) < 3 * r for g in drawn
        )
        cy = y - r / 2 * 1.6 if st.marker == "pin" else y  # a pin's head sits above its point
        colour = np.array(st.function_colours[f.function], np.uint8)
        patch = img[int(cy + 0.3 * r) : int(cy + 0.45 * r) + 1, int(x) - 1 : int(x) + 2]  # below the pictogram
        hit = bool((patch == colour).all(axis=-1).any())
        assert hit or not isolated, (f.id, f.name, f.function)  # a marker no other marker can cover is there
        found.append(hit)
    assert len(found) >= 30 and np.mean(found) > 0.7  # crowded markers cover some of each other


def test_the_map_is_aligned_with_buildings_water_and_area_markers(osm):
    t = window("EPSG:32635", 0.6)
    layers = layers_for_window(osm, t, "EPSG:32635", SIZE)
    drawn = map_layers(layers)
    img = render_window_map(osm, t, "EPSG:32635", SIZE, layers=layers)
    building = np.array(STYLES["amap"].building, np.uint8)
    footprints = [f.geometry for f in layers if f.kind == "building" and f.geometry.geom_type.endswith("Polygon")]
    truth = rasterize([(g, 1) for g in footprints], out_shape=SIZE).astype(bool)  # independent: rasterio
    near = cv2.dilate(truth.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)  # anti-aliased edges
    painted = (img == building).all(axis=-1)
    assert truth.sum() > 20000 and painted.sum() > 0.3 * truth.sum()  # labels and markers cover the rest
    assert (painted & near).sum() > 0.995 * painted.sum()  # building colour only where buildings are
    alone = render_map([f for f in drawn if f.kind == "building"], "amap", SIZE, 0.6)
    ink = (alone != np.array(STYLES["amap"].background, np.uint8)).any(axis=-1)  # fill or outline
    assert (ink & truth).sum() > 0.99 * truth.sum()  # and all of them, when drawn alone
    markers = [f for f in drawn if f.id.endswith("#marker")]
    assert markers and all(f.props["marks"] in {g.id for g in layers} for f in markers)
    names = {f.name for f in drawn if f.kind == "poi"}
    assert "Kaisaniemen puisto" in names or any("Ateneum" in n for n in names)


def test_a_scene_reads_an_osm_extract_as_its_layers(osm):
    """`socio segment --layers city.osm.pbf` goes through the same reader: features land where the window puts them."""
    from tools.coords import GeoRef
    from tools.scene import read_layers

    t = window("EPSG:32635", 0.6)
    layers = {f.id: f for f in read_layers(HELSINKI, GeoRef("EPSG:32635", t), SIZE)}
    assert len(layers) == len(osm)  # not clipped: every feature, in the scene's pixels
    cut = [f for f in layers_for_window(osm, t, "EPSG:32635", SIZE) if f.kind == "poi"]
    assert cut and all(layers[f.id].geometry.equals_exact(f.geometry, 1e-9) for f in cut)
    assert all(layers[f.id].cls == f.cls and layers[f.id].props == f.props for f in cut)
