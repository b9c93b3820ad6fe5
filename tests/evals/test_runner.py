import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from agent.backends import BackendConfig
from agent.parsing import parse_answer
from agent.policies import PolicyRequest, make_policy
from evals.datasets import make_dataset
from evals.evaluator import SampleEvaluator
from evals.report import write_report
from evals.results import RESULTS, ResultWriter, prepare_out, read_results
from evals.runner import EvalConfig, run_eval
from evals.workers import rows_in_workers
from tests.fixtures.socioseg_data import damage_row_group, write_parquet, write_raw
from tools.errors import BackendError, InputError
from tools.scene import Scene

REPO = Path(__file__).resolve().parents[2]
TIMING = ("latency_s", "policy_s", "segment_s")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_raw(tmp_path_factory.mktemp("data") / "raw", n=6)


def _cfg(data, out, **kw):
    backend = {k: kw.pop(k) for k in list(kw) if k in BackendConfig.model_fields}
    return EvalConfig(data=f"socioseg:{data}", out=out, backend=BackendConfig(**{"policy": "random-box", **backend}),
                      **kw)  # fmt: skip


def _rows(out):
    """Rows keyed by id, without wall times (the only fields that differ between runs)."""
    rows = read_results(out / RESULTS)
    ids = [r.id for r in rows]
    assert len(ids) == len(set(ids)), f"duplicate ids in {out / RESULTS}"
    return {r.id: r.model_dump(exclude=set(TIMING)) for r in rows}


def _report(out):
    doc = json.loads((out / "report.json").read_text())
    doc.pop("timing")
    return doc


@pytest.fixture(scope="module")
def reference(data, tmp_path_factory):
    """An uninterrupted in-process run: what every interrupted or parallel run must reproduce."""
    out = tmp_path_factory.mktemp("ref")
    run_eval(_cfg(data, out), progress=False)
    write_report(out, plots=False)
    return out


def test_run_writes_one_row_and_one_mask_per_sample(reference, data):
    rows = _rows(reference)
    assert sorted(rows) == [f"s{i:03d}" for i in range(6)]
    for r in rows.values():
        assert r["scored"] and r["error"] is None
        assert r["answers"] == 2  # localize + one refine round
        assert r["encodes"] == 1
        assert 0 <= r["iou"] <= 1 and r["union"] >= r["intersection"] >= 0
        assert r["iou"] == pytest.approx(r["intersection"] / r["union"] if r["union"] else 1.0)
        assert r["truth_instances"] == r["tp"] + r["fn"]
        mask_file = reference / r["mask_path"]
        from PIL import Image

        with Image.open(mask_file) as im:
            m = np.asarray(im)
        assert m.shape == (64, 64) and set(np.unique(m)) <= {0, 255}
        assert int((m > 0).sum()) == r["pred_area"]
    cfg = json.loads((reference / "config.json").read_text())
    assert cfg["policy"] == "random-box" and cfg["data"] == f"socioseg:{data.resolve()}"


ROW_KEYS = {
    "id", "split", "level", "level_source", "query", "socio_class", "socio_function", "error", "scored", "iou",
    "intersection", "union", "pred_area", "truth_area", "tp", "fp", "fn", "truth_instances", "pred_instances",
    "format_failures", "failures", "answers", "latency_s", "policy_s", "segment_s", "encodes", "mask_path",
}  # fmt: skip
"""The keys of a results.jsonl line: earlier runs wrote exactly these, and must still resume and report."""


def test_result_lines_keep_their_format_and_round_trip_byte_for_byte(reference):
    raw = (reference / RESULTS).read_bytes()
    assert b"".join(r.to_line() for r in read_results(reference / RESULTS)) == raw
    for line in raw.splitlines():
        d = json.loads(line)
        assert set(d) == ROW_KEYS
        assert line == json.dumps(d, sort_keys=True).encode()  # how the lines were written before EvalRow


