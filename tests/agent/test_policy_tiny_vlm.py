"""The packaged small policy: `--policy tiny-vlm` loads offline from the installed package in every command.

The weights are files of the package (agent/policies/tiny_vlm/, built by `make policy`); these tests run the real
CLI in a subprocess with the hub switched off and an empty hub cache, so any download attempt would fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.policies.packaged import PACKAGED_MODELS
from evals.synthcity.export import run_generation

pytest.importorskip("transformers")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tiny-vlm-data")
    run_generation(out, "test", 3, 0, 768, 0.6, ("raw",), lambda k: None)
    return out


def _socio(*args: str, cwd: Path, hf_home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HOME": str(hf_home),
           "SOCIO_MODELS_DIR": str(hf_home / "models"), "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}  # fmt: skip
    return subprocess.run([sys.executable, "-m", "socioagent", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=600)  # fmt: skip


def test_the_weights_ship_in_the_package_and_are_small():
    folder = PACKAGED_MODELS["tiny-vlm"]
    assert (folder / "config.json").is_file() and (folder / "MODEL_CARD.md").is_file()
    assert json.loads((folder / "socioagent.json").read_text())["inputs"] == "zoom"
    size = sum(f.stat().st_size for f in folder.iterdir())
    assert size <= 25 * 2**20, f"{size / 2**20:.1f} MB"


def test_segment_answers_parse_on_a_synthcity_scene(data, tmp_path):
    scene = data / "test" / "test-0-00000"
    query = json.loads((scene / "question.json").read_text())["problem"]
    r = _socio("segment", "--sat", str(scene / "sat.tif"), "--map", str(scene / "map.png"), "--layers",
               str(scene / "layers.geojson"), "--query", query, "--policy", "tiny-vlm", "--out", str(tmp_path / "o"),
               cwd=tmp_path, hf_home=tmp_path / "hf")  # fmt: skip
    assert r.returncode == 0, r.stderr
    result = json.loads((tmp_path / "o" / "result.json").read_text())
    assert result["policy"] == "hf:tiny-vlm"
    stages = result["stages"]
    assert [s["stage"] for s in stages][:1] == ["localize"]
    assert all(s["ok"] for s in stages), [(s["raw"], s["failure"]) for s in stages]


def test_eval_and_demo_run_it(data, tmp_path):
    r = _socio("eval", "--data", f"synth:{data}", "--split", "test", "--policy", "tiny-vlm", "--out",
               str(tmp_path / "ev"), "--quiet", cwd=tmp_path, hf_home=tmp_path / "hf")  # fmt: skip
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path / "ev" / "report.json").read_text())
    assert report["n_scored"] == 3 and report["n_errors"] == 0 and report["format_failure_rate"] < 0.5
    r = _socio("demo", "--policy", "tiny-vlm", "--out", str(tmp_path / "demo"), cwd=tmp_path, hf_home=tmp_path / "hf")
    assert r.returncode == 0, r.stderr
    assert "policy hf:tiny-vlm" in r.stdout and (tmp_path / "demo" / "overlay.png").is_file()


def test_a_model_beside_the_packaged_name_is_refused(tmp_path):
    r = _socio("demo", "--policy", "tiny-vlm", "--model", "other", "--out", str(tmp_path / "d"), cwd=tmp_path,
               hf_home=tmp_path / "hf")  # fmt: skip
    assert r.returncode == 2 and "drop --model other" in r.stderr
    assert not (tmp_path / "d").exists()


@pytest.mark.slow
def test_make_policy_with_a_tiny_budget_makes_a_loadable_checkpoint(tmp_path):
    work, install = tmp_path / "work", tmp_path / "model"
    r = subprocess.run(
        ["make", "-s", "policy", "POLICY_MINUTES=0.1", "POLICY_SCENES=2", "POLICY_VAL=2", "POLICY_GRPO_MIN_STEPS=1",
         "POLICY_FLAGS=--grpo-batch-size 16", "POLICY_THREADS=1", f"POLICY_DATA={tmp_path / 'data'}",
         f"POLICY_WORK={work}", f"POLICY_INSTALL={install}"],
        cwd=REPO, capture_output=True, text=True, timeout=1200, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    card = json.loads((install / "training.json").read_text())
    assert card["selected"] in ("sft", "grpo") and set(card["val"]) == {"sft", "grpo"}
    assert (install / "MODEL_CARD.md").is_file() and (work / "grpo" / "final" / "config.json").is_file()
    from agent.policies import make_policy

    policy = make_policy(f"hf:{install}")
    assert policy.wants_lookup
