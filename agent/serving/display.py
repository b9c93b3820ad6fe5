"""What the browser's map shows of a scene: image layers and their bounds, and answer features in map coordinates.

Two views:

- ``lonlat``: a georeferenced scene. Its images are reprojected (rasterio's warp) to Web Mercator, the CRS a
  Leaflet map draws in, so that the image is an axis-aligned overlay whose corners are exact lon/lat; features
  are RFC 7946 GeoJSON in EPSG:4326.
- ``pixels``: a scene without georeferencing (a SocioSeg tile, a SynthCity PNG). Images are shown as they are in
  image pixels (Leaflet's ``CRS.Simple``) and features are GeoJSON in image pixels (x right, y down).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from tools.coords import GeoRef
from tools.files import png_bytes

View = Literal["lonlat", "pixels"]

WEB_MERCATOR = "EPSG:3857"


@dataclass(frozen=True)
class ImageLayer:
    """One image as the map shows it.

    Attributes:
        png: the PNG bytes (RGBA where the warp left pixels outside the scene).
        bounds: (minx, miny, maxx, maxy): lon/lat degrees for ``lonlat``, image pixels for ``pixels``.
    """

    png: bytes
    bounds: tuple[float, float, float, float]


def view_of(georef: GeoRef | None) -> View:
    """Return how a scene is shown: ``lonlat`` when it is georeferenced, else ``pixels``."""
    return "lonlat" if georef is not None else "pixels"


MAX_LAYER_SIDE = 2048
"""Images larger than this a side are shown downsampled (a raster's footprint)."""


def image_layer(image: np.ndarray, georef: GeoRef | None, max_side: int = MAX_LAYER_SIDE) -> ImageLayer:
    """Return an (H, W, 3) uint8 image as the map layer of its view (see the module docstring).

    An image over ``max_side`` pixels a side is shown downsampled; its bounds stay those of the whole image.
    """
    from affine import Affine

    from tools.images import resize_rgb

    h, w = image.shape[:2]
    scale = max(h, w) / max_side
    if scale > 1:
        image = resize_rgb(image, (max(1, round(h / scale)), max(1, round(w / scale))))
        if georef is not None:
            sy, sx = h / image.shape[0], w / image.shape[1]
            georef = GeoRef(crs=georef.crs, transform=georef.transform * Affine.scale(sx, sy), ground_m=georef.ground_m)
    if georef is None:
        return ImageLayer(png_bytes(image), (0.0, 0.0, float(w), float(h)))
    return _warped_layer(image, georef)


def _warped_layer(image: np.ndarray, georef: GeoRef) -> ImageLayer:
    """Reproject to Web Mercator (bilinear), transparent outside the scene; bounds in lon/lat."""
    from pyproj import Transformer
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    h, w = image.shape[:2]
    t = georef.transform
    xs = [t.c, t.c + t.a * w + t.b * h, t.c + t.a * w, t.c + t.b * h]
    ys = [t.f, t.f + t.d * w + t.e * h, t.f + t.d * w, t.f + t.e * h]
    dst_t, dw, dh = calculate_default_transform(georef.crs, WEB_MERCATOR, w, h, min(xs), min(ys), max(xs), max(ys),
                                                dst_width=w, dst_height=h)  # fmt: skip
    src = np.concatenate([image, np.full((h, w, 1), 255, np.uint8)], axis=2).transpose(2, 0, 1)
    dst = np.zeros((4, dh, dw), np.uint8)
    reproject(src, dst, src_transform=t, src_crs=georef.crs, dst_transform=dst_t, dst_crs=WEB_MERCATOR,
              resampling=Resampling.bilinear, src_nodata=None, dst_nodata=0)  # fmt: skip
    to_lonlat = Transformer.from_crs(WEB_MERCATOR, "EPSG:4326", always_xy=True)
    west, north = to_lonlat.transform(dst_t.c, dst_t.f)
    east, south = to_lonlat.transform(dst_t.c + dst_t.a * dw, dst_t.f + dst_t.e * dh)
    return ImageLayer(png_bytes(np.ascontiguousarray(dst.transpose(1, 2, 0))), (west, south, east, north))


def feature_collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    """Return a GeoJSON FeatureCollection of the given features."""
    return {"type": "FeatureCollection", "features": features}
