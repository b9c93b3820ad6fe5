"""The ``socio serve`` web app: a chat box and a map in the browser, over a small FastAPI HTTP API.

``build_app(workspace, ...)`` returns the ASGI app:

- ``GET /``: the page (``static/index.html``, ``app.js``, ``app.css`` and the vendored Leaflet: nothing from a CDN).
- ``GET /api/health``, ``GET /api/scenes`` (scene folders under the roots), ``POST /api/scenes`` (load one),
  ``GET /api/scenes/{id}``, ``GET /api/scenes/{id}/layers/{sat|map}`` (PNG), ``POST /api/ask`` (a question),
  ``GET /api/answers/{id}``, ``GET /api/answers/{id}/trace``, ``GET /api/answers/{id}/download/{geojson|gpkg}``.
- ``GET /openapi.json``: the spec, from the pydantic models in `agent.serving.models`. FastAPI's docs pages are
  off (they load their scripts from a CDN).

`serve_app` wraps it in the guards (`agent.serving.guards`): the limits ``socio mcp`` applies too (a bearer token on
every request when one is set, the request body capped) and what a browser needs (the token from ``/?token=T``
kept in a same-site cookie; with no token, the Host header checked against loopback names). Scene loads and
questions run under the per-call time limit (`agent.serving.limits.run_limited`: 504, the work cancelled at its
next step). Downloads are written under the output root (``--out``) and served from there.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from typing import Any, Literal, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from agent.serving.answers import AnswerRecord
from agent.serving.guards import COOKIE, guarded
from agent.serving.limits import ASGIApp, CallLimitError, CancelToken, run_limited
from agent.serving.models import (
    AnswerOut,
    AskRequest,
    ErrorOut,
    FeatureCollectionModel,
    Health,
    LoadSceneRequest,
    SceneInfo,
    SceneList,
    TraceOut,
)
from agent.serving.workspace import NotFoundError, Workspace
from tools.errors import BackendError, InputError, MissingFileError, OutsideRootsError, ToolError

T = TypeVar("T")

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "bad input: the message names the problem and the fix"},
    401: {"model": ErrorOut, "description": "missing or wrong bearer token"},
    403: {"model": ErrorOut, "description": "a path outside the allowed roots, or a URL"},
    404: {"model": ErrorOut, "description": "no such scene, answer or file"},
    413: {"model": ErrorOut, "description": "request body over the limit"},
    503: {"model": ErrorOut, "description": "a backend (policy server, segmenter) failed"},
    504: {"model": ErrorOut, "description": "the call ran past the time limit"},
}
MEDIA = {"geojson": "application/geo+json", "gpkg": "application/geopackage+sqlite3"}


def _static_dir() -> str:
    return str(resources.files("agent.serving") / "static")


def answer_out(record: AnswerRecord) -> AnswerOut:
    """Return an answer record as the API's response model."""
    base = f"/api/answers/{record.answer_id}"
    return AnswerOut(answer_id=record.answer_id, scene_id=record.scene_id, question=record.question,
                     mode=record.mode, sentence=record.sentence, view=record.view,  # type: ignore[arg-type]
                     features=FeatureCollectionModel.model_validate(record.features),
                     count=len(record.features["features"]), seconds=round(record.seconds, 4),
                     trace_url=f"{base}/trace", downloads={f: f"{base}/download/{f}" for f in MEDIA})  # fmt: skip


def serve_app(workspace: Workspace) -> ASGIApp:
    """Return the web app over ``workspace`` wrapped in its guards: what ``socio serve`` runs."""
    return guarded(build_app(workspace), workspace.limits)  # type: ignore[arg-type]


