"""SFT example building in worker processes, and the trainers' wall-time budget (``--max-minutes``)."""

from __future__ import annotations

import json
import warnings

import numpy as np

from tests.train.conftest import socio


def _packaged_job(synth_data, tmp_path):
    from agent.policies.packaged import packaged_model
    from tools.segmenters import make_segmenter
    from train.data import TrainData
    from train.model import load_trainable
    from train.sft import SFTJob

    init = str(packaged_model("tiny-vlm"))
    data = TrainData.open(f"synth:{synth_data}", "train")
    return SFTJob(data, init, tmp_path / "out", make_segmenter("classical"), "classical", progress=False), init, \
        load_trainable(init, "cpu")  # fmt: skip


def test_examples_built_in_two_processes_equal_those_built_in_one(synth_data, tmp_path, fast_cpu):
    """The zoom-input policy that ships: the same prompts, images and answers, in the same order."""
    from agent.policies.transformers_local import TransformersPolicy
    from agent.policies.zoom_inputs import read_policy_inputs
    from train.config import SFTConfig
    from train.sft import build_examples, build_examples_parallel

    job, init, tm = _packaged_job(synth_data, tmp_path)
    policy = TransformersPolicy.from_loaded(tm.model, tm.processor, name=f"hf:{init}",
                                            inputs=read_policy_inputs(tm.source))  # fmt: skip
    cfg = SFTConfig(learning_rate=1e-3, seed=3)
    samples = job.data.samples[:6]
    with warnings.catch_warnings():
        # a segmenter that cannot be pickled would build in one process, which this test must not pass for
        warnings.filterwarnings("error", message=".*cannot be sent to worker processes")
        two = build_examples_parallel(samples, policy, job, cfg, workers=2, progress=False, chunk=2)
    one = build_examples(samples, policy, job.segmenter, cfg, progress=False)
    assert [(e.sample_id, e.stage) for e in two] == [(e.sample_id, e.stage) for e in one]
    assert len(one) == 12
    for a, b in zip(one, two, strict=True):
        assert a.answer == b.answer and a.prepared.prompt == b.prepared.prompt
        assert a.prepared.frame == b.prepared.frame
        for x, y in zip(a.prepared.images, b.prepared.images, strict=True):
            assert np.array_equal(x, y)


def test_max_minutes_ends_a_run_after_one_step_with_a_loadable_final(synth_data, tmp_path, tiny_qwen25vl_path):
    out = tmp_path / "run"
    r = socio("train", "sft", "--data", f"synth:{synth_data}", "--model", str(tiny_qwen25vl_path), "--out", str(out),
              "--epochs", "50", "--batch-size", "4", "--micro-batch-size", "4", "--learning-rate", "1e-3",
              "--max-minutes", "0", "--example-workers", "2", "--quiet")  # fmt: skip
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == [1]  # 100 steps planned, the budget ended it after the first
    assert (out / "final" / "config.json").is_file()
    scene = next(p for p in sorted((synth_data / "val").iterdir()) if p.is_dir())
    r = socio("segment", "--sat", str(scene / "sat.png"), "--map", str(scene / "map.png"), "--query", "schools",
              "--policy", "hf", "--model", str(out / "final"), "--max-tokens", "16", "--out", str(tmp_path / "seg"),
              "--quiet")  # fmt: skip
    assert r.returncode == 0, r.stderr
