"""The ``socio ask`` and ``socio chat`` commands: spatial questions about vector data, a scene or a raster.

``socio ask QUERY (--vectors PATH | --raster PATH --vectors PATH | --scene DIR)`` answers one question and writes
``answer.json``, ``answer.geojson`` and ``answer.png`` into ``--out``; ``socio chat`` loads the data once and
answers one question per line of standard input until an empty line, ``quit`` or end of input.
Exit codes: 0 answered (an empty answer too); 2 bad input; 3 the planner's server or a backend failed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from agent.backends import BackendConfig
from socioagent.options import backend_options

PLANNER_EXCLUDE = ("model", "base_url", "api_key_env", "timeout")
"""Backend fields that the planner's flags stand for (one server can serve both: --policy openai uses them too)."""

_DATA = "Data"
_PLANNER = "Planner"

VectorsOpt = Annotated[Path | None, typer.Option(help="vector data: .osm.pbf, GeoJSON or GeoPackage",
                                                 rich_help_panel=_DATA)]  # fmt: skip
RasterOpt = Annotated[Path | None, typer.Option(help="a GeoTIFF to segment places in (with --vectors for its map)",
                                                rich_help_panel=_DATA)]  # fmt: skip
SceneOpt = Annotated[Path | None, typer.Option(help="a scene folder (sat.tif|sat.png, map.png, layers.geojson)",
                                               rich_help_panel=_DATA)]  # fmt: skip
PlannerOpt = Annotated[str, typer.Option(help="offline (grammar, no weights) or openai (an OpenAI-compatible server)",
                                         rich_help_panel=_PLANNER)]  # fmt: skip
BaseUrlOpt = Annotated[str | None, typer.Option(help="the planner's server, e.g. http://localhost:8000/v1 "
                                                "(or $SOCIO_OPENAI_BASE_URL)", rich_help_panel=_PLANNER)]  # fmt: skip
ModelOpt = Annotated[str | None, typer.Option(help="the planner's model name", rich_help_panel=_PLANNER)]
KeyEnvOpt = Annotated[str | None, typer.Option(help="environment variable holding the server's key "
                                               "(default OPENAI_API_KEY)", rich_help_panel=_PLANNER)]  # fmt: skip
TimeoutOpt = Annotated[float | None, typer.Option(help="seconds per request to the planner's server",
                                                  rich_help_panel=_PLANNER)]  # fmt: skip


def _load(vectors: Path | None, raster: Path | None, scene: Path | None, backend: BackendConfig) -> Any:
    from agent.chat import load_raster, load_scene_folder, load_vectors
    from tools.errors import InputError

    if scene is not None:
        if vectors is not None or raster is not None:
            raise InputError("--scene is a folder with its own image and layers; give --scene alone, or --vectors "
                             "(with --raster)")  # fmt: skip
        return load_scene_folder(scene, backend)
    if raster is not None:
        if vectors is None:
            raise InputError("--raster needs --vectors for its map (an .osm.pbf, GeoJSON or GeoPackage of the area)")
        return load_raster(raster, vectors, backend)
    if vectors is None:
        raise InputError("say what to ask about: --vectors PATH, --raster PATH --vectors PATH, or --scene DIR")
    return load_vectors(vectors, backend)


def _backend(backend: BackendConfig, base_url: str | None, model: str | None, key_env: str | None,
             timeout: float | None) -> BackendConfig:  # fmt: skip
    """Give a model-backed segmentation policy the planner's server flags too."""
    if backend.policy not in ("openai", "hf"):
        return backend
    values = backend.model_dump(exclude_defaults=True)
    extra = {"model": model, "base_url": base_url, "api_key_env": key_env, "timeout": timeout}
    return BackendConfig.parse(**values, **{k: v for k, v in extra.items() if v is not None})


