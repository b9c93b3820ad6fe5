"""Training data: a dataset split (``synth:DIR`` or ``socioseg:PATH``) as a reproducible, resumable stream.

`TrainData` opens the split through `evals.datasets` (the eval's own loaders: the same scenes, truth and
queries), drops samples that failed to list, and serves prompts in a fixed order per epoch (a permutation
seeded by ``(seed, epoch)``), so that a ``cursor`` (the number of prompts served so far) is all a checkpoint
needs to resume the stream exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evals.datasets import Sample, make_dataset
from tools.errors import InputError


@dataclass
class TrainData:
    """A split's usable samples and the order they are served in."""

    spec: str
    split: str
    samples: list[Sample]
    seed: int = 0

    @classmethod
    def open(cls, spec: str, split: str = "train", limit: int | None = None, seed: int = 0) -> TrainData:
        """Open a split (its first ``limit`` samples in id order when given).

        Raises:
            DatasetNotFoundError: the data or split is missing.
            InputError: the spec is unknown, or no sample of the split is usable.
        """
        dataset = make_dataset(spec, split)
        samples = [s for s in dataset if s.error is None and s.query.strip()]
        if limit is not None:
            samples = samples[:limit]
        if not samples:
            raise InputError(f"{spec} split {split!r} has no usable samples (every one failed to list or has no query)")
        return cls(spec, split, samples, seed)

    def order(self, epoch: int) -> list[int]:
        """Return the sample indices of one epoch, in serving order."""
        return np.random.default_rng([self.seed, epoch]).permutation(len(self.samples)).tolist()

    def take(self, n: int, cursor: int) -> list[Sample]:
        """Return the ``n`` samples served after ``cursor`` prompts (wrapping into later epochs)."""
        out = []
        for k in range(cursor, cursor + n):
            epoch, i = divmod(k, len(self.samples))
            out.append(self.samples[self.order(epoch)[i]])
        return out

    def subset(self, n: int) -> Sequence[Sample]:
        """Return the first ``n`` samples in id order (a fixed evaluation subset)."""
        return self.samples[:n]
