"""Rasters of any size, read window by window: GeoTIFF and COG, any dtype, RGB / RGBN / panchromatic, nodata, any CRS.

A `RasterReader` opens a raster through rasterio and never holds more than one window in memory. Each read
returns an (H, W, 3) uint8 RGB image for the policy and the segmenter, plus an (H, W) bool mask of valid
pixels (nodata, masked, alpha-transparent and non-finite pixels are invalid; they are painted black and are
never stretched with the data).

Bands (`choose_bands`): one band is panchromatic (shown as grey); three or more are read as the bands the
file tags red, green and blue (colour interpretation or band descriptions), else as bands 1, 2, 3. A file that
stores B, G, R, NIR (most 4-band products) needs ``bands=(3, 2, 1)``: the tags rarely say so.

GDAL's block cache is capped (`BLOCK_CACHE_MB`), so memory stays flat however large the raster. The stretch
to 8 bits (`tools.raster_stretch`) is computed once from a sample of windows, never from the whole
raster. Ground resolution (`ground_resolution`) is measured in metres along the ground at the raster's
centre, whatever the CRS (UTM metres, EPSG:3857's inflated metres, EPSG:4326 degrees), so windows can be
resampled to the ground size a policy expects (SocioSeg tiles: 768 px at about 0.6 m).
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine
from pydantic import BaseModel, ConfigDict, Field

from tools.coords import GeoRef
from tools.errors import InputError
from tools.raster_stretch import Stretch, apply_stretch

BLOCK_CACHE_MB = 256
"""GDAL's block cache is capped at this many MB (its default is 5% of the machine's memory: 6 GB on 128 GB),
unless GDAL_CACHEMAX is set in the environment. Windows overlap only by a strip, so a few rows of blocks suffice."""

SUPPORTED_DTYPES = ("uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64")
"""Band data types the reader accepts (complex data is refused)."""


class PixelWindow(BaseModel):
    """A window of a raster: a rectangle of source pixels and the size it is read at.

    ``out_width`` x ``out_height`` differs from ``width`` x ``height`` when the window is resampled to a
    target ground resolution.
    """

    model_config = ConfigDict(frozen=True)

    col_off: int = Field(ge=0)
    row_off: int = Field(ge=0)
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    out_width: int = Field(gt=0)
    out_height: int = Field(gt=0)

    @property
    def out_hw(self) -> tuple[int, int]:
        """(height, width) of the window as read."""
        return self.out_height, self.out_width

    def bounds_px(self) -> tuple[int, int, int, int]:
        """Return the window as (x0, y0, x1, y1) in source pixels."""
        return self.col_off, self.row_off, self.col_off + self.width, self.row_off + self.height

    def transform(self, raster_transform: Affine) -> Affine:
        """Return the affine transform from the window's output pixels to the raster CRS."""
        sx, sy = self.width / self.out_width, self.height / self.out_height
        return raster_transform @ Affine.translation(self.col_off, self.row_off) @ Affine.scale(sx, sy)


class RasterInfo(BaseModel):
    """What is known about a raster before reading any pixel."""

    path: str
    width: int
    height: int
    count: int
    dtype: str
    crs: str | None = Field(None, description="the CRS as WKT or EPSG string; None for an image without one")
    transform: tuple[float, float, float, float, float, float]
    nodata: float | None = None
    bands: tuple[int, int, int] = Field(description="the 1-based bands read as R, G, B")
    band_reason: str = Field(description="why these bands: tags, default or the caller's choice")
    alpha: int | None = Field(None, description="1-based band that holds alpha, if any")
    ground_m: tuple[float, float] | None = Field(None, description="metres along the ground per pixel (x, y)")

    @property
    def affine(self) -> Affine:
        """The pixel-corner -> CRS transform."""
        return Affine(*self.transform)

    @property
    def hw(self) -> tuple[int, int]:
        """(height, width) in pixels."""
        return self.height, self.width

    def georef(self) -> GeoRef | None:
        """Return the raster's georeferencing, or None without a CRS."""
        return GeoRef(crs=self.crs, transform=self.affine) if self.crs else None


