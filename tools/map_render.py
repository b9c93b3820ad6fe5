"""Render a digital map image from vector layers (in image pixels), in a map style (`tools.map_style`).

The map shows exactly what the layers say: land-use fills, water (areas and rivers), building footprints, roads
by hierarchy with casings, railways, POI markers with a small pictogram per socio-function, POI name labels
(placed beside the marker, never over another label) and road names along the roads. Place outlines are never
drawn: only the land-use fills that the layers carry (in SynthCity they do not follow the true site boundaries).

The layers are `tools.scene.LayerFeature` s, whatever their source (SynthCity's generator, OSM, a vector
file), with geometries in the output image's pixels. What the renderer reads from them: ``kind`` (``landuse``,
``water``, ``building``, ``road``, ``poi``, ``other``), ``cls``, ``function`` and ``name``, and the properties
``landuse`` (``water``), ``waterway`` (the width of a water line), ``road_class`` (``arterial``,
``collector``, ``local``), ``width_m`` (road width in metres), ``railway`` (``rail``) and ``category`` (the
marker colour of a POI of no socio-class).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Polygon

from tools.errors import InputError
from tools.map_style import MapStyle, font_path, get_style
from tools.scene import LayerFeature
from tools.subpixel import SHIFT, cv_pts

_ROAD_ORDER = ("local", "collector", "arterial")

WATERWAY_WIDTHS_M: dict[str, float] = {"river": 14.0, "canal": 10.0, "stream": 3.0, "ditch": 1.5, "drain": 1.5}
"""Drawn width of a water line by its ``waterway`` property, in metres (others 3 m)."""


@lru_cache(maxsize=16)
def _font(px: int, bold: bool) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path(bold)), px)


def _polys(geom: object) -> list[np.ndarray]:
    if isinstance(geom, Polygon):
        return [np.asarray(geom.exterior.coords)]
    if isinstance(geom, MultiPolygon):
        return [np.asarray(g.exterior.coords) for g in geom.geoms]
    return []


def _lines(geom: object) -> list[np.ndarray]:
    if isinstance(geom, LineString):
        return [np.asarray(geom.coords)]
    if isinstance(geom, MultiLineString):
        return [np.asarray(g.coords) for g in geom.geoms]
    return []


def render_map(
    layers: Sequence[LayerFeature],
    style: MapStyle | str,
    hw: tuple[int, int],
    gsd: float,
    label_first: frozenset[str] = frozenset(),
) -> np.ndarray:
    """Render layers as a map image.

    Labels are placed greedily, POIs of a socio-class before the others; ids in ``label_first`` go first of all.

    Args:
        layers: the features to draw, geometries in the output image's pixels (corner origin).
        style: a `MapStyle`, or the name of a built-in one (`tools.map_style.STYLES`).
        hw: the output size, (height, width) in pixels.
        gsd: the ground size of a pixel in metres (roads are drawn by their width in metres).
        label_first: ids of POIs whose labels are placed before all others.

    Returns:
        An (height, width, 3) uint8 RGB image.

    Raises:
        InputError: the size or ground size is not positive, or the style name is unknown.
    """
    st = get_style(style)
    h, w = (int(v) for v in hw)
    if h <= 0 or w <= 0:
        raise InputError(f"map size must be positive (height, width) pixels, got {tuple(hw)}")
    if not gsd > 0:
        raise InputError(f"ground size of a pixel must be positive metres, got {gsd}")
    img = np.empty((h, w, 3), np.uint8)
    img[:] = st.background
    _areas(img, layers, st)
    _water_and_buildings(img, layers, st, gsd)
    _roads(img, layers, st, gsd)
    pil = Image.fromarray(img)
    draw = ImageDraw.Draw(pil)
    taken: list[tuple[float, float, float, float]] = []
    pois = [f for f in layers if f.kind == "poi"]
    pois.sort(key=lambda f: (f.id not in label_first, f.cls is None))
    for f in pois:
        taken.append(_marker(draw, st, f.geometry.x, f.geometry.y, f))
    out = np.array(pil)
    for f in pois:
        _label(out, st, f, taken)
    _road_names(out, layers, st, taken)
    return out


def _areas(img: np.ndarray, layers: Sequence[LayerFeature], st: MapStyle) -> None:
    for f in layers:
        if f.kind != "landuse":
            continue
        if f.function in st.landuse:
            colour = st.landuse[f.function]
        elif f.props.get("landuse") == "water":
            colour = st.water
        else:
            colour = st.grass
        if f.cls == "park":
            colour = st.grass
        pts = [cv_pts(p) for p in _polys(f.geometry)]
        if pts:
            cv2.fillPoly(img, pts, colour, cv2.LINE_AA, SHIFT)


def _with_holes(geom: object) -> list[list[np.ndarray]]:
    """Return each polygon of a geometry as its exterior followed by its holes (fillPoly leaves the holes out)."""
    polys = [geom] if isinstance(geom, Polygon) else list(geom.geoms) if isinstance(geom, MultiPolygon) else []
    return [
        [cv_pts(np.asarray(p.exterior.coords)), *(cv_pts(np.asarray(r.coords)) for r in p.interiors)] for p in polys
    ]


def _water_and_buildings(img: np.ndarray, layers: Sequence[LayerFeature], st: MapStyle, gsd: float) -> None:
    """Draw water (areas filled, rivers and streams as lines by their width) and then building footprints.

    Unlike land-use fills, these keep their holes: an island in a lake, a courtyard in a city block.
    """
    for f in layers:
        if f.kind != "water":
            continue
        for rings in _with_holes(f.geometry):
            cv2.fillPoly(img, rings, st.water, cv2.LINE_AA, SHIFT)
        width_m = WATERWAY_WIDTHS_M.get(str(f.props.get("waterway", "")), 3.0)
        width = int(np.clip(round(width_m / gsd), 2, 30))
        for ln in _lines(f.geometry):
            cv2.polylines(img, [cv_pts(ln)], False, st.water, width, cv2.LINE_AA, SHIFT)
    for f in layers:
        if f.kind != "building":
            continue
        for rings in _with_holes(f.geometry):
            cv2.fillPoly(img, rings, st.building, cv2.LINE_AA, SHIFT)
            cv2.polylines(img, rings, True, st.building_outline, 1, cv2.LINE_AA, SHIFT)


def _roads(img: np.ndarray, layers: Sequence[LayerFeature], st: MapStyle, gsd: float) -> None:
    roads = [f for f in layers if f.kind == "road"]
    widths = {}
    for f in roads:
        w_m = float(f.props.get("width_m", 8.0))
        widths[f.id] = int(np.clip(round(w_m / gsd * st.road_scale), 4, 34))
    for f in roads:  # all casings first, so crossings join cleanly
        _, casing = st.roads.get(f.props.get("road_class", "local"), st.roads["local"])
        for ln in _lines(f.geometry):
            cv2.polylines(img, [cv_pts(ln)], False, casing, widths[f.id] + 2 * st.casing_px, cv2.LINE_AA, SHIFT)
    for cls in _ROAD_ORDER:
        for f in roads:
            if f.props.get("road_class", "local") != cls:
                continue
            fill, _ = st.roads[cls]
            for ln in _lines(f.geometry):
                cv2.polylines(img, [cv_pts(ln)], False, fill, widths[f.id], cv2.LINE_AA, SHIFT)
    for f in layers:
        if f.kind == "other" and f.props.get("railway") == "rail":
            base, dash = st.rail
            for ln in _lines(f.geometry):
                cv2.polylines(img, [cv_pts(ln)], False, base, 5, cv2.LINE_AA, SHIFT)
                if dash != base:
                    _dashes(img, ln, dash, 3, 12.0)


def _dashes(img: np.ndarray, ln: np.ndarray, colour: tuple[int, int, int], width: int, period: float) -> None:
    segs = []
    for a, b in itertools.pairwise(ln):
        length = float(np.hypot(*(b - a)))
        t = np.arange(0, length, period) / max(length, 1e-9)
        t2 = np.minimum(t + period / 2 / max(length, 1e-9), 1.0)
        for s, e in zip(t, t2, strict=True):
            segs.append(cv_pts(np.array([a + (b - a) * s, a + (b - a) * e])))
    if segs:
        cv2.polylines(img, segs, False, colour, width, cv2.LINE_AA, SHIFT)


def _colour_of(st: MapStyle, f: LayerFeature) -> tuple[int, int, int]:
    if f.function in st.function_colours:
        return st.function_colours[f.function]
    return st.category_colours.get(str(f.props.get("category", "shop")), (150, 150, 150))


def _marker(draw: ImageDraw.ImageDraw, st: MapStyle, x: float, y: float, f: LayerFeature) -> tuple:
    """Draw a POI marker at (x, y) and return its box."""
    colour = _colour_of(st, f)
    small = f.cls is None
    r = (st.icon_px * (0.7 if small else 1.0)) / 2
    cx, cy = x, y
    if st.marker == "pin":
        cy = y - r * 1.6
        draw.polygon([(x - r * 0.6, cy + r * 0.5), (x + r * 0.6, cy + r * 0.5), (x, y)], fill=colour)
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour, outline=(255, 255, 255))
    elif st.marker == "square":
        draw.rounded_rectangle([cx - r, cy - r, cx + r, cy + r], radius=r * 0.35, fill=colour, outline=(255, 255, 255))
    else:
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour, outline=(255, 255, 255))
    if small:
        draw.ellipse([cx - r * 0.3, cy - r * 0.3, cx + r * 0.3, cy + r * 0.3], fill=(255, 255, 255))
    else:
        _glyph(draw, f.function or "", cx, cy, r * 0.6)
    return (cx - r, cy - r, cx + r, max(cy + r, y))


def _glyph(draw: ImageDraw.ImageDraw, function: str, cx: float, cy: float, s: float) -> None:
    """Draw a tiny white pictogram for a socio-function, about 2s wide, centred at (cx, cy)."""
    w = (255, 255, 255)
    if function == "education":  # a mortarboard
        draw.polygon([(cx - s, cy - s * 0.2), (cx, cy - s * 0.7), (cx + s, cy - s * 0.2), (cx, cy + s * 0.3)], fill=w)
        draw.rectangle([cx - s * 0.5, cy + s * 0.1, cx + s * 0.5, cy + s * 0.6], fill=w)
    elif function == "healthcare":  # a cross
        draw.rectangle([cx - s * 0.25, cy - s * 0.8, cx + s * 0.25, cy + s * 0.8], fill=w)
        draw.rectangle([cx - s * 0.8, cy - s * 0.25, cx + s * 0.8, cy + s * 0.25], fill=w)
    elif function == "recreation":  # a tree
        draw.polygon([(cx, cy - s * 0.9), (cx + s * 0.75, cy + s * 0.4), (cx - s * 0.75, cy + s * 0.4)], fill=w)
        draw.rectangle([cx - s * 0.15, cy + s * 0.4, cx + s * 0.15, cy + s * 0.9], fill=w)
    elif function == "commerce":  # a shopping bag
        draw.rectangle([cx - s * 0.7, cy - s * 0.3, cx + s * 0.7, cy + s * 0.8], fill=w)
        draw.arc([cx - s * 0.4, cy - s * 0.8, cx + s * 0.4, cy + s * 0.1], 180, 360, fill=w, width=1)
    elif function == "residential":  # a house
        draw.polygon([(cx, cy - s * 0.9), (cx + s * 0.9, cy), (cx - s * 0.9, cy)], fill=w)
        draw.rectangle([cx - s * 0.6, cy, cx + s * 0.6, cy + s * 0.8], fill=w)
    elif function == "industry":  # a saw-tooth factory
        draw.polygon(
            [
                (cx - s, cy + s * 0.8),
                (cx - s, cy - s * 0.2),
                (cx - s * 0.3, cy - s * 0.8),
                (cx - s * 0.3, cy - s * 0.2),
                (cx + s * 0.4, cy - s * 0.8),
                (cx + s * 0.4, cy - s * 0.2),
                (cx + s, cy - s * 0.2),
                (cx + s, cy + s * 0.8),
            ],
            fill=w,
        )
    elif function == "transport":  # a front-on train
        draw.rounded_rectangle([cx - s * 0.6, cy - s * 0.9, cx + s * 0.6, cy + s * 0.5], radius=s * 0.2, fill=w)
        draw.line([(cx - s * 0.5, cy + s * 0.9), (cx - s * 0.2, cy + s * 0.5)], fill=w, width=1)
        draw.line([(cx + s * 0.5, cy + s * 0.9), (cx + s * 0.2, cy + s * 0.5)], fill=w, width=1)
    elif function == "utilities":  # a water drop
        draw.ellipse([cx - s * 0.55, cy - s * 0.1, cx + s * 0.55, cy + s * 0.9], fill=w)
        draw.polygon([(cx, cy - s * 0.9), (cx + s * 0.5, cy + s * 0.2), (cx - s * 0.5, cy + s * 0.2)], fill=w)
    elif function == "civic":  # a headstone
        draw.rounded_rectangle([cx - s * 0.55, cy - s * 0.8, cx + s * 0.55, cy + s * 0.8], radius=s * 0.5, fill=w)
    elif function == "food":  # a fork and a knife
        draw.rectangle([cx - s * 0.55, cy - s * 0.8, cx - s * 0.25, cy + s * 0.8], fill=w)
        draw.rectangle([cx + s * 0.25, cy - s * 0.8, cx + s * 0.55, cy + s * 0.8], fill=w)
    elif function == "accommodation":  # a bed
        draw.rectangle([cx - s * 0.9, cy, cx + s * 0.9, cy + s * 0.45], fill=w)
        draw.rectangle([cx - s * 0.9, cy - s * 0.6, cx - s * 0.55, cy + s * 0.8], fill=w)
    elif function == "worship":  # a steeple
        draw.polygon([(cx, cy - s * 0.95), (cx + s * 0.6, cy - s * 0.1), (cx - s * 0.6, cy - s * 0.1)], fill=w)
        draw.rectangle([cx - s * 0.45, cy - s * 0.1, cx + s * 0.45, cy + s * 0.85], fill=w)
    elif function == "culture":  # a portico
        draw.polygon([(cx, cy - s * 0.9), (cx + s * 0.9, cy - s * 0.35), (cx - s * 0.9, cy - s * 0.35)], fill=w)
        for dx in (-0.6, 0.0, 0.6):
            draw.rectangle([cx + (dx - 0.12) * s, cy - s * 0.3, cx + (dx + 0.12) * s, cy + s * 0.6], fill=w)
        draw.rectangle([cx - s * 0.9, cy + s * 0.6, cx + s * 0.9, cy + s * 0.85], fill=w)
    elif function == "agriculture":  # an ear of grain
        draw.ellipse([cx - s * 0.3, cy - s * 0.9, cx + s * 0.3, cy + s * 0.3], fill=w)
        draw.rectangle([cx - s * 0.1, cy, cx + s * 0.1, cy + s * 0.9], fill=w)
    elif function == "nature":  # a leaf
        draw.ellipse([cx - s * 0.5, cy - s * 0.9, cx + s * 0.5, cy + s * 0.6], fill=w)
        draw.rectangle([cx - s * 0.08, cy + s * 0.3, cx + s * 0.08, cy + s * 0.9], fill=w)


def _wrap(text: str, limit: int = 22) -> str:
    if len(text) <= limit or " " not in text:
        return text
    words = text.split(" ")
    best, split = len(text), 1
    for i in range(1, len(words)):
        a, b = " ".join(words[:i]), " ".join(words[i:])
        if max(len(a), len(b)) < best:
            best, split = max(len(a), len(b)), i
    return " ".join(words[:split]) + "\n" + " ".join(words[split:])


def _overlaps(a: tuple, b: tuple) -> bool:
    return a[0] < b[2] and a[2] > b[0] and a[1] < b[3] and a[3] > b[1]


_HALO = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))


def _text_masks(text: str, font: ImageFont.FreeTypeFont, angle: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Return (text, halo) coverage masks in [0, 1] for a (multi-line) text, rotated by ``angle`` degrees.

    The halo is the text dilated by 2 px: the look of a stroked label at a tenth of PIL's stroke cost.
    """
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    x0, y0, x1, y1 = probe.multiline_textbbox((0, 0), text, font=font, spacing=1)
    im = Image.new("L", (x1 - x0 + 6, y1 - y0 + 6), 0)
    ImageDraw.Draw(im).multiline_text((3 - x0, 3 - y0), text, font=font, fill=255, spacing=1)
    if angle:
        im = im.rotate(-angle, resample=Image.Resampling.BICUBIC, expand=True)
    mask = np.asarray(im)
    halo = cv2.dilate(mask, _HALO)
    return mask.astype(np.float32) / 255.0, halo.astype(np.float32) / 255.0


