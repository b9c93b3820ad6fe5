"""The rollout and one update on a tiny random Qwen2.5-VL: one encode per scene, LoRA-only updates, DP equality."""

import numpy as np
import pytest

from agent.policies.transformers_local import TransformersPolicy
from train.advantages import assign_advantages
from train.config import GRPOConfig, LoRASettings
from train.data import TrainData
from train.distributed import World
from train.model import load_trainable
from train.optim import make_optimizer
from train.rollout import Rollouts
from train.update import grpo_update


def _cfg(**kw):
    base = dict(group_size=4, batch_size=4, max_new_tokens=48, learning_rate=1e-2, weight_decay=0.0, beta=0.04,
                temperature=1.0, top_p=1.0, top_k=None)  # fmt: skip
    return GRPOConfig(**{**base, **kw})


@pytest.fixture
def lora_model(sft_run, fast_cpu):
    """The SFT'd tiny model (it answers boxes) with fresh LoRA adapters."""
    return load_trainable(str(sft_run), lora=LoRASettings(rank=4, alpha=8, dropout=0.0))


@pytest.mark.parametrize("grouping", ["per_chain", "best_context"])
def test_a_rollout_group_encodes_each_scene_once_and_groups_the_chains(lora_model, synth_data, grouping):
    from tests.fixtures.tiny_sam2 import build_tiny_sam2

    cfg = _cfg(stage2_grouping=grouping)
    policy = TransformersPolicy.from_loaded(lora_model.model, lora_model.processor)
    sam = build_tiny_sam2()
    sample = TrainData.open(f"synth:{synth_data}").samples[0]
    roll = Rollouts(policy, sam, cfg).run(sample.id, sample.load_scene(), sample.query, seed=1)
    stage1, stage2 = roll.groups
    assert (stage1.stage, stage2.stage) == ("localize", "refine")
    assert len(stage1.episodes) == len(stage2.episodes) == 4 and len(roll.final_ious) == 4
    assert any(r.prompts for r in roll.records)  # boxes were answered, so masks were made
    assert roll.encodes == 1 and sam.encode_count == 1  # G stage-1 + G stage-2 segmentations, one encode
    parents = [e.parent for e in stage2.episodes]
    if grouping == "per_chain":
        assert parents == [0, 1, 2, 3] and len({id(e.inputs) for e in stage2.episodes}) == 4  # four contexts
    else:
        assert len(set(parents)) == 1 and len({id(e.inputs) for e in stage2.episodes}) == 1  # one context
    for e in stage1.episodes + stage2.episodes:
        assert len(e.completion_ids) == len(e.behaviour_logprobs) and e.reward is not None
    again = Rollouts(policy, sam, cfg).run(sample.id, sample.load_scene(), sample.query, seed=2)
    assert again.encodes == 0  # the same scene pixels: the encoding is reused


def _episodes_with_signal(tm, synth_data, cfg, seed=1):
    """Rollout episodes whose advantages are set and not all zero (random weights earn no reward spread)."""
    policy = TransformersPolicy.from_loaded(tm.model, tm.processor)
    from tools.segmenters import make_segmenter

    rollouts = Rollouts(policy, make_segmenter("classical"), cfg)
    samples = TrainData.open(f"synth:{synth_data}").samples[: cfg.prompts_per_step]
    groups = [g for s in samples for g in rollouts.run(s.id, s.load_scene(), s.query, seed=seed).groups]
    for g in groups:  # a reward spread by hand: longer answers "better"
        lengths = [len(e.completion_ids) + 0.1 * i for i, e in enumerate(g.episodes)]
        g.set_rewards([{} for _ in g.episodes], lengths)
    assign_advantages(groups, cfg)
    return [e for g in groups for e in g.episodes]


def test_one_update_with_lora_changes_every_adapter_weight_and_no_base_weight(lora_model, synth_data):
    cfg = _cfg()
    tm = lora_model
    before = {n: p.detach().clone() for n, p in tm.model.named_parameters()}
    lora = [n for n, p in tm.model.named_parameters() if p.requires_grad]
    assert lora and all("lora_" in n for n in lora)
    opt, sched = make_optimizer(tm.trainable_parameters(), cfg, 10)
    episodes = _episodes_with_signal(tm, synth_data, cfg)
    # LoRA's B starts at zero, so A's first gradient is zero too: the second update moves A
    for step in range(2):
        stats = grpo_update(tm, opt, sched, episodes, cfg, World(), np.random.default_rng(step))
        assert stats.optimizer_steps == 2 and stats.grad_norm > 0  # one per stage
    after = dict(tm.model.named_parameters())
    unchanged = [n for n in lora if torch_equal(before[n], after[n])]
    assert not unchanged, f"LoRA weights that did not move: {unchanged}"
    moved = [n for n in before if n not in lora and not torch_equal(before[n], after[n])]
    assert not moved, f"base weights that moved: {moved[:5]}"
    assert stats.kl > 0  # the adapters pulled the policy away from the reference (adapters disabled)


def torch_equal(a, b) -> bool:
    import torch

    return bool(torch.equal(a.detach(), b.detach()))


def test_the_update_refuses_episodes_without_advantages(lora_model, synth_data):
    cfg = _cfg()
    episodes = _episodes_with_signal(lora_model, synth_data, cfg)
    episodes[0].advantage = None
    opt, sched = make_optimizer(lora_model.trainable_parameters(), cfg, 1)
    with pytest.raises(ValueError, match="needs an advantage"):
        grpo_update(lora_model, opt, sched, episodes, cfg, World(), np.random.default_rng(0))


@pytest.mark.slow
def test_two_gloo_processes_make_the_same_update_as_one_on_the_combined_batch(tiny_qwen25vl_path, synth_data, tmp_path):
    """The random-initialised model samples varied answers, so every stage's gradient is signal, not rounding."""
    import os
    import subprocess
    import sys

    import torch

    from tests.fixtures.openai_server import free_port
    from tests.train.conftest import REPO

    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    script = str(REPO / "tests" / "train" / "dp_update.py")
    one, two = tmp_path / "one.pt", tmp_path / "two.pt"
    subprocess.run([sys.executable, script, str(tiny_qwen25vl_path), str(synth_data), str(one)], check=True, env=env,
                   cwd=REPO, timeout=600)  # fmt: skip
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port",
                    str(free_port()), script, str(tiny_qwen25vl_path), str(synth_data), str(two)], check=True, env=env,
                   cwd=REPO, timeout=600)  # fmt: skip
    a, b = torch.load(one), torch.load(two)
    assert a.keys() == b.keys() and a
    start = {n: p for n, p in load_trainable(str(tiny_qwen25vl_path), lora=LoRASettings(rank=4, alpha=8, dropout=0.0),
                                             seed=0).model.named_parameters() if p.requires_grad}  # fmt: skip
    moved = max(float((a[n] - start[n]).abs().max()) for n in a)
    assert moved > 1e-3  # the updates did something
    # float sums in another order differ by rounding, which Adam's normalised steps carry over: compare with
    # the size of the update itself
    diff = max(float((a[n] - b[n]).abs().max()) for n in a)
    assert diff <= 1e-3 * moved, (diff, moved)
