"""Raster output that keeps georeferencing: RGB GeoTIFFs, in memory or written atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tools.coords import GeoRef
from tools.files import atomic_write_bytes


def geotiff_bytes(image: np.ndarray, georef: GeoRef | None) -> bytes:
    """Encode an (H, W, 3) or (H, W) uint8 array as a deflate GeoTIFF with the scene's CRS and transform.

    The bytes are deterministic for the same array and georeferencing.
    """
    from rasterio.io import MemoryFile

    arr = image[..., None] if image.ndim == 2 else image
    profile = {"driver": "GTiff", "height": arr.shape[0], "width": arr.shape[1], "count": arr.shape[2],
               "dtype": arr.dtype.name, "compress": "deflate", "zlevel": 1, "predictor": 2,
               "interleave": "pixel"}  # fmt: skip
    if arr.shape[2] == 3:
        profile["photometric"] = "RGB"
    if georef is not None:
        profile.update(crs=georef.crs, transform=georef.transform)
    with MemoryFile() as mem:
        with mem.open(**profile) as dst:
            dst.write(np.moveaxis(arr, -1, 0))
        return bytes(mem.read())


def write_geotiff(path: str | Path, image: np.ndarray, georef: GeoRef | None) -> Path:
    """Write an image as a GeoTIFF (see `geotiff_bytes`) through an atomic rename."""
    return atomic_write_bytes(path, geotiff_bytes(image, georef))
