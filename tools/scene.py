"""A scene: a satellite image, the digital map of the same window, optional vector layers and georeferencing.

Scenes are loaded from files (`load_scene`, `load_scene_dir`) and kept in a `tools.scene_store.SceneStore`;
graph state only ever holds their ids.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError
from shapely.geometry import box as shapely_box
from shapely.geometry.base import BaseGeometry

from tools.coords import GeoRef, geometry_to_crs, geometry_to_pixels
from tools.errors import InputError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp"}
GEOTIFF_SUFFIXES = {".tif", ".tiff"}
LAYER_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".fgb"}


@dataclass
class LayerFeature:
    """One vector feature of a scene, with its geometry in image pixels.

    Attributes:
        id: stable id within the scene.
        kind: ``poi``, ``landuse``, ``road``, ``building`` or ``other``.
        geometry: shapely geometry in image-pixel coordinates.
        name: proper name, if any.
        cls: socio-class key (`tools.taxonomy.CLASSES`), if known.
        function: socio-function key, if known.
        props: every other attribute of the source feature.
    """

    id: str
    kind: str
    geometry: BaseGeometry
    name: str | None = None
    cls: str | None = None
    function: str | None = None
    props: dict[str, Any] = field(default_factory=dict)


@dataclass
class Scene:
    """A satellite image and its map, the same size, plus what is known about the window.

    Attributes:
        scene_id: unique id in the scene store.
        sat: (H, W, 3) uint8 RGB satellite image.
        map: (H, W, 3) uint8 RGB digital map image of the same window.
        layers: vector features in image pixels (may be empty).
        georef: pixel -> CRS georeferencing, when the scene has one.
        truth: (H, W) bool ground-truth mask; only evaluation code sets it (the oracle baseline reads it).
        meta: free-form provenance (source paths, dataset fields).
    """

    scene_id: str
    sat: np.ndarray
    map: np.ndarray
    layers: list[LayerFeature] = field(default_factory=list)
    georef: GeoRef | None = None
    truth: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("sat", "map"):
            a = getattr(self, name)
            if a.ndim != 3 or a.shape[2] != 3 or a.dtype != np.uint8:
                raise InputError(
                    f"scene {self.scene_id!r}: {name} must be an (H, W, 3) uint8 RGB array, got "
                    f"{a.dtype}{tuple(a.shape)}"
                )
        if self.sat.shape != self.map.shape:
            raise InputError(
                f"scene {self.scene_id!r}: the satellite image is {self.sat.shape[1]}x{self.sat.shape[0]} "
                f"but the map is "
                f"{self.map.shape[1]}x{self.map.shape[0]}; render or crop the map to the same window and size"
            )

    @property
    def hw(self) -> tuple[int, int]:
        """(height, width) of the scene in pixels."""
        return int(self.sat.shape[0]), int(self.sat.shape[1])


MAX_SCENE_PIXELS = 25_000_000
"""The largest image (about 5000 x 5000) the single-scene path reads whole; larger rasters go window by window."""


def _check_scene_size(p: Path, what: str, width: int, height: int) -> None:
    if width * height > MAX_SCENE_PIXELS:
        raise InputError(
            f"{what} {p} is {width}x{height} pixels ({width * height / 1e6:.0f} Mpx), over the single-scene limit of "
            f"{MAX_SCENE_PIXELS / 1e6:.0f} Mpx; search it window by window instead: socio segment --raster {p} "
            "--vectors LAYERS --query ... --out DIR"
        )


def read_image(path: str | Path, what: str = "image") -> tuple[np.ndarray, GeoRef | None]:
    """Read an RGB image (PNG, JPEG, GeoTIFF) as (H, W, 3) uint8, with its georeferencing if it has one.

    GeoTIFFs are read by `tools.raster_window.RasterReader` (its band choice, nodata painted black) and
    stretched to 8 bits by `tools.raster_stretch` (8-bit data as is; other data types per band, 2nd to 98th
    percentile of a sample of windows). Other images are converted to RGB by PIL.

    Raises:
        InputError: the file is missing, is not a readable image, or is larger than `MAX_SCENE_PIXELS`.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{what} file not found: {p}; check the path")
    if p.suffix.lower() in GEOTIFF_SUFFIXES:
        return _read_geotiff(p, what)
    try:
        with warnings.catch_warnings():  # our own size check below says what to do instead
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(p)
        with im:
            _check_scene_size(p, what, *im.size)
            arr = np.asarray(im.convert("RGB"))
    except Image.DecompressionBombError as e:
        raise InputError(
            f"{what} {p} is too large to read as one scene ({e}); search it window by window instead: "
            f"socio segment --raster {p} --vectors LAYERS --query ... --out DIR (as a GeoTIFF)"
        ) from e
    except (UnidentifiedImageError, OSError) as e:
        raise InputError(f"{what} file {p} is not a readable image ({e}); give a PNG, JPEG or GeoTIFF") from e
    return np.ascontiguousarray(arr), None


