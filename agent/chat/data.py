"""The data a chat question is asked about: vector layers, a scene folder, or a raster with vector layers.

`load_data` reads it once into a `ChatData` that the executor asks for entity sets (`ChatData.entity_set`):

- **vectors** (``.osm.pbf`` through `tools.osm_read`, GeoJSON, GeoPackage through `tools.vectors`): a class is
  every feature the OSM-tag -> class table (`tools.taxonomy.class_for_osm`) puts in it or a kind of it, a
  function every feature of its classes, a name the features so named;
- **scene** (a SynthCity-style folder: ``sat.tif``/``sat.png``, ``map.png``, ``layers.geojson``) or **raster**
  (a GeoTIFF plus vector layers, the map rendered from them): entity sets come from segmentation by the agent
  (`agent.run.run_query` with the configured backends: the map policy and the classical segmenter offline),
  because the image shows where and how big places are where the layers have only points or nothing. Each
  phrase is segmented once per data and kept.

Every frame is held in the data's local metric CRS (`tools.spatial.metric_crs`: its UTM zone).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import pandas as pd
from pyproj import CRS

from agent.backends import BackendConfig
from tools.errors import InputError
from tools.query.names import NAME_MATCH_THRESHOLD, name_score
from tools.query.words import normalize
from tools.scene import Scene
from tools.spatial import metric_crs, to_metric
from tools.taxonomy import CLASSES, class_members

DataKind = Literal["vectors", "scene", "raster"]
FEATURE_COLUMNS = ("fid", "name", "cls", "function", "kind", "osm_id", "source", "geometry")
MAX_RASTER_SIDE = 4096
"""A raster asked about is read whole (at most this many pixels a side); larger ones: crop it first."""


@dataclass
class ChatData:
    """Data loaded once for any number of questions (`socio chat` keeps it between questions).

    Attributes:
        kind: ``vectors``, ``scene`` or ``raster``.
        source: what was loaded (paths), for the answer's record.
        crs: the local metric CRS every geometry is held in.
        features: the vector features (`FEATURE_COLUMNS`), indexed by ``fid``, in ``crs``.
        scene: the scene segmentation runs on (scene and raster data), else None.
        backend: the backends segmentation uses.
        segmented: entity sets already segmented, by phrase key.
        segment_runs: how many segmentation runs were made (for timing and tests).
        vectors: the vector frame as read (`tools.vectors.VECTOR_COLUMNS`), for drawing maps; None for a scene.
    """

    kind: DataKind
    source: dict[str, str]
    crs: CRS
    features: gpd.GeoDataFrame
    scene: Scene | None = None
    backend: BackendConfig = field(default_factory=BackendConfig)
    segmented: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    segment_runs: int = 0
    vectors: gpd.GeoDataFrame | None = None
    _built: Any = None

    @property
    def names(self) -> list[str]:
        """The distinct feature names the data holds (the planner reads names against them)."""
        return sorted({str(n) for n in self.features["name"].dropna()})

    def use_backends(self, built: Any) -> None:
        """Segment with backends already built (`agent.backends.Backends`): a server shares its one segmenter."""
        self._built = built

    def entity_set(self, level: str, key: str, phrase: str) -> gpd.GeoDataFrame:
        """Return the features of an entity set (see the module docstring), in ``crs``, indexed by ``fid``."""
        if self.scene is not None:
            return self._segmented(level, key, phrase)
        return select_features(self.features, level, key)

    def _segmented(self, level: str, key: str, phrase: str) -> gpd.GeoDataFrame:
        from agent.chat.segment import segment_entity

        cache_key = f"{level}:{key}"
        if cache_key not in self.segmented:
            if self._built is None:
                self._built = self.backend.build()
            self.segmented[cache_key] = segment_entity(self, level, key, phrase, self._built)
            self.segment_runs += 1
        return self.segmented[cache_key]


def select_features(frame: gpd.GeoDataFrame, level: str, key: str) -> gpd.GeoDataFrame:
    """Return the rows of a feature frame in a class (or a kind of it), a function, or of a name."""
    if level == "class":
        members = class_members(key)
        mask = frame["cls"].isin(members)
        if key == "building":
            mask |= frame["kind"] == "building"
        return frame[mask.to_numpy()]
    if level == "function":
        return frame[(frame["function"] == key).to_numpy()]
    target = normalize(key)
    names = frame["name"].fillna("")
    exact = names.map(lambda n: normalize(str(n)) == target).to_numpy(dtype=bool)
    if exact.any():
        return frame[exact]
    scores = names.map(lambda n: name_score(key, str(n)) if n else 0.0).to_numpy(dtype=float)
    return frame[scores >= NAME_MATCH_THRESHOLD]


def feature_frame(vectors: gpd.GeoDataFrame, source: str) -> tuple[gpd.GeoDataFrame, CRS]:
    """Return a vector frame (`tools.vectors.VECTOR_COLUMNS`) as chat features in its metric CRS."""
    crs = metric_crs(vectors)
    metric = to_metric(vectors, crs)
    valid = metric.geometry.notna() & ~metric.geometry.is_empty
    metric = metric[valid.to_numpy()]
    fids = [str(o) if isinstance(o, str) and o else f"{source}/{i}" for i, o in zip(metric.index, metric["osm_id"],
                                                                                  strict=True)]  # fmt: skip
    out = gpd.GeoDataFrame(
        {
            "fid": fids,
            "name": metric["name"].to_numpy(),
            "cls": metric["cls"].to_numpy(),
            "function": metric["function"].to_numpy(),
            "kind": metric["kind"].to_numpy(),
            "osm_id": metric["osm_id"].to_numpy(),
            "source": source,
        },
        geometry=gpd.GeoSeries(metric.geometry.to_numpy(), crs=crs),
    )
    out.index = pd.Index(out["fid"], name=None)
    return out[~out.index.duplicated()], crs


def _read(path: Path) -> gpd.GeoDataFrame:
    from tools.vectors import read_vectors

    return read_vectors(path)


def load_vectors(path: str | Path, backend: BackendConfig | None = None) -> ChatData:
    """Load an OSM extract, GeoJSON or GeoPackage for questions.

    Raises:
        InputError: the file is missing, unreadable, has no CRS or holds no feature.
    """
    p = Path(path)
    vectors = _read(p)
    if vectors.empty:
        raise InputError(f"vector file {p} holds no feature to ask about; give an extract of an inhabited area")
    source = "osm" if vectors["osm_id"].notna().any() else "vectors"
    frame, crs = feature_frame(vectors, source)
    return ChatData("vectors", {"vectors": str(p)}, crs, frame, backend=backend or BackendConfig(), vectors=vectors)


def load_scene_folder(path: str | Path, backend: BackendConfig | None = None) -> ChatData:
    """Load a scene folder (``sat.tif``/``sat.png`` + ``map.png`` + ``layers.geojson``) for segmented questions.

    Raises:
        InputError: the folder or its images are missing or unreadable, or the scene has no georeferencing.
    """
    from tools.scene import load_scene_dir

    scene = load_scene_dir(path)
    return _scene_data("scene", scene, {"scene": str(path)}, None, backend)


def load_raster(raster: str | Path, vectors: str | Path, backend: BackendConfig | None = None) -> ChatData:
    """Load a GeoTIFF and vector layers: the map is rendered from the layers, entity sets are segmented.

    Raises:
        InputError: a file is missing or unreadable, the raster is larger than `MAX_RASTER_SIDE` a side or has no
            CRS, or the layers have none.
    """
    from tools.map_from_vectors import render_window_map
    from tools.raster_stretch import compute_stretch
    from tools.raster_window import RasterReader
    from tools.vector_window import layers_for_window

    rp = Path(raster)
    if not rp.is_file():
        raise InputError(f"raster file not found: {rp}; check the path")
    with RasterReader(rp) as reader:
        info = reader.info
        if max(info.width, info.height) > MAX_RASTER_SIDE:
            raise InputError(
                f"raster {rp} is {info.width}x{info.height} px; questions read it whole, at most {MAX_RASTER_SIDE} "
                "px a side: crop it (gdal_translate -srcwin ...) to the area asked about"
            )
        georef = info.georef()
        if georef is None:
            raise InputError(f"raster {rp} has no CRS or transform; give a georeferenced GeoTIFF")
        rgb, _ = reader.read(reader.full_window(), compute_stretch(reader))
    vec = _read(Path(vectors))
    hw = rgb.shape[:2]
    layers = layers_for_window(vec, georef.transform, georef.crs, hw)
    map_img = render_window_map(vec, georef.transform, georef.crs, hw, layers=layers)
    scene = Scene(scene_id=rp.stem, sat=rgb, map=map_img, layers=layers, georef=georef,
                  meta={"sat_path": str(rp), "layers_path": str(vectors)})  # fmt: skip
    return _scene_data("raster", scene, {"raster": str(rp), "vectors": str(vectors)}, vec, backend)


def _scene_data(
    kind: DataKind,
    scene: Scene,
    source: dict[str, str],
    vectors: gpd.GeoDataFrame | None,
    backend: BackendConfig | None,
) -> ChatData:
    if scene.georef is None:
        raise InputError(f"scene {source} has no georeferencing, so distances cannot be measured; give a GeoTIFF "
                         "satellite image or a georef.json beside it")  # fmt: skip
    from shapely.geometry import box

    from tools.coords import geometry_to_crs

    h, w = scene.hw
    outline = gpd.GeoDataFrame(geometry=[geometry_to_crs(box(0, 0, w, h), scene.georef)], crs=scene.georef.crs)
    crs = metric_crs(outline)
    if vectors is None:
        rows = [{"name": f.name, "cls": f.cls, "function": f.function, "kind": f.kind, "osm_id": None}
                for f in scene.layers]  # fmt: skip
        geoms = [geometry_to_crs(f.geometry, scene.georef) for f in scene.layers]
        vectors = gpd.GeoDataFrame(rows, geometry=geoms, crs=scene.georef.crs) if rows else None
    if vectors is not None and not vectors.empty:
        frame, _ = feature_frame(to_metric(vectors, crs), "layers")
    else:
        frame = gpd.GeoDataFrame({c: [] for c in FEATURE_COLUMNS if c != "geometry"}, geometry=[], crs=crs)
    return ChatData(
        kind,
        source,
        crs,
        frame,
        scene=scene,
        backend=backend or BackendConfig(),
        vectors=vectors if kind == "raster" else None,
    )


def load_data(data: str | Path | ChatData, backend: BackendConfig | None = None) -> ChatData:
    """Load what a question is asked about: a `ChatData` as is, a scene folder, or a vector file.

    Raises:
        InputError: the path does not exist or is not readable data (the message names the fix).
    """
    if isinstance(data, ChatData):
        return data
    p = Path(data)
    if p.is_dir():
        return load_scene_folder(p, backend)
    if not p.exists():
        raise InputError(f"data not found: {p}; give an .osm.pbf, GeoJSON or GeoPackage file, or a scene folder")
    return load_vectors(p, backend)


def class_label(key: str | None) -> str | None:
    """Return a class key's label, for answers."""
    return CLASSES[key].label if key in CLASSES else None
