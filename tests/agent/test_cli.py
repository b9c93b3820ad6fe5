"""The socio CLI: outputs, exit codes (0 ok, 2 bad input, 3 backend) and nothing half-written."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from socioagent.cli import app
from tests.agent.test_graph import TARGET, make_scene, stage1, stage2
from tests.fixtures.openai_server import free_port

runner = CliRunner()


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    scene = make_scene()
    paths = {"sat": tmp_path / "sat.png", "map": tmp_path / "map.png", "small": tmp_path / "small.png"}
    Image.fromarray(scene.sat).save(paths["sat"])
    Image.fromarray(scene.map).save(paths["map"])
    Image.fromarray(scene.map[:50, :50]).save(paths["small"])
    return paths


def _segment(files, out, *extra):
    return runner.invoke(app, ["segment", "--sat", str(files["sat"]), "--map", str(files["map"]), "--query",
                               "red building", "--out", str(out), *extra])  # fmt: skip


@pytest.mark.parametrize("spelling", [["--policy", "openai", "--model", "fake-vlm"], ["--policy", "openai:fake-vlm"]])
def test_segment_with_an_openai_server_writes_all_outputs(files, tmp_path, openai_server, spelling):
    server = openai_server([stage1(TARGET), stage2(TARGET)])
    out = tmp_path / "out"
    r = _segment(files, out, *spelling, "--base-url", server.base_url, "--json")
    assert r.exit_code == 0, r.output
    mask = np.asarray(Image.open(out / "mask.png"))
    assert mask.shape == (160, 160) and set(np.unique(mask)) == {0, 255}
    assert (mask > 0).sum() > 0.8 * (70 * 70)
    assert Image.open(out / "overlay.png").size == (160 * 2 + 8, 160)
    doc = json.loads((out / "result.json").read_text())
    assert doc["policy"] == "openai:fake-vlm" and doc["segmenter"] == "classical"
    assert [s["stage"] for s in doc["stages"]] == ["localize", "refine"] and doc["stages"][0]["raw"]
    assert doc["instances"][0]["box"] and doc["timings"]["total_s"] > 0
    assert json.loads(r.stdout[r.stdout.index("{") :])["query"] == "red building"
    gj = json.loads((out / "instances_pixels.geojson").read_text())  # a PNG scene: pixel coordinates
    assert not (out / "instances.geojson").exists() and gj["coordinates"].startswith("image pixels")
    assert gj["features"][0]["properties"]["query"] == "red building"
    assert not list(out.glob(".*tmp"))


@pytest.mark.parametrize(("args", "message"), [
    (["--sat", "nope.png"], "not found"),
    (["--map", "{small}"], "size mismatch"),
    (["--query", "   "], "query is empty"),
    (["--refine", "99"], "less than or equal to 8"),
    (["--policy", "hf"], "needs --model"),
    (["--segmenter", "sam2"], "needs --checkpoint"),
    (["--segmenter", "sam2", "--checkpoint", "/nowhere/sam2.1_hiera_tiny.pt"], "does not exist"),
    (["--policy", "map", "--model", "x"], "not the map policy"),
    (["--protocol", "socioreasoner", "--refine", "2"], "the socioreasoner protocol has at most 1 refine round"),
    (["--protocol", "paper"], "unknown --protocol 'paper'"),
])  # fmt: skip
def test_bad_input_exits_2_and_writes_nothing(files, tmp_path, args, message):
    out = tmp_path / "out"
    base = {"--sat": str(files["sat"]), "--map": str(files["map"]), "--query": "red", "--out": str(out)}
    extra = [a.format(small=files["small"]) for a in args]
    for k in list(base):
        if k in extra:
            del base[k]
    r = runner.invoke(app, ["segment", *[x for kv in base.items() for x in kv], *extra])
    assert r.exit_code == 2, r.output
    assert message in r.output
    assert not out.exists()


def test_unreachable_backend_exits_3_and_writes_nothing(files, tmp_path, monkeypatch):
    monkeypatch.setenv("SOCIO_OPENAI_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    out = tmp_path / "out"
    r = _segment(files, out, "--policy", "openai", "--model", "m")
    assert r.exit_code == 3, r.output
    assert "127.0.0.1" in r.output and not out.exists()


def test_tools_prints_openai_schemas():
    r = runner.invoke(app, ["tools", "--format", "openai"])
    assert r.exit_code == 0
    names = [t["function"]["name"] for t in json.loads(r.stdout)]
    assert names == ["ask", "draw_box", "load_scene", "map_lookup", "render_overlay", "sam_segment", "segment", "zoom"]
    assert runner.invoke(app, ["tools", "--format", "yaml"]).exit_code == 2
    mcp = json.loads(runner.invoke(app, ["tools", "--format", "mcp"]).stdout)
    segment = next(t for t in mcp if t["name"] == "segment")
    assert segment["inputSchema"]["required"] == ["scene_id", "query"]
    assert "instances" in segment["outputSchema"]["required"]
    langchain = json.loads(runner.invoke(app, ["tools", "--format", "langchain"]).stdout)
    assert [t["name"] for t in langchain] == names


def test_console_script_exit_code(files, tmp_path):
    socio = Path(sys.executable).with_name("socio")
    p = subprocess.run([str(socio), "segment", "--sat", str(tmp_path / "missing.png"), "--map", str(files["map"]),
                        "--query", "x", "--out", str(tmp_path / "o")], capture_output=True, text=True)  # fmt: skip
    assert p.returncode == 2
    assert "satellite image file not found" in p.stderr


@pytest.mark.parametrize("command", ["segment", "eval", "demo"])
def test_every_command_reads_backend_flags_the_same_way(files, tmp_path, command):
    args = {"segment": ["--sat", str(files["sat"]), "--map", str(files["map"]), "--query", "x"],
            "eval": ["--data", f"synth:{tmp_path / 'nodata'}"], "demo": []}[command]  # fmt: skip
    out = tmp_path / "out"
    r = runner.invoke(app, [command, *args, "--out", str(out), "--policy", "openai:a", "--model", "b"])
    assert r.exit_code == 2 and "--policy openai:a and --model b disagree" in r.output, r.output
    r = runner.invoke(app, [command, *args, "--out", str(out), "--refine", "9"])
    assert r.exit_code == 2 and "--refine: Input should be less than or equal to 8" in r.output, r.output
    assert not out.exists()
