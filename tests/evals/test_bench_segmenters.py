"""bench/bench_segmenters.py: its timers wait for queued CUDA work before they stop."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.bench_segmenters import sync

REPO = Path(__file__).resolve().parents[2]


def test_sync_is_a_no_op_off_cuda():
    """Off CUDA, sync does not touch torch (absent on CPU-only installs); a fresh interpreter shows it."""
    code = (
        "import sys; from bench.bench_segmenters import sync\n"
        "assert 'torch' not in sys.modules, 'importing the bench imports torch'\n"
        "sync('cpu'); sync('mps')\n"
        "print('torch' in sys.modules)"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "False", "sync('cpu') imported torch"


@pytest.mark.gpu
def test_sync_waits_for_queued_cuda_work():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    a = torch.randn(4096, 4096, device="cuda")
    torch.cuda.synchronize()
    for _ in range(20):  # seconds of queued kernels: the launch returns long before they finish
        a = a @ a
        a = a / a.norm()
    sync("cuda")
    assert torch.cuda.current_stream().query(), "work is still queued after sync"
