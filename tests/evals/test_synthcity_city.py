"""SynthCity at city scale: one contiguous georeferenced city, deterministic, with places across window seams."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pyogrio
import pytest
import rasterio
from shapely.geometry import box

from evals.synthcity.city import CityPlan
from evals.synthcity.city_export import city_features, write_city
from evals.synthcity.city_render import render_chunk
from tools.errors import InputError
from tools.tiling import grid_windows

SIZE = 640


@pytest.fixture(scope="module")
def city_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("city")
    write_city(out, seed=3, size=SIZE)
    return out


def test_city_files_are_a_georeferenced_image_its_map_layers_and_truth(city_dir):
    with rasterio.open(city_dir / "city.tif") as src:
        assert (src.width, src.height, src.count, src.dtypes[0]) == (SIZE, SIZE, 3, "uint8")
        assert src.crs.to_string().startswith("EPSG:326") and abs(src.transform.a - 0.6) < 1e-9
        assert src.profile["tiled"] and src.profile["compress"] == "deflate"
        bounds = box(*src.bounds)
    layers = pyogrio.read_dataframe(city_dir / "layers.gpkg")
    truth = pyogrio.read_dataframe(city_dir / "truth.gpkg")
    assert {"poi", "road"} <= set(layers["kind"]) and {"name", "class", "function", "road_class"} <= set(layers)
    assert len(truth) > 0 and truth.geometry.within(bounds.buffer(1e-6)).all()
    assert truth["name"].is_unique and set(truth["class"]) <= set(layers["class"].dropna()) | set(truth["class"])
    settings = json.loads((city_dir / "city.json").read_text())
    assert settings["places"] == len(truth) and settings["size"] == SIZE
    assert not list(city_dir.glob(".*"))


def test_the_city_is_the_same_bytes_for_the_same_seed_and_differs_for_another(tmp_path, city_dir):
    def digest(root):
        return {n: hashlib.sha256((root / n).read_bytes()).hexdigest() for n in ("city.tif", "city.json")}

    write_city(tmp_path / "again", seed=3, size=SIZE)
    write_city(tmp_path / "other", seed=4, size=SIZE)
    assert digest(tmp_path / "again") == digest(city_dir)
    assert digest(tmp_path / "other")["city.tif"] != digest(city_dir)["city.tif"]


def test_a_block_is_the_same_whatever_was_built_before():
    city = CityPlan(seed=5, size=1200, gsd=0.6)
    last = city.blocks[-1]
    alone = CityPlan(seed=5, size=1200, gsd=0.6).block(last, cache=False)
    for b in city.blocks:
        city.block(b)
    again = city.block(last)
    assert [s.rect for s in again.layout.sites] == [s.rect for s in alone.layout.sites]
    assert len(again.clutter_drawing.grounds) == len(alone.clutter_drawing.grounds)


def test_chunks_agree_where_they_overlap():
    """Two chunks painted with a shared strip show the same roads and buildings there (textures may differ)."""
    city = CityPlan(seed=6, size=1024, gsd=0.6)
    from evals.synthcity.city_render import city_look

    pal, look = city_look(city)
    a = render_chunk(city, pal, look, 0, 0, 384).astype(int)
    b = render_chunk(city, pal, look, 256, 0, 384).astype(int)
    strip_a, strip_b = a[:, 256:], b[:, :128]
    assert np.median(np.abs(strip_a - strip_b)) < 12  # same objects, per-chunk noise only


def test_many_places_straddle_the_seams_of_search_windows(city_dir):
    truth = pyogrio.read_dataframe(city_dir / "truth.gpkg")
    with rasterio.open(city_dir / "city.tif") as src:
        transform = src.transform
    footprints = [w.footprint(transform) for w in grid_windows((SIZE, SIZE), 320, 64)]
    seen = [sum(f.intersects(g) for f in footprints) for g in truth.geometry]
    assert max(seen) >= 2


def test_city_features_give_pois_for_most_places():
    city = CityPlan(seed=3, size=SIZE, gsd=0.6)
    feats, truth = city_features(city)
    named = {f.name for f in feats if f.kind == "poi" and f.cls}
    assert sum(t["name"] in named for t in truth) >= 0.7 * len(truth)


@pytest.mark.parametrize(
    ("kw", "needle"), [({"size": 100}, "--size"), ({"gsd": 9.0}, "--gsd"), ({"seed": -1}, "--seed")]
)
def test_bad_city_arguments_name_the_flag(tmp_path, kw, needle):
    with pytest.raises(InputError, match=needle):
        write_city(tmp_path / "c", **{"seed": 0, "size": 512, "gsd": 0.6, **kw})
    assert not (tmp_path / "c").exists()
