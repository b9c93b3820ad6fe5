"""Map styles: colours, road widths, POI markers and label fonts for `tools.map_render`.

A `MapStyle` holds every choice the renderer makes about looks; `STYLES` are the built-in ones, which
SynthCity draws its maps in (`get_style` looks one up by name):

- ``amap``: an Amap-like standard style (SynthCity train/val/test): warm light-grey ground, yellow arterials
  with orange casing, white streets, pastel land-use fills, round POI icons, dark grey labels with a white halo.
- ``amap_fresh``: a cooler Amap variant (SynthCity train/val/test): blue-grey ground, pale orange arterials,
  rounded square icons, labels coloured by function, slightly larger type.
- ``gmap``: a Google-Maps-like style (held out for SynthCity's ``ood-mapstyle``): near-white ground, thin
  outlined roads, teardrop pins above the POI, bold labels coloured by category.

>>> get_style("gmap").marker
'pin'
>>> get_style("osm")
Traceback (most recent call last):
...
tools.errors.InputError: unknown map style 'osm'; the built-in styles are amap, amap_fresh, gmap
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tools.errors import InputError

RGB = tuple[int, int, int]


def font_path(bold: bool = False) -> Path:
    """Return the path of matplotlib's bundled DejaVu Sans (bold or regular)."""
    import matplotlib

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name


FUNCTION_COLOURS: dict[str, RGB] = {
    "education": (86, 110, 214),
    "healthcare": (226, 78, 78),
    "recreation": (64, 164, 86),
    "commerce": (240, 146, 46),
    "residential": (196, 136, 84),
    "industry": (128, 116, 168),
    "transport": (54, 136, 206),
    "utilities": (44, 164, 186),
    "civic": (116, 116, 122),
    "food": (232, 108, 52),
    "accommodation": (140, 88, 176),
    "worship": (120, 96, 76),
    "culture": (200, 80, 150),
    "agriculture": (150, 150, 60),
    "nature": (48, 140, 72),
}
"""Marker colours of the places of each socio-function (the default of `MapStyle.function_colours`)."""

CATEGORY_COLOURS: dict[str, RGB] = {
    "restaurant": (236, 128, 60),
    "cafe": (150, 100, 70),
    "hotel": (150, 90, 170),
    "bank": (96, 120, 150),
    "shop": (236, 150, 70),
    "bus_stop": (60, 130, 210),
    "pharmacy": (70, 160, 90),
    "supermarket": (236, 140, 50),
}
"""Marker colours of POIs of no socio-class, by their ``category`` property (others are grey)."""


@dataclass(frozen=True)
class MapStyle:
    """Everything the map renderer needs to know about a style.

    Attributes:
        name: the style's name.
        background: the ground colour.
        landuse: land-use fill colour per socio-function (areas of other functions are drawn in ``grass``).
        water: the fill of land use tagged ``landuse=water``.
        grass: the fill of parks, and of land use of no function in ``landuse`` that is not water.
        roads: per road class (``arterial``, ``collector``, ``local``): the (fill, casing) colours.
        road_scale: road width in pixels = width in metres / ground size of a pixel * this (clipped to 4-34).
        casing_px: casing width on each side of a road, in pixels.
        rail: a railway's (base, dash) colours; equal colours draw a plain line.
        marker: the POI marker: a ``circle``, a rounded ``square`` or a ``pin`` above the point.
        icon_px: the marker's diameter (POIs of no socio-class get 70% of it).
        label_mode: ``dark`` labels in ``label_rgb``, or ``function`` labels in a darker marker colour.
        label_rgb: the label colour of places (``dark`` mode, or a place of no known function).
        halo: the colour of the halo around every label.
        label_px: the font size of place labels.
        bold: whether place labels are bold.
        clutter_label_px: the font size of labels of POIs of no socio-class.
        road_label_rgb: the colour of road names.
        function_colours: marker colour per socio-function.
        category_colours: marker colour of POIs of no socio-class, by their ``category`` property.
        building: the fill of building footprints (``kind="building"``; SynthCity draws none).
        building_outline: their outline.
    """

    name: str
    background: RGB
    landuse: dict[str, RGB]
    water: RGB
    grass: RGB
    roads: dict[str, tuple[RGB, RGB]]
    road_scale: float
    casing_px: int
    rail: tuple[RGB, RGB]
    marker: Literal["circle", "square", "pin"]
    icon_px: int
    label_mode: Literal["dark", "function"]
    label_rgb: RGB
    halo: RGB
    label_px: int
    bold: bool
    clutter_label_px: int
    road_label_rgb: RGB
    function_colours: dict[str, RGB] = field(default_factory=lambda: dict(FUNCTION_COLOURS))
    category_colours: dict[str, RGB] = field(default_factory=lambda: dict(CATEGORY_COLOURS))
    building: RGB = (222, 216, 208)
    building_outline: RGB = (200, 192, 182)