def _read_geotiff(p: Path, what: str) -> tuple[np.ndarray, GeoRef | None]:
    from tools.raster_stretch import compute_stretch
    from tools.raster_window import RasterReader

    with RasterReader(p) as reader:
        _check_scene_size(p, what, reader.info.width, reader.info.height)
        rgb, _valid = reader.read(reader.full_window(), compute_stretch(reader))
        return rgb, reader.info.georef()


def layer_feature(index: int, row: dict[str, Any], geometry: BaseGeometry) -> LayerFeature:
    """Return a vector-frame row (`tools.vectors.VECTOR_COLUMNS`) as a layer feature with the given geometry.

    The id is the row's ``id`` attribute, else its OSM id, else its index; the other tags become ``props``.
    """
    props = dict(row["tags"])
    fid = props.pop("id", None)
    fid = fid if fid is not None else (row["osm_id"] or index)
    return LayerFeature(id=str(fid), kind=str(row["kind"]), geometry=geometry, name=row["name"], cls=row["cls"],
                        function=row["function"], props=props)  # fmt: skip


LONLAT_SPAN = 2.0
"""A geographic layer file whose features span less than this (in both axes, two or more distinct corners) is
lon/lat, never pixels: no pixel-coordinate layer set fits in a 2-pixel box, while a city spans a fraction of a
degree. So is one whose extreme coordinates carry more than 2 decimals (pixel layers are whole, half or quarter
pixels; lon/lat of real places have 4 or more)."""


def _looks_lonlat(gdf: Any) -> bool:
    """Return True when a layer file without a projected CRS holds lon/lat (see `LONLAT_SPAN`)."""
    if gdf.crs is not None and not gdf.crs.is_geographic:
        return False
    x0, y0, x1, y1 = (float(v) for v in gdf.total_bounds)
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        return False
    small = (x1 > x0 or y1 > y0) and max(x1 - x0, y1 - y0) < LONLAT_SPAN
    fine = any(abs(v * 100 - round(v * 100)) > 1e-6 for v in (x0, y0, x1, y1))
    return small or fine


def _bounds_text(bounds: Any, crs: str) -> str:
    x0, y0, x1, y1 = (float(v) for v in bounds)
    nd = 5 if max(abs(x0), abs(x1), abs(y0), abs(y1)) <= 360 else 0
    return f"x {x0:.{nd}f}..{x1:.{nd}f}, y {y0:.{nd}f}..{y1:.{nd}f} ({crs})"


def read_layers(path: str | Path, georef: GeoRef | None, hw: tuple[int, int] | None = None) -> list[LayerFeature]:
    """Read vector layers (GeoJSON, GeoPackage, ...) and convert them to image pixels.

    With georeferencing, features are reprojected to the scene CRS and then to pixels; without it, their
    coordinates are taken to be image pixels already. The file is read by `tools.vectors` (an OSM extract, or a
    file whose ``name``, ``class``, ``function`` and ``kind`` columns are used when present; otherwise the class
    comes from OSM tags).

    Args:
        path: the vector file.
        georef: the scene's georeferencing, if any.
        hw: the scene's (height, width); used to catch map coordinates read as pixels.

    Raises:
        InputError: the file is missing or unreadable; the scene is georeferenced and no feature overlaps it
            (the message gives both extents); or the scene has no georeferencing while the layers are in a
            projected CRS, are lon/lat (`LONLAT_SPAN`; GeoJSON without a CRS counts as lon/lat), or have no
            feature inside the image when read as pixels.
    """
    from tools.osm_read import read_osm  # geopandas and osmium load on first use, not with every scene
    from tools.vectors import frame_from_file, is_osm_file, read_vector_file

    p = Path(path)
    gdf = read_osm(p) if is_osm_file(p) else read_vector_file(p)
    if georef is not None and gdf.crs is not None:
        layer_bounds = _bounds_text(gdf.total_bounds, gdf.crs.to_string())
        gdf = gdf.to_crs(georef.crs)
        if hw is not None and len(gdf):
            footprint = geometry_to_crs(shapely_box(0, 0, hw[1], hw[0]), georef)
            if not gdf.intersects(footprint).any():
                raise InputError(
                    f"none of the {len(gdf)} features of {p} overlaps the satellite image: the layers cover "
                    f"{layer_bounds}, the image {_bounds_text(footprint.bounds, georef.crs)}; give the layers of "
                    "this image's area (or the image of the layers' area)"
                )
    elif georef is None and gdf.crs is not None and not gdf.crs.equals("EPSG:4326") and gdf.crs.is_projected:
        raise InputError(
            f"layers file {p} has CRS {gdf.crs.to_string()} but the satellite image has no "
            "georeferencing; give a GeoTIFF satellite image or layers in pixel coordinates"
        )
    elif georef is None and len(gdf) and _looks_lonlat(gdf):
        raise InputError(
            f"layers file {p} is in lon/lat (its features span {_bounds_text(gdf.total_bounds, 'EPSG:4326')}) but "
            "the satellite image has no georeferencing, so they cannot be placed on it; give a GeoTIFF satellite "
            "image (or a PNG with a georef.json), or layers in the image's pixel coordinates"
        )
    if georef is None and hw is not None and len(gdf) and not gdf.intersects(shapely_box(0, 0, hw[1], hw[0])).any():
        x0, y0, x1, y1 = (round(float(v), 4) for v in gdf.total_bounds)
        raise InputError(
            f"none of the {len(gdf)} features of {p} lies inside the {hw[1]}x{hw[0]} image when read as pixel "
            f"coordinates (their bounds are {x0}, {y0}, {x1}, {y1}: map coordinates?); give a georeferenced GeoTIFF "
            "satellite image, or layers in pixel coordinates"
        )
    frame = gdf if is_osm_file(p) else frame_from_file(gdf)
    features: list[LayerFeature] = []
    for i, row in enumerate(frame.drop(columns="geometry").to_dict("records")):
        geom = frame.geometry.iloc[i]
        if geom is None or geom.is_empty:
            continue
        features.append(layer_feature(i, row, geometry_to_pixels(geom, georef) if georef is not None else geom))
    return features


