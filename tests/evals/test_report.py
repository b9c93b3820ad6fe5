import json
import random

import pytest
from PIL import Image

from agent.backends import BackendConfig
from evals.report import build_report, write_report
from evals.results import EvalRow, read_results
from evals.runner import EvalConfig, run_eval
from tests.fixtures.socioseg_data import write_raw
from tools.errors import InputError


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    data = write_raw(tmp_path_factory.mktemp("data") / "raw", n=6)
    out = tmp_path_factory.mktemp("out")
    run_eval(EvalConfig(data=str(data), backend=BackendConfig(policy="random-box"), out=out), progress=False)
    write_report(out)
    return out


def test_report_files_exist_and_plots_are_valid_pngs(run):
    for name in ("report.json", "report.md", "per_level.png", "iou_hist.png", "overlays.png"):
        assert (run / name).is_file(), name
    for name in ("per_level.png", "iou_hist.png", "overlays.png"):
        with Image.open(run / name) as im:
            im.verify()
            assert im.format == "PNG" and im.size[0] > 200


def test_report_json_layout(run):
    report = json.loads((run / "report.json").read_text())
    assert set(report["per_level"]) == {"name", "class", "function"}
    for s in (report["overall"], *report["per_level"].values()):
        assert {"giou", "ciou", "f1", "precision", "recall", "n"} <= set(s)
    assert set(report["overall"]["ci95"]) == {"giou", "ciou", "f1"}
    assert report["overall"]["n"] == 6 and sum(s["n"] for s in report["per_level"].values()) == 6
    assert report["n_errors"] == 0
    assert report["format_failure_rate"] == 0.0
    assert report["encodes_per_sample"] == 1.0
    assert report["timing"]["latency_p50_s"] <= report["timing"]["latency_p95_s"]
    assert "per_split" not in report


def test_report_json_is_byte_identical_from_the_same_results(run):
    first = (run / "report.json").read_bytes()
    write_report(run, plots=False)
    assert (run / "report.json").read_bytes() == first
    rows = read_results(run / "results.jsonl")
    config = json.loads((run / "config.json").read_text())
    shuffled = rows[:]
    random.Random(3).shuffle(shuffled)
    assert build_report(shuffled, config) == build_report(rows, config)


def test_report_md_states_levels_provenance_and_config(run):
    md = (run / "report.md").read_text()
    assert "levels: 0 from sidecar, 6 inferred, 0 unknown" in md
    assert "| all | 6 |" in md
    assert '"policy": "random-box"' in md


def _row(i, inter, union, tp, fp, fn, level="class", split="test", **kw):
    return EvalRow(
        id=f"r{i}", split=split, level=level, level_source="sidecar", query="q", scored=True,
        error=None, iou=inter / union if union else 1.0, intersection=inter, union=union,
        tp=tp, fp=fp, fn=fn, answers=2, format_failures=kw.get("ff", 0), encodes=1,
        latency_s=kw.get("lat", 1.0), mask_path=None,
    )  # fmt: skip


def test_report_numbers_by_hand():
    rows = [
        _row(0, 50, 100, 1, 0, 0, "name", ff=1, lat=1.0),
        _row(1, 0, 0, 0, 0, 0, "class", lat=2.0),  # empty on empty: IoU 1
        _row(2, 0, 300, 0, 1, 1, "function", split="val", lat=3.0),
        _row(3, 0, 0, 0, 0, 0).model_copy(update={"scored": False, "error": "r3: sat.png is missing", "iou": None}),
    ]
    report = build_report(rows, {"policy": "x"})
    o = report["overall"]
    assert o["n"] == 3
    assert o["giou"] == pytest.approx((0.5 + 1.0 + 0.0) / 3, abs=1e-6)
    assert o["ciou"] == pytest.approx(50 / 400, abs=1e-6)
    assert (o["precision"], o["recall"], o["f1"]) == pytest.approx((0.5, 0.5, 0.5))
    assert report["per_level"]["name"]["giou"] == 0.5 and report["per_level"]["name"]["n"] == 1
    assert report["per_level"]["class"]["ci95"] == {"giou": None, "ciou": None, "f1": None}
    assert set(report["per_split"]) == {"test", "val"}
    assert report["per_split"]["val"]["giou"] == 0.0
    assert report["format_failure_rate"] == pytest.approx(1 / 6, abs=1e-6)
    assert report["n_errors"] == 1 and report["n_unscored"] == 1
    assert report["timing"]["latency_p50_s"] == 2.0


def test_unknown_level_gets_its_own_row():
    rows = [_row(0, 1, 2, 0, 0, 0, "unknown"), _row(1, 1, 2, 0, 0, 0, "name")]
    report = build_report(rows, {})
    assert report["per_level"]["unknown"]["n"] == 1


def test_overlays_are_skipped_with_a_note_when_the_data_moved(tmp_path):
    data = write_raw(tmp_path / "data", n=3)
    out = tmp_path / "out"
    run_eval(EvalConfig(data=str(data), backend=BackendConfig(policy="oracle-box"), out=out), progress=False)
    (data / "test").rename(data / "moved")
    write_report(out)
    assert "overlays.png not drawn" in (out / "report.md").read_text()
    assert (out / "per_level.png").is_file()


def test_report_needs_results(tmp_path):
    with pytest.raises(InputError, match="socio eval --out"):
        write_report(tmp_path)


def test_socio_eval_command(tmp_path):
    from typer.testing import CliRunner

    from socioagent.cli import app

    data = write_raw(tmp_path / "data", n=3)
    out = tmp_path / "out"
    runner = CliRunner()
    res = runner.invoke(app, ["eval", "--data", f"socioseg:{data}", "--policy", "oracle-box", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "gIoU" in res.output and "report.md" in res.output
    assert json.loads((out / "report.json").read_text())["overall"]["n"] == 3
    res = runner.invoke(app, ["eval", "--data", f"socioseg:{data}", "--policy", "random-box", "--out", str(out)])
    assert res.exit_code == 2
    assert "--force" in res.output
    res = runner.invoke(app, ["eval", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "o2")])
    assert res.exit_code == 2 and "does not exist" in res.output
    res = runner.invoke(app, ["eval", "--data", str(data), "--policy", "map", "--model", "x", "--out", str(out)])
    assert res.exit_code == 2 and "--model is for --policy openai or hf" in res.output
