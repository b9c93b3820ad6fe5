"""bench/bench_segmenters.py: its timers wait for queued CUDA work before they stop."""

from __future__ import annotations

import pytest

from bench.bench_segmenters import sync


def test_sync_is_a_no_op_off_cuda():
    sync("cpu")  # must not touch CUDA (it is absent on CPU-only machines)


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
