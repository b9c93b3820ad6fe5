"""The LLM planner: any OpenAI-compatible server reads a question into the same `Plan` the offline planner makes.

The model is asked (``prompts/chat_plan.txt``) to call one function, ``submit_plan``, whose parameters are the
plan's JSON schema (`PlanArgs`), with ``tool_choice`` forcing the call. Its answer is untrusted:

- the arguments are read leniently (`agent.parsing.lenient_json`: single quotes, trailing commas, text around
  the JSON); a server that answers in the message content instead of a tool call is read the same way;
- the result is validated against the plan types (an unknown class key, a negative distance, a missing field
  fail); a failure is counted (``format_failures``) and sent back once, with the validation error, for repair;
- a second failure raises `BackendError` (exit 3) naming the error; nothing of a bad plan is executed.

The question itself is always the user's text, never the model's.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from agent.parsing.lenient_json import LenientJSONError, loads
from agent.planner.plan import Node, Output, Plan
from prompts import load_prompt
from tools.errors import BackendError, InputError
from tools.taxonomy import FUNCTIONS

TOOL_NAME = "submit_plan"
MAX_NAMES = 200
"""At most this many of the data's names are listed in the prompt."""


class PlanArgs(BaseModel):
    """The arguments of ``submit_plan``: the plan without the question (which stays the user's)."""

    model_config = ConfigDict(extra="forbid")

    root: Node
    output: Output = "features"


def plan_tool() -> dict[str, Any]:
    """Return the OpenAI tool definition of ``submit_plan``."""
    return {
        "type": "function",
        "function": {
            "name": TOOL_NAME,
            "description": "Submit the spatial plan of the question: the set to compute and what to answer.",
            "parameters": PlanArgs.model_json_schema(),
        },
    }


@dataclass
class LLMPlanResult:
    """What the LLM planner produced: the plan, the answers it could not use, and the raw answers."""

    plan: Plan
    format_failures: int = 0
    raw: list[str] = field(default_factory=list)


def _arguments(message: Any) -> tuple[str, str | None]:
    """Return the raw plan text of an answer (tool-call arguments, else content) and the tool call's id."""
    calls = getattr(message, "tool_calls", None) or []
    for call in calls:
        fn = getattr(call, "function", None)
        if fn is not None and getattr(fn, "name", None) == TOOL_NAME:
            return str(fn.arguments or ""), getattr(call, "id", None)
    if calls:
        fn = getattr(calls[0], "function", None)
        return str(getattr(fn, "arguments", "") or ""), getattr(calls[0], "id", None)
    return str(getattr(message, "content", None) or ""), None


def read_plan(query: str, text: str) -> Plan:
    """Read a model's plan text into a `Plan` for ``query``.

    Raises:
        ValueError: the text holds no JSON object, or it is no valid plan (the message says why).
    """
    try:
        value = loads(text).value
    except LenientJSONError as e:
        raise ValueError(f"the answer holds no JSON object ({e})") from None
    if isinstance(value, dict) and "arguments" in value and "root" not in value:  # {"name": ..., "arguments": {...}}
        value = value["arguments"]
        if isinstance(value, str):
            return read_plan(query, value)
    if not isinstance(value, dict):
        raise ValueError(f"the plan must be a JSON object with 'root' and 'output', got {type(value).__name__}")
    value.pop("query", None)
    try:
        args = PlanArgs.model_validate(value)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()[:5])
        raise ValueError(f"the plan is not valid: {problems}") from None
    return Plan(query=query, root=args.root, output=args.output)


def _client(base_url: str | None, api_key_env: str | None, timeout: float | None) -> Any:
    import openai

    url = base_url or os.environ.get("SOCIO_OPENAI_BASE_URL") or os.environ.get("OPENAI_BASE_URL")
    if not url:
        raise InputError("--planner openai needs a server: --base-url http://HOST:PORT/v1 (or SOCIO_OPENAI_BASE_URL)")
    key = os.environ.get(api_key_env or "OPENAI_API_KEY") or "EMPTY"
    return openai.OpenAI(base_url=url, api_key=key, timeout=timeout or 60.0, max_retries=2)


def _call(client: Any, params: dict[str, Any]) -> Any:
    import openai

    try:
        return client.chat.completions.create(**params)
    except openai.APIStatusError as e:
        hints = {401: "the API key was refused; set OPENAI_API_KEY (or --api-key-env)",
                 404: "no such model or route; check --model and that --base-url ends in /v1"}  # fmt: skip
        hint = hints.get(e.status_code, "check the server's log")
        raise BackendError(f"the planner's server answered HTTP {e.status_code}: {hint}") from None
    except openai.APITimeoutError:
        raise BackendError("the planner's server did not answer in time; raise --planner-timeout") from None
    except openai.APIConnectionError as e:
        raise BackendError(f"cannot reach the planner's server ({e}); check --base-url and that it runs") from None


def plan_with_llm(
    query: str,
    *,
    base_url: str | None = None,
    model: str | None = None,
    api_key_env: str | None = None,
    timeout: float | None = None,
    names: Sequence[str] = (),
    client: Any = None,
) -> LLMPlanResult:
    """Plan a question with an OpenAI-compatible server (tool calling), validated and repaired once.

    Raises:
        InputError: the question is empty, or no server or model is given.
        BackendError: the server fails, or gives no valid plan after one repair.
    """
    if not query or not query.strip():
        raise InputError("the question is empty; ask e.g. 'parks within 1 km of hospitals'")
    model = model or os.environ.get("SOCIO_OPENAI_MODEL")
    if not model:
        raise InputError("--planner openai needs a model name: --model NAME (or SOCIO_OPENAI_MODEL)")
    client = client or _client(base_url, api_key_env, timeout)
    listed = ", ".join(json.dumps(n, ensure_ascii=False) for n in list(names)[:MAX_NAMES]) or "(none)"
    prompt = load_prompt("chat_plan", query=query, names=listed, functions=", ".join(sorted(FUNCTIONS)))
    messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
    params = {"model": model, "messages": messages, "tools": [plan_tool()], "temperature": 0,
              "tool_choice": {"type": "function", "function": {"name": TOOL_NAME}}}  # fmt: skip
    result = LLMPlanResult(plan=None)  # type: ignore[arg-type]
    error = ""
    for attempt in range(2):
        response = _call(client, params)
        choices = getattr(response, "choices", None) or []
        message = choices[0].message if choices else None
        text, call_id = _arguments(message) if message is not None else ("", None)
        result.raw.append(text)
        try:
            result.plan = read_plan(query, text)
            return result
        except ValueError as e:
            result.format_failures += 1
            error = str(e)
        if attempt == 0:  # send the error back once
            if call_id is not None:
                call = {"id": call_id, "type": "function", "function": {"name": TOOL_NAME, "arguments": text}}
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
                messages.append({"role": "tool", "tool_call_id": call_id, "content": f"Error: {error}"})
            else:
                messages.append({"role": "assistant", "content": text})
            messages.append({"role": "user", "content": f"That plan could not be used: {error}. Call {TOOL_NAME} "
                             "again with a corrected plan."})  # fmt: skip
    raise BackendError(f"the planner model gave no valid plan after one repair ({error}); try another model or "
                       "--planner offline")  # fmt: skip
