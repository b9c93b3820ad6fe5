"""Answer a question about data: plan it, execute the plan, say the answer; and write the answer's files.

Usage: ``ask("parks within 1 km of hospitals", data="helsinki.osm.pbf")`` returns an `Answer` (``.sentence``,
``.plan``, ``.count``, ``.distances_m``, ``.features``); load the data once with `agent.chat.load_data` and pass
the `ChatData` to ask many questions without reading the file again.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from agent.backends import BackendConfig
from agent.chat.answer import Answer, EntityCount, features_geojson, measured, sentence
from agent.chat.data import ChatData, load_data
from agent.chat.executor import Execution, execute
from agent.planner.plan import Plan, plan_text
from tools.errors import InputError

PLANNERS = ("offline", "openai")


def make_plan(
    query: str,
    data: ChatData,
    planner: str = "offline",
    base_url: str | None = None,
    model: str | None = None,
    api_key_env: str | None = None,
    timeout: float | None = None,
) -> tuple[Plan, int]:
    """Plan a question with the chosen planner; return the plan and the planner's format failures.

    Raises:
        InputError: an unknown planner, or a question the offline planner cannot read.
        BackendError: the LLM planner's server fails or gives no valid plan after one repair.
    """
    if planner == "offline":
        from agent.planner.offline import plan_offline

        return plan_offline(query, names=data.names), 0
    if planner == "openai":
        from agent.planner.llm import plan_with_llm

        result = plan_with_llm(query, base_url=base_url, model=model, api_key_env=api_key_env, timeout=timeout,
                               names=data.names)  # fmt: skip
        return result.plan, result.format_failures
    raise InputError(f"unknown planner {planner!r}; choose {' or '.join(PLANNERS)}")


def answer_plan(plan: Plan, data: ChatData) -> tuple[Answer, Execution]:
    """Execute a plan on data and compose its answer (the timings are left to the caller)."""
    ex = execute(plan, data)
    f = ex.features
    answer = Answer(
        query=plan.query,
        sentence=sentence(plan, ex),
        plan=plan,
        plan_text=plan_text(plan),
        output=plan.output,
        count=len(f),
        entity_counts=[EntityCount(phrase=x.phrase, level=x.level, key=x.key, count=x.count) for x in ex.leaves],
        distances_m=measured(f, "distance_m"),
        areas_m2=measured(f, "area_m2"),
        names=[n if isinstance(n, str) else None for n in f["name"]],
        features=features_geojson(f),
        data=dict(data.source),
    )
    return answer, ex


def ask(
    query: str,
    data: str | Path | ChatData,
    *,
    planner: str = "offline",
    base_url: str | None = None,
    model: str | None = None,
    api_key_env: str | None = None,
    timeout: float | None = None,
    backend: BackendConfig | None = None,
    out: str | Path | None = None,
) -> Answer:
    """Answer a spatial question about data.

    Args:
        query: the question, e.g. ``"parks within 1 km of hospitals"``.
        data: an ``.osm.pbf`` / GeoJSON / GeoPackage path, a scene folder, or a `ChatData` already loaded
            (`agent.chat.load_data`; loading once and asking many times is the fast way).
        planner: ``offline`` (the grammar) or ``openai`` (any OpenAI-compatible server, with ``base_url``,
            ``model``; the key from ``api_key_env``, default ``OPENAI_API_KEY``).
        base_url: the LLM planner's server.
        model: the LLM planner's model name.
        api_key_env: the environment variable holding the server's key.
        timeout: seconds per request to the LLM planner's server.
        backend: the segmentation backends for scene data (default: the map policy and the classical segmenter).
        out: when given, write ``answer.json``, ``answer.geojson`` and ``answer.png`` into this folder.

    Returns:
        The answer: sentence, plan, counts, distances and the answer features (GeoJSON, EPSG:4326).

    Raises:
        InputError: the data or the question is bad (the message names the problem and the fix).
        BackendError: the LLM planner's server or a segmentation backend fails.
    """
    od = answer_dir(out) if out is not None else None  # a bad --out is refused before any work
    t0 = time.perf_counter()
    loaded = load_data(data, backend)
    t1 = time.perf_counter()
    plan, failures = make_plan(query, loaded, planner, base_url, model, api_key_env, timeout)
    t2 = time.perf_counter()
    answer, ex = answer_plan(plan, loaded)
    t3 = time.perf_counter()
    answer.planner = planner
    answer.planner_format_failures = failures
    answer.timings = {"load_s": round(t1 - t0, 4), "plan_s": round(t2 - t1, 4), "execute_s": round(t3 - t2, 4),
                      "total_s": round(t3 - t0, 4)}  # fmt: skip
    if od is not None:
        write_answer(od, answer, loaded, ex)
    return answer


def answer_document(answer: Answer) -> dict[str, Any]:
    """Return ``answer.json``: the answer without its features (they are ``answer.geojson``)."""
    return answer.model_dump(mode="json", exclude={"features"})


def json_output(answer: Answer) -> dict[str, Any]:
    """Return what ``--json`` prints: the FeatureCollection with the answer under a top-level ``answer`` key."""
    return {**answer.features, "answer": answer_document(answer)}


ANSWER_FILES = ("answer.json", "answer.geojson", "answer.png")
"""The files an answer writes into its folder."""


def answer_dir(out: str | Path) -> Any:
    """Return the `tools.outdir.OutputDir` of an answer folder, its location checked now (before any work)."""
    from tools.outdir import OutputDir

    return OutputDir(out, owned=ANSWER_FILES)


def write_answer(out: Any, answer: Answer, data: ChatData, ex: Execution) -> dict[str, Path]:
    """Write ``answer.json``, ``answer.geojson`` and ``answer.png`` into ``out`` (a path or an `answer_dir`).

    Every file's bytes are made first; `tools.outdir.OutputDir` stages them and swaps them in whole, so a
    failure leaves the previous answer (or nothing), never a half-written file.
    """
    from agent.chat.draw import answer_image
    from tools.files import png_bytes
    from tools.outdir import OutputDir

    od = out if isinstance(out, OutputDir) else answer_dir(out)
    image: np.ndarray = answer_image(data, ex)
    files = {
        "answer.json": (json.dumps(answer_document(answer), indent=2, ensure_ascii=False) + "\n").encode(),
        "answer.geojson": (json.dumps(answer.features, ensure_ascii=False) + "\n").encode(),
        "answer.png": png_bytes(image),
    }
    return od.write_files(files)
