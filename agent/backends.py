"""One typed backend configuration: flags (or a Python call) in, a policy and a segmenter out.

Every front end builds its backends here and nowhere else: ``socio segment``, ``socio demo``, ``socio eval``
(in each worker process), and later the trainer and the MCP server. Each option is described once, in
its field; the CLI's help text is read from these descriptions (`socioagent.options`).

The protocol (``--protocol socioagent|socioreasoner``, `agent.protocol`) is chosen here too: `build` gives the
policy (prompts, sampling defaults) and the segmenter (SAM 2 settings) the protocol's settings, `run_kwargs` hands
it to the run, and `identity` records it with the parse mode and the effective sampling, so an eval resumed with
another protocol, parse mode or sampling is refused.

One spelling of every spec: ``--policy openai --model M`` and ``--policy openai:M`` mean the same thing
everywhere (as do ``--segmenter sam2 --checkpoint C`` and ``--segmenter sam2:C``); giving both with
different values is refused.

>>> cfg = BackendConfig(policy="openai:qwen", base_url="http://localhost:8000/v1")
>>> cfg.policy, cfg.model, cfg.policy_spec()
('openai', 'qwen', 'openai:qwen')
>>> BackendConfig(segmenter="sam2:facebook/sam2.1-hiera-tiny").segmenter_spec()
'sam2:facebook/sam2.1-hiera-tiny'
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agent.context import MAX_REFINE_ROUNDS
from agent.parsing.answer import MAX_ITEMS
from agent.policies import POLICY_NAMES, Policy, SamplingParams
from agent.policies.packaged import PACKAGED_MODELS
from agent.protocol import DEFAULT_PROTOCOL, PROTOCOL_NAMES, ProtocolProfile, profile
from tools.errors import InputError
from tools.segmenters import SEGMENTER_NAMES, Segmenter

MODEL_POLICIES = ("openai", "hf")
"""Policies backed by a model: the only ones that take --model and the sampling options."""


class BackendConfig(BaseModel):
    """The backends of a run and the options that shape their answers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: str = Field(
        "map",
        description="who answers the two stages: map (offline rule policy), openai (any OpenAI-compatible server), "
        "hf (in-process transformers), tiny-vlm (the packaged small policy: hf with --model tiny-vlm), "
        "oracle-box or random-box (eval baselines); openai:MODEL and hf:MODEL are short for --model MODEL",
    )
    model: str | None = Field(None, description="model name served (openai) or checkpoint folder / pulled hub id (hf)")
    base_url: str | None = Field(
        None,
        description="OpenAI-compatible server URL, e.g. http://localhost:8000/v1 (or $SOCIO_OPENAI_BASE_URL)",
    )
    api_key_env: str | None = Field(
        None, description="environment variable that holds the server's API key (default: OPENAI_API_KEY)"
    )
    timeout: float | None = Field(None, gt=0, description="seconds per request to the policy server (default 120)")
    max_retries: int | None = Field(
        None, ge=0, description="retries of a failing policy server request: timeouts, HTTP 429 and 5xx (default 3)"
    )
    segmenter: str = Field(
        "classical",
        description="who draws the masks: classical (OpenCV, offline) or sam2; sam2:CHECKPOINT is short for "
        "--checkpoint CHECKPOINT",
    )
    checkpoint: str | None = Field(None, description="SAM 2 checkpoint: a .pt path or a pulled hub id")
    device: str = Field("auto", description="torch device for hf and sam2: auto, cpu, cuda, cuda:N")
    prompt_dir: Path | None = Field(None, description="folder of prompt templates replacing the packaged ones")
    refine: int = Field(
        1,
        ge=0,
        le=MAX_REFINE_ROUNDS,
        description="refine rounds after localize (0 = stage 1 only; socioreasoner: at most 1)",
    )
    protocol: str = Field(
        DEFAULT_PROTOCOL,
        description="socioagent (ours) or socioreasoner (the SocioReasoner reference's: its sampling defaults, "
        "prompt structure, answer reading, SAM 2 settings, stage-2 render, one refine round, truth binarisation; "
        "for serving SocioReasoner-3B)",
    )
    strict_parse: bool = Field(
        False,
        description="no repairs: a malformed answer is a format failure (socioagent: any answer that needed a "
        "repair; socioreasoner: exactly what the reference's parser cannot use)",
    )
    temperature: float | None = Field(
        None, ge=0, description="sampling temperature (default 0: greedy; socioreasoner: 1.0)"
    )
    top_p: float | None = Field(None, gt=0, le=1, description="nucleus sampling mass (default 1; socioreasoner: 0.8)")
    top_k: int | None = Field(
        None, ge=0, description="sample among the k most likely tokens (default: no limit; socioreasoner: 100)"
    )
    max_tokens: int | None = Field(
        None, ge=1, description="cap on each answer's tokens (default 1024; socioreasoner: 2048)"
    )
    seed: int | None = Field(None, description="seed of sampling policies and of the random-box baseline")
    max_instances: int = Field(
        MAX_ITEMS, ge=1, description="at most this many instances read from one answer (more: a warning names this)"
    )

    @field_validator("policy", "segmenter", "protocol")
    @classmethod
    def _strip(cls, v: str) -> str:
        return v.strip()

    @model_validator(mode="before")
    @classmethod
    def _split_specs(cls, data: Any) -> Any:
        """Fold ``openai:M`` into policy=openai, model=M (and ``sam2:C`` into checkpoint=C)."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if isinstance(data.get("policy"), str) and data["policy"].strip() in PACKAGED_MODELS:
            name = data["policy"].strip()
            if data.get("model") not in (None, name):
                raise ValueError(f"--policy {name} is the packaged model; drop --model {data['model']}")
            data["policy"], data["model"] = "hf", name
        for spec_key, arg_key, flag in (("policy", "model", "--model"), ("segmenter", "checkpoint", "--checkpoint")):
            spec = data.get(spec_key)
            if isinstance(spec, str) and ":" in spec:
                name, _, arg = spec.partition(":")
                given = data.get(arg_key)
                if given is not None and given != arg:
                    raise ValueError(
                        f"--{spec_key} {spec} and {flag} {given} disagree; give the {arg_key} once, "
                        f"as --{spec_key} {name} {flag} {arg} or as --{spec_key} {spec}"
                    )
                data[spec_key], data[arg_key] = name, arg
        return data

    @model_validator(mode="after")
    def _check(self) -> BackendConfig:
        if self.policy not in POLICY_NAMES:
            raise ValueError(f"unknown --policy {self.policy!r}; choose one of: {', '.join(POLICY_NAMES)}")
        if self.segmenter not in SEGMENTER_NAMES:
            raise ValueError(f"unknown --segmenter {self.segmenter!r}; choose one of: {', '.join(SEGMENTER_NAMES)}")
        if self.policy not in MODEL_POLICIES:
            options = ("model", "base_url", "api_key_env", "timeout", "max_retries",
                       *(k for k in SamplingParams.model_fields if k != "seed"))  # fmt: skip
            given = [flag(k) for k in options if getattr(self, k) is not None]
            if given:
                raise ValueError(
                    f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} for --policy openai or hf, "
                    f"not the {self.policy} policy"
                )
        server_only = [
            flag(k) for k in ("base_url", "api_key_env", "timeout", "max_retries") if getattr(self, k) is not None
        ]
        if self.policy == "hf" and server_only:
            raise ValueError(
                f"{', '.join(server_only)} {'is' if len(server_only) == 1 else 'are'} for --policy openai, not hf"
            )
        if self.checkpoint and self.segmenter != "sam2":
            raise ValueError(f"--checkpoint is for --segmenter sam2, not {self.segmenter}")
        if self.protocol not in PROTOCOL_NAMES:
            raise ValueError(f"unknown --protocol {self.protocol!r}; choose one of: {', '.join(PROTOCOL_NAMES)}")
        limit = self.profile.max_refine
        if self.refine > limit:
            raise ValueError(
                f"--refine {self.refine}: the {self.protocol} protocol has at most {limit} refine round "
                f"(the reference's one stage 2); use --refine {limit}, or 0 for stage 1 only"
            )
        return self

    @classmethod
    def parse(cls, **values: Any) -> BackendConfig:
        """Build a config from flag values, turning validation errors into one `InputError` naming the flags.

        Raises:
            InputError: a value is out of range or options conflict.
        """
        try:
            return cls(**values)
        except ValidationError as e:
            raise InputError(describe_validation_error(e)) from None

    # -- specs ----------------------------------------------------------------------------------------

    def policy_spec(self) -> str:
        """Return the policy as one spec string (``openai:M``, ``hf:PATH``, ``map``, ...)."""
        return f"{self.policy}:{self.model}" if self.model else self.policy

    def segmenter_spec(self) -> str:
        """Return the segmenter as one spec string (``classical``, ``sam2:CHECKPOINT``)."""
        return f"{self.segmenter}:{self.checkpoint}" if self.checkpoint else self.segmenter

    @property
    def profile(self) -> ProtocolProfile:
        """The protocol's settings (`agent.protocol`)."""
        return profile(self.protocol)

    def sampling(self) -> SamplingParams:
        """Return the effective sampling: for model policies the protocol's defaults overridden by the flags given.

        Other policies do not sample: only a given ``--seed`` (the random-box baseline's) is returned.
        """
        given = SamplingParams(**{k: getattr(self, k) for k in SamplingParams.model_fields})
        return self.profile.sampling.merged(given) if self.policy in MODEL_POLICIES else given

    def identity(self) -> dict[str, Any]:
        """Return what defines a run's answers (an eval's config.json): no device, no secrets."""
        return {
            "policy": self.policy_spec(),
            "base_url": self.base_url,
            "segmenter": self.segmenter_spec(),
            "refine": self.refine,
            "protocol": self.protocol,
            "strict_parse": self.strict_parse,
            "prompt_dir": str(self.prompt_dir.resolve()) if self.prompt_dir else None,
            "sampling": self.sampling().model_dump(exclude_none=True),
            **({"max_instances": self.max_instances} if self.max_instances != MAX_ITEMS else {}),
        }

    # -- building -------------------------------------------------------------------------------------

    def build(self) -> Backends:
        """Build the policy and the segmenter.

        Raises:
            InputError: a backend option is bad (a missing checkpoint, a model name without a server, ...).
            BackendError: a backend cannot be reached or loaded.
            DependencyNotFoundError: the backend's optional packages are not installed.
        """
        return Backends(policy=self.build_policy(), segmenter=self.build_segmenter(), config=self)

    def build_policy(self) -> Policy:
        """Build the policy alone (see `build`)."""
        from agent.policies import make_policy

        kwargs: dict[str, Any] = {}
        if self.policy in MODEL_POLICIES:
            kwargs = {"model": self.model, "sampling": self.sampling(), "protocol": self.protocol}
            if self.prompt_dir is not None:
                kwargs["prompt_dir"] = self.prompt_dir
        if self.policy == "openai":
            kwargs |= {"base_url": self.base_url, "api_key_env": self.api_key_env}
            kwargs |= {k: getattr(self, k) for k in ("timeout", "max_retries") if getattr(self, k) is not None}
        elif self.policy == "hf":
            kwargs["device"] = self.device
        elif self.policy == "random-box" and self.seed is not None:
            kwargs["seed"] = self.seed
        return make_policy(self.policy, **kwargs)

    def build_segmenter(self) -> Segmenter:
        """Build the segmenter alone (see `build`)."""
        from tools.segmenters import make_segmenter

        options = self.profile.segmenter_options(self.segmenter)
        if self.segmenter == "sam2":
            return make_segmenter("sam2", checkpoint=self.checkpoint, device=self.device, **options)
        return make_segmenter(self.segmenter, **options)


