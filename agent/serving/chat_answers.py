"""Chat answers (`agent.chat`) as web-app answer records: the sentence, the plan, EPSG:4326 features.

A scene's chat data (`agent.chat.load_scene_folder`) is loaded once per scene and kept: its entity sets are
segmented once per phrase, so a second question about the same places is answered from them. A question the
planner cannot read raises `PlannerRefusalError` (an `InputError`), so that ``auto`` mode can segment it instead.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import Any

from agent.backends import BackendConfig
from agent.serving.answers import AnswerRecord
from agent.serving.display import feature_collection
from tools.errors import InputError


class PlannerRefusalError(InputError):
    """The chat planner could not read the question (``auto`` mode then segments it)."""


def chat_available() -> bool:
    """Return whether `agent.chat` (spatial questions over maps and scenes) is installed."""
    return importlib.util.find_spec("agent.chat") is not None


def load_chat_data(folder: Path, backend: BackendConfig) -> Any:
    """Load a georeferenced scene folder as chat data (`agent.chat.ChatData`).

    Raises:
        InputError: the scene has no georeferencing (distances cannot be measured) or cannot be read.
    """
    from agent.chat import load_scene_folder

    return load_scene_folder(folder, backend)


def load_raster_data(raster: Path, vectors: Path, backend: BackendConfig) -> Any:
    """Load a GeoTIFF and its vector layers as chat data; its ``scene`` is what the map shows and segmentation reads.

    Raises:
        InputError: a file is unreadable, the raster has no CRS or is over 4096 px a side.
    """
    from agent.chat import load_raster

    return load_raster(raster, vectors, backend)


def _trace(answer: Any, planner_s: float, execute_s: float) -> dict[str, Any]:
    stages = [{"stage": f"{c.level} {c.key!r}", "instances": c.count, "ok": True} for c in answer.entity_counts]
    return {
        "plan": answer.plan.model_dump(mode="json"),
        "plan_text": answer.plan_text,
        "planner": answer.planner,
        "stages": stages,
        "timings": {
            "plan_s": round(planner_s, 4),
            "execute_s": round(execute_s, 4),
            "total_s": round(planner_s + execute_s, 4),
        },
        "format_failures": answer.planner_format_failures,
    }


def from_chat(answer_id: str, scene_id: str, question: str, data: Any) -> AnswerRecord:
    """Answer a spatial question on chat data and return its record.

    Raises:
        PlannerRefusalError: the planner could not read the question.
        InputError: the question is bad in another way.
        BackendError: a segmentation backend failed.
    """
    from agent.chat.ask import answer_plan, make_plan

    t0 = time.perf_counter()
    try:
        plan, failures = make_plan(question, data)
    except InputError as e:
        raise PlannerRefusalError(str(e)) from None
    t1 = time.perf_counter()
    answer, _ = answer_plan(plan, data)
    t2 = time.perf_counter()
    answer.planner_format_failures = failures
    feats = answer.features.get("features", [])
    return AnswerRecord(answer_id=answer_id, scene_id=scene_id, question=question, mode="ask",
                        sentence=answer.sentence, features=feature_collection(feats), view="lonlat",
                        trace=_trace(answer, t1 - t0, t2 - t1), seconds=t2 - t0)  # fmt: skip