@backend_options(exclude=PLANNER_EXCLUDE)
def ask_command(
    query: Annotated[str, typer.Argument(help="the question, e.g. 'parks within 1 km of hospitals'")],
    backend: BackendConfig,
    vectors: VectorsOpt = None,
    raster: RasterOpt = None,
    scene: SceneOpt = None,
    planner: PlannerOpt = "offline",
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    api_key_env: KeyEnvOpt = None,
    planner_timeout: TimeoutOpt = None,
    out: Annotated[Path, typer.Option(help="output folder: answer.json, answer.geojson, answer.png")] = Path(
        "socio_answer"
    ),
    json_out: Annotated[
        bool, typer.Option("--json", help="print the answer FeatureCollection (answer under 'answer') to stdout")
    ] = False,
) -> None:
    """Answer a spatial question (parks within 1 km of hospitals) about vector data, a scene or a raster."""
    from agent.chat.ask import answer_dir, answer_plan, json_output, make_plan, write_answer
    from tools.errors import InputError

    if planner not in ("offline", "openai"):
        raise InputError(f"unknown --planner {planner!r}; choose offline or openai")
    if not query.strip():
        raise InputError("the question is empty; ask e.g. 'parks within 1 km of hospitals'")
    od = answer_dir(out)  # a file, a read-only or full disk: refused before the work
    data = _load(vectors, raster, scene, _backend(backend, base_url, model, api_key_env, planner_timeout))
    plan, failures = make_plan(query, data, planner, base_url, model, api_key_env, planner_timeout)
    answer, ex = answer_plan(plan, data)
    answer.planner, answer.planner_format_failures = planner, failures
    written = write_answer(od, answer, data, ex)
    if json_out:
        sys.stdout.write(json.dumps(json_output(answer), ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(answer.sentence + "\n")
    typer.secho(f"plan: {answer.plan_text}", err=True, fg=typer.colors.BRIGHT_BLACK)
    typer.secho(f"outputs: {', '.join(str(p) for p in written.values())}", err=True, fg=typer.colors.BRIGHT_BLACK)


@backend_options(exclude=PLANNER_EXCLUDE)
def chat_command(
    backend: BackendConfig,
    vectors: VectorsOpt = None,
    raster: RasterOpt = None,
    scene: SceneOpt = None,
    planner: PlannerOpt = "offline",
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    api_key_env: KeyEnvOpt = None,
    planner_timeout: TimeoutOpt = None,
    out: Annotated[Path | None, typer.Option(help="write each answer's files into OUT/NNN/")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print each answer as one JSON line")] = False,
) -> None:
    """Ask questions one per line about data loaded once (an empty line, 'quit' or end of input ends)."""
    from agent.chat.ask import answer_plan, json_output, make_plan, write_answer
    from tools.errors import InputError

    if planner not in ("offline", "openai"):
        raise InputError(f"unknown --planner {planner!r}; choose offline or openai")
    data = _load(vectors, raster, scene, _backend(backend, base_url, model, api_key_env, planner_timeout))
    interactive = sys.stdin.isatty()
    n = 0
    while True:
        if interactive:
            typer.secho("? ", nl=False, err=True, fg=typer.colors.CYAN)
        line = sys.stdin.readline()
        question = line.strip()
        if not line or not question or question.lower() in ("quit", "exit", "q"):
            return
        n += 1
        try:
            plan, failures = make_plan(question, data, planner, base_url, model, api_key_env, planner_timeout)
            answer, ex = answer_plan(plan, data)
        except InputError as e:  # a question the planner cannot read: say so, keep the session
            sys.stdout.write(json.dumps({"error": str(e)}) + "\n" if json_out else f"error: {e}\n")
            sys.stdout.flush()
            continue
        answer.planner, answer.planner_format_failures = planner, failures
        if out is not None:
            write_answer(out / f"{n:03d}", answer, data, ex)
        sys.stdout.write((json.dumps(json_output(answer), ensure_ascii=False) if json_out else answer.sentence) + "\n")
        sys.stdout.flush()