def parse_bands(text: str | None) -> tuple[int, ...] | None:
    """Parse a ``--bands`` value (``"3,2,1"``, ``"1"``) into 1-based band numbers.

    >>> parse_bands("3,2,1"), parse_bands(None)
    ((3, 2, 1), None)

    Raises:
        InputError: not one or three positive integers.
    """
    if text is None or not str(text).strip():
        return None
    try:
        bands = tuple(int(b) for b in str(text).replace(" ", "").split(","))
    except ValueError:
        bands = ()
    if len(bands) not in (1, 3) or any(b < 1 for b in bands):
        raise InputError(
            f"--bands {text!r}: give one band (panchromatic) or three (R,G,B), 1-based, e.g. --bands 3,2,1"
        )
    return bands


def choose_bands(
    src: Any, requested: tuple[int, ...] | None, path: str
) -> tuple[tuple[int, int, int], str, int | None]:
    """Pick the bands read as R, G, B, and the alpha band, of an open rasterio dataset.

    Returns:
        (bands, reason, alpha band or None).

    Raises:
        InputError: a requested band does not exist.
    """
    from rasterio.enums import ColorInterp

    interp = list(src.colorinterp)
    alpha = next((i + 1 for i, c in enumerate(interp) if c == ColorInterp.alpha), None)
    if requested is not None:
        bad = [b for b in requested if b > src.count]
        if bad:
            raise InputError(
                f"--bands {','.join(map(str, requested))}: {path} has {src.count} band(s), so band {bad[0]} does not "
                f"exist; choose bands between 1 and {src.count}"
            )
        chosen = requested * 3 if len(requested) == 1 else requested
        return (chosen[0], chosen[1], chosen[2]), "as requested (--bands)", alpha
    data_bands = [i + 1 for i in range(src.count) if i + 1 != alpha]
    if len(data_bands) < 3:
        b = data_bands[0] if data_bands else 1
        return (b, b, b), "one data band: panchromatic, shown as grey", alpha
    tagged = {}
    for want, colour in (("red", ColorInterp.red), ("green", ColorInterp.green), ("blue", ColorInterp.blue)):
        hit = next((i + 1 for i, c in enumerate(interp) if c == colour), None)
        if hit is None:  # band descriptions such as "Red", "B04 (red)"
            descs = [str(d or "").lower() for d in src.descriptions]
            hit = next((i + 1 for i, d in enumerate(descs) if want in d.split() or d == want), None)
        tagged[want] = hit
    if all(tagged.values()):
        return (tagged["red"], tagged["green"], tagged["blue"]), "bands tagged red, green, blue", alpha
    note = "bands 1, 2, 3 (untagged)"
    if len(data_bands) > 3:
        note += f"; the file has {src.count} bands: pass --bands to choose (e.g. --bands 3,2,1 for B,G,R,NIR)"
    return (data_bands[0], data_bands[1], data_bands[2]), note, alpha


def ground_resolution(crs: Any, transform: Affine, width: int, height: int) -> tuple[float, float] | None:
    """Return the ground size of one pixel in metres (x, y), measured at the raster's centre.

    Geodesic distances (pyproj.Geod on WGS84) between neighbouring pixel centres, so UTM, EPSG:3857 (whose
    nominal metres grow as 1 / cos(latitude)) and EPSG:4326 (degrees) all give ground metres. None without a CRS.
    """
    if crs is None:
        return None
    from pyproj import CRS, Geod, Transformer

    to_ll = Transformer.from_crs(CRS.from_user_input(crs), "EPSG:4326", always_xy=True)
    cx, cy = width / 2, height / 2
    pts = [transform @ (cx, cy), transform @ (cx + 1, cy), transform @ (cx, cy + 1)]
    (lon0, lat0), (lon1, lat1), (lon2, lat2) = (to_ll.transform(x, y) for x, y in pts)
    geod = Geod(ellps="WGS84")
    gx = geod.inv(lon0, lat0, lon1, lat1)[2]
    gy = geod.inv(lon0, lat0, lon2, lat2)[2]
    if not (math.isfinite(gx) and math.isfinite(gy)) or gx <= 0 or gy <= 0:
        return None
    return float(gx), float(gy)


