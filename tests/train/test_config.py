"""Trainer settings: the reference preset, and validation messages that name the fix."""

import pytest
from pydantic import ValidationError

from train.config import GRPOConfig, LoRASettings, RewardConfig, SFTConfig


def message(excinfo) -> str:
    return str(excinfo.value)


class TestGRPOConfig:
    def test_defaults_are_valid_and_sized(self):
        cfg = GRPOConfig()
        assert cfg.batch_size % cfg.group_size == 0
        assert cfg.sequences_per_update == cfg.batch_size
        assert cfg.prompts_per_step == cfg.batch_size // cfg.group_size

    def test_group_size_below_two_is_refused(self):
        with pytest.raises(ValidationError) as e:
            GRPOConfig(group_size=1, batch_size=4)
        assert "group_size must be >= 2" in message(e)

    def test_batch_not_a_multiple_of_the_group_names_the_fix(self):
        with pytest.raises(ValidationError) as e:
            GRPOConfig(group_size=8, batch_size=12)
        assert "batch_size (12) must be a multiple of group_size (8); set batch_size=16" in message(e)

    def test_minibatch_and_micro_batch_must_divide(self):
        with pytest.raises(ValidationError) as e:
            GRPOConfig(group_size=4, batch_size=16, minibatch_size=6)
        assert "minibatch_size (6)" in message(e) and "e.g. 2" in message(e)
        with pytest.raises(ValidationError) as e:
            GRPOConfig(group_size=4, batch_size=16, minibatch_size=8, micro_batch_size=3)
        assert "set micro_batch_size=1" in message(e)
        assert GRPOConfig(group_size=4, batch_size=16, minibatch_size=8, micro_batch_size=4).sequences_per_update == 8

    def test_clip_high_below_clip_low_is_refused(self):
        with pytest.raises(ValidationError) as e:
            GRPOConfig(clip_eps=0.2, clip_eps_high=0.1)
        assert "clip_eps_high (0.1) is below clip_eps (0.2)" in message(e)

    def test_unknown_field_is_named(self):
        with pytest.raises(ValidationError) as e:
            GRPOConfig(grup_size=8)
        assert "grup_size" in message(e)

    def test_reference_preset(self):
        cfg = GRPOConfig.reference()
        assert (cfg.learning_rate, cfg.weight_decay, cfg.adam_betas, cfg.warmup_steps) == (1e-6, 0.01, (0.9, 0.999), 0)
        assert (cfg.group_size, cfg.batch_size, cfg.prompts_per_step, cfg.sequences_per_update) == (8, 1024, 128, 16)
        assert (cfg.clip_eps, cfg.beta, cfg.kl_clamp, cfg.advantage_clip) == (0.2, 0.005, 10.0, 10.0)
        assert (cfg.temperature, cfg.top_p, cfg.top_k, cfg.max_new_tokens) == (0.99, 0.99, 100, 2048)
        assert (cfg.loss_aggregation, cfg.advantage_scale, cfg.stage2_grouping) == (
            "seq_mean_token_mean",
            "std",
            "per_chain",
        )
        assert cfg.lora is None and cfg.reward.preset == "reference" and cfg.max_grad_norm == 1.0
        assert GRPOConfig.reference(batch_size=64).batch_size == 64
        with pytest.raises(ValidationError, match="set batch_size=16"):
            GRPOConfig.reference(batch_size=12)

    def test_round_trips_through_json(self):
        cfg = GRPOConfig(lora=LoRASettings(rank=4), reward=RewardConfig(l1_threshold=5.0))
        assert GRPOConfig.model_validate_json(cfg.model_dump_json()) == cfg

    def test_bad_learning_rate(self):
        with pytest.raises(ValidationError, match="learning_rate must be a positive number"):
            GRPOConfig(learning_rate=0.0)


class TestRewardConfig:
    def test_reference_preset_refuses_other_thresholds(self):
        with pytest.raises(ValidationError) as e:
            RewardConfig(preset="reference", l1_threshold=5.0)
        assert "preset 'reference' fixes l1_threshold=10.0" in message(e)
        assert "use preset='default'" in message(e)
        assert RewardConfig(preset="default", l1_threshold=5.0).l1_threshold == 5.0

    def test_unknown_preset(self):
        with pytest.raises(ValidationError, match="default"):
            RewardConfig(preset="paper")


class TestSFTConfig:
    def test_micro_batch_must_divide(self):
        with pytest.raises(ValidationError, match=r"batch_size \(8\) must be a multiple of micro_batch_size \(3\)"):
            SFTConfig(batch_size=8, micro_batch_size=3)
        assert SFTConfig(batch_size=8, micro_batch_size=4).points_per_box == 2
