"""Validation during training: the policy being trained answers held-out samples through the real agent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from agent.policies import SamplingParams
from agent.run import run_query
from evals.datasets import Sample
from evals.metrics import iou_counts, sample_iou


def validation_giou(policy: Any, segmenter: Any, samples: Sequence[Sample], refine: int = 1) -> dict[str, float]:
    """Return gIoU and the format-failure rate of greedy answers on ``samples`` (the eval's metric).

    The policy wraps the model being trained (`TransformersPolicy.from_loaded`); it is switched to eval mode
    for the run and back to train mode after.
    """
    model = policy.model
    was_training = model.training
    model.eval()
    greedy = policy.sampling
    policy.sampling = greedy.merged(SamplingParams(temperature=0.0))
    ious, failures, answers = [], 0, 0
    try:
        for s in samples:
            scene = s.load_scene()
            truth = scene.truth
            result = run_query(replace(scene, truth=None), s.query, policy=policy, segmenter=segmenter,
                               max_rounds=refine)  # fmt: skip
            ious.append(sample_iou(*iou_counts(result.mask, truth)))
            failures += result.format_failures
            answers += len(result.stages)
    finally:
        policy.sampling = greedy
        model.train(was_training)
    return {"val_giou": float(sum(ious) / max(1, len(ious))), "val_format_failure_rate": failures / max(1, answers)}