def load_scene(
    sat: str | Path,
    map: str | Path,
    layers: str | Path | None = None,
    scene_id: str | None = None,
) -> Scene:
    """Load a scene from a satellite image, a map image of the same size and optional vector layers.

    Raises:
        InputError: a file is missing or unreadable, or the two images differ in size.
    """
    sat_arr, georef = read_image(sat, "satellite image")
    map_arr, _ = read_image(map, "map image")
    if sat_arr.shape != map_arr.shape:
        raise InputError(
            f"size mismatch: the satellite image {sat} is {sat_arr.shape[1]}x{sat_arr.shape[0]} but the map image "
            f"{map} is {map_arr.shape[1]}x{map_arr.shape[0]}; give a map of the same window at the same size"
        )
    feats = read_layers(layers, georef, sat_arr.shape[:2]) if layers is not None else []
    sid = scene_id or Path(sat).resolve().parent.name + "/" + Path(sat).stem
    meta = {"sat_path": str(sat), "map_path": str(map), "layers_path": str(layers) if layers else None}
    return Scene(scene_id=sid, sat=sat_arr, map=map_arr, layers=feats, georef=georef, meta=meta)


def load_scene_dir(root: str | Path, scene_id: str | None = None) -> Scene:
    """Load a scene folder: ``sat.tif`` or ``sat.png``, ``map.png``, and ``layers.geojson`` if present.

    The satellite image is the first of ``sat.tif``, ``sat.tiff``, ``sat.png``, ``sat.jpg`` that exists. A
    ``georef.json`` (``{"crs": ..., "transform": [a, b, c, d, e, f]}``) georeferences a PNG satellite image.

    Raises:
        InputError: the folder, its satellite image or ``map.png`` is missing, or a file is unreadable (the
            message names the file).
    """
    d = Path(root)
    if not d.is_dir():
        raise InputError(f"scene folder not found: {d}")
    names = ("sat.tif", "sat.tiff", "sat.png", "sat.jpg")
    sat = next((d / n for n in names if (d / n).is_file()), None)
    if sat is None:
        raise InputError(f"scene folder {d} has no satellite image: {d / 'sat.png'} is missing (or {', '.join(names)})")
    if not (d / "map.png").is_file():
        raise InputError(f"scene folder {d} has no map image: {d / 'map.png'} is missing")
    layers = next((d / n for n in ("layers.geojson", "layers.gpkg") if (d / n).is_file()), None)
    scene = load_scene(sat, d / "map.png", None, scene_id or d.name)
    georef_file = d / "georef.json"
    if scene.georef is None and georef_file.is_file():
        scene.georef = read_georef_json(georef_file)
    if layers is not None:
        scene.layers = read_layers(layers, scene.georef, scene.hw)
        scene.meta["layers_path"] = str(layers)
    return scene


def read_georef_json(path: str | Path) -> GeoRef:
    """Read ``{"crs": "EPSG:...", "transform": [a, b, c, d, e, f]}`` (rasterio Affine order)."""
    from affine import Affine

    try:
        doc = json.loads(Path(path).read_text())
        return GeoRef(crs=str(doc["crs"]), transform=Affine(*doc["transform"][:6]))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InputError(
            f"georeferencing file {path} is not valid ({e}); expected "
            '{"crs": "EPSG:32633", "transform": [a, b, c, d, e, f]}'
        ) from e