class RasterReader:
    """Read a raster window by window (see the module docstring); safe to pickle (it reopens in each process).

    Attributes:
        info: the raster's size, CRS, transform, bands and ground resolution.
    """

    def __init__(self, path: str | Path, bands: tuple[int, ...] | None = None) -> None:
        """Open ``path`` and check that it can be read.

        Args:
            path: a GeoTIFF, COG or any raster GDAL reads.
            bands: 1-based bands to read as R, G, B (one band: panchromatic); None picks them (see `choose_bands`).

        Raises:
            InputError: the file is missing, not a raster, of an unsupported data type, or a band does not exist.
        """
        self.path = Path(path)
        self._requested = bands
        self._src: Any = None
        src = self._open()
        try:
            if src.count < 1:
                raise InputError(f"raster {self.path} has no bands; give a raster with image data")
            dtype = src.dtypes[0]
            if dtype not in SUPPORTED_DTYPES:
                raise InputError(
                    f"raster {self.path} holds {dtype} data, which cannot be shown as an image; give integer or float "
                    "bands (convert with gdal_translate -ot Float32)"
                )
            chosen, reason, alpha = choose_bands(src, bands, str(self.path))
            crs = src.crs.to_string() if src.crs else None
            t = src.transform
            self.info = RasterInfo(
                path=str(self.path), width=src.width, height=src.height, count=src.count, dtype=dtype, crs=crs,
                transform=(t.a, t.b, t.c, t.d, t.e, t.f), nodata=src.nodata, bands=chosen, band_reason=reason,
                alpha=alpha, ground_m=ground_resolution(src.crs, t, src.width, src.height) if crs else None,
            )  # fmt: skip
        except InputError:
            self.close()
            raise

    def _open(self) -> Any:
        if self._src is not None:
            return self._src
        import rasterio
        from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

        if not self.path.is_file():
            raise InputError(f"raster file not found: {self.path}; check the path")
        if "GDAL_CACHEMAX" not in os.environ:
            from rasterio.env import set_gdal_config

            set_gdal_config("GDAL_CACHEMAX", BLOCK_CACHE_MB)  # values below 100000 are MB
        try:
            with warnings.catch_warnings():  # a raster without a CRS is allowed here; callers that need one say so
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                self._src = rasterio.open(self.path)
        except RasterioIOError as e:
            raise InputError(
                f"raster {self.path} is not a readable raster ({e}); give a GeoTIFF or COG (check it with gdalinfo)"
            ) from e
        return self._src

    def close(self) -> None:
        """Close the underlying dataset (it reopens on the next read)."""
        if self._src is not None:
            self._src.close()
            self._src = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_src"] = None
        return state

    def __enter__(self) -> RasterReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ----------------------------------------------------------------------------------------

    def full_window(self) -> PixelWindow:
        """Return the window that covers the whole raster at its own resolution."""
        w, h = self.info.width, self.info.height
        return PixelWindow(col_off=0, row_off=0, width=w, height=h, out_width=w, out_height=h)

    def read_bands(self, window: PixelWindow) -> tuple[np.ndarray, np.ndarray]:
        """Read the chosen bands of a window as (3, H, W) in the file's data type, and its (H, W) valid-pixel mask.

        Downsampling averages, upsampling is bilinear; the mask is resampled by nearest neighbour.

        Raises:
            InputError: the file cannot be read there (a truncated or corrupt raster).
        """
        from rasterio.enums import Resampling
        from rasterio.errors import RasterioError
        from rasterio.windows import Window

        src = self._open()
        bands = list(dict.fromkeys(self.info.bands))
        win = Window(window.col_off, window.row_off, window.width, window.height)
        shape = (len(bands), window.out_height, window.out_width)
        down = window.out_width < window.width or window.out_height < window.height
        resampling = Resampling.average if down else Resampling.bilinear
        try:
            data = src.read(bands, window=win, out_shape=shape, resampling=resampling)
            masks = src.read_masks(bands, window=win, out_shape=shape, resampling=Resampling.nearest)
        except RasterioError as e:
            raise InputError(
                f"raster {self.path} cannot be read at pixels {window.bounds_px()} ({e}); the file is truncated or "
                "corrupt: recreate it (gdal_translate) and run again"
            ) from e
        valid = (masks > 0).all(axis=0)
        if np.issubdtype(data.dtype, np.floating):
            valid &= np.isfinite(data).all(axis=0)
        index = {b: i for i, b in enumerate(bands)}
        rgb = np.stack([data[index[b]] for b in self.info.bands])
        return rgb, valid

    def read(self, window: PixelWindow, stretch: Stretch) -> tuple[np.ndarray, np.ndarray]:
        """Read a window as an (H, W, 3) uint8 RGB image and its (H, W) bool valid-pixel mask.

        Invalid pixels (nodata, masked, non-finite) are black and never take part in the stretch.
        """
        bands, valid = self.read_bands(window)
        return apply_stretch(bands, valid, stretch), valid
