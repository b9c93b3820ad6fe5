"""``socio segment --raster`` and ``socio synth --city`` through the real command line."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
from typer.testing import CliRunner

from socioagent.cli import app, optional_value
from tests.fixtures.geo_scene import utm_scene

runner = CliRunner()


def test_raster_without_vectors_runs_every_window_and_writes_every_output(tmp_path):
    raster, _, _ = utm_scene(tmp_path)
    out = tmp_path / "out"
    r = runner.invoke(app, ["segment", "--raster", str(raster), "--query", "parks", "--tile", "320", "--overlap",
                            "64", "--out", str(out)])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert {p.name for p in out.iterdir()} >= {"search.json", "windows", "instances.gpkg", "instances.geojson",
                                               "mask.tif", "summary.json"}  # fmt: skip
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ran"] == summary["windows"] == 4 and "every window is run" in " ".join(summary["notes"])
    assert "instance(s) of 'parks'" in r.output


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--sat", "x.png"], "--sat, --map, --layers and --json are for one scene"),
        (["--gsd", "fast"], "--gsd 'fast'"),
        (["--bands", "0"], "--bands '0'"),
        (["--bbox", "3,2,1,0"], "--bbox '3,2,1,0'"),
        (["--overlap", "0"], "--overlap must be between 1"),
        (["--stretch", "gamma"], "--stretch: Input should be"),
        (["--workers", "2"], "--workers is for --ray"),
    ],
)
def test_bad_raster_flags_exit_2_with_the_fix_and_write_nothing(tmp_path, args, needle):
    raster, _, _ = utm_scene(tmp_path)
    out = tmp_path / "out"
    r = runner.invoke(app, ["segment", "--raster", str(raster), "--query", "parks", "--out", str(out), *args])
    assert r.exit_code == 2 and needle in r.output, r.output
    assert not out.exists()


def test_a_corrupt_raster_exits_2_naming_the_file(tmp_path):
    bad = tmp_path / "city.tif"
    bad.write_bytes(b"II*\x00" + b"\x01" * 300)
    r = runner.invoke(app, ["segment", "--raster", str(bad), "--query", "parks", "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "city.tif is not a readable raster" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "o").exists()


def test_one_scene_needs_sat_and_map():
    r = runner.invoke(app, ["segment", "--query", "parks"])
    assert r.exit_code == 2 and "give --sat and --map" in r.output


def test_ray_without_an_address_means_a_local_ray():
    assert optional_value(["segment", "--ray"], "--ray", "local") == ["segment", "--ray", "local"]
    assert optional_value(["--ray", "auto", "-q"], "--ray", "local") == ["--ray", "auto", "-q"]


def test_synth_city_writes_a_city(tmp_path):
    out = tmp_path / "city"
    r = runner.invoke(app, ["synth", "--city", "--size", "512", "--seed", "1", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert {p.name for p in out.iterdir()} == {"city.tif", "layers.gpkg", "truth.gpkg", "city.json"}
    assert len(gpd.read_file(out / "truth.gpkg")) > 0
    bad = runner.invoke(app, ["synth", "--city", "--size", "64", "--out", str(tmp_path / "c2")])
    assert bad.exit_code == 2 and "--size must be between" in bad.output


def test_raster_with_vectors_through_the_project_reader(tmp_path):
    """The real reader (tools.vectors, pyogrio) feeds the scene search end to end."""
    raster, vectors, _ = utm_scene(tmp_path)
    out = tmp_path / "out"
    r = runner.invoke(app, ["segment", "--raster", str(raster), "--vectors", str(vectors), "--query", "parks",
                            "--tile", "320", "--overlap", "64", "--out", str(out)])  # fmt: skip
    assert r.exit_code == 0, r.output
    g = gpd.read_file(out / "instances.gpkg")
    assert len(g) == 1 and g.n_windows[0] == 4
