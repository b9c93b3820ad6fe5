"""A context for CPU inference and training with torch: flush denormal floats for the duration of a call.

Denormals (subnormal floats) make CPU matmuls many times slower (measured: a 0.2 M-parameter Qwen2.5-VL's
forward and backward were 40x slower with random weights, whose activations decay into the subnormal
range). Flushing them is thread-wide processor state (FTZ/DAZ), so it is switched on for a call and off again
after it: other code in the process (numpy, hypothesis) keeps IEEE subnormals. Blocks nest (a policy call
inside a training step): only the outermost one switches the flag.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

_depth = threading.local()


@contextlib.contextmanager
def flush_denormals(device: Any = "cpu") -> Iterator[None]:
    """Flush denormals to zero inside the block when ``device`` is a CPU (a no-op on CUDA or without torch)."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is optional
        yield
        return
    if str(device).startswith("cuda"):
        yield
        return
    depth = getattr(_depth, "n", 0)
    if depth == 0 and not torch.set_flush_denormal(True):  # not supported by this CPU
        yield
        return
    _depth.n = depth + 1
    try:
        yield
    finally:
        _depth.n = depth
        if depth == 0:
            torch.set_flush_denormal(False)
