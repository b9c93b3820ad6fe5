"""The stretch from a raster's values to 8-bit display values, computed from a sample of windows.

Modes:

- ``none``: values are taken as 8-bit already and clipped to [0, 255] (8-bit RGB imagery; the ``auto`` choice
  for uint8 rasters, so an 8-bit GeoTIFF reads exactly as its pixels).
- ``percentile``: per band, the ``percentiles`` (default 2nd and 98th) of the valid pixels map to 0 and 255,
  linearly, clipped (QGIS's default "cumulative count cut"). The ``auto`` choice for every other data type
  (uint16, int16, float). The values come from ``SAMPLE_GRID`` x ``SAMPLE_GRID`` windows of ``SAMPLE_SIDE``
  pixels spread evenly over the raster (or a region of it), never from the whole raster; nodata, masked and
  non-finite pixels never count.

Invalid pixels are painted 0 (black) after the stretch.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tools.errors import InputError

if TYPE_CHECKING:
    from tools.raster_window import PixelWindow, RasterReader

StretchMode = Literal["auto", "none", "percentile"]

SAMPLE_GRID = 6
"""The percentile stretch samples a SAMPLE_GRID x SAMPLE_GRID grid of windows."""
SAMPLE_SIDE = 256
"""Side of each sampled window, in source pixels."""
DENSE_GRID = 16
"""When the sample holds no valid pixel (a scene mostly nodata), a denser grid is tried once."""


class Stretch(BaseModel):
    """How band values map to 0..255, per R, G, B band."""

    model_config = ConfigDict(frozen=True)

    mode: Literal["none", "percentile"]
    lo: tuple[float, float, float] = (0.0, 0.0, 0.0)
    hi: tuple[float, float, float] = (255.0, 255.0, 255.0)
    percentiles: tuple[float, float] = (2.0, 98.0)
    sampled_windows: int = Field(0, description="windows the values were sampled from")
    sampled_pixels: int = Field(0, description="valid pixels in the sample")

    def describe(self) -> str:
        """Return a one-line description, e.g. ``percentile 2-98 from 36 windows: R 102-1840, ...``."""
        if self.mode == "none":
            return "none (values taken as 8-bit)"
        ranges = ", ".join(f"{c} {lo:.6g}-{hi:.6g}" for c, lo, hi in zip("RGB", self.lo, self.hi, strict=True))
        p0, p1 = self.percentiles
        return f"percentile {p0:g}-{p1:g} from {self.sampled_windows} windows ({self.sampled_pixels} px): {ranges}"


def sample_windows(
    hw: tuple[int, int], region: tuple[int, int, int, int] | None = None, grid: int = SAMPLE_GRID
) -> list[PixelWindow]:
    """Return ``grid`` x ``grid`` windows of `SAMPLE_SIDE` px centred in the cells of a grid over the raster.

    Args:
        hw: the raster's (height, width).
        region: (x0, y0, x1, y1) source pixels to sample within (default: the whole raster).
        grid: cells per side.
    """
    from tools.raster_window import PixelWindow

    h, w = hw
    x0, y0, x1, y1 = region or (0, 0, w, h)
    side_x, side_y = min(SAMPLE_SIDE, x1 - x0), min(SAMPLE_SIDE, y1 - y0)
    n_x = max(1, min(grid, (x1 - x0) // max(side_x, 1)))
    n_y = max(1, min(grid, (y1 - y0) // max(side_y, 1)))
    out = []
    for j in range(n_y):
        for i in range(n_x):
            cx = x0 + (i + 0.5) * (x1 - x0) / n_x
            cy = y0 + (j + 0.5) * (y1 - y0) / n_y
            c0 = int(min(max(x0, round(cx - side_x / 2)), x1 - side_x))
            r0 = int(min(max(y0, round(cy - side_y / 2)), y1 - side_y))
            out.append(PixelWindow(col_off=c0, row_off=r0, width=side_x, height=side_y, out_width=side_x,
                                   out_height=side_y))  # fmt: skip
    return out


def compute_stretch(
    reader: RasterReader,
    mode: StretchMode = "auto",
    percentiles: tuple[float, float] = (2.0, 98.0),
    region: tuple[int, int, int, int] | None = None,
) -> Stretch:
    """Compute a raster's stretch (see the module docstring) from a sample of its windows.

    Raises:
        InputError: bad percentiles, or no valid pixel in the sample (the raster is all nodata there).
    """
    if mode == "auto":
        mode = "none" if reader.info.dtype == "uint8" else "percentile"
    if mode == "none":
        return Stretch(mode="none")
    p0, p1 = percentiles
    if not 0 <= p0 < p1 <= 100:
        raise InputError(f"stretch percentiles must satisfy 0 <= low < high <= 100, got {p0}, {p1}")
    for grid in (SAMPLE_GRID, DENSE_GRID):
        windows = sample_windows(reader.info.hw, region, grid)
        values: list[list[np.ndarray]] = [[], [], []]
        for win in windows:
            bands, valid = reader.read_bands(win)
            for k in range(3):
                values[k].append(bands[k][valid])
        counts = sum(v.size for v in values[0])
        if counts:
            break
    else:
        raise InputError(
            f"raster {reader.path} has no valid pixel in {len(windows)} sampled windows (all nodata, masked or NaN); "
            "check its nodata value (gdalinfo) or give --bbox over the imaged area"
        )
    lo, hi = [], []
    for k in range(3):
        v = np.concatenate(values[k]).astype(np.float64)
        a, b = (float(x) for x in np.percentile(v, [p0, p1]))
        if not (math.isfinite(a) and math.isfinite(b)):
            a, b = 0.0, 1.0
        lo.append(a)
        hi.append(b if b > a else a + 1.0)
    return Stretch(mode="percentile", lo=tuple(lo), hi=tuple(hi), percentiles=(p0, p1),  # type: ignore[arg-type]
                   sampled_windows=len(windows), sampled_pixels=int(counts))  # fmt: skip


def apply_stretch(bands: np.ndarray, valid: np.ndarray, stretch: Stretch) -> np.ndarray:
    """Map (3, H, W) band values to an (H, W, 3) uint8 RGB image; invalid pixels become 0.

    >>> import numpy as np
    >>> b = np.array([[[100, 1100]], [[100, 1100]], [[0, 0]]], np.uint16)
    >>> s = Stretch(mode="percentile", lo=(100, 100, 0), hi=(1100, 1100, 1))
    >>> apply_stretch(b, np.array([[True, False]]), s)[0].tolist()
    [[0, 0, 0], [0, 0, 0]]
    >>> apply_stretch(b, np.array([[True, True]]), s)[0].tolist()
    [[0, 0, 0], [255, 255, 0]]
    """
    if stretch.mode == "none" and bands.dtype == np.uint8:
        out = np.ascontiguousarray(np.moveaxis(bands, 0, -1))
    else:
        out = np.empty((*bands.shape[1:], 3), np.uint8)
        for k in range(3):
            band = bands[k].astype(np.float32)
            if stretch.mode == "percentile":
                lo, hi = stretch.lo[k], stretch.hi[k]
                band -= np.float32(lo)
                band *= np.float32(255.0 / (hi - lo))
            np.nan_to_num(band, copy=False, nan=0.0, posinf=255.0, neginf=0.0)
            out[..., k] = np.clip(band, 0, 255, out=band)
    if not valid.all():
        out[~valid] = 0
    return out
