"""The web app's HTTP API: request and response models (they make its OpenAPI spec at ``/openapi.json``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

View = Literal["lonlat", "pixels"]
Mode = Literal["auto", "ask", "segment"]

MAX_QUESTION_CHARS = 2000


class Health(BaseModel):
    """The server is up; what it can do."""

    status: Literal["ok"] = "ok"
    version: str
    chat: bool = Field(description="whether spatial questions (agent.chat.ask) are available besides segmentation")
    policy: str
    segmenter: str


class SceneEntry(BaseModel):
    """A scene folder, or a raster with vector layers beside it, found under the allowed roots."""

    kind: Literal["scene", "raster"] = "scene"
    path: str = Field(description="the scene folder, or the raster (GeoTIFF), as the server sees it")
    vectors: str | None = Field(None, description="raster: the vector layers beside it")
    name: str
    georeferenced: bool


class SceneList(BaseModel):
    """Scene folders and rasters under the allowed roots (a bounded scan)."""

    roots: list[str]
    scenes: list[SceneEntry]
    truncated: bool = Field(False, description="the scan stopped at its limit; load others by path")


PATH_PATTERN = r"^[^\x00]*$"
"""A file path: any text without a NUL character."""


class SceneFolder(BaseModel):
    """Load a scene folder: sat.tif (georeferenced) or sat.png, map.png, and layers.geojson or layers.gpkg."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(max_length=4096, pattern=PATH_PATTERN, description="a scene folder under an allowed root")


class SceneFiles(BaseModel):
    """Load a scene from its files."""

    model_config = ConfigDict(extra="forbid")

    sat: str = Field(max_length=4096, pattern=PATH_PATTERN, description="satellite image file (PNG, JPEG, GeoTIFF)")
    map: str = Field(max_length=4096, pattern=PATH_PATTERN, description="map image of the same window and size")
    layers: str | None = Field(None, max_length=4096, pattern=PATH_PATTERN,
                               description="vector layers (GeoJSON, GeoPackage)")  # fmt: skip


class SceneRaster(BaseModel):
    """Load a GeoTIFF and vector layers: the map is rendered from the layers (as `socio segment --raster` does)."""

    model_config = ConfigDict(extra="forbid")

    raster: str = Field(max_length=4096, pattern=PATH_PATTERN, description="GeoTIFF with a CRS, at most 4096 px a side")
    vectors: str = Field(max_length=4096, pattern=PATH_PATTERN, description="map vectors: .osm.pbf, GPKG, GeoJSON")


LoadSceneRequest = SceneFolder | SceneFiles | SceneRaster
"""What POST /api/scenes takes: a scene folder, the scene's files, or a raster with its vector layers."""


class SceneInfo(BaseModel):
    """A loaded scene as the map shows it."""

    scene_id: str
    name: str
    kind: Literal["scene", "raster"] = "scene"
    width: int
    height: int
    view: View = Field(description="lonlat: georeferenced, drawn in lon/lat; pixels: drawn in image pixels")
    crs: str | None = Field(None, description="the scene's own CRS, when georeferenced")
    bounds: list[float] = Field(
        description="[minx, miny, maxx, maxy] of the image layers: lon/lat degrees (lonlat) or image pixels (pixels)"
    )
    layers: dict[str, str] = Field(description="image layer name -> URL of its PNG (sat, map)")
    layer_features: int = Field(0, description="vector features the map policy can read")


class AskRequest(BaseModel):
    """A question about a loaded scene."""

    model_config = ConfigDict(extra="forbid")

    scene_id: str = Field(min_length=1, max_length=200, description="a scene id from POST /api/scenes")
    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS, pattern=r"\S",
                          description="what to find or ask")  # fmt: skip
    mode: Mode = Field(
        "auto",
        description="segment: find the places (the two-stage agent); ask: a spatial question (agent.chat); "
        "auto: ask when available, else segment",
    )


class FeatureModel(BaseModel):
    """A GeoJSON Feature (RFC 7946) with its popup fields among the properties."""

    type: Literal["Feature"] = "Feature"
    geometry: dict[str, Any] | None
    properties: dict[str, Any] = Field(description="name, class, score, distance_m when known, and provenance")


class FeatureCollectionModel(BaseModel):
    """A GeoJSON FeatureCollection."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[FeatureModel]


class AnswerOut(BaseModel):
    """The answer to a question: words, features for the map, and where to get the rest."""

    answer_id: str
    scene_id: str | None
    question: str
    mode: Literal["ask", "segment"]
    sentence: str
    view: View = Field(description="coordinates of the features: lonlat (EPSG:4326) or pixels (image pixels)")
    features: FeatureCollectionModel
    count: int = Field(description="number of features")
    seconds: float
    trace_url: str
    downloads: dict[str, str] = Field(description="format -> URL (geojson, gpkg)")


class TraceOut(BaseModel):
    """How an answer was made: the plan (chat), the policy's stages, every step and the timings."""

    answer_id: str
    question: str
    mode: Literal["ask", "segment"]
    trace: dict[str, Any]


class ErrorOut(BaseModel):
    """An error: what went wrong and how to fix it."""

    error: str
