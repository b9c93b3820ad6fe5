"""bench/bench_eval.py: when its generated data is reused, and how it reports the time per scene."""

from __future__ import annotations

import json

from bench.bench_eval import generate, per_scene, render


def test_generated_data_is_reused_only_for_the_same_settings(tmp_path):
    data, took = generate(tmp_path, 1, 128, 0)
    assert took is not None and (data / "test" / "test-0-00000").is_dir()
    assert generate(tmp_path, 1, 128, 0)[1] is None  # reused
    (data / "test" / ".tmp-test-0-00001-99").mkdir()  # a hidden leftover must not pass for a sample
    assert generate(tmp_path, 2, 128, 0)[1] is not None  # one more sample generated
    assert (data / "test" / "test-0-00001").is_dir()
    assert generate(tmp_path, 2, 160, 0)[1] is not None  # another size: regenerated, not reused
    assert json.loads((data / "test" / "settings.json").read_text())["size"] == 160
    assert generate(tmp_path, 1, 160, 1)[1] is not None  # another seed: regenerated
    assert sorted(d.name for d in (data / "test").iterdir() if d.is_dir()) == ["test-1-00000"]


def test_time_per_scene_is_the_runners_p50_and_wall_is_labelled():
    overall = {"n": 4, "giou": 0.5, "ciou": 0.5, "f1": 0.5, "ci95": None}
    report = {
        "overall": overall,
        "per_level": {"name": overall},
        "timing": {"latency_p50_s": 0.25, "latency_p95_s": 0.5},
        "format_failure_rate": 0.0,
        "n_errors": 0,
    }
    line = per_scene(report, wall=10.0, n=4)
    assert line.startswith("0.250 s/scene (p50") and "2.500 s/scene wall (includes process start" in line
    text = render({"map": {"wall_s": 10.0, "report": report}}, 4, 128, 1, 1)
    assert "| map | 0.250 | 0.500 | 10.0 | 2.500 |" in text
    assert "process start, dataset listing and report drawing" in text
