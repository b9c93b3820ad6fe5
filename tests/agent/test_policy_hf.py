import asyncio
import json
import sys
import threading

import numpy as np
import pytest

from agent.policies import Policy, PolicyRequest, SamplingParams, make_policy
from tests.fixtures.tiny_qwen import cached_tiny_qwen3vl, cached_tiny_qwen25vl
from tools.coords import ModelFrame
from tools.errors import DependencyNotFoundError, InputError
from tools.scene import Scene
from tools.schemas import Box, InstancePrompt

pytest.importorskip("transformers")


@pytest.fixture(scope="session")
def tiny_qwen25vl_path(tmp_path_factory):
    return cached_tiny_qwen25vl(tmp_path_factory)


@pytest.fixture(scope="session")
def tiny_qwen3vl_path(tmp_path_factory):
    return cached_tiny_qwen3vl(tmp_path_factory)


def _scene(h: int, w: int) -> Scene:
    rng = np.random.default_rng(3)
    sat = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    mp = np.full((h, w, 3), (240, 30, 30), np.uint8)
    return Scene("s", sat=sat, map=mp)


def _localize(scene: Scene, query: str = "the school") -> PolicyRequest:
    return PolicyRequest("localize", query, scene, [scene.map, scene.sat])


@pytest.fixture(scope="module")
def qwen25(tiny_qwen25vl_path):
    return make_policy(f"hf:{tiny_qwen25vl_path}", sampling=SamplingParams(max_tokens=8))


class TestQwen25VL:
    def test_localize_answers_text_in_the_abs_frame(self, qwen25):
        assert isinstance(qwen25, Policy)
        reply = qwen25.localize(_localize(_scene(112, 112), "places for healthcare"))
        assert isinstance(reply.text, str)
        assert reply.frame == ModelFrame(kind="abs", model_hw=(112, 112))
        assert '"places for healthcare"' in reply.prompt
        assert reply.meta.image_grid_thw == [[1, 8, 8], [1, 8, 8]]  # both images reached the model
        assert reply.meta.model_type == "qwen2_5_vl"
        assert 0 < reply.meta.usage.completion_tokens <= 8
        assert reply.meta.dtype == "float32" and reply.meta.device == "cpu"

    def test_non_square_scene_is_resized_to_the_smart_resize_size(self, qwen25):
        reply = qwen25.localize(_localize(_scene(100, 150)))
        assert reply.frame == ModelFrame(kind="abs", model_hw=(112, 140))
        assert reply.meta.image_grid_thw == [[1, 8, 10], [1, 8, 10]]

    def test_processor_pixel_budget_is_respected(self, qwen25):
        # the tiny processor allows at most 224*224 pixels, so a 448 scene is shown at 224
        reply = qwen25.localize(_localize(_scene(448, 448)))
        assert reply.frame == ModelFrame(kind="abs", model_hw=(224, 224))
        assert reply.meta.image_grid_thw == [[1, 16, 16], [1, 16, 16]]

    def test_refine_shows_the_boxes_in_the_model_frame(self, qwen25):
        scene = _scene(100, 150)
        prev = [InstancePrompt(box=Box(x1=0, y1=0, x2=75, y2=50))]
        reply = qwen25.refine(PolicyRequest("refine", "a park", scene, [scene.map, scene.sat], previous=prev, round=1))
        assert '[{"bbox_2d": [0, 0, 70, 56]}]' in reply.prompt
        assert reply.meta.image_grid_thw == [[1, 8, 10], [1, 8, 10]]
        assert isinstance(reply.text, str)

    def test_greedy_decoding_is_deterministic(self, qwen25):
        req = _localize(_scene(112, 112))
        assert qwen25.localize(req).text == qwen25.localize(req).text

    def test_threads_share_one_policy(self, qwen25):
        req = _localize(_scene(112, 112))
        expected = qwen25.localize(req).text
        out: list[str] = []
        threads = [threading.Thread(target=lambda: out.append(qwen25.localize(req).text)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert out == [expected, expected]

    def test_async_path(self, qwen25):
        req = _localize(_scene(112, 112))
        reply = asyncio.run(qwen25.alocalize(req))
        assert reply.text == qwen25.localize(req).text

    def test_prompt_dir(self, tiny_qwen25vl_path, tmp_path):
        (tmp_path / "localize.txt").write_text("find ${query} ${frame_hint}", encoding="utf-8")
        (tmp_path / "refine.txt").write_text("box ${query} ${boxes} ${frame_hint}", encoding="utf-8")
        policy = make_policy(f"hf:{tiny_qwen25vl_path}", sampling=SamplingParams(max_tokens=2), prompt_dir=tmp_path)
        assert policy.localize(_localize(_scene(112, 112), "the park")).prompt.startswith("find the park absolute")


def test_qwen3vl_answers_in_rel1000(tiny_qwen3vl_path):
    policy = make_policy(f"hf:{tiny_qwen3vl_path}", sampling=SamplingParams(max_tokens=4))
    reply = policy.localize(_localize(_scene(112, 112)))
    assert reply.frame == ModelFrame(kind="rel1000")
    assert reply.meta.model_type == "qwen3_vl"
    assert reply.meta.sent_hw == [128, 128]  # factor 32 = patch 16 x merge 2
    assert reply.meta.image_grid_thw == [[1, 8, 8], [1, 8, 8]]
    assert "1000" in reply.prompt
    assert isinstance(reply.text, str)


class TestErrors:
    def test_missing_folder_names_the_pull_command(self, tmp_path):
        with pytest.raises(InputError, match="socio models pull"):
            make_policy(f"hf:{tmp_path / 'nope'}")

    def test_unpulled_hub_id_names_the_pull_command(self, tmp_path, monkeypatch):
        monkeypatch.setenv("SOCIO_MODELS_DIR", str(tmp_path))
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        with pytest.raises(InputError, match="socio models pull someone/not-pulled"):
            make_policy("hf:someone/not-pulled")

    def test_folder_without_config(self, tmp_path):
        with pytest.raises(InputError, match=r"no config\.json"):
            make_policy(f"hf:{tmp_path}")

    def test_unsupported_model_type(self, tmp_path):
        (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}), encoding="utf-8")
        with pytest.raises(InputError, match=r"'llama'.*frame="):
            make_policy(f"hf:{tmp_path}")

    def test_broken_checkpoint(self, tmp_path):
        (tmp_path / "config.json").write_text(json.dumps({"model_type": "qwen2_5_vl"}), encoding="utf-8")
        with pytest.raises(InputError, match="could not load the checkpoint"):
            make_policy(f"hf:{tmp_path}")

    def test_bad_dtype(self, tiny_qwen25vl_path):
        with pytest.raises(InputError, match="bf16"):
            make_policy(f"hf:{tiny_qwen25vl_path}", dtype="int3")

    def test_cuda_without_cuda(self, tiny_qwen25vl_path):
        import torch

        if torch.cuda.is_available():
            pytest.skip("this machine has CUDA")
        with pytest.raises(InputError, match="CUDA is not available"):
            make_policy(f"hf:{tiny_qwen25vl_path}", device="cuda")

    def test_missing_transformers(self, tiny_qwen25vl_path, monkeypatch):
        monkeypatch.setitem(sys.modules, "transformers", None)
        with pytest.raises(DependencyNotFoundError, match=r"socioagent\[hf\]"):
            make_policy(f"hf:{tiny_qwen25vl_path}")


