"""Windowed raster reading: dtypes, bands, nodata, stretch from samples, ground resolution, size guard."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import rasterio
from affine import Affine
from PIL import Image

from tools.errors import InputError
from tools.raster_stretch import Stretch, compute_stretch, sample_windows
from tools.raster_window import PixelWindow, RasterReader, ground_resolution, parse_bands
from tools.scene import MAX_SCENE_PIXELS, read_image

UTM = "EPSG:32633"


def _write(path, data, crs=UTM, transform=None, nodata=None, **extra):
    count, h, w = data.shape
    transform = transform or Affine(0.6, 0, 400000, 0, -0.6, 6600000)
    with rasterio.open(path, "w", driver="GTiff", height=h, width=w, count=count, dtype=data.dtype.name, crs=crs,
                       transform=transform, nodata=nodata, **extra) as dst:  # fmt: skip
        dst.write(data)
    return path


def test_uint16_single_band_reads_as_grey_and_is_stretched_from_samples(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.integers(1000, 3000, (1, 300, 400)).astype(np.uint16)
    reader = RasterReader(_write(tmp_path / "pan.tif", data))
    assert reader.info.bands == (1, 1, 1) and "panchromatic" in reader.info.band_reason
    stretch = compute_stretch(reader)
    assert stretch.mode == "percentile" and 0 < stretch.sampled_pixels < data.size  # a sample, not the raster
    lo, hi = np.percentile(data, [2, 98])
    assert abs(stretch.lo[0] - lo) < 60 and abs(stretch.hi[0] - hi) < 60
    rgb, valid = reader.read(reader.full_window(), stretch)
    assert rgb.shape == (300, 400, 3) and rgb.dtype == np.uint8 and valid.all()
    assert (rgb[..., 0] == rgb[..., 1]).all() and rgb.min() == 0 and rgb.max() == 255


def test_four_band_float_uses_the_chosen_bands(tmp_path):
    """B, G, R, NIR floats: --bands 3,2,1 shows true colour; the default reads bands 1-3 and says so."""
    h, w = 64, 80
    bgrn = np.zeros((4, h, w), np.float32)
    bgrn[2, :, : w // 2] = 0.8  # red on the left half
    bgrn[0, :, w // 2 :] = 0.8  # blue on the right half
    bgrn[3] = 0.5
    path = _write(tmp_path / "bgrn.tif", bgrn)
    plain = RasterReader(path)
    assert plain.info.bands == (1, 2, 3) and "--bands" in plain.info.band_reason
    reader = RasterReader(path, parse_bands("3,2,1"))
    stretch = Stretch(mode="percentile", lo=(0.0, 0.0, 0.0), hi=(1.0, 1.0, 1.0))
    rgb, _ = reader.read(reader.full_window(), stretch)
    assert rgb[0, 0].tolist() == [204, 0, 0] and rgb[0, -1].tolist() == [0, 0, 204]
    with pytest.raises(InputError, match="has 4 band"):
        RasterReader(path, (5, 2, 1))
    with pytest.raises(InputError, match="one band"):
        parse_bands("3,2")


def test_bands_tagged_by_colour_interpretation_are_found(tmp_path):
    from rasterio.enums import ColorInterp

    data = np.stack([np.full((20, 20), v, np.uint8) for v in (10, 20, 30, 40)])
    path = _write(tmp_path / "tagged.tif", data)
    with rasterio.open(path, "r+") as dst:
        dst.colorinterp = [ColorInterp.blue, ColorInterp.green, ColorInterp.red, ColorInterp.undefined]
    reader = RasterReader(path)
    assert reader.info.bands == (3, 2, 1) and "tagged" in reader.info.band_reason
    rgb, _ = reader.read(reader.full_window(), compute_stretch(reader))
    assert rgb[0, 0].tolist() == [30, 20, 10]


def test_nodata_is_never_stretched_with_the_data_and_reads_black_and_invalid(tmp_path):
    """59% nodata at 0 (a Landsat scene): the stretch comes from the valid pixels only."""
    data = np.zeros((3, 200, 200), np.uint16)
    data[:, :, 118:] = np.linspace(8000, 12000, 82, dtype=np.uint16)[None, None, :]
    reader = RasterReader(_write(tmp_path / "nd.tif", data, nodata=0))
    stretch = compute_stretch(reader)
    assert stretch.lo[0] >= 8000  # nodata zeros would have pulled the low end to 0 (and the image white)
    rgb, valid = reader.read(reader.full_window(), stretch)
    assert not valid[:, :118].any() and valid[:, 118:].all()
    assert (rgb[:, :118] == 0).all() and rgb[:, 118:].max() == 255 and rgb[:, 118:].min() == 0


def test_nan_pixels_of_float_rasters_are_invalid(tmp_path):
    data = np.ones((1, 50, 50), np.float32)
    data[0, :10] = np.nan
    reader = RasterReader(_write(tmp_path / "nan.tif", data))
    _, valid = reader.read(reader.full_window(), compute_stretch(reader))
    assert not valid[:10].any() and valid[10:].all()


def test_a_raster_all_nodata_in_the_sample_is_refused_with_the_fix(tmp_path):
    reader = RasterReader(_write(tmp_path / "empty.tif", np.zeros((1, 64, 64), np.uint16), nodata=0))
    with pytest.raises(InputError, match=r"no valid pixel.*nodata"):
        compute_stretch(reader)


def test_a_resampled_window_reads_its_ground_at_the_requested_size(tmp_path):
    data = np.zeros((3, 400, 400), np.uint8)
    data[:, 100:300, 100:300] = 200
    reader = RasterReader(_write(tmp_path / "r.tif", data, transform=Affine(0.3, 0, 400000, 0, -0.3, 6600000)))
    win = PixelWindow(col_off=0, row_off=0, width=400, height=400, out_width=200, out_height=200)
    rgb, _ = reader.read(win, Stretch(mode="none"))
    assert rgb.shape == (200, 200, 3) and rgb[100, 100, 0] == 200 and rgb[10, 10, 0] == 0
    t = win.transform(reader.info.affine)
    assert math.isclose(t.a, 0.6) and t @ (50, 50) == reader.info.affine @ (100, 100)


@pytest.mark.parametrize(
    ("crs", "transform", "expect"),
    [
        (UTM, Affine(0.6, 0, 400000, 0, -0.6, 6600000), 0.6),
        # EPSG:3857 metres are 1 / cos(lat) ground metres: at 60 N one nominal metre is half a ground metre
        ("EPSG:3857", Affine(1.2, 0, 2_780_000, 0, -1.2, 8_399_000), 0.6),
        ("EPSG:4326", Affine(0.6 / 111_320 / math.cos(math.radians(60.17)), 0, 24.9, 0, -0.6 / 111_320, 60.2), 0.6),
    ],
)
def test_ground_resolution_is_ground_metres_in_any_crs(crs, transform, expect):
    gx, gy = ground_resolution(crs, transform, 100, 100)
    assert abs(gx - expect) / expect < 0.02 and abs(gy - expect) / expect < 0.02


def test_a_corrupt_raster_names_the_file_and_the_fix(tmp_path):
    bad = tmp_path / "broken.tif"
    bad.write_bytes(b"II*\x00not really a tiff at all" * 10)
    with pytest.raises(InputError, match=r"broken\.tif is not a readable raster.*gdalinfo"):
        RasterReader(bad)
    with pytest.raises(InputError, match="not found"):
        RasterReader(tmp_path / "missing.tif")


def test_a_truncated_raster_fails_when_read_and_names_the_fix(tmp_path):
    rng = np.random.default_rng(1)
    path = _write(tmp_path / "t.tif", rng.integers(0, 255, (3, 512, 512)).astype(np.uint8), compress="deflate",
                  tiled=True, blockxsize=256, blockysize=256)  # fmt: skip
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    reader = RasterReader(path)  # the header is intact
    with pytest.raises(InputError, match="truncated or corrupt"):
        reader.read(reader.full_window(), Stretch(mode="none"))


def test_sample_windows_spread_over_the_raster_and_stay_inside():
    wins = sample_windows((1000, 3000))
    assert len(wins) == 6 * 3  # 1000 rows hold 3 windows of 256 without overlap
    assert all(w.col_off >= 0 and w.col_off + w.width <= 3000 and w.row_off + w.height <= 1000 for w in wins)
    assert min(w.col_off for w in wins) < 300 and max(w.col_off + w.width for w in wins) > 2700
    assert len(sample_windows((100, 100))) == 1


def test_the_single_scene_path_refuses_huge_images_with_a_clear_error(tmp_path):
    """A 12000^2 PNG or GeoTIFF gives an InputError pointing at --raster, no decompression-bomb warning, no 15 GB."""
    side = 12000
    assert side * side > MAX_SCENE_PIXELS
    png = tmp_path / "huge.png"
    Image.new("1", (side, side)).save(png)  # 1-bit: cheap to write, huge when decoded
    tif = tmp_path / "huge.tif"
    with rasterio.open(tif, "w", driver="GTiff", height=side, width=side, count=1, dtype="uint16", tiled=True,
                       sparse_ok=True, crs=UTM, transform=Affine(0.6, 0, 4e5, 0, -0.6, 6.6e6)) as dst:  # fmt: skip
        dst.write(np.ones((1, 16, 16), np.uint16), window=((0, 16), (0, 16)))
    for path in (png, tif):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no DecompressionBombWarning may escape
            with pytest.raises(InputError, match=r"12000x12000.*socio segment --raster"):
                read_image(path, "satellite image")


def test_uint8_geotiff_reads_exactly_as_its_pixels(tmp_path):
    rng = np.random.default_rng(2)
    data = rng.integers(0, 256, (3, 40, 50)).astype(np.uint8)
    arr, georef = read_image(_write(tmp_path / "rgb.tif", data, photometric="RGB"))
    assert (arr == np.moveaxis(data, 0, -1)).all() and georef is not None and georef.crs == UTM


def test_a_cloud_optimised_geotiff_reads_by_window_and_downsampled_through_its_overviews(tmp_path):
    rng = np.random.default_rng(3)
    data = rng.integers(0, 256, (3, 1024, 1024)).astype(np.uint8)
    src = _write(tmp_path / "plain.tif", data)
    cog = tmp_path / "cog.tif"
    with rasterio.open(src) as s:
        profile = {**s.profile, "driver": "COG", "blocksize": 256, "overview_resampling": "average"}
        profile.pop("blockxsize", None), profile.pop("blockysize", None), profile.pop("tiled", None)
        with rasterio.open(cog, "w", **profile) as d:
            d.write(s.read())
    with rasterio.open(cog) as c:
        assert c.overviews(1)  # the COG driver builds them
    reader = RasterReader(cog)
    win = PixelWindow(col_off=256, row_off=512, width=300, height=200, out_width=300, out_height=200)
    rgb, valid = reader.read(win, Stretch(mode="none"))
    assert valid.all() and (rgb == np.moveaxis(data[:, 512:712, 256:556], 0, -1)).all()
    small, _ = reader.read(PixelWindow(col_off=0, row_off=0, width=1024, height=1024, out_width=128, out_height=128),
                           Stretch(mode="none"))  # fmt: skip
    assert small.shape == (128, 128, 3) and abs(float(small.mean()) - float(data.mean())) < 3