def build_app(workspace: Workspace) -> FastAPI:
    """Return the web app over ``workspace`` (without the guards: see `serve_app`)."""
    limits = workspace.limits
    app = FastAPI(title="socioagent web app", version=_version(), docs_url=None, redoc_url=None,
                  description="Ask about places in a scene; see the answer's features on a map.")  # fmt: skip
    slots = limits.slots()

    async def limited(fn: Callable[[CancelToken], T], what: str) -> T:
        return await run_limited(fn, limits.call_timeout_s, what, slots)

    # the most specific first: CallLimitError is a ToolError, NotFoundError an InputError
    for cls, code in ((CallLimitError, 504), (NotFoundError, 404), (MissingFileError, 404), (OutsideRootsError, 403),
                      (InputError, 400), (ToolError, 400), (BackendError, 503)):  # fmt: skip
        app.add_exception_handler(cls, _handler(code))

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index(token: str | None = None) -> Response:
        if token is not None:  # the guard accepted it: keep it in a cookie and drop it from the address bar
            r = RedirectResponse("/", status_code=303)
            r.set_cookie(COOKIE, token, httponly=True, samesite="strict")
            return r
        return HTMLResponse((resources.files("agent.serving") / "static" / "index.html").read_text("utf-8"))

    @app.get("/api/health", response_model=Health, responses=ERRORS)
    async def health() -> Health:
        """Say that the server is up and what it can answer."""
        d = workspace.describe()
        return Health(version=_version(), chat=workspace.chat_available, policy=d["policy"], segmenter=d["segmenter"])

    @app.get("/api/scenes", response_model=SceneList, responses=ERRORS)
    async def list_scenes() -> SceneList:
        """List the scene folders under the allowed roots."""
        return await limited(lambda _: workspace.list_scenes(), "listing the scenes")

    @app.post("/api/scenes", response_model=SceneInfo, responses=ERRORS)
    async def load_scene(req: LoadSceneRequest) -> SceneInfo:
        """Load a scene (a folder, or its files) under the allowed roots and render its map layers."""
        return await limited(lambda cancel: workspace.load(req, cancel), "loading the scene")

    @app.get("/api/scenes/{scene_id}", response_model=SceneInfo, responses=ERRORS)
    async def scene_info(scene_id: str) -> SceneInfo:
        """Describe a loaded scene."""
        return workspace.info(scene_id)

    @app.get("/api/scenes/{scene_id}/layers/{layer}", responses={**ERRORS, 200: {"content": {"image/png": {}}}},
             response_class=Response)  # fmt: skip
    async def scene_layer(scene_id: str, layer: Literal["sat", "map"]) -> Response:
        """Return a scene's image layer as PNG (warped to Web Mercator when georeferenced)."""
        return Response(workspace.layer_png(scene_id, layer), media_type="image/png",
                        headers={"Cache-Control": "private, max-age=3600"})  # fmt: skip

    @app.post("/api/ask", response_model=AnswerOut, responses=ERRORS)
    async def ask(req: AskRequest) -> AnswerOut:
        """Answer a question about a loaded scene: its features for the map, a sentence, links to the rest."""
        return answer_out(await limited(lambda cancel: workspace.ask(req, cancel), "answering the question"))

    @app.get("/api/answers/{answer_id}", response_model=AnswerOut, responses=ERRORS)
    async def get_answer(answer_id: str) -> AnswerOut:
        """Return an answer again."""
        return answer_out(workspace.answer(answer_id))

    @app.get("/api/answers/{answer_id}/trace", response_model=TraceOut, responses=ERRORS)
    async def get_trace(answer_id: str) -> TraceOut:
        """Return how an answer was made: plan, stages, steps and timings."""
        r = workspace.answer(answer_id)
        return TraceOut(answer_id=r.answer_id, question=r.question, mode=r.mode, trace=r.trace)  # type: ignore[arg-type]

    @app.get("/api/answers/{answer_id}/download/{fmt}", response_class=FileResponse,
             responses={**ERRORS, 200: {"content": {m: {} for m in MEDIA.values()}}})  # fmt: skip
    async def download(answer_id: str, fmt: Literal["geojson", "gpkg"]) -> FileResponse:
        """Download an answer's features as GeoJSON or GeoPackage (written under the output root once)."""
        r = workspace.answer(answer_id)
        path = await limited(lambda _: r.write(limits.output_dir("answers", r.answer_id), fmt), "writing the file")
        return FileResponse(path, media_type=MEDIA[fmt], filename=path.name)

    app.mount("/static", StaticFiles(directory=_static_dir()), name="static")
    return app


def _handler(code: int) -> Callable[[Request, Exception], Any]:
    async def handle(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=code)

    return handle


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("socioagent")
    except PackageNotFoundError:
        return "0+unknown"
