"""One backend configuration: one spelling of every spec, messages that name flags, build() for every front end."""

import pytest
from pydantic import ValidationError

from agent.backends import BackendConfig
from agent.policies import SamplingParams
from agent.policies.rule import MapPolicy
from tools.errors import InputError
from tools.segmenters.classical import ClassicalSegmenter


def test_short_and_long_spellings_are_the_same_config():
    long = BackendConfig(policy="openai", model="m", segmenter="sam2", checkpoint="random:tiny")
    short = BackendConfig(policy="openai:m", segmenter="sam2:random:tiny")
    same = BackendConfig(policy="openai:m", model="m")  # both, agreeing
    assert long == short == BackendConfig(policy="openai:m", segmenter="sam2", checkpoint="random:tiny")
    assert same.model == "m"
    assert short.policy_spec() == "openai:m" and short.segmenter_spec() == "sam2:random:tiny"
    assert long.identity() == short.identity()


@pytest.mark.parametrize(("values", "message"), [
    ({"policy": "openai:a", "model": "b"}, "--policy openai:a and --model b disagree"),
    ({"segmenter": "sam2:x.pt", "checkpoint": "y.pt"}, "--segmenter sam2:x.pt and --checkpoint y.pt disagree"),
    ({"policy": "map", "model": "x"}, "--model is for --policy openai or hf, not the map policy"),
    ({"policy": "oracle-box", "temperature": 0.0}, "--temperature is for --policy openai or hf"),
    ({"policy": "hf:x", "base_url": "http://h/v1"}, "--base-url is for --policy openai, not hf"),
    ({"checkpoint": "x.pt"}, "--checkpoint is for --segmenter sam2, not classical"),
    ({"policy": "gpt"}, "unknown --policy 'gpt'; choose one of: map, openai, hf, tiny-vlm, oracle-box, random-box"),
    ({"segmenter": "sam3"}, "unknown --segmenter 'sam3'"),
    ({"refine": 9}, "--refine: Input should be less than or equal to 8 (got 9)"),
    ({"top_p": 0}, "--top-p: Input should be greater than 0"),
    ({"nonsense": 1}, "--nonsense: Extra inputs are not permitted"),
])  # fmt: skip
def test_bad_options_are_one_input_error_naming_the_flags(values, message):
    with pytest.raises(InputError) as e:
        BackendConfig.parse(**values)
    assert message in str(e.value)
    with pytest.raises(ValidationError):  # the Python API refuses them too
        BackendConfig(**values)


def test_build_gives_the_offline_default_and_records_specs():
    b = BackendConfig().build()
    assert isinstance(b.policy, MapPolicy) and isinstance(b.segmenter, ClassicalSegmenter)
    assert (b.policy_spec, b.segmenter_spec) == ("map", "classical")


def test_sampling_options_reach_the_policy_and_the_identity(openai_server):
    server = openai_server()
    cfg = BackendConfig(policy="openai:m", base_url=server.base_url, temperature=0.7, top_k=5, seed=1)
    policy = cfg.build_policy()
    assert policy.sampling == SamplingParams(temperature=0.7, top_k=5, seed=1, max_tokens=1024)
    assert cfg.identity()["sampling"] == {"temperature": 0.7, "top_k": 5, "seed": 1, "max_tokens": 1024}  # effective
    assert BackendConfig(policy="random-box", seed=4).build_policy().seed == 4


def test_missing_backend_arguments_are_named_by_the_backend_once(monkeypatch):
    monkeypatch.delenv("SOCIO_OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(InputError, match="the hf policy needs --model"):
        BackendConfig(policy="hf").build()
    with pytest.raises(InputError, match="the sam2 segmenter needs --checkpoint"):
        BackendConfig(segmenter="sam2").build()
    with pytest.raises(InputError, match="needs a server URL: pass --base-url"):
        BackendConfig(policy="openai:m").build()
