"""A policy behind any OpenAI-compatible chat-completions server (vLLM, SGLang, a hosted API).

The client resizes the map and satellite images itself (Qwen-VL ``smart_resize``), sends them as PNG data
URLs, map first, with the stage's prompt, and reports the answer's frame: absolute pixels of the image it
sent (``abs``, Qwen2.5-VL and SocioReasoner-3B), 0..1000 (``rel1000``, Qwen3-VL) or scene pixels
(``pixel``). The HTTP side is `agent.policies.openai_http.ChatClient`: transient failures (connection
errors, timeouts, HTTP 408/409/429/5xx) are retried with exponential backoff and counted in
``meta["retries"]``; anything else (an error status, a 200 that is not a JSON chat completion, a cut-off
answer) fails with a `tools.errors.BackendError` (exit 3) naming the server, what it answered and the fix.

`OpenAIPolicy.sample` asks for ``n`` answers in one request (the ``n`` parameter), for GRPO groups.
Sampling options (`agent.policies.SamplingParams`) map to ``temperature``, ``top_p``, ``max_tokens`` and
``seed``; ``top_k`` is not in the OpenAI API and is sent in the body as vLLM and SGLang expect it (a server that
refuses the field with HTTP 400 or 422 is asked again without it, and from then on never sent it; a warning is
logged and every reply's ``meta.notes`` says so). The defaults are the protocol's
(`agent.protocol`): greedy and 1024 tokens for ``socioagent``, the reference's temperature 1.0, top_p 0.8,
top_k 100 and 2048 tokens for ``socioreasoner``.

Servers that split the reasoning out of the answer (vLLM or SGLang started with a reasoning parser, hosted
reasoning models) return it in ``message.reasoning_content`` (or ``message.reasoning``) and only the rest in
``content``. It is kept in `PolicyReply.reasoning`; under ``socioreasoner`` the text parsed is rebuilt as
``<think>REASONING</think>`` + content, the shape the reference reads.

Serving SocioReasoner-3B: see the README ("Serve SocioReasoner-3B with vLLM").
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from agent.policies import PolicyReply, PolicyRequest, ReplyMeta, SamplingParams, Usage, check_group_size
from agent.policies.messages import (
    DEFAULT_MAX_PIXELS,
    DEFAULT_MIN_PIXELS,
    PreparedInput,
    check_frame_kind,
    openai_messages,
    prepare,
)
from agent.policies.openai_http import ChatClient
from agent.protocol import DEFAULT_PROTOCOL, profile
from tools.errors import BackendError, InputError

REASONING_FIELDS = ("reasoning_content", "reasoning")
"""Message fields in which servers return split-out reasoning (vLLM, SGLang, DeepSeek: the first; some the second)."""


class OpenAIPolicy:
    """Answer both stages by asking an OpenAI-compatible chat-completions server.

    Environment fallbacks, used when an argument is None: ``SOCIO_OPENAI_BASE_URL`` then
    ``OPENAI_BASE_URL`` (base_url), ``SOCIO_OPENAI_MODEL`` (model), ``OPENAI_API_KEY`` (api_key; default
    ``"EMPTY"``, which local vLLM/SGLang servers accept).

    Args:
        model: the served model name (``--policy openai:MODEL``).
        base_url: the server's API root, e.g. ``http://localhost:8000/v1``.
        api_key: the API key.
        api_key_env: the name of an environment variable to read the key from instead of ``OPENAI_API_KEY``
            (so that configs name the variable, never the secret).
        frame: ``abs`` (absolute pixels of the image sent; Qwen2.5-VL), ``rel1000`` (Qwen3-VL) or ``pixel``
            (scene pixels; images are then sent unresized).
        max_pixels: largest image area sent (768*768 gives the reference's 756x756 for a 768x768 scene).
        min_pixels: smallest image area sent.
        factor: side multiple of the resize (28 for Qwen2.5-VL, 32 for Qwen3-VL).
        timeout: seconds per HTTP attempt.
        max_retries: retries after the first attempt for transient failures.
        backoff_s: first backoff; doubled after every retry, capped at ``max_backoff_s``.
        max_backoff_s: longest wait between two attempts.
        sampling: temperature, top_p, top_k, max_tokens and seed (unset ones: the protocol's defaults).
        prompt_dir: a folder with the protocol's templates to use instead of the packaged ones.
        extra_body: extra JSON fields for the request (server-specific options).
        protocol: ``socioagent`` or ``socioreasoner`` (`agent.protocol`): the prompt templates, the sampling
            defaults and whether split-out reasoning is rebuilt into the text.

    Raises:
        InputError: no base URL or model, or a bad frame/size setting.
    """

    def __init__(
        self,
        model: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        api_key_env: str | None = None,
        frame: str = "abs",
        max_pixels: int = DEFAULT_MAX_PIXELS,
        min_pixels: int = DEFAULT_MIN_PIXELS,
        factor: int = 28,
        timeout: float = 120.0,
        max_retries: int = 3,
        backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        sampling: SamplingParams | None = None,
        prompt_dir: str | Path | None = None,
        extra_body: dict[str, Any] | None = None,
        protocol: str = DEFAULT_PROTOCOL,
    ) -> None:
        settings = profile(protocol)
        self.base_url = base_url or os.environ.get("SOCIO_OPENAI_BASE_URL") or os.environ.get("OPENAI_BASE_URL")
        self.model = model or os.environ.get("SOCIO_OPENAI_MODEL")
        if not self.base_url:
            raise InputError(
                "the openai policy needs a server URL: pass --base-url http://HOST:PORT/v1 "
                "or set SOCIO_OPENAI_BASE_URL (or OPENAI_BASE_URL)"
            )
        if not self.model:
            raise InputError(
                "the openai policy needs a model name: give --model MODEL (or --policy openai:MODEL), or set "
                "SOCIO_OPENAI_MODEL (GET BASE_URL/models lists what the server serves)"
            )
        if api_key is None and api_key_env is not None:
            api_key = os.environ.get(api_key_env)
            if not api_key:
                raise InputError(f"api_key_env names {api_key_env}, but that environment variable is not set")
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY"
        self.frame_kind = check_frame_kind(frame)
        if max_pixels <= 0 or min_pixels <= 0 or min_pixels > max_pixels or factor <= 0:
            raise InputError(
                f"bad image size settings: min_pixels={min_pixels}, max_pixels={max_pixels}, factor={factor}; "
                "all must be positive and min_pixels <= max_pixels"
            )
        if timeout <= 0 or max_retries < 0 or backoff_s < 0:
            raise InputError(
                f"bad retry settings: timeout={timeout}, max_retries={max_retries}, backoff_s={backoff_s}; "
                "timeout must be positive, the others non-negative"
            )
        self.max_pixels, self.min_pixels, self.factor = max_pixels, min_pixels, factor
        self.timeout, self.max_retries = float(timeout), int(max_retries)
        self.backoff_s, self.max_backoff_s = float(backoff_s), float(max_backoff_s)
        self.protocol = settings.name
        self._rebuild_reasoning = settings.rebuild_reasoning
        self.sampling = settings.sampling.merged(sampling)
        self.prompt_dir = prompt_dir
        self.extra_body = dict(extra_body or {})
        self.name = f"openai:{self.model}"
        self.http = ChatClient(self.base_url, self.model, self.api_key, self.timeout, self.max_retries,
                               self.backoff_s, self.max_backoff_s)  # fmt: skip

    # -- the Policy protocol ------------------------------------------------------------------------

    def localize(self, request: PolicyRequest) -> PolicyReply:
        """Answer stage 1: boxes for every instance of the query."""
        return self._ask(request)

    def refine(self, request: PolicyRequest) -> PolicyReply:
        """Answer stage 2: boxes and points, given the rendered images and the stage-1 boxes."""
        return self._ask(request)

    async def alocalize(self, request: PolicyRequest) -> PolicyReply:
        """Answer stage 1 without blocking the event loop."""
        return await self._aask(request)

    async def arefine(self, request: PolicyRequest) -> PolicyReply:
        """Answer stage 2 without blocking the event loop."""
        return await self._aask(request)

    def sample(self, request: PolicyRequest, n: int, sampling: SamplingParams | None = None) -> list[PolicyReply]:
        """Return ``n`` sampled answers to one request, asked for in one HTTP request (``n``).

        A server that returns fewer choices than asked (some do not support ``n``) is asked again for the rest.
        """
        check_group_size(n)
        replies: list[PolicyReply] = []
        while len(replies) < n:
            got = self._ask_many(request, n - len(replies), sampling)
            if not got:
                raise BackendError(f"the policy server at {self.base_url} returned no choices for a request with n")
            replies.extend(got)
        return replies[:n]

    # -- one call -----------------------------------------------------------------------------------

    def _prepare(
        self, request: PolicyRequest, n: int = 1, sampling: SamplingParams | None = None
    ) -> tuple[PreparedInput, dict[str, Any]]:
        prepared = prepare(
            request, self.frame_kind, self.factor, self.min_pixels, self.max_pixels, self.prompt_dir, self.protocol
        )
        sp = self.sampling.merged(sampling)
        params: dict[str, Any] = {"model": self.model, "messages": openai_messages(prepared)}
        for key in ("temperature", "top_p", "max_tokens", "seed"):
            if getattr(sp, key) is not None:
                params[key] = getattr(sp, key)
        if n > 1:
            params["n"] = n
        extra = dict(self.extra_body)
        if sp.top_k is not None and not self.http.top_k_refused:
            extra["top_k"] = sp.top_k
        if extra:
            params["extra_body"] = extra
        return prepared, params

    def _ask(self, request: PolicyRequest) -> PolicyReply:
        prepared, params = self._prepare(request)
        completion, retries, latency = self.http.create(params)
        return self._reply(completion, prepared, retries, latency, params)

    def _ask_many(self, request: PolicyRequest, n: int, sampling: SamplingParams | None) -> list[PolicyReply]:
        prepared, params = self._prepare(request, n, sampling)
        completion, retries, latency = self.http.create(params)
        choices = list(getattr(completion, "choices", None) or [])
        return [self._reply(completion, prepared, retries, latency, params, i) for i in range(len(choices))]

    async def _aask(self, request: PolicyRequest) -> PolicyReply:
        prepared, params = self._prepare(request)
        completion, retries, latency = await self.http.acreate(params)
        return self._reply(completion, prepared, retries, latency, params)

    def _reply(
        self,
        completion: Any,
        prepared: PreparedInput,
        retries: int,
        latency: float,
        params: dict[str, Any],
        index: int = 0,
    ) -> PolicyReply:
        choices = getattr(completion, "choices", None) or []
        choice = choices[index] if index < len(choices) else None
        message = getattr(choice, "message", None)
        content = getattr(message, "content", None)
        text = content if isinstance(content, str) else ""
        reasoning = _reasoning(message)
        if reasoning is not None and self._rebuild_reasoning and "<think>" not in text:
            text = f"<think>{reasoning}</think>{text}"
        usage = getattr(completion, "usage", None)
        sampling = {k: params[k] for k in ("temperature", "top_p", "max_tokens", "seed", "n") if k in params}
        sampling |= {k: v for k, v in params.get("extra_body", {}).items() if k == "top_k"}
        meta = ReplyMeta(
            model=str(getattr(completion, "model", None) or self.model),
            base_url=self.base_url,
            usage=Usage(**{k: _int_or_none(getattr(usage, k, None)) for k in Usage.model_fields})
            if usage is not None
            else None,
            retries=retries,
            finish_reason=_str_or_none(getattr(choice, "finish_reason", None)),
            sent_hw=list(prepared.sent_hw),
            sampling=sampling,
            notes=[f"top_k={self.sampling.top_k} not sent: the server refused the field"]
            if self.http.top_k_refused and self.sampling.top_k is not None
            else None,
        )
        return PolicyReply(
            text=text, frame=prepared.frame, prompt=prepared.prompt, latency_s=latency, meta=meta, reasoning=reasoning
        )

    # -- clients ------------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the synchronous HTTP client (the policy stays usable: the next call makes a new one).

        Async clients belong to their event loops: close them with `aclose` from inside the loop.
        """
        self.http.close()

    async def aclose(self) -> None:
        """Close the async client of the running event loop (and the sync client)."""
        await self.http.aclose()


def _reasoning(message: Any) -> str | None:
    """Return the reasoning a server split out of the answer, or None."""
    for name in REASONING_FIELDS:
        value = getattr(message, name, None)
        if isinstance(value, str) and value:
            return value
    return None


def _int_or_none(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _str_or_none(v: Any) -> str | None:
    return v if isinstance(v, str) else None
