"""The ``socio serve`` web app: a chat box and a map in the browser, over a small FastAPI HTTP API.

``build_app(workspace, ...)`` returns the ASGI app:

- ``GET /``: the page (``static/index.html``, ``app.js``, ``app.css`` and the vendored Leaflet: nothing from a CDN).
- ``GET /api/health``, ``GET /api/scenes`` (scene folders under the roots), ``POST /api/scenes`` (load one),
  ``GET /api/scenes/{id}``, ``GET /api/scenes/{id}/layers/{sat|map}`` (PNG), ``POST /api/ask`` (a question),
  ``GET /api/answers/{id}``, ``GET /api/answers/{id}/trace``, ``GET /api/answers/{id}/download/{geojson|gpkg}``.
- ``GET /openapi.json``: the spec, from the pydantic models in `agent.serving.models`. FastAPI's docs pages are
  off (they load their scripts from a CDN).

The guards (`agent.serving.guards`): a bearer token on every request when one is set (the page gets it once
from ``/?token=T`` and keeps it in a same-site cookie), the Host header checked against loopback names when no
token is set (DNS rebinding), the request body capped, and a time limit per call (504; the call's thread is
left to finish, the lock keeps the next call waiting for it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import Any, Literal, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from agent.serving.answers import AnswerRecord
from agent.serving.guards import BodyTooLargeError, Guards, guard_middleware
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
from tools.errors import BackendError, InputError, ToolError

T = TypeVar("T")

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "bad input: the message names the problem and the fix"},
    401: {"model": ErrorOut, "description": "missing or wrong bearer token"},
    404: {"model": ErrorOut, "description": "no such scene or answer"},
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


def build_app(workspace: Workspace, guards: Guards, time_limit_s: float = 120.0) -> FastAPI:
    """Return the web app over ``workspace``, with the given guards and time limit per call.

    Args:
        workspace: the backends, scenes and answers.
        guards: token, host and body-size rules (`agent.serving.guards.Guards`).
        time_limit_s: seconds a scene load or a question may take before the call answers 504.
    """
    app = FastAPI(title="socioagent web app", version=_version(), docs_url=None, redoc_url=None,
                  description="Ask about places in a scene; see the answer's features on a map.")  # fmt: skip
    executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="socio-serve")

    async def limited(fn: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(loop.run_in_executor(executor, fn), time_limit_s)
        except TimeoutError:
            raise _Timeout(time_limit_s) from None

    for cls, code in ((NotFoundError, 404), (InputError, 400), (ToolError, 400), (BackendError, 503)):
        app.add_exception_handler(cls, _handler(code))
    app.add_exception_handler(_Timeout, _handler(504))
    app.add_exception_handler(BodyTooLargeError, _handler(413))

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index(token: str | None = None) -> Response:
        if token is not None:  # the guard accepted it: keep it in a cookie and drop it from the address bar
            r = RedirectResponse("/", status_code=303)
            r.set_cookie(guards.cookie_name, token, httponly=True, samesite="strict")
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
        return await limited(workspace.list_scenes)

    @app.post("/api/scenes", response_model=SceneInfo, responses=ERRORS)
    async def load_scene(req: LoadSceneRequest) -> SceneInfo:
        """Load a scene (a folder, or its files) under the allowed roots and render its map layers."""
        return await limited(lambda: workspace.load(req))

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
        return answer_out(await limited(lambda: workspace.ask(req)))

    @app.get("/api/answers/{answer_id}", response_model=AnswerOut, responses=ERRORS)
    async def get_answer(answer_id: str) -> AnswerOut:
        """Return an answer again."""
        return answer_out(workspace.answer(answer_id))

    @app.get("/api/answers/{answer_id}/trace", response_model=TraceOut, responses=ERRORS)
    async def get_trace(answer_id: str) -> TraceOut:
        """Return how an answer was made: plan, stages, steps and timings."""
        r = workspace.answer(answer_id)
        return TraceOut(answer_id=r.answer_id, question=r.question, mode=r.mode, trace=r.trace)  # type: ignore[arg-type]

    @app.get("/api/answers/{answer_id}/download/{fmt}", response_class=Response,
             responses={**ERRORS, 200: {"content": {m: {} for m in MEDIA.values()}}})  # fmt: skip
    async def download(answer_id: str, fmt: Literal["geojson", "gpkg"]) -> Response:
        """Download an answer's features as GeoJSON or GeoPackage."""
        r = workspace.answer(answer_id)
        data = r.geojson_bytes() if fmt == "geojson" else await limited(r.gpkg_bytes)
        name = f"socio-{r.answer_id}.{fmt}"
        return Response(data, media_type=MEDIA[fmt], headers={"Content-Disposition": f'attachment; filename="{name}"'})

    app.mount("/static", StaticFiles(directory=_static_dir()), name="static")
    guard_middleware(app, guards)
    return app


class _Timeout(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"the call ran past this server's time limit of {seconds:g} s; ask something smaller, "
                         "or start socio serve with a larger --time-limit")  # fmt: skip


def _handler(code: int) -> Callable[[Request, Exception], Any]:
    async def handle(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=code)

    return handle


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("socioagent")
    except PackageNotFoundError:
        return "0+unknown"
