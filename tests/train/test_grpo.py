"""The GRPO loss: hand-checked edge cases, and equality with TRL 1.16's own loss code on a fixed batch."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tests.fixtures.tiny_qwen import cached_tiny_qwen25vl  # noqa: E402
from train.grpo import completion_logprobs, masked_mean, policy_loss, sequence_logprobs  # noqa: E402


def batch(seed: int = 0, b: int = 3, t: int = 5):
    g = torch.Generator().manual_seed(seed)
    logps = (-torch.rand(b, t, generator=g) * 3).requires_grad_()
    mask = torch.ones(b, t)
    mask[1, 3:] = 0
    mask[2, 1:] = 0
    return logps, mask


class TestEdgeCases:
    def test_ratio_one_gives_minus_the_advantage_token_mean(self):
        logps, mask = batch()
        adv = torch.tensor([1.0, -2.0, 0.5])
        loss, stats = policy_loss(logps, logps.detach(), None, adv, mask)
        per_seq_tokens = mask.sum(1)  # 5, 3, 1
        expected = -(adv * per_seq_tokens).sum() / per_seq_tokens.sum()
        assert loss.item() == pytest.approx(expected.item())
        assert (stats.clip_fraction, stats.kl_mean, stats.ratio_mean, stats.tokens) == (0.0, 0.0, 1.0, 9)
        seq, _ = policy_loss(logps, logps.detach(), None, adv, mask, aggregation="seq_mean_token_mean")
        assert seq.item() == pytest.approx(-adv.mean().item())

    @pytest.mark.parametrize(
        ("ratio", "adv", "clipped"),
        [(1.5, 1.0, True), (1.5, -1.0, False), (0.5, -1.0, True), (0.5, 1.0, False), (1.1, 1.0, False)],
    )
    def test_clipping_engages_beyond_one_plus_minus_eps(self, ratio, adv, clipped):
        logps = torch.full((1, 4), -1.0, requires_grad=True)
        old = logps.detach() - math.log(ratio)
        loss, stats = policy_loss(logps, old, None, torch.tensor([adv]), torch.ones(1, 4), clip_eps=0.2)
        loss.backward()
        bound = min(max(ratio, 0.8), 1.2)
        assert loss.item() == pytest.approx(-(bound if clipped else ratio) * adv)
        assert stats.clip_fraction == (1.0 if clipped else 0.0)
        assert (logps.grad.abs().sum().item() == 0.0) == clipped  # a clipped token sends no gradient

    def test_clip_eps_high_widens_only_the_upper_bound(self):
        logps = torch.full((1, 1), -1.0)
        old = logps - math.log(1.25)
        loss, stats = policy_loss(logps, old, None, torch.tensor([1.0]), torch.ones(1, 1), clip_eps_high=0.28)
        assert loss.item() == pytest.approx(-1.25) and stats.clip_fraction == 0.0

    def test_k3_kl_to_the_reference(self):
        logps, mask = batch()
        ref = logps.detach() + 0.3
        zero_adv = torch.zeros(3)
        loss, stats = policy_loss(logps, logps.detach(), ref, zero_adv, mask, beta=0.1)
        k3 = math.exp(0.3) - 0.3 - 1
        assert stats.kl_mean == pytest.approx(k3)
        assert loss.item() == pytest.approx(0.1 * k3)
        same, stats = policy_loss(logps, logps.detach(), logps.detach(), zero_adv, mask, beta=0.1)
        assert same.item() == 0.0 and stats.kl_mean == 0.0
        _, stats = policy_loss(logps, logps.detach(), ref + 5, zero_adv, mask, beta=0.1, kl_clamp=10.0)
        assert stats.kl_mean == pytest.approx(10.0)

    def test_beta_needs_reference_logprobs(self):
        logps, mask = batch()
        with pytest.raises(ValueError, match="ref_logps"):
            policy_loss(logps, logps.detach(), None, torch.zeros(3), mask, beta=0.1)

    def test_padding_does_not_reach_the_loss(self):
        logps, mask = batch()
        old = logps.detach() + 0.1
        adv = torch.tensor([1.0, -1.0, 2.0])
        loss, _ = policy_loss(logps, old, old, adv, mask, beta=0.05)
        loss.backward()
        assert (logps.grad[mask == 0] == 0).all()
        noisy = old.clone()
        noisy[mask == 0] = 7.0
        again, _ = policy_loss(logps, noisy, noisy, adv, mask, beta=0.05)
        assert again.item() == pytest.approx(loss.item())

    def test_shape_mismatch_is_refused(self):
        logps, mask = batch()
        with pytest.raises(ValueError, match="one \\(B, T\\) shape"):
            policy_loss(logps, logps.detach()[:, :2], None, torch.zeros(3), mask)
        with pytest.raises(ValueError, match="aggregation"):
            masked_mean(logps, mask, "sum")  # type: ignore[arg-type]


def test_completion_logprobs_match_log_softmax():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(2, 4, 11, generator=g)
    ids = torch.randint(0, 11, (2, 4), generator=g)
    expected = torch.log_softmax(logits / 0.7, -1).gather(-1, ids[..., None])[..., 0]
    assert torch.allclose(completion_logprobs(logits, ids, temperature=0.7), expected)


# ------------------------------------------------------------------------------------------ against TRL


@pytest.fixture(scope="module")
def trl_setup(tmp_path_factory):
    """A TRL GRPOTrainer around a tiny random Qwen2.5-VL, and a fixed batch of image prompts and completions."""
    pytest.importorskip("trl")
    from datasets import Dataset
    from PIL import Image
    from transformers import AutoModelForImageTextToText, AutoProcessor
    from trl import GRPOConfig, GRPOTrainer

    path = cached_tiny_qwen25vl(tmp_path_factory)
    model = AutoModelForImageTextToText.from_pretrained(path, local_files_only=True)
    processor = AutoProcessor.from_pretrained(path, local_files_only=True)
    args = GRPOConfig(
        output_dir=str(tmp_path_factory.mktemp("trl")),
        use_cpu=True,
        bf16=False,
        report_to="none",
        activation_checkpointing=False,
        per_device_train_batch_size=4,
        num_generations=2,
        gradient_accumulation_steps=1,
        loss_type="grpo",
        beta=0.04,
        epsilon=0.2,
        temperature=0.9,
    )
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=lambda completions, **_: [0.0] * len(completions),
        args=args,
        train_dataset=Dataset.from_list([{"prompt": "find the school"}] * 4),
        processing_class=processor,
    )
    trainer.current_gradient_accumulation_steps = 1  # set by Trainer's loop, which this test does not run

    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 255, (56, 56 + 28 * i, 3), dtype=np.uint8)) for i in range(4)]
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "find the park"}]}]
    text = processor.apply_chat_template(messages, add_generation_prompt=True)
    prompt = processor(text=[text] * 4, images=[[im] for im in images], padding=True, return_tensors="pt")
    g = torch.Generator().manual_seed(0)
    completion_ids = torch.randint(12, 40, (4, 6), generator=g)
    completion_mask = torch.ones(4, 6, dtype=torch.long)
    completion_mask[1, 4:] = 0
    completion_mask[3, 1:] = 0
    inputs = {
        "prompt_ids": prompt["input_ids"],
        "prompt_mask": prompt["attention_mask"],
        "completion_ids": completion_ids,
        "completion_mask": completion_mask,
        "pixel_values": prompt["pixel_values"],
        "image_grid_thw": prompt["image_grid_thw"],
        "num_images": [1, 1, 1, 1],
        "advantages": torch.tensor([1.3, -0.4, -1.1, 0.8]),
    }
    with torch.no_grad():
        logps = our_logprobs(model, inputs, args.temperature)
    # behaviour and reference log-probs off the current policy by up to ~0.5 nats, so that clipping and KL engage
    inputs["old_per_token_logps"] = logps + 0.3 * torch.randn(logps.shape, generator=g)
    inputs["ref_per_token_logps"] = logps + 0.3 * torch.randn(logps.shape, generator=g)
    return trainer, inputs


def our_logprobs(model, inputs, temperature):
    return sequence_logprobs(
        model,
        inputs["prompt_ids"],
        inputs["prompt_mask"],
        inputs["completion_ids"],
        inputs["completion_mask"],
        temperature,
        pixel_values=inputs["pixel_values"],
        image_grid_thw=inputs["image_grid_thw"],
    )


@pytest.mark.slow
@pytest.mark.parametrize("bias_correction", [False, True])
@pytest.mark.parametrize(("trl_loss_type", "aggregation"), [("grpo", "seq_mean_token_mean"), ("bnpo", "token_mean")])
def test_loss_and_gradients_equal_trl(trl_setup, trl_loss_type, aggregation, bias_correction):
    trainer, inputs = trl_setup
    model = trainer.model
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    trainer.loss_type = trl_loss_type  # the attributes GRPOTrainer._compute_loss reads
    trainer.args.use_bias_correction_kl = bias_correction
    trainer._metrics["train"].clear()

    trl_loss = trainer._compute_loss(model, inputs)  # TRL 1.16 computes log-probs with its fused LM head
    trl_grads = torch.autograd.grad(trl_loss, params, allow_unused=True)

    logps = our_logprobs(model, inputs, trainer.temperature)
    loss, stats = policy_loss(
        logps,
        inputs["old_per_token_logps"],
        inputs["ref_per_token_logps"],
        inputs["advantages"],
        inputs["completion_mask"],
        clip_eps=trainer.epsilon_low,
        clip_eps_high=trainer.epsilon_high,
        beta=trainer.beta,
        kl_bias_correction=bias_correction,
        aggregation=aggregation,
    )
    grads = torch.autograd.grad(loss, params, allow_unused=True)

    assert abs(loss.item() - trl_loss.item()) < 1e-6, (loss.item(), trl_loss.item())
    worst = max((a - b).abs().max().item() for a, b in zip(grads, trl_grads, strict=True) if a is not None)
    assert worst < 1e-6
    assert sum(a is not None and a.abs().sum().item() > 0 for a in grads) > len(params) // 2
    metrics = trainer._metrics["train"]
    assert stats.kl_mean == pytest.approx(metrics["kl"][-1], abs=1e-6)
    assert stats.clip_fraction == pytest.approx(metrics["clip_ratio/region_mean"][-1], abs=1e-6)
    assert 0.0 < stats.clip_fraction < 1.0 and stats.kl_mean > 0.0  # the batch exercises both
