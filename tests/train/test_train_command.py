"""``socio train``: bad input refused with exit 2 and nothing written, Ctrl-C + --resume, a user's own checkpoint."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from tests.train.conftest import REPO, socio

SFT_FAST = ["--epochs", "3", "--batch-size", "4", "--micro-batch-size", "4", "--learning-rate", "1e-3", "--quiet"]
GRPO_FAST = ["--steps", "1", "--group-size", "2", "--batch-size", "2", "--max-new-tokens", "8", "--quiet"]


def _no_template(src, dst):
    shutil.copytree(src, dst)
    (dst / "chat_template.jinja").unlink(missing_ok=True)
    for name in ("tokenizer_config.json", "processor_config.json"):
        f = dst / name
        if f.is_file():
            doc = json.loads(f.read_text())
            doc.pop("chat_template", None)
            f.write_text(json.dumps(doc))
    return dst


def _no_vision(src, dst):
    shutil.copytree(src, dst)
    cfg = json.loads((dst / "config.json").read_text())
    cfg.pop("vision_config")
    (dst / "config.json").write_text(json.dumps(cfg))
    return dst


@pytest.mark.parametrize(("case", "message"), [
    ("data", "unknown dataset spec"),
    ("template", "has no chat template"),
    ("vision", "no vision_config"),
    ("group", "group_size must be >= 2 (got 1): a group of one has no advantage"),
    ("batch", "batch_size (3) must be a multiple of group_size (2)"),
    ("missing", "no model at /nowhere"),
])  # fmt: skip
def test_bad_input_exits_2_with_the_fix_and_writes_nothing(case, message, tmp_path, synth_data, tiny_qwen25vl_path):
    out = tmp_path / "run"
    model = str(tiny_qwen25vl_path)
    data = f"synth:{synth_data}"
    extra: list[str] = []
    if case == "data":
        data = f"kaggle:{synth_data}"
    elif case == "template":
        model = str(_no_template(tiny_qwen25vl_path, tmp_path / "m"))
    elif case == "vision":
        model = str(_no_vision(tiny_qwen25vl_path, tmp_path / "m"))
    elif case == "group":
        extra = ["--group-size", "1"]
    elif case == "batch":
        extra = ["--batch-size", "3"]
    elif case == "missing":
        model = "/nowhere/model"
    args = ["--data", data, "--init", model, "--out", str(out), *GRPO_FAST, *extra]
    r = socio("train", "grpo", *args)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()


def test_an_out_holding_another_run_is_refused_and_left_as_it_was(sft_run, tmp_path, synth_data):
    before = sorted(p.relative_to(sft_run) for p in sft_run.rglob("*"))
    r = socio("train", "sft", "--data", f"synth:{synth_data}", "--model", str(sft_run), "--out", str(sft_run),
              *SFT_FAST)  # fmt: skip
    assert r.returncode == 2 and "holds another training run; continue it with --resume" in r.stderr
    assert sorted(p.relative_to(sft_run) for p in sft_run.rglob("*")) == before
    r = socio("train", "sft", "--data", f"synth:{synth_data}", "--model", str(sft_run), "--out", str(tmp_path / "x"),
              "--resume", *SFT_FAST)  # fmt: skip
    assert r.returncode == 2 and "holds no training run to resume" in r.stderr


def _weights(run):
    return load_file(run / "final" / "model.safetensors")


def _interrupt_after(cmd, run, rows, timeout=300):
    """Start ``cmd``, press Ctrl-C once ``run``'s metrics.jsonl has ``rows`` rows, and wait for the exit."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    metrics = run / "metrics.jsonl"
    while time.monotonic() < deadline:
        if metrics.is_file() and len(metrics.read_text().splitlines()) >= rows:
            break
        if proc.poll() is not None:
            raise AssertionError(f"the run ended before it could be interrupted: {proc.stderr.read()}")
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sft", "grpo"])
def test_ctrl_c_then_resume_gives_the_same_model_as_an_uninterrupted_run(kind, tmp_path, synth_data, sft_run,
                                                                          tiny_qwen25vl_path):  # fmt: skip
    if kind == "sft":
        args = ["train", "sft", "--data", f"synth:{synth_data}", "--model", str(tiny_qwen25vl_path), *SFT_FAST,
                "--epochs", "6", "--save-every", "100"]  # fmt: skip
        stop_at = 3
    else:
        args = ["train", "grpo", "--data", f"synth:{synth_data}", "--init", str(sft_run), *GRPO_FAST, "--steps", "4",
                "--max-new-tokens", "40", "--learning-rate", "1e-3", "--lora", "--lora-rank", "4"]  # fmt: skip
        stop_at = 2
    straight, broken = tmp_path / "straight", tmp_path / "broken"
    r = socio(*args, "--out", str(straight))
    assert r.returncode == 0, r.stderr
    code, err = _interrupt_after([sys.executable, "-m", "socioagent", *args, "--out", str(broken)], broken, stop_at)
    assert code == 130 and "interrupted" in err, err
    assert not (broken / "final").exists() and list((broken / "checkpoints").glob("step-*"))
    r = socio(*args, "--out", str(broken), "--resume")
    assert r.returncode == 0, r.stderr
    a, b = _weights(straight), _weights(broken)
    assert a.keys() == b.keys()
    for name in a:
        assert torch.allclose(a[name], b[name], atol=1e-5), name
    rows = [json.loads(line) for line in (broken / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == list(range(1, len(rows) + 1))  # no step lost or repeated


def test_a_users_own_checkpoint_trains_and_the_result_loads_in_socio_segment(tmp_path, synth_data, sft_run):
    """A checkpoint saved by plain transformers (its own tokenizer and chat template) trains and reloads."""
    from tests.fixtures.tiny_qwen import build_tiny_qwen25vl

    own = build_tiny_qwen25vl(tmp_path / "my-model", seed=5)
    run = tmp_path / "run"
    r = socio("train", "grpo", "--data", f"synth:{synth_data}", "--init", str(own), "--out", str(run), *GRPO_FAST,
              "--lora", "--lora-rank", "2")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert (run / "final" / "config.json").is_file() and (run / "curves.png").is_file()
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert rows[0]["step"] == 1 and "localize_reward" in rows[0] and "rollouts_per_s" in rows[0]
    scene = next((synth_data / "val").iterdir())
    r = socio("segment", "--sat", str(scene / "sat.png"), "--map", str(scene / "map.png"), "--query", "schools",
              "--policy", "hf", "--model", str(run / "final"), "--max-tokens", "16", "--out", str(tmp_path / "seg"),
              "--quiet")  # fmt: skip
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "seg" / "result.json").read_text())
    assert doc["policy"] == f"hf:{run / 'final'}" and len(doc["stages"]) == 2
