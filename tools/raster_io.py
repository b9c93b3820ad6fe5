"""Raster output that keeps georeferencing: RGB GeoTIFFs written atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from tools.coords import GeoRef


def write_geotiff(path: str | Path, image: np.ndarray, georef: GeoRef | None, compress: str = "deflate") -> Path:
    """Write an (H, W, 3) or (H, W) uint8 array as a GeoTIFF with the scene's CRS and transform.

    The file is written under a temporary name in the same folder and renamed into place.
    """
    import rasterio

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    arr = image[..., None] if image.ndim == 2 else image
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tif")
    os.close(fd)
    profile = {"driver": "GTiff", "height": arr.shape[0], "width": arr.shape[1], "count": arr.shape[2],
               "dtype": arr.dtype.name, "compress": compress}  # fmt: skip
    if georef is not None:
        profile.update(crs=georef.crs, transform=georef.transform)
    try:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(np.moveaxis(arr, -1, 0))
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p
