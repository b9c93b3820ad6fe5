import json

import numpy as np
import pytest
from affine import Affine
from PIL import Image

from tools.coords import GeoRef
from tools.errors import InputError
from tools.raster_io import write_geotiff
from tools.scene import load_scene, load_scene_dir, read_image
from tools.scene_store import SceneStore


def _png(path, arr):
    Image.fromarray(arr).save(path)
    return path


@pytest.fixture
def images(tmp_path):
    rng = np.random.default_rng(0)
    sat = rng.integers(0, 255, (64, 80, 3), dtype=np.uint8)
    mp = np.full((64, 80, 3), 240, np.uint8)
    return _png(tmp_path / "sat.png", sat), _png(tmp_path / "map.png", mp), sat


def test_load_scene_pngs(images):
    sat_p, map_p, sat = images
    scene = load_scene(sat_p, map_p, scene_id="s1")
    assert scene.hw == (64, 80)
    assert np.array_equal(scene.sat, sat)
    assert scene.georef is None and scene.layers == []


def test_size_mismatch_names_both_files(tmp_path, images):
    sat_p, _, _ = images
    small = _png(tmp_path / "small.png", np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(InputError, match=r"80x64.*32x32"):
        load_scene(sat_p, small)


def test_missing_and_corrupt_files(tmp_path, images):
    _, map_p, _ = images
    with pytest.raises(InputError, match="not found"):
        load_scene(tmp_path / "nope.png", map_p)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(InputError, match="not a readable image"):
        load_scene(bad, map_p)


def test_geotiff_keeps_crs_and_layers_go_to_pixels(tmp_path):
    g = GeoRef(crs="EPSG:32633", transform=Affine(0.5, 0, 400000.0, 0, -0.5, 6600000.0))
    sat = np.random.default_rng(1).integers(0, 255, (40, 60, 3), dtype=np.uint8)
    write_geotiff(tmp_path / "sat.tif", sat, g)
    _png(tmp_path / "map.png", np.zeros((40, 60, 3), np.uint8))
    x, y = g.to_crs(30, 10)
    layers = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "EPSG:32633"}},
              "features": [{"type": "Feature", "properties": {"name": "Alpha School", "kind": "poi", "class": "school"},
                            "geometry": {"type": "Point", "coordinates": [x, y]}},
                           {"type": "Feature", "properties": {"amenity": "hospital"},
                            "geometry": {"type": "Point", "coordinates": [x, y]}}]}  # fmt: skip
    (tmp_path / "layers.geojson").write_text(json.dumps(layers))
    scene = load_scene_dir(tmp_path)
    assert np.array_equal(scene.sat, sat)
    assert scene.georef.crs == "EPSG:32633" and scene.georef.transform == g.transform
    school, hosp = scene.layers
    assert (school.name, school.cls, school.function, school.kind) == ("Alpha School", "school", "education", "poi")
    assert (school.geometry.x, school.geometry.y) == pytest.approx((30, 10))
    assert (hosp.cls, hosp.function) == ("hospital", "healthcare")  # from OSM tags


def test_projected_layers_without_georef_are_refused(tmp_path, images):
    sat_p, map_p, _ = images
    layers = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "EPSG:32633"}},
              "features": [{"type": "Feature", "properties": {"name": "A"},
                            "geometry": {"type": "Point", "coordinates": [400000, 6600000]}}]}  # fmt: skip
    (tmp_path / "l.geojson").write_text(json.dumps(layers))
    with pytest.raises(InputError, match="no georeferencing"):
        load_scene(sat_p, map_p, tmp_path / "l.geojson")


def test_uint16_single_band_is_stretched(tmp_path):
    import rasterio

    data = np.linspace(0, 4000, 30 * 20, dtype=np.uint16).reshape(1, 30, 20)
    with rasterio.open(tmp_path / "pan.tif", "w", driver="GTiff", height=30, width=20, count=1, dtype="uint16") as d:
        d.write(data)
    arr, georef = read_image(tmp_path / "pan.tif")
    assert arr.shape == (30, 20, 3) and arr.dtype == np.uint8
    assert arr.min() == 0 and arr.max() == 255 and georef is None


