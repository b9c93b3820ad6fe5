"""One sample through `agent.run.run_query`, scored: the `EvalRow` of results.jsonl and the mask PNG.

Errors, decided here (`evals.runner` documents the run as a whole):

- A sample whose files are missing or corrupt (`InputError` while loading), or that loads without a truth
  mask, becomes a row with ``scored: false`` and the error message; it is left out of the metrics and
  counted in the report.
- An error inside the agent on a valid sample (a tool or parsing bug) becomes a row with ``scored: true``,
  an empty prediction and the error: the system failed on that sample, so it counts as a miss. The row's
  ``iou`` is 0 even when the truth is empty (where an empty prediction would score 1), and the report
  scores it so too: `evals.metrics.SampleCounts.from_rows` reads a scored row's ``error`` as a failure.
- A `BackendError` (server down, model missing) is raised: it stops the run.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from agent.backends import BackendConfig
from evals.datasets import Sample
from evals.metrics import instance_counts, iou_counts, sample_iou
from evals.results import MASKS, EvalRow, mask_filename, write_mask
from tools.errors import BackendError, InputError
from tools.outdir import WRITE_ERRNOS, write_failure


class SampleEvaluator:
    """Holds one policy and one segmenter and turns samples into result rows."""

    def __init__(self, backend: BackendConfig, out: Path) -> None:
        """Build the policy and the segmenter once; masks go to ``out/masks``.

        Raises:
            InputError: a spec or option is bad.
            BackendError: a backend cannot be reached or loaded.
        """
        from tools.scene_store import SceneStore

        self.backend = backend
        self.out = out
        self.backends = backend.build()
        self.store = SceneStore(max_scenes=2)

    def evaluate(self, sample: Sample) -> EvalRow:
        """Run one sample and return its result row.

        Raises:
            BackendError: a backend failed.
            InputError: the mask could not be written (no space, a file-size limit, permissions).
        """
        from agent.run import run_query

        about = {
            "id": sample.id,
            "split": sample.split,
            "level": sample.level,
            "level_source": sample.level_source,
            "query": sample.query,
            "socio_class": sample.socio_class,
            "socio_function": sample.socio_function,
        }
        try:
            scene = sample.load_scene(self.backend.profile.mask_rule)
        except InputError as e:
            return EvalRow(**about, scored=False, error=str(e))
        truth = scene.truth
        if truth is None:
            return EvalRow(**about, scored=False, error=f"sample {sample.id!r} loaded without a truth mask; "
                           "an eval needs one (check the dataset's mask files)")  # fmt: skip
        error: str | None = None
        t0 = time.perf_counter()
        result = None
        try:
            b = self.backends
            result = run_query(scene, sample.query, **b.run_kwargs(), store=self.store)
            pred = np.asarray(result.mask, bool)
            if pred.shape != truth.shape:
                raise ValueError(f"the predicted mask is {pred.shape}, the truth {truth.shape}")
            instances = [m for m in result.instance_masks if m.shape == truth.shape] or None
        except BackendError:
            raise
        except Exception as e:  # an agent failure on a valid sample counts as a miss, recorded
            error = f"{type(e).__name__}: {e}"
            pred, instances = np.zeros_like(truth, dtype=bool), None
        latency = time.perf_counter() - t0
        inter, union = iou_counts(pred, truth)
        counts = instance_counts(pred, truth, instances)
        mask_path = Path(MASKS) / mask_filename(sample.id)
        try:
            write_mask(self.out / mask_path, pred)
        except OSError as e:  # a full disk, a size limit: the user's to fix (exit 2), not a miss
            if e.errno not in WRITE_ERRNOS:
                raise
            raise write_failure(e, self.out) from e
        stages = result.stages if result is not None else []
        return EvalRow(
            **about,
            error=error,
            scored=True,
            iou=sample_iou(inter, union, failed=error is not None),
            intersection=inter,
            union=union,
            pred_area=int(pred.sum()),
            truth_area=int(truth.sum()),
            tp=counts.tp,
            fp=counts.fp,
            fn=counts.fn,
            truth_instances=counts.tp + counts.fn,
            pred_instances=counts.tp + counts.fp,
            format_failures=result.format_failures if result is not None else 0,
            failures=[s.failure for s in stages if not s.ok],
            answers=len(stages),
            latency_s=round(latency, 4),
            policy_s=round(result.timings.policy_s, 4) if result is not None else 0.0,
            segment_s=round(result.timings.segment_s, 4) if result is not None else 0.0,
            encodes=result.encodes if result is not None else 0,
            mask_path=mask_path.as_posix(),
        )
