"""Satellite colours of SynthCity: ground materials, paint, objects, roofs and trees, per region and season.

A `Palette` resolves the colour keys that recipes use. ``temperate`` (four seasons) is the look of every split
but ``ood-region``, which uses ``arid``: sand and ochre ground, sparse olive vegetation, pale flat roofs and
dusty roads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RGB = tuple[int, int, int]

# material: (rgb, large-scale, medium-scale, fine texture amplitude)
_TEMPERATE_MATERIALS: dict[str, tuple[RGB, float, float, float]] = {
    "yard": ((128, 124, 108), 0.04, 0.05, 0.06),
    "soil": ((140, 118, 92), 0.07, 0.09, 0.07),
    "sand": ((196, 178, 140), 0.05, 0.06, 0.05),
    "gravel": ((150, 146, 138), 0.03, 0.05, 0.09),
    "ballast": ((118, 108, 98), 0.03, 0.05, 0.12),
    "concrete": ((172, 170, 164), 0.04, 0.05, 0.04),
    "paving": ((160, 154, 146), 0.03, 0.04, 0.05),
    "plaza": ((184, 178, 168), 0.03, 0.04, 0.05),
    "asphalt": ((78, 80, 84), 0.04, 0.04, 0.05),
    "asphalt_light": ((105, 106, 108), 0.04, 0.05, 0.05),
    "sidewalk": ((158, 155, 150), 0.03, 0.04, 0.05),
    "verge": ((112, 124, 84), 0.06, 0.10, 0.08),
    "grass": ((92, 122, 62), 0.07, 0.09, 0.08),
    "lawn": ((104, 140, 66), 0.05, 0.07, 0.06),
    "turf": ((64, 140, 70), 0.02, 0.02, 0.03),
    "turf_dark": ((54, 122, 60), 0.02, 0.02, 0.03),
    "dry_grass": ((150, 144, 100), 0.07, 0.09, 0.08),
    "track": ((176, 84, 68), 0.02, 0.02, 0.03),
    "track_blue": ((60, 100, 160), 0.02, 0.02, 0.03),
    "track_green": ((70, 130, 90), 0.02, 0.02, 0.03),
    "court_blue": ((60, 110, 150), 0.02, 0.02, 0.03),
    "court_green": ((70, 130, 100), 0.02, 0.02, 0.03),
    "court_red": ((170, 90, 70), 0.02, 0.02, 0.03),
    "rubber_red": ((200, 70, 60), 0.02, 0.02, 0.03),
    "rubber_green": ((80, 160, 80), 0.02, 0.02, 0.03),
    "rubber_blue": ((70, 120, 190), 0.02, 0.02, 0.03),
    "rubber_yellow": ((220, 190, 70), 0.02, 0.02, 0.03),
    "water": ((52, 72, 78), 0.06, 0.03, 0.02),
    "water_green": ((70, 96, 72), 0.05, 0.03, 0.02),
    "pool": ((90, 190, 210), 0.02, 0.02, 0.02),
    "stands": ((150, 150, 152), 0.02, 0.03, 0.06),
    "seat_blue": ((50, 80, 150), 0.02, 0.02, 0.08),
    "seat_red": ((160, 50, 50), 0.02, 0.02, 0.08),
    "seat_orange": ((200, 120, 50), 0.02, 0.02, 0.08),
    "seat_green": ((50, 120, 70), 0.02, 0.02, 0.08),
    "net": ((150, 156, 150), 0.02, 0.03, 0.10),
}

_TEMPERATE_PAINT: dict[str, RGB] = {
    "white": (236, 236, 230),
    "yellow": (225, 190, 70),
    "path": (192, 184, 168),
    "rail": (62, 56, 50),
    "asphalt_light": (105, 106, 108),
    "skylight": (140, 162, 178),
    "bridge": (196, 196, 190),
    "gravel_path": (178, 170, 152),
    "paving_line": (150, 145, 138),
    "crane": (222, 182, 40),
    "wall": (205, 195, 175),
}

_OBJECTS: dict[str, RGB] = {
    "car_white": (226, 226, 224),
    "car_black": (36, 36, 40),
    "car_silver": (176, 179, 183),
    "car_grey": (110, 112, 116),
    "car_red": (170, 42, 40),
    "car_blue": (46, 70, 130),
    "toy": (222, 62, 58),
    "rock": (150, 145, 135),
    "pile_rust": (150, 92, 62),
    "pile_blue": (72, 100, 150),
    "pile_grey": (132, 132, 130),
    "dock": (58, 58, 60),
    "grave": (206, 206, 200),
    "grave_dark": (150, 150, 148),
    "container": (176, 72, 52),
}

_TEMPERATE_ROOFS: dict[str, list[RGB]] = {
    "roof_school": [
        (150, 150, 150),
        (185, 100, 80),
        (120, 140, 170),
        (200, 195, 185),
        (170, 120, 90),
        (140, 150, 140),
        (190, 185, 170),
        (110, 115, 130),
    ],
    "roof_uni": [
        (175, 105, 85),
        (160, 160, 158),
        (195, 190, 180),
        (130, 120, 115),
        (150, 110, 90),
        (120, 135, 150),
        (205, 200, 192),
        (140, 140, 135),
    ],
    "roof_kinder": [
        (230, 140, 60),
        (240, 200, 80),
        (120, 170, 220),
        (230, 120, 140),
        (120, 190, 120),
        (220, 90, 70),
        (250, 220, 120),
        (150, 120, 200),
    ],
    "roof_hospital": [
        (225, 225, 222),
        (205, 210, 215),
        (190, 200, 210),
        (215, 210, 200),
        (200, 200, 200),
        (180, 195, 205),
        (230, 228, 220),
        (170, 180, 190),
    ],
    "roof_light": [
        (215, 215, 212),
        (200, 200, 198),
        (190, 192, 196),
        (225, 222, 215),
        (180, 182, 185),
        (205, 200, 190),
        (230, 230, 228),
        (170, 172, 176),
    ],
    "roof_mall": [
        (205, 205, 202),
        (215, 212, 205),
        (190, 192, 195),
        (225, 225, 220),
        (185, 180, 172),
        (200, 205, 210),
        (175, 178, 182),
        (215, 215, 215),
    ],
    "roof_glass": [
        (70, 95, 115),
        (60, 75, 90),
        (90, 110, 125),
        (50, 65, 80),
        (100, 120, 135),
        (80, 90, 100),
        (65, 85, 105),
        (110, 125, 140),
    ],
    "roof_res": [
        (190, 160, 140),
        (200, 190, 175),
        (160, 150, 150),
        (175, 120, 100),
        (210, 205, 195),
        (150, 155, 165),
        (185, 175, 160),
        (170, 140, 120),
    ],
    "roof_metal": [
        (90, 120, 160),
        (120, 140, 170),
        (160, 165, 170),
        (200, 200, 200),
        (80, 100, 140),
        (140, 90, 70),
        (110, 130, 120),
        (180, 185, 190),
    ],
    "roof_warehouse": [
        (215, 215, 215),
        (200, 205, 210),
        (120, 145, 180),
        (190, 190, 185),
        (230, 230, 228),
        (100, 125, 165),
        (180, 180, 180),
        (205, 200, 195),
    ],
    "roof_station": [
        (190, 195, 200),
        (170, 175, 180),
        (210, 210, 210),
        (150, 160, 170),
        (200, 195, 185),
        (120, 130, 140),
        (220, 220, 218),
        (160, 165, 170),
    ],
    "roof_pavilion": [
        (150, 60, 50),
        (60, 110, 80),
        (160, 140, 80),
        (120, 60, 50),
        (80, 80, 80),
        (170, 90, 60),
        (100, 120, 90),
        (140, 70, 60),
    ],
    "roof_zoo": [
        (110, 120, 90),
        (130, 100, 80),
        (90, 110, 80),
        (150, 130, 100),
        (120, 90, 70),
        (100, 100, 90),
        (140, 120, 90),
        (90, 90, 80),
    ],
    "roof_chapel": [
        (120, 70, 60),
        (90, 90, 95),
        (140, 90, 70),
        (100, 80, 70),
        (80, 80, 85),
        (150, 110, 90),
        (110, 100, 100),
        (130, 80, 70),
    ],
    "roof_house": [
        (150, 70, 55),
        (120, 60, 50),
        (90, 90, 95),
        (170, 100, 70),
        (110, 80, 70),
        (140, 130, 120),
        (80, 75, 75),
        (160, 90, 60),
    ],
    "roof_mid": [
        (175, 175, 172),
        (150, 150, 152),
        (190, 185, 178),
        (165, 140, 120),
        (140, 145, 155),
        (200, 198, 195),
        (120, 120, 125),
        (180, 165, 150),
    ],
    "tank": [(222, 222, 218), (200, 200, 196)],
    "chimney": [(120, 110, 100)],
}

_ARID_MATERIALS: dict[str, tuple[RGB, float, float, float]] = {
    "yard": ((192, 166, 128), 0.06, 0.09, 0.06),
    "soil": ((202, 172, 128), 0.07, 0.10, 0.07),
    "sand": ((214, 190, 148), 0.05, 0.06, 0.05),
    "gravel": ((176, 164, 146), 0.03, 0.05, 0.09),
    "ballast": ((150, 134, 116), 0.03, 0.05, 0.12),
    "concrete": ((206, 196, 180), 0.04, 0.05, 0.04),
    "paving": ((200, 184, 160), 0.04, 0.05, 0.05),
    "plaza": ((216, 202, 180), 0.03, 0.04, 0.05),
    "asphalt": ((112, 106, 100), 0.05, 0.05, 0.06),
    "asphalt_light": ((140, 132, 122), 0.05, 0.05, 0.06),
    "sidewalk": ((196, 182, 162), 0.03, 0.04, 0.05),
    "verge": ((176, 156, 116), 0.06, 0.10, 0.08),
    "grass": ((138, 138, 82), 0.10, 0.14, 0.09),
    "lawn": ((118, 136, 70), 0.07, 0.09, 0.07),
    "dry_grass": ((186, 166, 116), 0.08, 0.12, 0.08),
    "water": ((58, 98, 108), 0.05, 0.03, 0.02),
    "water_green": ((82, 112, 86), 0.05, 0.03, 0.02),
}

_ARID_ROOFS: dict[str, list[RGB]] = {
    "roof_house": [
        (226, 216, 196),
        (210, 196, 170),
        (236, 230, 220),
        (196, 170, 140),
        (200, 150, 110),
        (216, 206, 190),
        (182, 160, 130),
        (230, 220, 200),
    ],
    "roof_mid": [
        (220, 210, 192),
        (232, 226, 214),
        (205, 190, 165),
        (190, 175, 150),
        (214, 200, 180),
        (238, 234, 226),
        (200, 160, 120),
        (180, 170, 155),
    ],
    "roof_res": [
        (226, 212, 188),
        (214, 196, 168),
        (236, 228, 214),
        (200, 176, 146),
        (220, 204, 180),
        (190, 168, 140),
        (230, 220, 204),
        (204, 186, 160),
    ],
    "roof_metal": [
        (196, 196, 190),
        (176, 180, 184),
        (214, 212, 206),
        (160, 150, 136),
        (186, 190, 196),
        (200, 184, 160),
        (170, 170, 166),
        (220, 220, 216),
    ],
    "roof_school": [
        (224, 214, 196),
        (200, 160, 120),
        (230, 226, 216),
        (190, 176, 156),
        (212, 200, 178),
        (184, 150, 120),
        (236, 232, 222),
        (204, 190, 168),
    ],
    "roof_uni": [
        (222, 206, 180),
        (200, 164, 126),
        (232, 226, 214),
        (196, 180, 156),
        (214, 198, 170),
        (186, 160, 130),
        (228, 220, 204),
        (206, 192, 168),
    ],
}

SEASONS = ("summer", "spring", "autumn", "winter")

# per season: grass-like material colours and tree colours (broadleaf variants, conifer, shrub)
_SEASON_VEG: dict[str, dict[str, RGB]] = {
    "summer": {"grass": (92, 122, 62), "lawn": (104, 140, 66), "verge": (112, 124, 84)},
    "spring": {"grass": (112, 138, 70), "lawn": (124, 156, 74), "verge": (124, 134, 88)},
    "autumn": {"grass": (124, 124, 72), "lawn": (124, 134, 70), "verge": (132, 126, 90)},
    "winter": {"grass": (132, 124, 96), "lawn": (128, 126, 94), "verge": (134, 126, 104), "dry_grass": (150, 138, 112)},
}
_SEASON_TREES: dict[str, list[RGB]] = {
    "summer": [(58, 84, 40), (64, 92, 44), (52, 78, 42), (70, 96, 48), (60, 88, 50)],
    "spring": [(80, 112, 54), (90, 122, 58), (74, 104, 52), (170, 150, 156), (94, 120, 60)],
    "autumn": [(128, 104, 56), (140, 92, 52), (106, 100, 54), (72, 86, 46), (146, 122, 64)],
    "winter": [(104, 94, 84), (96, 88, 80), (112, 102, 90), (90, 84, 78), (100, 96, 86)],
}
_ARID_TREES = [(74, 82, 46), (84, 90, 52), (66, 74, 44), (92, 96, 58), (78, 84, 50)]
_CONIFER: dict[str, RGB] = {
    "summer": (40, 62, 40),
    "spring": (44, 66, 42),
    "autumn": (42, 60, 40),
    "winter": (46, 60, 46),
}
_SHRUB: dict[str, RGB] = {
    "summer": (72, 92, 52),
    "spring": (84, 104, 58),
    "autumn": (104, 96, 56),
    "winter": (110, 100, 84),
}


@dataclass
class Palette:
    """Resolved colours for one scene.

    Attributes:
        materials: ground material -> (rgb, large, medium, fine texture amplitude).
        paint: paint colour keys -> rgb.
        objects: object colour keys -> rgb.
        roofs: roof keys -> list of rgb variants (a key ``"roof_res:3"`` picks variant 3).
        trees: (16, 3) float tree colours; rows 0-9 broadleaf variants, 10-12 conifer, 13-15 shrub.
        leafless: trees are bare (winter): smaller, thinner canopies.
    """

    materials: dict[str, tuple[RGB, float, float, float]]
    paint: dict[str, RGB]
    objects: dict[str, RGB]
    roofs: dict[str, list[RGB]]
    trees: np.ndarray
    leafless: bool = False

    def material_names(self) -> list[str]:
        """Return material names in id order (id 0 is unused)."""
        return list(self.materials)

    def colour(self, key: str | tuple[int, int, int]) -> RGB:
        """Resolve a paint, object or roof key (``"roof_res:3"``) or pass an RGB tuple through."""
        if not isinstance(key, str):
            return key
        if key in self.paint:
            return self.paint[key]
        if key in self.objects:
            return self.objects[key]
        name, _, variant = key.partition(":")
        if name in self.roofs:
            options = self.roofs[name]
            return options[int(variant or 0) % len(options)]
        if name in self.materials:
            return self.materials[name][0]
        raise KeyError(f"SynthCity palette has no colour {key!r}")


def make_palette(region: str, season: str, rng: np.random.Generator) -> Palette:
    """Return the palette of a region look and season, with a small per-scene colour drift."""
    materials = dict(_TEMPERATE_MATERIALS)
    roofs = {k: list(v) for k, v in _TEMPERATE_ROOFS.items()}
    paint = dict(_TEMPERATE_PAINT)
    if region == "arid":
        materials.update(_ARID_MATERIALS)
        roofs.update({k: list(v) for k, v in _ARID_ROOFS.items()})
        paint.update({"path": (214, 198, 172), "wall": (226, 214, 192)})
        broad = _ARID_TREES
        season = "summer"
    else:
        for k, rgb in _SEASON_VEG[season].items():
            _, a, b, c = materials[k]
            materials[k] = (rgb, a, b, c)
        broad = _SEASON_TREES[season]
    drift = rng.normal(0, 4, 3)
    for k, (rgb, a, b, c) in list(materials.items()):
        materials[k] = (tuple(int(np.clip(v + d, 0, 255)) for v, d in zip(rgb, drift, strict=True)), a, b, c)  # type: ignore[misc]
    trees = np.zeros((16, 3), np.float32)
    for i in range(10):
        trees[i] = np.array(broad[i % len(broad)]) * rng.uniform(0.9, 1.1)
    conifer = _CONIFER["summer" if region == "arid" else season]
    shrub = _SHRUB["summer" if region == "arid" else season]
    for i in range(10, 13):
        trees[i] = np.array(conifer) * rng.uniform(0.9, 1.1)
    for i in range(13, 16):
        trees[i] = np.array(shrub if region != "arid" else _ARID_TREES[i - 13]) * rng.uniform(0.9, 1.1)
    return Palette(materials, paint, dict(_OBJECTS), roofs, np.clip(trees, 0, 255), leafless=season == "winter")
