"""A mask GeoTIFF for a raster of any size: tiled, compressed, rasterised from polygons block by block.

The mask lies on the source raster's own pixel grid (same size, CRS and transform), so it overlays the input
exactly. Only one row of blocks is held in memory; the file is written under a temporary name and renamed
into place, so a reader never sees half a mask.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import shapely
from affine import Affine
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

MASK_BLOCK = 512
"""Tile side of the mask GeoTIFF, in pixels."""


def write_mask_geotiff(
    path: str | Path,
    hw: tuple[int, int],
    transform: Affine,
    crs: str | None,
    polygons: Sequence[BaseGeometry],
    values: Sequence[int] | None = None,
    block: int = MASK_BLOCK,
) -> Path:
    """Rasterise polygons (in the raster CRS) into a tiled, deflate-compressed GeoTIFF, block row by block row.

    Args:
        path: the output file.
        hw: the raster's (height, width).
        transform: the raster's pixel-corner -> CRS transform.
        crs: the raster's CRS.
        polygons: instance geometries in the raster CRS.
        values: the value burnt per polygon (default 255 for every one); 0 is background.
        block: tile side in pixels (a multiple of 16).

    Returns:
        The path written.
    """
    import rasterio
    from rasterio.features import rasterize
    from rasterio.windows import Window

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp")
    h, w = hw
    vals = list(values) if values is not None else [255] * len(polygons)
    dtype = "uint8" if max(vals, default=0) <= 255 else "uint32"
    geoms = list(polygons)
    tree = shapely.STRtree(geoms) if geoms else None
    profile = {"driver": "GTiff", "height": h, "width": w, "count": 1, "dtype": dtype, "tiled": True,
               "blockxsize": block, "blockysize": block, "compress": "deflate", "zlevel": 6, "predictor": 2,
               "transform": transform, "BIGTIFF": "IF_SAFER"}  # fmt: skip
    if crs:
        profile["crs"] = crs
    try:
        with rasterio.open(tmp, "w", **profile) as dst:
            for r0 in range(0, h, block):
                bh = min(block, h - r0)
                out = np.zeros((bh, w), dtype)
                if tree is not None:
                    corners = [
                        transform @ (0, r0),
                        transform @ (w, r0),
                        transform @ (w, r0 + bh),
                        transform @ (0, r0 + bh),
                    ]
                    xs, ys = zip(*corners, strict=True)
                    hits = tree.query(box(min(xs), min(ys), max(xs), max(ys)), predicate="intersects")
                    shapes = [(geoms[i], vals[i]) for i in sorted(hits.tolist())]
                    if shapes:
                        out = rasterize(shapes, out_shape=(bh, w), transform=transform @ Affine.translation(0, r0),
                                        fill=0, dtype=dtype)  # fmt: skip
                dst.write(out, 1, window=Window(0, r0, w, bh))
        os.replace(tmp, p)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return p
