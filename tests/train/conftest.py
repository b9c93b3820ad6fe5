"""Fixtures of the trainer tests: a small SynthCity folder, fast CPU floats, the trainer's command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SIZE = 128
"""Tile size of the trainer tests' scenes (the tiny processors send them at 140 px: 25 image tokens)."""


@pytest.fixture(scope="session")
def synth_data(tmp_path_factory) -> Path:
    """A SynthCity folder with 8 train and 2 val scenes of 128 px."""
    from evals.synthcity import generate

    root = tmp_path_factory.getbasetemp() / "train-synth"
    if not (root / "val" / "settings.json").is_file():
        generate(root, "train", 8, seed=0, size=SIZE, formats=("raw",), progress=False)
        generate(root, "val", 2, seed=1, size=SIZE, formats=("raw",), progress=False)
    return root


@pytest.fixture
def fast_cpu():
    """One torch thread with denormals flushed for the test (tiny random models crawl otherwise)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    yield
    torch.set_flush_denormal(False)
    torch.set_num_threads(threads)


def socio(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the ``socio`` command line in a fresh process (one torch thread, as the trainer tests run it)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "socioagent", *args], capture_output=True, text=True, cwd=REPO,
                          env=env, timeout=timeout)  # fmt: skip


@pytest.fixture(scope="session")
def sft_run(tmp_path_factory, synth_data, tiny_qwen25vl_path) -> Path:
    """An SFT run of the tiny Qwen2.5-VL on the 8 train scenes: it answers in the format (and overfits them)."""
    import torch

    from tools.segmenters import make_segmenter
    from train.config import SFTConfig
    from train.data import TrainData
    from train.sft import SFTJob, train_sft

    out = tmp_path_factory.getbasetemp() / "sft-run"
    if (out / "final" / "config.json").is_file():
        return out
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    try:
        cfg = SFTConfig(epochs=120, batch_size=8, micro_batch_size=8, learning_rate=3e-3, warmup_steps=10, think=True,
                        save_every=1000)  # fmt: skip
        data = TrainData.open(f"synth:{synth_data}", "train")
        train_sft(SFTJob(data, str(tiny_qwen25vl_path), out, make_segmenter("classical"), "classical",
                         progress=False), cfg)  # fmt: skip
    finally:
        torch.set_flush_denormal(False)
        torch.set_num_threads(threads)
    return out
