"""Data-parallel training under torchrun (or accelerate launch): ranks, sharding, summed gradients.

`World.from_env()` joins the process group torchrun describes in the environment (``RANK``, ``WORLD_SIZE``,
``MASTER_ADDR``, ``MASTER_PORT``): gloo on CPU, NCCL on CUDA. With one process (no such variables) every
method is a no-op, so the single-process path pays nothing. Rollouts are sharded by rank (each rank takes
every ``size``-th prompt of a step), gradients and statistics are summed over ranks with
``torch.distributed.all_reduce`` before each optimiser step (the loss is already weighted by global counts,
see `train.update`), and only rank 0 writes files.

Why not ``DistributedDataParallel``: its gradient hook averages over ranks per backward pass, while our
minibatch loss is accumulated over micro-batches of uneven token counts and weighted by *global* counts; one
explicit all-reduce of the summed gradients per optimiser step is exact and as cheap.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class World:
    """This process's place among the data-parallel processes."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @classmethod
    def from_env(cls, device: str = "cpu") -> World:
        """Join the torchrun process group, or return the single-process world.

        Raises:
            ValueError: the environment names an inconsistent rank / world size.
        """
        size = int(os.environ.get("WORLD_SIZE", "1"))
        if size <= 1:
            return cls()
        rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
        if not 0 <= rank < size:
            raise ValueError(f"RANK={rank} is outside WORLD_SIZE={size}; launch with torchrun --nproc-per-node N")
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group("nccl" if str(device).startswith("cuda") else "gloo")
            atexit.register(_leave_group)
        return cls(rank=rank, size=size, local_rank=local)

    @property
    def is_main(self) -> bool:
        """Whether this process writes files and prints (rank 0)."""
        return self.rank == 0

    def shard(self, items: Sequence[T]) -> list[T]:
        """Return this rank's share of ``items``: every ``size``-th, starting at ``rank``."""
        return list(items[self.rank :: self.size])

    def sum(self, values: Sequence[float]) -> list[float]:
        """Return ``values`` summed over every rank."""
        if self.size == 1:
            return list(values)
        import torch
        import torch.distributed as dist

        t = torch.tensor(list(values), dtype=torch.float64)
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t.tolist()

    def sum_gradients(self, parameters: Sequence[Any]) -> None:
        """Sum every parameter's gradient over the ranks (a missing gradient counts as zero)."""
        if self.size == 1:
            return
        import torch
        import torch.distributed as dist

        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in parameters]
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        offset = 0
        for p, g in zip(parameters, grads, strict=True):
            n = g.numel()
            p.grad = flat[offset : offset + n].view_as(g).clone()
            offset += n

    def close(self) -> None:
        """Leave the process group (every rank together); a no-op with one process or when already left."""
        if self.size > 1:
            _leave_group()

    def barrier(self) -> None:
        """Wait for every rank."""
        if self.size > 1:
            import torch.distributed as dist

            dist.barrier()


def _leave_group() -> None:
    """Wait for every rank, then destroy the process group.

    Without this, gloo's background threads are still alive when the interpreter exits, and a rank that
    finishes first can abort with ``terminate called without an active exception`` (exit -6), which
    torchrun reports as a failed run although every rank's work was done.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
