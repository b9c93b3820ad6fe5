"""``socio ask`` and ``socio chat``: outputs, the LLM planner through the CLI, and bad input (exit 2 with the fix,
nothing written; exit 3 when the planner's server gives no valid plan)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest
from PIL import Image
from shapely.geometry import Point
from typer.testing import CliRunner

from agent.chat import ask
from socioagent.cli import app
from tests.agent.test_planner import GOOD, _call
from tests.fixtures.openai_server import server_factory

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
KOTKA = ROOT / "tests" / "data" / "osm" / "kotka.osm.pbf"


@pytest.fixture
def openai_server():
    with server_factory() as make:
        yield make


def _ask(*args: str):
    return runner.invoke(app, ["ask", *args])


def test_ask_writes_the_three_files_and_prints_json(tmp_path):
    out = tmp_path / "out"
    r = _ask("parks within 1 km of hospitals", "--vectors", str(KOTKA), "--out", str(out), "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["type"] == "FeatureCollection" and doc["features"] == []
    assert "no hospitals in this area" in doc["answer"]["sentence"]
    saved = json.loads((out / "answer.json").read_text())
    assert saved["sentence"] == doc["answer"]["sentence"] and saved["plan"]["root"]["op"] == "within"
    assert {c["key"]: c["count"] for c in saved["entity_counts"]}["hospital"] == 0
    assert json.loads((out / "answer.geojson").read_text())["type"] == "FeatureCollection"
    assert Image.open(out / "answer.png").size[0] > 100


def test_ask_features_carry_name_class_source_and_osm_id(tmp_path):
    r = _ask("the nearest bus stop to Helilän koulu", "--vectors", str(KOTKA), "--out", str(tmp_path / "o"), "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    (f,) = doc["features"]
    p = f["properties"]
    assert p["class"] == "bus_stop" and p["source"] == "osm" and p["osm_id"].startswith("node/")
    assert p["distance_m"] == doc["answer"]["distances_m"][0] > 0
    lon, lat = f["geometry"]["coordinates"]
    assert 26.9 < lon < 27.0 and 60.5 < lat < 60.6
    assert p["name"] in doc["answer"]["sentence"]


@pytest.mark.parametrize(
    ("question", "words"),
    [
        ("parks within 3 blocks of schools", "unknown distance unit 'blocks'"),
        ("parks within -1 km of schools", "negative distance"),
        ("zorblax near parks", "could not read 'zorblax'"),
        ("", "question is empty"),
    ],
)
def test_bad_questions_exit_2_naming_the_fix_and_write_nothing(tmp_path, question, words):
    out = tmp_path / "out"
    r = _ask(question, "--vectors", str(KOTKA), "--out", str(out))
    assert r.exit_code == 2 and words in r.output and "Traceback" not in r.output
    assert not out.exists()


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_a_vector_file_without_a_crs_exits_2_with_the_fix(tmp_path):
    gpkg = tmp_path / "nocrs.gpkg"
    gpd.GeoDataFrame({"name": ["a"], "class": ["park"]}, geometry=[Point(1, 2)]).to_file(gpkg)
    r = _ask("parks near parks", "--vectors", str(gpkg), "--out", str(tmp_path / "out"))
    assert r.exit_code == 2 and "has no CRS" in r.output and "ogr2ogr -a_srs" in r.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--planner", "magic", "--vectors", str(KOTKA)], "unknown --planner 'magic'"),
        ([], "--vectors PATH"),
        (["--raster", str(KOTKA)], "--raster needs --vectors"),
        (["--vectors", "/no/such.osm.pbf"], "not found"),
        (["--vectors", str(KOTKA), "--planner", "openai", "--model", "m"], "--base-url"),
    ],
)
def test_bad_flags_exit_2(tmp_path, monkeypatch, args, words):
    for var in ("SOCIO_OPENAI_BASE_URL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    r = _ask("how many bus stops", *args, "--out", str(tmp_path / "out"))
    assert r.exit_code == 2 and words in r.output, r.output


def test_an_out_that_is_a_file_is_refused_before_the_work(tmp_path):
    f = tmp_path / "taken"
    f.write_text("mine")
    r = _ask("how many bus stops", "--vectors", str(KOTKA), "--out", str(f))
    assert r.exit_code == 2 and f.read_text() == "mine"


def test_ask_with_the_llm_planner(tmp_path, openai_server):
    server = openai_server([_call(GOOD)])
    r = _ask("parks within 1 km of hospitals", "--vectors", str(KOTKA), "--planner", "openai", "--base-url",
             server.base_url, "--model", "fake-llm", "--out", str(tmp_path / "o"), "--json")  # fmt: skip
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)["answer"]
    assert doc["planner"] == "openai" and doc["planner_format_failures"] == 0
    assert doc["plan"]["root"]["distance"] == 1 and "no hospitals in this area" in doc["sentence"]


def test_no_valid_plan_from_the_server_exits_3(tmp_path, openai_server):
    bad = {"root": {"op": "within", "features": {"op": "entities"}}}
    server = openai_server([_call(bad), _call(bad)])
    r = _ask("parks near schools", "--vectors", str(KOTKA), "--planner", "openai", "--base-url", server.base_url,
             "--model", "fake-llm", "--out", str(tmp_path / "o"))  # fmt: skip
    assert r.exit_code == 3 and "after one repair" in r.output
    assert not (tmp_path / "o").exists()


def test_python_api_numbers_come_from_the_executor():
    a = ask("how many bus stops are more than 1 km from the cemetery", KOTKA)
    assert a.output == "count" and f"There are {a.count} bus stops" in a.sentence
    assert a.timings["total_s"] > 0 and a.data == {"vectors": str(KOTKA)}


def test_chat_keeps_the_data_between_questions(tmp_path):
    """The extract is deleted after the first answer: the second and third questions still answer from memory."""
    pbf = tmp_path / "kotka.osm.pbf"
    shutil.copy(KOTKA, pbf)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "socioagent", "chat", "--vectors", str(pbf), "--json"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT, env=env)  # fmt: skip
    try:
        proc.stdin.write("how many bus stops are there\n")
        proc.stdin.flush()
        first = json.loads(proc.stdout.readline())
        pbf.unlink()
        proc.stdin.write("parks within 3 blocks of schools\nthe largest pitch\n\n")
        proc.stdin.flush()
        second, third = json.loads(proc.stdout.readline()), json.loads(proc.stdout.readline())
        assert proc.wait(timeout=120) == 0
    finally:
        proc.kill()
    assert first["answer"]["count"] == 36 and first["answer"]["output"] == "count"
    assert "unknown distance unit 'blocks'" in second["error"]
    assert third["answer"]["plan"]["root"]["op"] == "largest" and len(third["features"]) == 1


def test_ask_on_a_raster_and_on_a_scene_folder_segments_the_places(tmp_path):
    """--raster (a GeoTIFF, its map rendered from --vectors) and --scene: entity sets come from segmentation."""
    from evals.synthcity import generate_sample
    from evals.synthcity.export import encode_sample, write_raw

    s = generate_sample(0, 4, "test", 384)  # parking lots, a hospital, a park, a railway station
    folder = tmp_path / "scene"
    write_raw(encode_sample(s), folder)
    question = "parking lots within 200 m of hospitals"
    for args in (["--raster", str(folder / "sat.tif"), "--vectors", str(folder / "layers.geojson")],
                 ["--scene", str(folder)]):  # fmt: skip
        r = _ask(question, *args, "--out", str(tmp_path / args[0][2:]), "--json")
        assert r.exit_code == 0, r.output
        doc = json.loads(r.stdout)
        counts = {c["key"]: c["count"] for c in doc["answer"]["entity_counts"]}
        assert counts["hospital"] >= 1 and counts["parking_lot"] >= 1
        assert doc["features"] and all(f["properties"]["source"] == "segmentation" for f in doc["features"])
        assert doc["answer"]["data"].get("raster" if args[0] == "--raster" else "scene")
        assert Image.open(tmp_path / args[0][2:] / "answer.png").size == (384, 384)
