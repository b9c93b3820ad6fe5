"""Render the map modality of any raster window from vector data (OSM, GeoJSON, GeoPackage).

The map is drawn by the renderer SynthCity uses (`tools.map_render.render_map`, styles of `tools.map_style`), from
the features `tools.vector_window.layers_for_window` cuts to the window. What the map shows (`map_layers`):

- land-use fills of a known function, largest first so smaller areas lie on top (a park on a residential area);
- water, building footprints, roads by ``highway=*`` class, railways; none that is `underground` (tunnels,
  indoor corridors, a metro line below the station);
- a marker and a name label for every named point of interest, and for every named area of a known class
  that no named point inside it already marks (a school mapped only as its grounds still gets its marker);
  unnamed points (benches, bins, trees) are left out, as a map at this scale leaves them out.

>>> round(window_gsd(Affine(0.5, 0, 500000, 0, -0.5, 6650000), "EPSG:32635", (100, 100)), 4)  # central meridian
0.5002
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
from affine import Affine
from pyproj import CRS, Geod, Transformer
from pyproj.exceptions import CRSError, ProjError

from tools.map_render import render_map
from tools.map_style import MapStyle
from tools.scene import LayerFeature
from tools.vector_window import layers_for_window

_GEOD = Geod(ellps="WGS84")


def window_gsd(transform: Affine, crs: Any, hw: tuple[int, int]) -> float:
    """Return the ground size of a window's pixel in metres at its centre, measured on the WGS84 ellipsoid.

    Any CRS works: lon/lat, UTM (its scale factor is kept), Web Mercator (whose metres shrink towards the poles:
    1.2 "metres" at 60 N are 0.6 m of ground). A CRS that cannot be placed on the globe (a local engineering
    CRS) gives the transform's own pixel size.
    """
    h, w = hw
    (x0, y0), (x1, y1), (x2, y2) = (transform @ p for p in ((w / 2, h / 2), (w / 2 + 1, h / 2), (w / 2, h / 2 + 1)))
    try:
        to_lonlat = Transformer.from_crs(CRS.from_user_input(crs), "EPSG:4326", always_xy=True)
        (lon0, lon1, lon2), (lat0, lat1, lat2) = to_lonlat.transform([x0, x1, x2], [y0, y1, y2], errcheck=True)
    except (CRSError, ProjError):
        return float(np.sqrt(abs(transform.determinant)))
    dx = _GEOD.inv(lon0, lat0, lon1, lat1)[2]
    dy = _GEOD.inv(lon0, lat0, lon2, lat2)[2]
    return float(np.sqrt(dx * dy))


def _negative(value: object) -> bool:
    try:
        return float(str(value).split(";")[0]) < 0
    except ValueError:
        return False


def underground(tags: dict[str, Any]) -> bool:
    """Return whether a feature lies under or inside others (a tunnel, an indoor or below-ground way): not drawn."""
    return (
        tags.get("tunnel") in ("yes", "culvert")
        or tags.get("indoor") not in (None, "no")
        or tags.get("location") in ("underground", "indoor")
        or _negative(tags.get("layer", 0))
        or _negative(tags.get("level", 0))
    )


def map_layers(layers: Sequence[LayerFeature]) -> list[LayerFeature]:
    """Return the features a map of these layers draws, in drawing order (see the module docstring)."""
    fills = sorted(
        (f for f in layers if f.kind == "landuse" and f.function and f.geometry.geom_type.endswith("Polygon")),
        key=lambda f: -f.geometry.area,
    )
    drawn = [f for f in layers if f.kind in ("water", "building", "road", "other") and not underground(f.props)]
    named = [f for f in layers if f.kind == "poi" and f.name and f.geometry.geom_type == "Point"]
    markers = []
    for f in layers:
        if not (f.name and f.cls and f.kind in ("landuse", "building") and f.geometry.geom_type.endswith("Polygon")):
            continue
        if any(p.name == f.name and f.geometry.covers(p.geometry) for p in named):
            continue
        markers.append(LayerFeature(f"{f.id}#marker", "poi", f.geometry.representative_point(), f.name, f.cls,
                                    f.function, {"marks": f.id}))  # fmt: skip
    return [*fills, *drawn, *named, *markers]


def render_window_map(
    gdf: gpd.GeoDataFrame,
    transform: Affine,
    crs: Any,
    hw: tuple[int, int],
    style: MapStyle | str = "amap",
    layers: Sequence[LayerFeature] | None = None,
) -> np.ndarray:
    """Render the map of a raster window from a vector frame, aligned pixel for pixel with the raster.

    Args:
        gdf: a vector frame (`tools.vectors.read_vectors`).
        transform: the window's affine transform (pixel corner -> CRS).
        crs: the raster's CRS.
        hw: the window's (height, width) in pixels.
        style: a `MapStyle` or the name of a built-in one.
        layers: the window's features when the caller already cut them (`layers_for_window`), else None.

    Returns:
        An (height, width, 3) uint8 RGB map.

    Raises:
        InputError: the window size, the CRS or the style is not valid.
    """
    feats = layers if layers is not None else layers_for_window(gdf, transform, crs, hw)
    return render_map(map_layers(feats), style, hw, window_gsd(transform, crs, hw))
