import asyncio
import json
import threading

import numpy as np
import pytest

from agent.policies import Policy, PolicyRequest, SamplingParams, make_policy
from agent.policies.openai_compat import OpenAIPolicy
from tests.fixtures.openai_server import (
    OpenAIServer,
    Reply,
    free_port,
    request_images,
    request_text,
    server_factory,
)
from tools.coords import ModelFrame, smart_resize
from tools.errors import BackendError, InputError
from tools.images import resize_rgb
from tools.scene import Scene
from tools.schemas import Box, InstancePrompt

ANSWER = '<think>the map shows a school</think><answer>[{"bbox_2d": [10, 20, 30, 40]}]</answer>'
FAST = {"timeout": 5.0, "backoff_s": 0.01, "max_backoff_s": 0.05}


@pytest.fixture
def openai_server():
    with server_factory() as make:
        yield make


def _scene(h: int, w: int) -> Scene:
    rng = np.random.default_rng(0)
    sat = rng.integers(0, 120, (h, w, 3), dtype=np.uint8)
    sat[..., 2] = 200
    mp = np.zeros((h, w, 3), np.uint8)
    mp[...] = (250, 20, 20)  # a distinctive red map
    mp[h // 4 : h // 2, w // 4 : w // 2] = (20, 250, 20)
    return Scene("s", sat=sat, map=mp)


def _localize(scene: Scene, query: str = "the school") -> PolicyRequest:
    return PolicyRequest("localize", query, scene, [scene.map, scene.sat])


def _policy(server: OpenAIServer, **kw) -> OpenAIPolicy:
    return make_policy("openai:fake-vlm", base_url=server.base_url, **{**FAST, **kw})  # type: ignore[return-value]


class TestWhatIsSent:
    def test_two_images_map_first_resized_to_the_model_frame(self, openai_server):
        server = openai_server([ANSWER])
        scene = _scene(200, 300)
        policy = _policy(server)
        assert isinstance(policy, Policy)
        reply = policy.localize(_localize(scene, "places for healthcare"))

        (body,) = server.chat_bodies
        images = request_images(body)
        assert len(images) == 2
        sent = smart_resize(200, 300)
        assert [im.shape[:2] for im in images] == [sent, sent]
        np.testing.assert_array_equal(images[0], resize_rgb(scene.map, sent))
        np.testing.assert_array_equal(images[1], resize_rgb(scene.sat, sent))
        assert body["messages"][0]["content"][-1]["type"] == "text"  # images first, then the text
        text = request_text(body)
        assert '"places for healthcare"' in text
        assert f"{sent[1]}x{sent[0]}" in text
        assert body["model"] == "fake-vlm"
        assert body["temperature"] == 0
        assert body["max_tokens"] == 1024

        assert reply.text == ANSWER
        assert reply.frame == ModelFrame(kind="abs", model_hw=sent)
        assert reply.prompt == text
        assert reply.meta.retries == 0
        assert reply.meta.finish_reason == "stop"
        assert reply.meta.model == "fake-vlm"
        assert reply.meta.usage.total_tokens > 0

    def test_reference_size_is_sent_at_756(self, openai_server):
        server = openai_server([ANSWER])
        reply = _policy(server).localize(_localize(_scene(768, 768)))
        assert [im.shape for im in request_images(server.chat_bodies[0])] == [(756, 756, 3), (756, 756, 3)]
        assert reply.frame.model_hw == (756, 756)

    def test_refine_lists_stage1_boxes_in_the_model_frame(self, openai_server):
        server = openai_server([ANSWER])
        scene = _scene(768, 768)
        rendered_map = scene.map.copy()
        rendered_map[:10] = (0, 0, 255)
        prev = [InstancePrompt(box=Box(x1=384, y1=0, x2=768, y2=384))]
        req = PolicyRequest("refine", "the school", scene, [rendered_map, scene.sat], previous=prev, round=1)
        _policy(server).refine(req)
        text = request_text(server.chat_bodies[0])
        assert 'The boxes found so far are: [{"bbox_2d": [378, 0, 756, 378]}]' in text
        assert "Boxes (blue)" in text  # the refine template, not the localize one
        np.testing.assert_array_equal(request_images(server.chat_bodies[0])[0], resize_rgb(rendered_map, (756, 756)))

    def test_rel1000_frame_for_qwen3_servers(self, openai_server):
        server = openai_server([ANSWER])
        reply = _policy(server, frame="rel1000", factor=32).localize(_localize(_scene(200, 300)))
        assert reply.frame == ModelFrame(kind="rel1000")
        assert request_images(server.chat_bodies[0])[0].shape[:2] == smart_resize(200, 300, factor=32)
        assert "1000" in request_text(server.chat_bodies[0])

    def test_pixel_frame_sends_scene_size(self, openai_server):
        server = openai_server([ANSWER])
        reply = _policy(server, frame="pixel").localize(_localize(_scene(90, 130)))
        assert reply.frame == ModelFrame(kind="pixel")
        assert request_images(server.chat_bodies[0])[0].shape == (90, 130, 3)

    def test_prompt_dir_swaps_the_template(self, openai_server, tmp_path):
        (tmp_path / "localize.txt").write_text("CUSTOM ${query} in ${frame_hint}", encoding="utf-8")
        (tmp_path / "refine.txt").write_text("CUSTOM2 ${query} ${boxes} ${frame_hint}", encoding="utf-8")
        server = openai_server([ANSWER])
        reply = _policy(server, prompt_dir=tmp_path).localize(_localize(_scene(100, 100), "a park"))
        assert request_text(server.chat_bodies[0]).startswith("CUSTOM a park in absolute pixel")
        assert reply.prompt.startswith("CUSTOM a park")

    def test_api_key_and_seed_are_sent(self, openai_server):
        server = openai_server([ANSWER], api_key="secret")
        _policy(server, api_key="secret", sampling=SamplingParams(seed=7, max_tokens=64)).localize(
            _localize(_scene(64, 64))
        )
        (rec,) = server.chat_requests
        assert rec.headers["authorization"] == "Bearer secret"
        assert rec.body["seed"] == 7 and rec.body["max_tokens"] == 64


class TestAnswers:
    def test_empty_content_is_an_empty_text(self, openai_server):
        server = openai_server([Reply(content=None, finish_reason="length"), ""])
        policy = _policy(server)
        first = policy.localize(_localize(_scene(64, 64)))
        second = policy.localize(_localize(_scene(64, 64)))
        assert first.text == "" and first.meta.finish_reason == "length"
        assert second.text == ""

    def test_responder_sees_the_request(self, openai_server):
        def responder(body):
            return json.dumps({"n_images": len(request_images(body))})

        server = openai_server(responder=responder)
        reply = _policy(server).localize(_localize(_scene(64, 64)))
        assert json.loads(reply.text) == {"n_images": 2}


class TestRetries:
    def test_5xx_is_retried_and_counted(self, openai_server):
        server = openai_server([ANSWER])
        server.fail(status=500, times=2)
        reply = _policy(server, max_retries=3).localize(_localize(_scene(64, 64)))
        assert reply.text == ANSWER
        assert reply.meta.retries == 2
        assert [r.status for r in server.chat_requests] == [500, 500, 200]

    def test_429_with_retry_after_is_retried(self, openai_server):
        server = openai_server([ANSWER])
        server.fail(status=429, headers={"Retry-After": "0"})
        assert _policy(server).localize(_localize(_scene(64, 64))).meta.retries == 1

    def test_timeout_is_retried(self, openai_server):
        server = openai_server([ANSWER])
        server.stall(seconds=30.0)  # released when the server stops
        reply = _policy(server, timeout=1.0).localize(_localize(_scene(64, 64)))
        assert reply.text == ANSWER
        assert reply.meta.retries == 1
        assert len(server.chat_requests) == 2

    def test_exhausted_retries_raise_backend_error(self, openai_server):
        server = openai_server([ANSWER])
        server.fail(status=503, times=10)
        with pytest.raises(BackendError, match=r"HTTP 503 after 3 attempts") as err:
            _policy(server, max_retries=2).localize(_localize(_scene(64, 64)))
        assert server.base_url in str(err.value)
        assert len(server.chat_requests) == 3

    def test_repeated_timeouts_raise_backend_error(self, openai_server):
        server = openai_server([ANSWER])
        server.stall(seconds=30.0, times=5)
        with pytest.raises(BackendError, match=r"timed out after 2 attempts: no answer within --timeout 0\.2 s"):
            _policy(server, timeout=0.2, max_retries=1).localize(_localize(_scene(64, 64)))

    def test_dead_server_raises_backend_error_naming_the_fix(self):
        url = f"http://127.0.0.1:{free_port()}/v1"
        policy = make_policy("openai:m", base_url=url, max_retries=2, **FAST)
        with pytest.raises(BackendError, match="--base-url") as err:
            policy.localize(_localize(_scene(64, 64)))
        assert url in str(err.value) and "3 attempts" in str(err.value)

    @pytest.mark.parametrize(("status", "hint"), [(400, "2 images"), (404, "model name"), (422, "server's log")])
    def test_client_errors_are_not_retried(self, openai_server, status, hint):
        server = openai_server([ANSWER])
        server.fail(status=status, body={"error": {"message": "nope: bad thing", "type": "x", "code": status}})
        with pytest.raises(BackendError, match=f"HTTP {status}") as err:
            _policy(server).localize(_localize(_scene(64, 64)))
        assert "bad thing" in str(err.value) and hint in str(err.value)
        assert len(server.chat_requests) == 1

    def test_wrong_api_key_names_the_env_var(self, openai_server):
        server = openai_server([ANSWER], api_key="secret")
        with pytest.raises(BackendError, match="OPENAI_API_KEY"):
            _policy(server, api_key="wrong").localize(_localize(_scene(64, 64)))
        assert len(server.chat_requests) == 1


class TestConfig:
    def test_env_fallbacks(self, openai_server, monkeypatch):
        server = openai_server([ANSWER])
        monkeypatch.setenv("SOCIO_OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("SOCIO_OPENAI_MODEL", "env-model")
        monkeypatch.setenv("OPENAI_API_KEY", "k-env")
        policy = make_policy("openai", **FAST)
        assert policy.name == "openai:env-model"
        policy.localize(_localize(_scene(64, 64)))
        (rec,) = server.chat_requests
        assert rec.body["model"] == "env-model"
        assert rec.headers["authorization"] == "Bearer k-env"

    def test_api_key_env(self, openai_server, monkeypatch):
        server = openai_server([ANSWER], api_key="from-env")
        monkeypatch.setenv("MY_VLM_KEY", "from-env")
        _policy(server, api_key_env="MY_VLM_KEY").localize(_localize(_scene(64, 64)))
        assert server.chat_requests[0].headers["authorization"] == "Bearer from-env"
        monkeypatch.delenv("MY_VLM_KEY")
        with pytest.raises(InputError, match="MY_VLM_KEY"):
            _policy(server, api_key_env="MY_VLM_KEY")

    def test_missing_base_url(self, monkeypatch):
        for var in ("SOCIO_OPENAI_BASE_URL", "OPENAI_BASE_URL"):
            monkeypatch.delenv(var, raising=False)
        with pytest.raises(InputError, match="--base-url"):
            make_policy("openai:m")

    def test_missing_model(self, monkeypatch):
        monkeypatch.delenv("SOCIO_OPENAI_MODEL", raising=False)
        with pytest.raises(InputError, match="SOCIO_OPENAI_MODEL"):
            make_policy("openai", base_url="http://127.0.0.1:1/v1")

    def test_bad_frame(self):
        with pytest.raises(InputError, match="rel1000"):
            make_policy("openai:m", base_url="http://127.0.0.1:1/v1", frame="norm")


class TestConcurrency:
    def test_async_path(self, openai_server):
        server = openai_server([ANSWER, "second"])
        server.fail(status=502)
        policy = _policy(server)
        scene = _scene(100, 150)

        async def both():
            a = await policy.alocalize(_localize(scene))
            prev = [InstancePrompt(box=Box(x1=0, y1=0, x2=50, y2=50))]
            b = await policy.arefine(PolicyRequest("refine", "q", scene, [scene.map, scene.sat], previous=prev))
            await policy.aclose()  # closes the loop's client and its connections
            c = await policy.alocalize(_localize(scene))  # the policy stays usable: a new client
            await policy.aclose()
            return a, b, c

        a, b, c = asyncio.run(both())
        assert (a.text, a.meta.retries) == (ANSWER, 1)
        assert b.text == "second"
        assert c.text == server.default_answer
        ports = [r.client_port for r in server.requests]  # a (502), a again, b, then c after aclose
        assert len(ports) == 4 and ports[1] == ports[2], ports  # one client: its connection is kept alive
        assert ports[3] not in ports[:3], ports  # aclose closed it: c came over a new connection
        assert a.frame == ModelFrame(kind="abs", model_hw=smart_resize(100, 150))
        assert [len(request_images(body)) for body in server.chat_bodies] == [2, 2, 2, 2]
        assert '[{"bbox_2d": [0, 0, 47, 56]}]' in request_text(server.chat_bodies[2])

    def test_threads_share_one_policy(self, openai_server):
        server = openai_server(responder=lambda body: request_text(body).split('"')[1])
        policy = _policy(server)
        scene = _scene(64, 64)
        out: dict[int, str] = {}

        def work(i: int) -> None:
            out[i] = policy.localize(_localize(scene, f"query {i}")).text

        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert out == {i: f"query {i}" for i in range(4)}


def test_models_endpoint_lists_the_model(openai_server):
    import openai

    server = openai_server(model="served-name")
    client = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0)
    assert [m.id for m in client.models.list()] == ["served-name"]


class TestGroupCall:
    def test_sample_asks_for_n_answers_in_one_request_with_the_sampling_options(self, openai_server):
        server = openai_server(["a1", "a2", "a3", "a4"])
        policy = _policy(server, sampling=SamplingParams(temperature=0.0))
        replies = policy.sample(_localize(_scene(64, 64)), 4, SamplingParams(temperature=0.9, top_p=0.8, top_k=100))
        assert [r.text for r in replies] == ["a1", "a2", "a3", "a4"]
        (body,) = server.chat_bodies
        assert (body["n"], body["temperature"], body["top_p"], body["top_k"]) == (4, 0.9, 0.8, 100)
        assert replies[0].meta.sampling == {"temperature": 0.9, "top_p": 0.8, "max_tokens": 1024, "n": 4, "top_k": 100}

    def test_a_server_that_returns_fewer_choices_is_asked_again(self, openai_server):
        server = openai_server(responder=lambda body: "x", max_choices=1)  # a server that ignores n
        replies = _policy(server).sample(_localize(_scene(64, 64)), 3)
        assert len(replies) == 3 and [b.get("n", 1) for b in server.chat_bodies] == [3, 2, 1]
        with pytest.raises(InputError, match="n >= 1"):
            _policy(server).sample(_localize(_scene(64, 64)), 0)


class TestBrokenServers:
    """A server that answers, but not a chat completion, is a broken backend (BackendError), never a format failure."""

    @pytest.mark.parametrize(("raw", "ctype", "says"), [
        (b"<html><body>502 Bad Gateway</body></html>", "text/html", "Content-Type 'text/html'"),
        (b"<html>proxy login</html>", "application/json", "not valid JSON"),
        (b'{"object": "error", "detail": "nope"}', "application/json", "no 'choices' list"),
    ])  # fmt: skip
    def test_a_200_that_is_not_a_completion_fails_at_once(self, openai_server, raw, ctype, says):
        server = openai_server([ANSWER])
        server.garble(raw, content_type=ctype)
        with pytest.raises(BackendError, match=says) as err:
            _policy(server).localize(_localize(_scene(64, 64)))
        assert server.base_url in str(err.value) and "--base-url" in str(err.value)
        assert len(server.chat_requests) == 1  # not retried: it is not transient

    def test_a_cut_off_answer_is_retried_then_named(self, openai_server):
        server = openai_server([ANSWER])
        body = json.dumps({"id": "x", "object": "chat.completion", "choices": []}).encode()
        server.garble(body, truncate=True, times=5)
        with pytest.raises(BackendError, match="closed the connection before the answer was complete, after 2"):
            _policy(server, max_retries=1).localize(_localize(_scene(64, 64)))
        assert len(server.chat_requests) == 2

    def test_async_path_checks_too(self, openai_server):
        server = openai_server([ANSWER])
        server.garble(b"oops", content_type="text/plain")
        with pytest.raises(BackendError, match="Content-Type 'text/plain'"):
            asyncio.run(_policy(server).alocalize(_localize(_scene(64, 64))))