@dataclass
class Backends:
    """A built policy and segmenter, with the config they came from."""

    policy: Policy
    segmenter: Segmenter
    config: BackendConfig

    @property
    def policy_spec(self) -> str:
        """The policy's spec string."""
        return self.config.policy_spec()

    @property
    def segmenter_spec(self) -> str:
        """The segmenter's spec string."""
        return self.config.segmenter_spec()

    def run_kwargs(self) -> dict[str, Any]:
        """Return the keyword arguments of `agent.run.run_query` these backends stand for.

        ``run_query(scene, query, **backends.run_kwargs())`` runs with this policy and segmenter, the configured
        refine rounds, protocol and parse mode, and records the specs.
        """
        return {
            "policy": self.policy,
            "segmenter": self.segmenter,
            "max_rounds": self.config.refine,
            "protocol": self.config.protocol,
            "strict_parse": self.config.strict_parse,
            "max_instances": self.config.max_instances,
            "policy_spec": self.policy_spec,
            "segmenter_spec": self.segmenter_spec,
        }


def flag(field: str) -> str:
    """Return the command-line flag of a config field (``top_p`` -> ``--top-p``)."""
    return "--" + field.replace("_", "-")


def describe_validation_error(error: ValidationError) -> str:
    """Return a pydantic validation error as one line per problem, in terms of command-line flags."""
    lines = []
    for err in error.errors():
        loc = [str(x) for x in err.get("loc", ()) if x != "__root__"]
        msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        if loc:
            value = err.get("input")
            lines.append(f"{flag(loc[0])}: {msg} (got {value!r})")
        else:
            lines.append(msg)
    return "; ".join(lines)
