"""Paint a SynthCity city (`evals.synthcity.city`) chunk by chunk into a tiled GeoTIFF, never holding it whole.

Each chunk is painted with a margin (so shadows, trees and roofs that cross its edge are drawn the same on both
sides) and cropped. The sun and the camera's colour transform are drawn once for the city; textures and
sensor noise are drawn per chunk from the chunk's own stream, so a faint texture seam can show at chunk
borders (every `CHUNK` pixels), never a change of light or colour. Objects are whole across chunk borders
except for small per-object colour jitter.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from evals.synthcity.city import CityPlan, _stream, road_drawings
from evals.synthcity.drawing import Drawing, rect
from evals.synthcity.palette import Palette, make_palette
from evals.synthcity.render import SatLook, render_satellite

CHUNK = 1024
"""Side of a painted chunk, in pixels (a multiple of the GeoTIFF's 512-px blocks)."""
MARGIN = 64
"""Extra pixels painted around each chunk and cropped away."""


def city_look(city: CityPlan) -> tuple[Palette, SatLook]:
    """Return the city's palette and its sun and colour transform (one for the whole city)."""
    rng = _stream(city.seed, 7)
    return make_palette("temperate", city.season, rng), SatLook(rng, city.gsd)


def chunk_drawing(city: CityPlan, x0: int, y0: int, side: int) -> Drawing:
    """Return everything drawn in the square of ``side`` pixels at city pixel (x0, y0), in that square's pixels.

    Draw order follows a tile's: ground, places, road sidewalks, carriageways and their paint, clutter.
    """
    g = city.gsd
    u0, v0, u1, v1 = x0 * g, y0 * g, (x0 + side) * g, (y0 + side) * g
    contents = [city.block(b) for b in city.blocks_in(u0, v0, u1, v1)]
    d = Drawing()
    d.ground(rect(u0 - 5, v0 - 5, u1 + 5, v1 + 5), "yard")
    for c in contents:
        d.extend(c.site_drawing)
    sides, rest = Drawing(), Drawing()
    roads = [(r, city.major_road_stream(key)) for key, r in city.roads_in(u0, v0, u1, v1)]
    roads += [(r, city.local_road_stream(c.block, k)) for c in contents for k, r in enumerate(c.layout.roads)]
    for road, rng in roads:
        s, t = road_drawings(road, rng, city.size, g)
        sides.extend(s)
        rest.extend(t)
    d.extend(sides)
    d.extend(rest)
    for c in contents:
        d.extend(c.clutter_drawing)
    return d.transformed(np.array([[1 / g, 0.0, -x0], [0.0, 1 / g, -y0]]), 1 / g)


def render_chunk(city: CityPlan, pal: Palette, look: SatLook, x0: int, y0: int, side: int) -> np.ndarray:
    """Paint the square of ``side`` pixels at city pixel (x0, y0) as (side, side, 3) uint8."""
    rng = _stream(city.seed, 8, x0 + 1_000_000, y0 + 1_000_000)
    return render_satellite(chunk_drawing(city, x0, y0, side), pal, side, city.gsd, rng, look)


def write_city_geotiff(
    city: CityPlan, path: str | Path, on_chunk: Callable[[int, int], None] | None = None, chunk: int = CHUNK
) -> Path:
    """Paint the city into an RGB GeoTIFF (tiled 512 px, deflate), chunk by chunk, written atomically.

    Args:
        city: the city.
        path: the output file.
        on_chunk: called with (chunks done, chunks in all) after each chunk.
        chunk: chunk side in pixels.
    """
    import rasterio
    from rasterio.windows import Window

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp")
    pal, look = city_look(city)
    n = city.size
    starts = list(range(0, n, chunk))
    total = len(starts) ** 2
    profile = {"driver": "GTiff", "height": n, "width": n, "count": 3, "dtype": "uint8", "crs": city.crs,
               "transform": city.transform, "tiled": True, "blockxsize": 512, "blockysize": 512,
               "compress": "deflate", "zlevel": 1, "predictor": 2, "photometric": "RGB", "interleave": "pixel",
               "BIGTIFF": "IF_SAFER"}  # fmt: skip
    done = 0
    try:
        with rasterio.open(tmp, "w", **profile) as dst:
            for y0 in starts:
                for x0 in starts:
                    img = render_chunk(city, pal, look, x0 - MARGIN, y0 - MARGIN, chunk + 2 * MARGIN)
                    h, w = min(chunk, n - y0), min(chunk, n - x0)
                    part = img[MARGIN : MARGIN + h, MARGIN : MARGIN + w]
                    dst.write(np.moveaxis(part, -1, 0), window=Window(x0, y0, w, h))
                    done += 1
                    if on_chunk is not None:
                        on_chunk(done, total)
        os.replace(tmp, p)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return p