def _stamp(out: np.ndarray, x: int, y: int, mask: np.ndarray, halo: np.ndarray, colour: tuple, halo_rgb: tuple) -> None:
    """Composite a halo then a text mask onto ``out`` with their top-left corner at (x, y), clipped to it."""
    h, w = mask.shape
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, out.shape[1]), min(y + h, out.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    m = mask[y0 - y : y1 - y, x0 - x : x1 - x, None]
    g = halo[y0 - y : y1 - y, x0 - x : x1 - x, None]
    crop = out[y0:y1, x0:x1].astype(np.float32)
    crop += g * (np.array(halo_rgb, np.float32) - crop)
    crop += m * (np.array(colour, np.float32) - crop)
    out[y0:y1, x0:x1] = np.clip(crop + 0.5, 0, 255).astype(np.uint8)


def _label(out: np.ndarray, st: MapStyle, f: LayerFeature, taken: list) -> None:
    if not f.name:
        return
    height, width = out.shape[:2]
    small = f.cls is None
    font = _font(st.clutter_label_px if small else st.label_px, st.bold and not small)
    mask, halo = _text_masks(_wrap(f.name), font)
    th, tw = mask.shape
    x, y = f.geometry.x, f.geometry.y
    r = st.icon_px / 2
    if st.marker == "pin":
        y -= r * 1.6
    spots = [(x + r, y - th / 2), (x - r - tw, y - th / 2), (x - tw / 2, y + r), (x - tw / 2, y - r - th)]
    if small:
        colour: tuple = (120, 120, 124)
    elif st.label_mode == "function" and f.function in st.function_colours:
        colour = tuple(int(c * 0.8) for c in st.function_colours[f.function])
    else:
        colour = st.label_rgb
    for sx, sy in spots:
        sx = int(min(max(sx, 0.0), width - tw))
        sy = int(min(max(sy, 0.0), height - th))
        box = (sx + 2, sy + 2, sx + tw - 2, sy + th - 2)
        if any(_overlaps(box, t) for t in taken):
            continue
        _stamp(out, sx, sy, mask, halo, colour, st.halo)
        taken.append(box)
        return


def _road_names(out: np.ndarray, layers: Sequence[LayerFeature], st: MapStyle, taken: list) -> None:
    height, width = out.shape[:2]
    font = _font(max(st.clutter_label_px, 10), False)
    for f in layers:
        if f.kind != "road" or not f.name or f.props.get("road_class") == "local":
            continue
        lines = _lines(f.geometry)
        if not lines:
            continue
        ln = max(lines, key=lambda a: float(np.hypot(*(a[-1] - a[0]))))
        a, b = ln[0], ln[-1]
        if float(np.hypot(*(b - a))) < 160:
            continue
        ang = float(np.degrees(np.arctan2(b[1] - a[1], b[0] - a[0])))
        if ang > 90:
            ang -= 180
        elif ang <= -90:
            ang += 180
        mask, halo = _text_masks(f.name, font, ang)
        th, tw = mask.shape
        for t in (0.3, 0.7, 0.5):
            c = a + (b - a) * t
            x, y = int(c[0] - tw / 2), int(c[1] - th / 2)
            box = (x + 2, y + 2, x + tw - 2, y + th - 2)
            if x < 0 or y < 0 or x + tw > width or y + th > height or any(_overlaps(box, q) for q in taken):
                continue
            _stamp(out, x, y, mask, halo, st.road_label_rgb, st.halo)
            taken.append(box)
            break