def test_sample_draws_g_answers_in_one_generate_with_behaviour_logprobs(tiny_qwen25vl_path):
    import torch

    policy = make_policy(f"hf:{tiny_qwen25vl_path}", sampling=SamplingParams(max_tokens=6))
    request = PolicyRequest("localize", "red", _scene(112, 112), [_scene(112, 112).map, _scene(112, 112).sat])
    replies = policy.sample(request, 4, SamplingParams(temperature=1.0, seed=3))
    assert len(replies) == 4 and len({tuple(r.token_ids) for r in replies}) > 1  # sampled, not greedy copies
    again = policy.sample(request, 4, SamplingParams(temperature=1.0, seed=3))
    assert [r.token_ids for r in again] == [r.token_ids for r in replies]  # the seed fixes the group
    # the behaviour log-probs are the model's log-softmax at each position, recomputed here independently
    _, inputs = policy.prepare_inputs(request)
    for r in replies:
        assert len(r.logprobs) == len(r.token_ids) and r.prompt_token_ids == inputs["input_ids"][0].tolist()
        ids = torch.tensor([r.prompt_token_ids + r.token_ids])
        batch = {k: v for k, v in inputs.items() if k not in ("input_ids", "attention_mask", "mm_token_type_ids")}
        mm = torch.cat([inputs["mm_token_type_ids"], torch.zeros(1, len(r.token_ids), dtype=torch.long)], 1)
        with torch.no_grad():
            logits = policy.model(input_ids=ids, attention_mask=torch.ones_like(ids), mm_token_type_ids=mm,
                                  **batch).logits[0]  # fmt: skip
        n = len(r.prompt_token_ids)
        want = torch.log_softmax(logits[n - 1 : -1].float(), -1).gather(1, torch.tensor(r.token_ids)[:, None])[:, 0]
        assert torch.allclose(want, torch.tensor(r.logprobs), atol=1e-4)
