"""Scene-scale search end to end: windows, seams, outlines, nodata, dtypes, outputs, resume and bad inputs."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from shapely.geometry import shape

from agent.backends import BackendConfig
from agent.scene_search import SearchSpec, plan_search, run_search
from agent.scene_window import default_vector_functions
from tests.fixtures.geo_scene import PARK_PX, SIZE, UTM, scene_image, utm_scene, write_raster, write_vectors
from tools.coords import GeoRef, geometry_to_crs
from tools.errors import InputError

FUNCTIONS = default_vector_functions()

BACKEND = BackendConfig()


def _search(tmp_path, name, **kw):
    raster, vectors = kw.pop("raster"), kw.pop("vectors")
    spec = SearchSpec(raster=raster, vectors=vectors, **{"query": "parks", "tile": 320, "overlap": 64, **kw})
    report = run_search(spec, BACKEND, tmp_path / name, vectors=FUNCTIONS)
    return report, gpd.read_file(tmp_path / name / "instances.gpkg")


def _iou(a, b) -> float:
    return a.intersection(b).area / a.union(b).area


@pytest.mark.parametrize("outlines", [True, False])
def test_a_place_across_four_windows_merges_into_one_polygon_like_the_untiled_run(tmp_path, outlines):
    raster, vectors, t = utm_scene(tmp_path)
    tiled, g_tiled = _search(tmp_path, "tiled", raster=raster, vectors=vectors, outlines=outlines)
    untiled, g_whole = _search(tmp_path, "whole", raster=raster, vectors=vectors, outlines=outlines, tile=SIZE)
    assert tiled.summary["windows"] == 4 and untiled.summary["windows"] == 1
    assert tiled.summary["pieces"] == 4 and len(g_tiled) == 1 and len(g_whole) == 1
    assert g_tiled.n_windows[0] == 4 and g_tiled.windows[0] == "r000c000;r000c001;r001c000;r001c001"
    assert _iou(g_tiled.geometry[0], g_whole.geometry[0]) >= 0.98
    park = geometry_to_crs(PARK_PX, GeoRef(UTM, t))
    if outlines:  # the vector data's own outline, clipped to each window, merged back whole
        assert set(g_tiled.source) == {"outline"} and _iou(g_tiled.geometry[0], park) > 0.999
    else:
        assert _iou(g_tiled.geometry[0], park) > 0.9


def test_outputs_carry_crs_fields_provenance_and_a_tiled_mask_on_the_raster_grid(tmp_path):
    raster, vectors, _ = utm_scene(tmp_path)
    _, g = _search(tmp_path, "out", raster=raster, vectors=vectors)
    out = tmp_path / "out"
    assert g.crs.to_epsg() == 32633
    row = g.iloc[0]
    assert (
        row.query == "parks" and row.level == "class" and 0 < row.score <= 1 and "land-use area of park" in row.reason
    )
    assert 0.95 < row.area_m2 / (PARK_PX.area * 0.36) < 1.05
    doc = json.loads((out / "instances.geojson").read_text())
    assert "crs" not in doc  # RFC 7946: WGS 84 lon/lat
    lon, lat = shape(doc["features"][0]["geometry"]).centroid.coords[0]
    expect = gpd.GeoSeries([g.geometry[0].centroid], crs=UTM).to_crs(4326).iloc[0]
    assert abs(lon - expect.x) < 1e-7 and abs(lat - expect.y) < 1e-7 and 13 < lon < 14 and 59 < lat < 60
    assert set(doc["features"][0]["properties"]) >= {"query", "level", "score", "windows", "reason", "source"}
    with rasterio.open(out / "mask.tif") as m, rasterio.open(raster) as src:
        assert (m.width, m.height, m.crs, m.transform) == (src.width, src.height, src.crs, src.transform)
        assert m.profile["tiled"] and m.profile["compress"] == "deflate"
        mask = m.read(1)
    cx, cy = PARK_PX.representative_point().coords[0]
    assert mask[int(cy), int(cx)] == 255 and mask[5, 5] == 0
    assert abs((mask > 0).sum() - PARK_PX.area) / PARK_PX.area < 0.01
    summary = json.loads((out / "summary.json").read_text())
    assert summary["instances"] == 1 and summary["seconds"]["total"] > 0
    assert not list(out.glob(".*"))  # no temporary file left behind


def test_nodata_areas_never_produce_instances(tmp_path):
    t = Affine(0.6, 0, 400_000, 0, -0.6, 6_600_000)
    img = scene_image().astype(np.uint16) * 40 + 100
    img[:, :300] = 0  # the western half of the park (and two windows whole) are nodata
    raster = write_raster(tmp_path / "nd.tif", np.moveaxis(img, -1, 0).copy(), t, nodata=0)
    vectors = write_vectors(tmp_path / "layers.gpkg", t)
    for outlines in (True, False):
        report, g = _search(tmp_path, f"nd{outlines}", raster=raster, vectors=vectors, outlines=outlines,
                            scan_all=True)  # fmt: skip
        nodata_x = t.c + 300 * 0.6
        assert len(g) == 1 and g.geometry[0].bounds[0] >= nodata_x - 1e-6, outlines
        assert report.summary["nodata_windows"] == 0  # every 320-px window reaches x >= 300
        with rasterio.open(tmp_path / f"nd{outlines}" / "mask.tif") as m:
            assert not m.read(1)[:, :300].any()


def test_an_all_nodata_window_is_skipped_as_nodata(tmp_path):
    t = Affine(0.6, 0, 400_000, 0, -0.6, 6_600_000)
    img = scene_image().copy()
    img[:320, :320] = 0
    raster = write_raster(tmp_path / "nd.tif", np.moveaxis(img, -1, 0).copy(), t, nodata=0)
    report, _ = _search(tmp_path, "o", raster=raster, vectors=write_vectors(tmp_path / "l.gpkg", t), scan_all=True)
    status = {r.window_id: r.status for r in report.results}
    assert status["r000c000"] == "nodata" and list(status.values()).count("ok") == 3


def test_uint16_panchromatic_and_four_band_float_rasters_are_searched(tmp_path):
    t = Affine(0.6, 0, 400_000, 0, -0.6, 6_600_000)
    vectors = write_vectors(tmp_path / "layers.gpkg", t)
    grey = scene_image().mean(axis=2)
    pan = write_raster(tmp_path / "pan.tif", (grey[None] * 50 + 2000).astype(np.uint16), t)
    rgb = np.moveaxis(scene_image(), -1, 0).astype(np.float32) / 255
    bgrn = np.concatenate([rgb[::-1], np.full((1, SIZE, SIZE), 0.4, np.float32)])
    float4 = write_raster(tmp_path / "bgrn.tif", bgrn, t)
    park = geometry_to_crs(PARK_PX, GeoRef(UTM, t))
    r_pan, g_pan = _search(tmp_path, "pan", raster=pan, vectors=vectors, outlines=False)
    r_f4, g_f4 = _search(tmp_path, "f4", raster=float4, vectors=vectors, outlines=False, bands=(3, 2, 1))
    assert r_pan.plan.info.bands == (1, 1, 1) and r_pan.plan.stretch.mode == "percentile"
    assert r_f4.plan.info.dtype == "float32" and r_f4.plan.info.bands == (3, 2, 1)
    for g in (g_pan, g_f4):
        assert len(g) == 1 and _iou(g.geometry[0], park) > 0.7


def test_a_rerun_skips_finished_windows_and_a_changed_config_is_refused(tmp_path):
    raster, vectors, _ = utm_scene(tmp_path)
    first, g1 = _search(tmp_path, "run", raster=raster, vectors=vectors)
    again, g2 = _search(tmp_path, "run", raster=raster, vectors=vectors)
    assert first.resumed == 0 and again.resumed == again.summary["chosen"] == 4 and again.summary["ran"] == 0
    assert g1.geometry[0].equals(g2.geometry[0])
    (tmp_path / "run" / "windows" / "r001c001.json").unlink()  # as if killed before that window finished
    third, _ = _search(tmp_path, "run", raster=raster, vectors=vectors)
    assert third.resumed == 3 and third.summary["ran"] == 1
    before = sorted(p.name for p in (tmp_path / "run").rglob("*"))
    with pytest.raises(InputError, match=r"query='parks'.*query='schools'.*another --out"):
        _search(tmp_path, "run", raster=raster, vectors=vectors, query="schools")
    with pytest.raises(InputError, match=r"overlap=64.*overlap=96"):
        _search(tmp_path, "run", raster=raster, vectors=vectors, overlap=96)
    assert sorted(p.name for p in (tmp_path / "run").rglob("*")) == before


def test_candidate_windows_come_from_the_map_and_scan_all_runs_every_window(tmp_path):
    raster, vectors, _ = utm_scene(tmp_path)
    spec = SearchSpec(raster=raster, vectors=vectors, query="schools", tile=320, overlap=64, margin_m=0)
    plan = plan_search(spec, FUNCTIONS)
    assert [w.id for w in plan.chosen] == ["r001c000"] and plan.matches == 1  # the school sits in the SW window
    assert len(plan_search(spec.model_copy(update={"scan_all": True}), FUNCTIONS).chosen) == 4
    bbox = plan_search(spec.model_copy(update={"bbox": (400_000, 6_600_000 - 100, 400_100, 6_600_000),
                                                "bbox_crs": UTM, "scan_all": True}), FUNCTIONS)  # fmt: skip
    assert [w.id for w in bbox.chosen] == ["r000c000"] and bbox.region == (0, 0, 167, 167)


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_bad_inputs_are_input_errors_that_name_the_file_and_write_nothing(tmp_path):
    raster, vectors, _ = utm_scene(tmp_path)
    corrupt = tmp_path / "corrupt.tif"
    corrupt.write_bytes(b"II*\x00" + b"\x00garbage" * 50)
    no_crs = write_raster(tmp_path / "nocrs.tif", np.moveaxis(scene_image(), -1, 0).copy(), Affine.identity(), None)
    lonlat = tmp_path / "lonlat.geojson"
    lonlat.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "Lime Park", "class": "park"},
         "geometry": {"type": "Point", "coordinates": [24.94, 60.17]}}]}))  # fmt: skip
    far = write_vectors(tmp_path / "far.gpkg", Affine(0.6, 0, 600_000, 0, -0.6, 5_000_000))
    cases = [
        ({"raster": corrupt, "vectors": vectors}, r"corrupt\.tif is not a readable raster"),
        ({"raster": no_crs, "vectors": lonlat}, r"nocrs\.tif has no CRS, so the vectors .*lonlat\.geojson.*4326"),
        ({"raster": raster, "vectors": far}, r"none of the features of .*far\.gpkg overlaps the raster.*same area"),
        ({"raster": raster, "vectors": vectors, "bbox": (10.0, 10.0, 11.0, 11.0)}, r"--bbox .* does not overlap"),
        ({"raster": raster, "vectors": vectors, "bands": (4, 2, 1)}, r"has 3 band"),
        ({"raster": raster, "vectors": vectors, "query": " "}, r"query is empty"),
    ]
    for i, (kw, needle) in enumerate(cases):
        with pytest.raises(InputError, match=needle):
            _search(tmp_path, f"bad{i}", **kw)
        assert not (tmp_path / f"bad{i}").exists()
