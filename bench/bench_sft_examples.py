"""Benchmark SFT example building: one process against ``--workers`` processes, paired, on the shipped policy.

Builds the zoom-input examples of the packaged tiny-vlm (two per scene: localize and refine, with the classical
segmenter on the jittered boxes) for the first ``--n`` scenes of a SynthCity train split, alternately serial and
in worker processes, ``--repeats`` times, and reports the median seconds of each and their ratio. Run it on a
quiet machine: the workers share its cores with nothing else.

Usage:
    .venv/bin/python bench/bench_sft_examples.py --data runs/policy-data [--n 64] [--workers 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="SynthCity folder with a train split")
    ap.add_argument("--n", type=int, default=64, help="train scenes per build")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    import torch

    from agent.policies.packaged import packaged_model
    from agent.policies.transformers_local import TransformersPolicy
    from agent.policies.zoom_inputs import read_policy_inputs
    from tools.segmenters import make_segmenter
    from train.config import SFTConfig
    from train.data import TrainData
    from train.model import load_trainable
    from train.sft import SFTJob, build_examples, build_examples_parallel

    torch.set_num_threads(1)
    init = str(packaged_model("tiny-vlm"))
    data = TrainData.open(f"synth:{args.data}", "train")
    samples = data.samples[: args.n]
    job = SFTJob(data, init, Path("/tmp/unused"), make_segmenter("classical"), "classical", progress=False)
    tm = load_trainable(init, "cpu")
    policy = TransformersPolicy.from_loaded(tm.model, tm.processor, name=f"hf:{init}",
                                            inputs=read_policy_inputs(tm.source))  # fmt: skip
    cfg = SFTConfig(seed=0)
    serial, parallel = [], []
    for _ in range(args.repeats):
        t = time.perf_counter()
        one = build_examples(samples, policy, job.segmenter, cfg, progress=False)
        serial.append(time.perf_counter() - t)
        t = time.perf_counter()
        two = build_examples_parallel(samples, policy, job, cfg, args.workers, progress=False)
        parallel.append(time.perf_counter() - t)
        assert len(one) == len(two)
    s, p = statistics.median(serial), statistics.median(parallel)
    print(f"{len(samples)} scenes, {len(one)} examples, {args.repeats} paired repeats")
    print(f"one process:      median {s:.1f} s ({len(one) / s:.2f} examples/s)  runs {[round(x, 1) for x in serial]}")
    print(f"{args.workers} processes:      median {p:.1f} s ({len(one) / p:.2f} examples/s)  runs "
          f"{[round(x, 1) for x in parallel]}")  # fmt: skip
    print(f"speed-up: {s / p:.2f}x")


if __name__ == "__main__":
    main()