def test_a_line_that_is_not_a_result_row_is_refused_naming_the_line(reference, tmp_path):
    first, second = (reference / RESULTS).read_bytes().splitlines(keepends=True)[:2]
    bad = tmp_path / RESULTS
    no_iou = json.dumps({**json.loads(first), "iou": None}, sort_keys=True).encode() + b"\n"  # scored, no IoU
    for line, what in ((b'{"id": "s009"}\n', "not a result row"), (b'{"id": \n', "not valid JSON"),
                       (b"[1, 2]\n", "not a result row"), (no_iou, "not a result row")):  # fmt: skip
        bad.write_bytes(first + line + second)
        with pytest.raises(InputError, match=rf"{RESULTS} line 2 is {what} .*delete that line .* or use --force"):
            read_results(bad)


def test_limit_then_full_equals_an_uninterrupted_run(data, reference, tmp_path):
    run_eval(_cfg(data, tmp_path, limit=3), progress=False)
    assert len(read_results(tmp_path / RESULTS)) == 3
    run_eval(_cfg(data, tmp_path), progress=False)
    write_report(tmp_path, plots=False)
    assert _rows(tmp_path) == _rows(reference)
    assert _report(tmp_path) == _report(reference)


def test_truncated_last_line_is_dropped_and_rerun(data, reference, tmp_path):
    run_eval(_cfg(data, tmp_path, limit=4), progress=False)
    results = tmp_path / RESULTS
    lines = results.read_bytes().splitlines(keepends=True)
    results.write_bytes(b"".join(lines[:3]) + lines[3][:25])  # a kill in the middle of writing row 4
    assert len(read_results(results)) == 3
    run_eval(_cfg(data, tmp_path), progress=False)
    assert results.read_bytes().endswith(b"\n")
    write_report(tmp_path, plots=False)
    assert _rows(tmp_path) == _rows(reference)
    assert _report(tmp_path) == _report(reference)