STYLES: dict[str, MapStyle] = {
    "amap": MapStyle(
        name="amap",
        background=(246, 244, 240),
        landuse={
            "education": (236, 230, 246),
            "healthcare": (249, 228, 228),
            "recreation": (206, 234, 198),
            "commerce": (250, 236, 214),
            "residential": (240, 236, 226),
            "industry": (232, 230, 238),
            "transport": (228, 232, 238),
            "utilities": (220, 236, 242),
            "civic": (218, 230, 212),
            "food": (250, 232, 220),
            "accommodation": (240, 230, 244),
            "worship": (236, 230, 222),
            "culture": (246, 228, 238),
            "agriculture": (238, 240, 210),
            "nature": (196, 228, 188),
        },
        water=(164, 206, 240),
        grass=(206, 234, 198),
        roads={
            "arterial": ((255, 224, 136), (238, 178, 88)),
            "collector": ((255, 255, 255), (212, 206, 198)),
            "local": ((255, 255, 255), (222, 218, 212)),
        },
        road_scale=0.6,
        casing_px=1,
        rail=((168, 168, 174), (255, 255, 255)),
        marker="circle",
        icon_px=15,
        label_mode="dark",
        label_rgb=(78, 78, 84),
        halo=(255, 255, 255),
        label_px=12,
        bold=False,
        clutter_label_px=10,
        road_label_rgb=(120, 112, 100),
    ),
    "amap_fresh": MapStyle(
        name="amap_fresh",
        background=(236, 241, 246),
        landuse={
            "education": (226, 228, 248),
            "healthcare": (246, 226, 232),
            "recreation": (200, 232, 206),
            "commerce": (248, 234, 220),
            "residential": (230, 234, 238),
            "industry": (226, 226, 236),
            "transport": (220, 228, 240),
            "utilities": (214, 234, 244),
            "civic": (214, 228, 214),
            "food": (248, 230, 222),
            "accommodation": (234, 228, 244),
            "worship": (230, 228, 224),
            "culture": (244, 226, 238),
            "agriculture": (232, 238, 212),
            "nature": (190, 226, 196),
        },
        water=(150, 196, 236),
        grass=(200, 232, 206),
        roads={
            "arterial": ((255, 238, 196), (242, 196, 136)),
            "collector": ((255, 255, 255), (198, 208, 222)),
            "local": ((255, 255, 255), (210, 218, 228)),
        },
        road_scale=0.55,
        casing_px=1,
        rail=((150, 160, 176), (236, 241, 246)),
        marker="square",
        icon_px=16,
        label_mode="function",
        label_rgb=(70, 80, 96),
        halo=(255, 255, 255),
        label_px=13,
        bold=False,
        clutter_label_px=11,
        road_label_rgb=(110, 120, 136),
    ),
    "gmap": MapStyle(
        name="gmap",
        background=(248, 249, 250),
        landuse={
            "education": (232, 236, 246),
            "healthcare": (252, 232, 230),
            "recreation": (197, 232, 197),
            "commerce": (254, 239, 224),
            "residential": (242, 242, 242),
            "industry": (236, 234, 240),
            "transport": (232, 234, 237),
            "utilities": (226, 238, 244),
            "civic": (222, 238, 222),
            "food": (254, 236, 226),
            "accommodation": (242, 234, 248),
            "worship": (240, 236, 230),
            "culture": (250, 232, 242),
            "agriculture": (240, 242, 214),
            "nature": (190, 228, 190),
        },
        water=(170, 218, 255),
        grass=(197, 232, 197),
        roads={
            "arterial": ((253, 226, 147), (249, 199, 79)),
            "collector": ((255, 255, 255), (218, 220, 224)),
            "local": ((255, 255, 255), (230, 232, 235)),
        },
        road_scale=0.45,
        casing_px=1,
        rail=((188, 188, 194), (188, 188, 194)),
        marker="pin",
        icon_px=18,
        label_mode="function",
        label_rgb=(60, 64, 67),
        halo=(255, 255, 255),
        label_px=12,
        bold=True,
        clutter_label_px=10,
        road_label_rgb=(112, 117, 122),
        function_colours={
            "education": (88, 96, 170),
            "healthcare": (217, 72, 60),
            "recreation": (30, 140, 70),
            "commerce": (26, 115, 232),
            "residential": (150, 110, 80),
            "industry": (110, 110, 120),
            "transport": (25, 118, 170),
            "utilities": (0, 140, 160),
            "civic": (100, 100, 100),
            "food": (230, 100, 40),
            "accommodation": (130, 80, 170),
            "worship": (110, 90, 70),
            "culture": (190, 70, 140),
            "agriculture": (130, 130, 50),
            "nature": (30, 130, 60),
        },
    ),
}
"""The built-in styles, by name."""


def get_style(style: MapStyle | str) -> MapStyle:
    """Return a style given itself or the name of a built-in one.

    Raises:
        InputError: the name is not one of `STYLES`.
    """
    if isinstance(style, MapStyle):
        return style
    try:
        return STYLES[style]
    except KeyError:
        raise InputError(f"unknown map style {style!r}; the built-in styles are {', '.join(STYLES)}") from None
