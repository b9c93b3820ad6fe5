"""A real learning test: SFT then GRPO on 8 SynthCity scenes raise the reward far above the untrained model."""

import json

import numpy as np
import pytest

from agent.policies.transformers_local import TransformersPolicy
from tools.segmenters import make_segmenter
from train.config import GRPOConfig, LoRASettings
from train.data import TrainData
from train.grpo_loop import GRPOJob, train_grpo
from train.model import load_trainable
from train.rollout import Rollouts


def mean_rewards(model_path, synth_data, cfg):
    """Mean stage-1 and stage-2 reward, and mean final IoU, of G sampled chains on every train scene."""
    tm = load_trainable(str(model_path))
    tm.model.eval()
    rollouts = Rollouts(TransformersPolicy.from_loaded(tm.model, tm.processor), make_segmenter("classical"), cfg)
    r1, r2, ious = [], [], []
    for k, s in enumerate(TrainData.open(f"synth:{synth_data}").samples):
        roll = rollouts.run(s.id, s.load_scene(), s.query, seed=100 + k)
        r1 += roll.groups[0].rewards
        r2 += roll.groups[1].rewards
        ious += roll.final_ious
    return float(np.mean(r1)), float(np.mean(r2)), float(np.mean(ious))


@pytest.mark.slow
def test_sft_then_grpo_raises_the_reward_well_above_the_untrained_models(
    tmp_path, synth_data, tiny_qwen25vl_path, sft_run, fast_cpu
):
    cfg = GRPOConfig(group_size=4, batch_size=8, steps=6, learning_rate=2e-3, max_new_tokens=48, temperature=1.0,
                     top_p=1.0, top_k=None, beta=0.01, lora=LoRASettings(rank=8, alpha=16, dropout=0.0),
                     eval_every=3, save_every=100)  # fmt: skip
    untrained = mean_rewards(tiny_qwen25vl_path, synth_data, cfg)
    after_sft = mean_rewards(sft_run / "final", synth_data, cfg)
    run = tmp_path / "grpo"
    data = TrainData.open(f"synth:{synth_data}")
    val = TrainData.open(f"synth:{synth_data}", "val").samples
    train_grpo(GRPOJob(data, str(sft_run), run, make_segmenter("classical"), "classical", val=val, progress=False),
               cfg)  # fmt: skip
    after_grpo = mean_rewards(run / "final", synth_data, cfg)
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    curve = [(r["step"], round(r["localize_reward"], 2), round(r["refine_reward"], 2)) for r in rows]
    print(f"untrained {untrained}, after SFT {after_sft}, after SFT+GRPO {after_grpo}; GRPO curve {curve}")
    # stage-1 reward: format (0-2) + count (0-1) + accuracy (0-1); the untrained model earns about nothing
    assert untrained[0] < 0.5 and untrained[1] < 0.5
    assert after_grpo[0] > untrained[0] + 1.5 and after_grpo[1] > untrained[1] + 0.5
    assert after_grpo[2] > untrained[2] + 0.2  # and the masks overlap the places
    assert "val_giou" in rows[-1] and len(rows) == cfg.steps