def test_a_killed_run_resumes_without_loss_or_duplicates(tmp_path):
    n = 40
    data = write_raw(tmp_path / "data", n=n)
    out = tmp_path / "killed"
    code = (
        "import sys; from pathlib import Path; from agent.backends import BackendConfig; "
        "from evals.runner import EvalConfig, run_eval; "
        "run_eval(EvalConfig(data=sys.argv[1], backend=BackendConfig(policy='random-box'), out=Path(sys.argv[2])), "
        "progress=False)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(data), str(out)], cwd=REPO)
    results = out / RESULTS
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if results.is_file() and results.read_bytes().count(b"\n") >= 2:
            proc.kill()
            break
        time.sleep(0.005)
    proc.wait()
    kept = len(read_results(results))
    assert proc.returncode != 0, "the run finished before it could be killed"
    assert 2 <= kept < n
    run_eval(EvalConfig(data=str(data), backend=BackendConfig(policy="random-box"), out=out), progress=False)
    write_report(out, plots=False)
    full = tmp_path / "full"
    run_eval(EvalConfig(data=str(data), backend=BackendConfig(policy="random-box"), out=full), progress=False)
    write_report(full, plots=False)
    assert len(_rows(out)) == n
    assert _rows(out) == _rows(full)
    assert _report(out) == _report(full)


@pytest.mark.slow
def test_workers_give_the_same_rows(data, reference, tmp_path):
    run_eval(_cfg(data, tmp_path, limit=2), progress=False)
    run_eval(_cfg(data, tmp_path, workers=2), progress=False)  # resume, now in two worker processes
    write_report(tmp_path, plots=False)
    assert _rows(tmp_path) == _rows(reference)
    assert _report(tmp_path) == _report(reference)


def _wait_for_rows(results: Path, n: int, alive) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and alive():
        if results.is_file() and results.read_bytes().count(b"\n") >= n:
            return
        time.sleep(0.01)


@pytest.mark.slow
def test_a_dead_worker_ends_the_run_with_a_backend_error_and_keeps_finished_rows(tmp_path):
    """A worker killed from outside (as the OOM killer does) must end the run, not hang it."""
    import multiprocessing as mp
    import signal
    import threading

    data = write_raw(tmp_path / "data", n=40)
    out = tmp_path / "out"
    cfg = EvalConfig(data=str(data), backend=BackendConfig(policy="random-box"), out=out, workers=2)
    raised: list[BaseException] = []

    def run() -> None:
        try:
            run_eval(cfg, progress=False)
        except BaseException as e:
            raised.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    _wait_for_rows(out / RESULTS, 1, thread.is_alive)
    workers = mp.active_children()
    assert workers, "the run finished before a worker could be killed"
    os.kill(workers[0].pid, signal.SIGKILL)
    thread.join(60)
    assert not thread.is_alive(), "the run hangs after a worker died"
    assert len(raised) == 1 and isinstance(raised[0], BackendError), raised
    assert "worker process died" in str(raised[0]) and "rerun the same command to resume" in str(raised[0])
    kept = len(read_results(out / RESULTS))
    assert 1 <= kept < 40
    assert not mp.active_children()  # the other worker is gone too
    run_eval(cfg.model_copy(update={"workers": 1}), progress=False)  # resumes
    assert len(_rows(out)) == 40


@pytest.mark.slow
def test_rows_finished_around_a_dead_worker_are_yielded_then_a_backend_error(tmp_path):
    """The parent pauses after a kill, so the pool breaks with finished rows in hand (the racy path)."""
    import multiprocessing as mp
    import signal

    data = write_raw(tmp_path / "data", n=30)
    cfg = EvalConfig(data=str(data), backend=BackendConfig(policy="random-box"), out=tmp_path / "out", workers=2)
    rows = []
    with pytest.raises(BackendError, match="worker process died"):
        for row in rows_in_workers(list(make_dataset(str(data))), cfg.backend, cfg.out, workers=2):
            rows.append(row.id)
            if len(rows) == 2:
                os.kill(mp.active_children()[0].pid, signal.SIGKILL)
                time.sleep(0.6)  # the other worker finishes its tasks while the parent waits
    assert 2 <= len(rows) < 30 and len(set(rows)) == len(rows)
    assert not mp.active_children()


def _children(pid: int) -> list[int]:
    """Return the ids of the processes whose parent is ``pid`` (Linux /proc)."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="needs Linux /proc")
def test_ctrl_c_with_workers_keeps_finished_rows_and_leaves_no_worker(tmp_path):
    import signal

    n = 80  # enough that a loaded machine cannot finish the run between the second row and the signal
    data = write_raw(tmp_path / "data", n=n)
    out = tmp_path / "out"
    code = (
        "import sys; from pathlib import Path; from agent.backends import BackendConfig\n"
        "from evals.runner import EvalConfig, run_eval\n"
        "try:\n"
        "    cfg = EvalConfig(data=sys.argv[1], backend=BackendConfig(policy='random-box'), out=Path(sys.argv[2]), "
        "workers=2)\n"
        "    run_eval(cfg, progress=False)\n"
        "except KeyboardInterrupt:\n"
        "    sys.exit(130)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(data), str(out)], cwd=REPO)
    _wait_for_rows(out / RESULTS, 2, lambda: proc.poll() is None)
    workers = _children(proc.pid)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(60) == 130, "the run finished before it could be interrupted"
    assert workers
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(Path(f"/proc/{w}").exists() for w in workers):
        time.sleep(0.05)
    assert not [w for w in workers if Path(f"/proc/{w}").exists()], "a worker outlived the interrupted run"
    kept = len(read_results(out / RESULTS))
    assert 2 <= kept < n
    run_eval(EvalConfig(data=str(data), backend=BackendConfig(policy="random-box"), out=out), progress=False)
    assert len(_rows(out)) == n


def test_a_different_config_is_refused_unless_forced(data, reference, tmp_path):
    run_eval(_cfg(data, tmp_path, limit=2), progress=False)
    with pytest.raises(InputError, match=r"policy: 'random-box' -> 'oracle-box'.*new --out, or --force"):
        run_eval(_cfg(data, tmp_path, policy="oracle-box"), progress=False)
    with pytest.raises(InputError, match="refine: 1 -> 0"):
        run_eval(_cfg(data, tmp_path, refine=0), progress=False)
    run_eval(_cfg(data, tmp_path, policy="oracle-box", force=True), progress=False)
    rows = _rows(tmp_path)
    assert len(rows) == 6
    assert json.loads((tmp_path / "config.json").read_text())["policy"] == "oracle-box"


def test_oracle_is_the_ceiling_and_random_the_floor(data, reference, tmp_path):
    run_eval(_cfg(data, tmp_path, policy="oracle-box"), progress=False)
    oracle = write_report(tmp_path, plots=False)
    random = json.loads((reference / "report.json").read_text())
    assert oracle["overall"]["giou"] > 0.9
    assert oracle["overall"]["f1"] == 1.0
    assert oracle["overall"]["giou"] > random["overall"]["giou"]


def test_corrupt_sample_becomes_an_error_row(tmp_path):
    data = write_raw(tmp_path / "data", n=4)
    bad = data / "test" / "s002" / "sat.png"
    bad.write_bytes(b"broken")
    out = tmp_path / "out"
    run_eval(EvalConfig(data=str(data), backend=BackendConfig(policy="oracle-box"), out=out), progress=False)
    rows = _rows(out)
    assert len(rows) == 4
    assert rows["s002"]["scored"] is False and str(bad) in rows["s002"]["error"]
    report = write_report(out, plots=False)
    assert report["n_errors"] == 1 and report["overall"]["n"] == 3
    assert "s002" in (out / "report.md").read_text()


def test_corrupt_parquet_row_group_becomes_an_error_row(tmp_path):
    f = write_parquet(tmp_path / "data" / "test.parquet", n=5, row_group_size=2)
    damage_row_group(f, 1)  # rows s002 and s003
    out = tmp_path / "out"
    run_eval(EvalConfig(data=str(f), backend=BackendConfig(policy="oracle-box"), out=out), progress=False)
    rows = _rows(out)
    assert len(rows) == 5
    for sid in ("s002", "s003"):
        assert rows[sid]["scored"] is False
        assert (
            str(f) in rows[sid]["error"] and "row group 1" in rows[sid]["error"] and "re-download" in rows[sid]["error"]
        )
    assert all(rows[s]["scored"] and rows[s]["error"] is None for s in ("s000", "s001", "s004"))
    assert write_report(out, plots=False)["n_errors"] == 2


class _CrashingPolicy:
    """A policy with a bug: it raises on every call (a stand-in for a broken policy; the runner is real)."""

    name = "crashing"

    def localize(self, request):
        raise RuntimeError("policy bug")

    refine = localize


def test_agent_crash_on_an_empty_truth_scores_zero_and_a_successful_empty_answer_scores_one(tmp_path):

    data = write_raw(tmp_path / "data", n=3, empty=(0, 1))
    ds = make_dataset(str(data))
    assert not ds.get("s000").load_scene().truth.any() and ds.get("s002").load_scene().truth.any()
    ok = tmp_path / "oracle"  # end to end: the oracle answers no box on an empty truth, the prediction is empty
    run_eval(EvalConfig(data=str(data), backend=BackendConfig(policy="oracle-box"), out=ok), progress=False)
    rows = _rows(ok)
    assert rows["s000"]["error"] is None and rows["s000"]["pred_area"] == rows["s000"]["union"] == 0
    assert rows["s000"]["iou"] == 1.0
    assert write_report(ok, plots=False)["overall"]["giou"] == pytest.approx(1.0, abs=0.1)

    out = tmp_path / "crash"
    cfg = EvalConfig(data=str(data), backend=BackendConfig(policy="oracle-box"), out=out)
    prepare_out(cfg.out, cfg.identity())
    evaluator = SampleEvaluator(cfg.backend, cfg.out)
    evaluator.backends.policy = _CrashingPolicy()
    writer = ResultWriter(out / RESULTS)
    for sample in ds:
        writer.write(evaluator.evaluate(sample))
    writer.close()
    rows = _rows(out)
    for sid in ("s000", "s001", "s002"):  # a crash is a miss whatever the truth: IoU 0
        assert rows[sid]["scored"] and "RuntimeError: policy bug" in rows[sid]["error"]
        assert rows[sid]["iou"] == 0.0 and rows[sid]["pred_area"] == 0
    report = write_report(out, plots=False)
    assert report["overall"]["giou"] == 0.0 and report["per_level"]["name"]["giou"] == 0.0
    assert "agent errors score IoU 0" in (out / "report.md").read_text()


class _UnlabelledSource:
    """A sample source whose scenes come without a truth mask (an unlabelled dataset)."""

    def load(self, sample, mask_rule="any_band"):
        return _scene(scene_id=sample.id)

    def order_key(self):
        return (0,)


def test_a_sample_without_truth_becomes_an_unscored_error_row(tmp_path):
    from evals.datasets import Sample

    sample = Sample(id="u1", query="schools", split="test", level="class", level_source="inferred",
                    level_reason="rule", socio_class=None, socio_function=None, source=_UnlabelledSource())  # fmt: skip
    row = SampleEvaluator(BackendConfig(policy="random-box"), tmp_path).evaluate(sample)
    assert row.scored is False and row.iou is None and row.mask_path is None
    assert "'u1' loaded without a truth mask" in row.error


@pytest.mark.slow
def test_a_backend_failure_in_a_worker_reaches_the_parent_as_a_backend_error(data, tmp_path):
    cfg = _cfg(data, tmp_path, workers=2, policy="openai", base_url="http://127.0.0.1:9/v1", model="m",
               max_retries=0, timeout=5)  # fmt: skip
    with pytest.raises(BackendError, match="could not be reached"):
        run_eval(cfg, progress=False)
    assert read_results(tmp_path / RESULTS) == []


def test_backend_failure_stops_the_run_and_keeps_no_partial_rows(data, tmp_path, monkeypatch):
    monkeypatch.setenv("MY_SERVER_KEY", "sk-secret")
    cfg = _cfg(data, tmp_path, policy="openai", base_url="http://127.0.0.1:9/v1", model="m", max_retries=0,
               timeout=5, api_key_env="MY_SERVER_KEY")  # fmt: skip
    with pytest.raises(BackendError, match="could not be reached"):
        run_eval(cfg, progress=False)
    assert read_results(tmp_path / RESULTS) == []
    saved = (tmp_path / "config.json").read_text()
    assert json.loads(saved)["policy"] == "openai:m" and "sk-secret" not in saved


def test_checkpoint_needs_sam2(data, tmp_path):
    with pytest.raises(ValueError, match="--checkpoint is for --segmenter sam2"):
        _cfg(data, tmp_path, checkpoint="x.pt")


# ----------------------------------------------------------------------------------------------- baselines


def _scene(truth=None, scene_id="t"):
    img = np.zeros((64, 64, 3), np.uint8)
    return Scene(scene_id, img, img.copy(), truth=truth)


def _request(scene, stage="localize", previous=()):
    images = [scene.map, scene.sat]
    return PolicyRequest(stage=stage, query="schools", scene=scene, images=images, previous=list(previous))


def test_oracle_answers_truth_boxes_in_the_reference_format():
    truth = np.zeros((64, 64), bool)
    truth[5:15, 10:30] = True
    truth[40:60, 40:50] = True
    truth[0:2, 60:63] = True  # 6 px: not an instance
    oracle = make_policy("oracle-box")
    parsed = parse_answer(oracle.localize(_request(_scene(truth))).text)
    assert parsed.ok
    assert [it.box for it in parsed.items] == [(10, 5, 30, 15), (40, 40, 50, 60)]
    refined = parse_answer(oracle.refine(_request(_scene(truth), "refine")).text, stage="refine")
    for it in refined.items:
        (x, y) = it.points[0]
        assert truth[int(y), int(x)]


def test_oracle_boxes_are_the_metric_instances_boxes():
    from tools.instances import component_boxes

    rng = np.random.default_rng(3)
    truth = np.zeros((64, 64), bool)
    for _ in range(6):
        x, y, w, h = (int(v) for v in rng.integers(0, 40, 4) // [1, 1, 3, 3])
        truth[y : y + h + 2, x : x + w + 2] = True
    truth[50:54, 50:54] = truth[54:58, 54:58] = True  # touching at a corner: one 8-connected instance
    want = [tuple(float(v) for v in b) for b in component_boxes(truth)]
    oracle = make_policy("oracle-box")
    assert [it.box for it in parse_answer(oracle.localize(_request(_scene(truth))).text).items] == want
    refined = parse_answer(oracle.refine(_request(_scene(truth), "refine")).text, stage="refine").items
    assert [it.box for it in refined] == want
    assert all(truth[int(it.points[0][1]), int(it.points[0][0])] for it in refined)


def test_oracle_without_truth_is_an_input_error():
    with pytest.raises(InputError, match="oracle-box needs ground truth; it only runs under socio eval"):
        make_policy("oracle-box").localize(_request(_scene()))


def test_random_boxes_are_deterministic_per_scene_and_seed():
    a = make_policy("random-box", seed=0).localize(_request(_scene(scene_id="a"))).text
    assert a == make_policy("random-box", seed=0).localize(_request(_scene(scene_id="a"))).text
    others = {
        make_policy("random-box", seed=s).localize(_request(_scene(scene_id=i))).text for s in (0, 1) for i in "bc"
    }
    assert a not in others
    parsed = parse_answer(a)
    assert 1 <= len(parsed.items) <= 2
    for x1, y1, x2, y2 in (it.box for it in parsed.items):
        assert 0 <= x1 < x2 <= 64 and 0 <= y1 < y2 <= 64
        assert 0.1 * 64 - 1 <= x2 - x1 <= 0.35 * 64 + 1


def test_random_refine_keeps_the_boxes_and_adds_a_point_inside():
    from tools.schemas import Box, InstancePrompt

    prev = [InstancePrompt(box=Box(x1=4, y1=4, x2=20, y2=30))]
    parsed = parse_answer(make_policy("random-box").refine(_request(_scene(), "refine", prev)).text, stage="refine")
    assert [it.box for it in parsed.items] == [(4, 4, 20, 30)]
    (x, y) = parsed.items[0].points[0]
    assert 4 <= x <= 20 and 4 <= y <= 30


# ----------------------------------------------------------------------------------------------- SynthCity


def test_synthcity_raw_and_parquet_hold_the_same_samples(tmp_path):
    from evals.synthcity import generate

    root = generate(tmp_path / "synth", "test", 3, seed=0, size=256, progress=False)
    raw, pq = make_dataset(f"synth:{root}"), make_dataset(f"synth:{root / 'test.parquet'}")
    assert (raw.format, pq.format) == ("raw", "parquet")
    assert raw.ids() == pq.ids()
    for a, b in zip(raw, pq, strict=True):
        assert (a.query, a.level, a.level_source, a.socio_class) == (b.query, b.level, "sidecar", b.socio_class)
        sa, sb = a.load_scene(), b.load_scene()
        assert np.array_equal(sa.sat, sb.sat) and np.array_equal(sa.map, sb.map)
        assert np.array_equal(sa.truth, sb.truth) and sa.truth.any()
        assert sa.georef is not None and sa.layers and sb.layers == []  # parquet has no layers
    out = tmp_path / "oracle"
    run_eval(EvalConfig(data=f"synth:{root}", backend=BackendConfig(policy="oracle-box"), out=out), progress=False)
    report = write_report(out, plots=False)
    assert report["level_sources"]["sidecar"] == 3 and report["n_errors"] == 0
    assert report["overall"]["f1"] > 0.5


def test_map_policy_runs_on_synthcity_layers(tmp_path):
    from evals.synthcity import generate

    root = generate(tmp_path / "synth", "test", 2, seed=0, size=256, progress=False)
    out = tmp_path / "map"
    run_eval(EvalConfig(data=f"synth:{root}", backend=BackendConfig(policy="map"), out=out), progress=False)
    rows = _rows(out)
    assert len(rows) == 2
    assert all(r["scored"] and r["error"] is None and r["answers"] == 2 for r in rows.values())
    assert max(r["iou"] for r in rows.values()) > 0  # the map policy reads the layers and finds something