def test_scene_store_is_bounded_and_names_the_fix(images):
    from tools.errors import SceneNotFoundError, ToolError

    sat_p, map_p, _ = images
    store = SceneStore(max_scenes=2)
    for i in range(3):
        store.put(load_scene(sat_p, map_p, scene_id=f"s{i}"))
    assert "s0" not in store and "s2" in store
    with pytest.raises(SceneNotFoundError, match="load it first"):
        store.get("s0")
    mid = store.put_mask("s2", np.ones((64, 80), bool))
    assert store.get_mask(mid).all()
    with pytest.raises(ToolError, match="does not match"):
        store.put_mask("s2", np.ones((3, 3), bool))
    capped = SceneStore(max_items=3, max_images=1)
    capped.put(load_scene(sat_p, map_p, scene_id="c"))
    masks = [capped.put_mask("c", np.full((64, 80), bool(i % 2))) for i in range(5)]
    with pytest.raises(ToolError, match="no mask"):
        capped.get_mask(masks[1])  # the oldest left first
    assert [capped.get_mask(m).any() for m in masks[2:]] == [False, True, False]
    first, last = (capped.put_image("c", np.zeros((64, 80, 3), np.uint8)) for _ in range(2))
    assert capped.get_image(last).shape == (64, 80, 3)
    with pytest.raises(ToolError, match="no image"):
        capped.get_image(first)


def test_lon_lat_layers_on_a_plain_image_are_refused(tmp_path, images):
    sat_p, map_p, _ = images
    layers = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "Lumphini"},
              "geometry": {"type": "Point", "coordinates": [100.5, 13.75]}}]}  # fmt: skip
    (tmp_path / "ll.geojson").write_text(json.dumps(layers))
    with pytest.raises(InputError, match="none of the 1 features"):
        load_scene(sat_p, map_p, tmp_path / "ll.geojson")
    layers["features"][0]["geometry"]["coordinates"] = [30, 20]  # pixel coordinates inside the 80x64 image
    (tmp_path / "px.geojson").write_text(json.dumps(layers))
    (feature,) = load_scene(sat_p, map_p, tmp_path / "px.geojson").layers
    assert (feature.geometry.x, feature.geometry.y) == (30, 20)


def test_lon_lat_layers_that_would_land_inside_as_pixels_are_refused(tmp_path, images):
    """Lon/lat of a real place (24.9 E, 60.2 N) is inside a 80x64 image when misread as pixels: refused."""
    sat_p, map_p, _ = images
    pts = [[24.9384, 60.1699], [24.9412, 60.1720]]
    feats = [{"type": "Feature", "properties": {"name": f"school {i}", "class": "school"},
              "geometry": {"type": "Point", "coordinates": c}} for i, c in enumerate(pts)]  # fmt: skip
    for k, fc in enumerate(({"type": "FeatureCollection", "features": feats}, {"type": "FeatureCollection",
                                                                                "features": feats[:1]})):  # fmt: skip
        (tmp_path / f"ll{k}.geojson").write_text(json.dumps(fc))
        with pytest.raises(InputError, match=r"is in lon/lat .* but the satellite image has no georeferencing"):
            load_scene(sat_p, map_p, tmp_path / f"ll{k}.geojson")


def test_georeferenced_layers_that_miss_the_image_give_both_extents(tmp_path):
    from tests.fixtures.synthcity import synth_sample
    from tools.raster_io import write_geotiff

    sample = synth_sample(size=128)
    write_geotiff(tmp_path / "sat.tif", sample.scene.sat, sample.scene.georef)
    Image.fromarray(sample.scene.map).save(tmp_path / "map.png")
    far = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "x"},
           "geometry": {"type": "Point", "coordinates": [24.9384, 60.1699]}}]}  # fmt: skip
    (tmp_path / "far.geojson").write_text(json.dumps(far))
    with pytest.raises(InputError, match=r"overlaps the satellite image: the layers cover x 24\.93840.*EPSG:4326.*"
                       r"the image x .*EPSG:326"):  # fmt: skip
        load_scene(tmp_path / "sat.tif", tmp_path / "map.png", tmp_path / "far.geojson")
