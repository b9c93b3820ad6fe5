"""Satellite-like rendering of a SynthCity drawing, and the instance label image.

The satellite image is painted in layers, all vectorised with OpenCV and numpy: ground materials (a material
id map turned into colour through a look-up table, modulated by noise at three scales and a per-polygon tint),
painted lines, small objects, cast shadows (buildings, trees, objects), building facades and roofs (flat with
parapets and plant, gabled with a lit and a shaded half, ridged metal, glass, domed tanks), tree canopies
(shaded by distance to the crown edge and by the sun direction), then lighting, haze, blur and sensor noise.
"""

from __future__ import annotations

from collections import defaultdict

import cv2
import numpy as np

from evals.synthcity.drawing import Building, Drawing
from evals.synthcity.palette import Palette
from tools.subpixel import ONE, SHIFT, cv_pts


def _noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Return smooth noise (about unit variance) of about ``cells`` features across the image."""
    cells = max(2, int(cells))
    low = rng.standard_normal((cells + 1, cells + 1)).astype(np.float32)
    return cv2.resize(low, (size, size), interpolation=cv2.INTER_CUBIC)


def _white(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Return unit-variance white noise (uniform, which is several times cheaper to draw than normal)."""
    n = rng.random(shape, dtype=np.float32)
    n -= 0.5
    n *= 3.4641016  # sqrt(12)
    return n


class _Sun:
    def __init__(self, rng: np.random.Generator, gsd: float) -> None:
        az = rng.uniform(0, 2 * np.pi)
        self.dir = np.array([np.cos(az), np.sin(az)])  # the way shadows fall, in pixels
        self.length = rng.uniform(0.45, 1.3) / gsd  # shadow pixels per metre of height
        lean_az = rng.uniform(0, 2 * np.pi)
        self.lean = np.array([np.cos(lean_az), np.sin(lean_az)]) * rng.uniform(0.0, 0.15) / gsd
        self.strength = rng.uniform(0.58, 0.74)

    def shadow(self, h: float) -> np.ndarray:
        return self.dir * self.length * h


class SatLook:
    """The look shared by every part of one image: the sun and the camera's colour transform.

    A tile draws its own look from its random stream; a city (`evals.synthcity.city_render`) draws one look and
    renders every chunk with it, so the sun and the colours do not change at chunk borders.
    """

    def __init__(self, rng: np.random.Generator, gsd: float) -> None:
        """Draw a sun and a colour transform from ``rng`` (in the order a tile draws them)."""
        self.sun = _Sun(rng, gsd)
        self.finish = _finish_params(rng)


def render_satellite(
    d: Drawing, pal: Palette, size: int, gsd: float, rng: np.random.Generator, look: SatLook | None = None
) -> np.ndarray:
    """Paint a drawing (in image pixels) as an (H, W, 3) uint8 satellite-like image.

    Args:
        d: the drawing, in image pixels.
        pal: the palette.
        size: the image side in pixels.
        gsd: metres per pixel.
        rng: the random stream of textures, noise and per-object variation.
        look: the sun and colour transform to use; None draws them from ``rng`` (a tile's own look).
    """
    sun = look.sun if look is not None else _Sun(rng, gsd)
    img = _ground(d, pal, size, gsd, rng)
    _paints(img, d, pal, gsd)
    _object_shadows(img, d, sun)
    _objects(img, d, pal)
    shadow = np.zeros((size, size), np.uint8)
    for b in d.buildings:
        sh = b.poly + sun.shadow(b.height)
        hull = cv2.convexHull(cv_pts(np.concatenate([b.poly, sh])))
        cv2.fillConvexPoly(shadow, hull, 255, cv2.LINE_8, SHIFT)
    trees = np.concatenate(d.trees) if d.trees else np.zeros((0, 4))
    centres = cv_pts(trees[:, :2] + (2 * trees[:, 2:3] + 2.0) * (sun.dir * sun.length)).tolist()
    radii = (trees[:, 2] / gsd * ONE * 0.9).astype(int).tolist()
    for c, r in zip(centres, radii, strict=True):
        cv2.circle(shadow, c, r, 255, -1, cv2.LINE_8, SHIFT)
    s = cv2.GaussianBlur(shadow, (0, 0), 0.8).astype(np.float32) * (sun.strength / 255.0)
    tint = np.array([0.50, 0.53, 0.62], np.float32)
    img *= 1.0 - s[..., None] * (1.0 - tint)
    _buildings(img, d.buildings, pal, sun, gsd, rng)
    _trees(img, trees, pal, sun, gsd, rng)
    return _finish(img, rng, look.finish if look is not None else None)


def _ground(d: Drawing, pal: Palette, size: int, gsd: float, rng: np.random.Generator) -> np.ndarray:
    names = pal.material_names()
    ids = {n: i + 1 for i, n in enumerate(names)}
    # one fill per polygon into a polygon-id map; material and tint come from per-polygon tables
    pid = np.zeros((size, size), np.uint16)
    n_poly = min(len(d.grounds), 65534)
    poly_mat = np.zeros(n_poly + 1, np.uint8)
    poly_tint = np.ones(n_poly + 1, np.float32)
    poly_tint[1:] = rng.normal(1.0, 0.035, n_poly)
    poly_mat[0] = ids["yard"]
    for k, (poly, m) in enumerate(d.grounds[:n_poly], start=1):
        poly_mat[k] = ids.get(m, ids["yard"])
        cv2.fillPoly(pid, [cv_pts(poly)], k, cv2.LINE_8, SHIFT)
    mat = np.take(poly_mat, pid)
    tint = np.take(poly_tint, pid)
    lut = np.zeros((256, 3), np.float32)
    amps = np.zeros((3, 256), np.float32)
    veg = np.zeros(256, np.float32)
    for name, (rgb, a_l, a_m, a_f) in pal.materials.items():
        i = ids[name]
        lut[i] = rgb
        amps[:, i] = (a_l, a_m, a_f)
        veg[i] = 1.0 if name in ("grass", "lawn", "verge", "yard", "dry_grass") else 0.0
    m_px = size * gsd
    n_l = _noise(rng, size, m_px / 120)
    n_m = _noise(rng, size, m_px / 8)
    n_d = _noise(rng, size, m_px / 25)
    n_f = _white(rng, (size, size))
    # cv2.LUT gathers from 256-entry tables on uint8 ids several times faster than numpy indexing
    mod = cv2.LUT(mat, amps[0]) * n_l
    mod += cv2.LUT(mat, amps[1]) * n_m
    mod += cv2.LUT(mat, amps[2]) * n_f
    mod += 1.0
    mod *= tint
    dry = np.clip(n_d - 0.6, 0, 1) * cv2.LUT(mat, veg) * 0.6
    img = cv2.LUT(cv2.merge([mat, mat, mat]), lut.reshape(256, 1, 3))
    img *= (mod * (1.0 - dry))[..., None]
    img += dry[..., None] * np.array([170, 150, 110], np.float32)
    return img


def _paints(img: np.ndarray, d: Drawing, pal: Palette, gsd: float) -> None:
    groups: dict[tuple, list[np.ndarray]] = defaultdict(list)
    for pts, width, colour, closed in d.paints:
        wpx = width / gsd
        thick = max(1, round(wpx))
        alpha = 1.0 if wpx >= 0.9 else float(np.clip(wpx * 1.6, 0.3, 0.9))
        arr = cv_pts(pts)
        key = (pal.colour(colour), thick, round(alpha, 1), closed)
        groups[key] += list(arr) if arr.ndim == 3 else [arr]
    h, w = img.shape[:2]
    for (rgb, thick, alpha, closed), lines in groups.items():
        if alpha >= 1.0:
            cv2.polylines(img, lines, closed, tuple(float(c) for c in rgb), thick, cv2.LINE_8, SHIFT)
            continue
        allp = np.concatenate(lines) >> SHIFT
        x0, y0 = max(int(allp[:, 0].min()) - 2, 0), max(int(allp[:, 1].min()) - 2, 0)
        x1, y1 = min(int(allp[:, 0].max()) + 3, w), min(int(allp[:, 1].max()) + 3, h)
        if x1 <= x0 or y1 <= y0:
            continue
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        off = np.array([x0 * ONE, y0 * ONE], np.int32)
        cv2.polylines(mask, [ln - off for ln in lines], closed, 255, thick, cv2.LINE_8, SHIFT)
        crop = img[y0:y1, x0:x1]
        on = mask > 0
        crop[on] += alpha * (np.array(rgb, np.float32) - crop[on])


def _object_shadows(img: np.ndarray, d: Drawing, sun: _Sun) -> None:
    polys = [cv_pts(rects + sun.shadow(h) * 0.8) for rects, _c, h in d.objects if h > 0]
    if polys:
        cv2.fillPoly(img, list(np.concatenate(polys)), (46.0, 48.0, 56.0), cv2.LINE_8, SHIFT)


def _objects(img: np.ndarray, d: Drawing, pal: Palette) -> None:
    for rects, colour, _h in d.objects:
        rgb = tuple(float(c) for c in pal.colour(colour))
        cv2.fillPoly(img, list(cv_pts(rects)), rgb, cv2.LINE_8, SHIFT)


def _half_planes(poly: np.ndarray, normal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split a convex polygon by the line through its centroid orthogonal to ``normal``."""
    c = poly.mean(0)
    side = (poly - c) @ normal
    out_a, out_b = [], []
    n = len(poly)
    for i in range(n):
        p, q = poly[i], poly[(i + 1) % n]
        sp, sq = side[i], side[(i + 1) % n]
        (out_a if sp >= 0 else out_b).append(p)
        if sp * sq < 0:
            x = p + (q - p) * (sp / (sp - sq))
            out_a.append(x)
            out_b.append(x)
    return np.array(out_a), np.array(out_b)


def _buildings(
    img: np.ndarray, buildings: list[Building], pal: Palette, sun: _Sun, gsd: float, rng: np.random.Generator
) -> None:
    unit_polys: list[np.ndarray] = []
    unit_shadow: list[np.ndarray] = []
    to_sun = -sun.dir
    for b in sorted(buildings, key=lambda b: b.height):
        base = np.array(pal.colour(b.roof), np.float32) * rng.uniform(0.93, 1.07)
        lean = sun.lean * b.height
        roof = b.poly + lean
        if np.hypot(*lean) > 0.7:
            hull = cv2.convexHull(cv_pts(np.concatenate([b.poly, roof])))
            facade = base * 0.55 + 40
            cv2.fillConvexPoly(img, hull, tuple(float(c) for c in facade), cv2.LINE_8, SHIFT)
        ridge = b.ridge / (np.linalg.norm(b.ridge) + 1e-9)
        normal = np.array([-ridge[1], ridge[0]])
        if b.style == "gable" and len(roof) >= 3:
            a, c = _half_planes(roof, normal)
            lit = float(normal @ to_sun) >= 0
            for half, bright in ((a, 1.12 if lit else 0.8), (c, 0.8 if lit else 1.12)):
                if len(half) >= 3:
                    cv2.fillConvexPoly(
                        img, cv_pts(half), tuple(float(v) for v in np.minimum(base * bright, 255)), cv2.LINE_8, SHIFT
                    )
            continue
        if b.style in ("metal", "glass", "dome"):
            _patterned_roof(img, roof, base, b.style, normal, to_sun, gsd)
            continue
        cv2.fillConvexPoly(img, cv_pts(roof), tuple(float(c) for c in base), cv2.LINE_8, SHIFT)
        area_m2 = abs(cv2.contourArea(roof.astype(np.float32))) * gsd * gsd
        if area_m2 > 150 and len(roof) == 4:
            cv2.polylines(img, [cv_pts(roof)], True, tuple(float(c) for c in base * 0.8), 1, cv2.LINE_8, SHIFT)
            n_units = int(min(60, b.units * area_m2 / 120))
            if n_units:
                st = rng.uniform(0.1, 0.9, (n_units, 2))
                p0, p1, _p2, p3 = roof
                e1, e2 = p1 - p0, p3 - p0
                centres = p0 + st[:, :1] * e1 + st[:, 1:] * e2
                u1 = e1 / (np.linalg.norm(e1) + 1e-9)
                u2 = e2 / (np.linalg.norm(e2) + 1e-9)
                sz = rng.uniform(0.8, 1.6, (n_units, 2)) / gsd
                for cc, (s1, s2) in zip(centres, sz, strict=True):
                    q = np.array(
                        [cc - u1 * s1 - u2 * s2, cc + u1 * s1 - u2 * s2, cc + u1 * s1 + u2 * s2, cc - u1 * s1 + u2 * s2]
                    )
                    unit_shadow.append(cv_pts(q + sun.shadow(0.6)))
                    unit_polys.append(cv_pts(q))
    if unit_polys:
        cv2.fillPoly(img, unit_shadow, (104.0, 106.0, 114.0), cv2.LINE_8, SHIFT)
        cv2.fillPoly(img, unit_polys, (205.0, 205.0, 202.0), cv2.LINE_8, SHIFT)


def _patterned_roof(
    img: np.ndarray, roof: np.ndarray, base: np.ndarray, style: str, normal: np.ndarray, to_sun: np.ndarray, gsd: float
) -> None:
    h, w = img.shape[:2]
    x0, y0 = max(int(np.floor(roof[:, 0].min())) - 1, 0), max(int(np.floor(roof[:, 1].min())) - 1, 0)
    x1, y1 = min(int(np.ceil(roof[:, 0].max())) + 1, w), min(int(np.ceil(roof[:, 1].max())) + 1, h)
    if x1 <= x0 or y1 <= y0:
        return
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillConvexPoly(mask, cv_pts(roof - (x0, y0)), 1, cv2.LINE_8, SHIFT)
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    c = roof.mean(0)
    if style == "metal":
        q = (xx - c[0]) * normal[0] + (yy - c[1]) * normal[1]
        period = 1.6 / gsd
        stripes = 0.93 + 0.07 * np.sign(np.sin(2 * np.pi * q / max(period, 2.0)))
        half = np.where(q * float(normal @ to_sun) >= 0, 1.05, 0.9)
        shade = stripes * half
    elif style == "glass":
        diag = (xx - c[0]) * 0.7 + (yy - c[1]) * 0.7
        span = max(float(np.abs(diag).max()), 1.0)
        shade = 0.85 + 0.3 * (diag / span + 1) / 2
    else:  # dome
        r = max((x1 - x0) / 2, 1.0)
        dx, dy = (xx - c[0]) / r, (yy - c[1]) / r
        shade = 0.85 + 0.25 * (dx * to_sun[0] + dy * to_sun[1]) - 0.1 * (dx * dx + dy * dy)
    crop = img[y0:y1, x0:x1]
    m = mask.astype(bool)
    crop[m] = (base[None, :] * shade[m][:, None]).clip(0, 255)


def _trees(img: np.ndarray, trees: np.ndarray, pal: Palette, sun: _Sun, gsd: float, rng: np.random.Generator) -> None:
    if len(trees) == 0:
        return
    size = img.shape[0]
    tid = np.zeros(img.shape[:2], np.uint8)
    shrink = 0.8 if pal.leafless else 1.0
    k = trees[:, 3].astype(int)
    idx = np.where(
        k == 0,
        rng.integers(0, 10, len(k)),
        np.where(k == 1, rng.integers(10, 13, len(k)), rng.integers(13, 16, len(k))),
    )
    c = cv_pts(trees[:, :2]).tolist()
    rad = (trees[:, 2] / gsd * shrink * ONE).astype(np.int64).tolist()
    for xy, r, i in zip(c, rad, (idx + 1).tolist(), strict=True):
        cv2.circle(tid, xy, r, i, -1, cv2.LINE_8, SHIFT)
    mask = tid > 0
    if not mask.any():
        return
    dist = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)
    dome = np.minimum(dist / max(1.8 / gsd, 1.0), 1.0)
    soft = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), max(1.2 / gsd, 1.0))
    gx = cv2.Sobel(soft, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(soft, cv2.CV_32F, 0, 1, ksize=3)
    light = np.clip((gx * sun.dir[0] + gy * sun.dir[1]) * 0.9, -0.18, 0.18)
    clump = _noise(rng, size, size * gsd / 1.2)
    shade = 0.7 + 0.22 * dome + light + (0.2 if pal.leafless else 0.13) * clump
    tree_px = np.take(pal.trees, tid[mask].astype(np.intp) - 1, axis=0) * shade[mask][:, None]
    if pal.leafless:
        tree_px = 0.6 * tree_px + 0.4 * img[mask]
    img[mask] = tree_px


def _finish_params(rng: np.random.Generator) -> tuple[np.ndarray, float, float, float]:
    """Draw white balance, brightness, contrast and haze, in that order."""
    wb = rng.normal(1.0, 0.025, 3)
    bright = rng.uniform(0.92, 1.08)
    contrast = rng.uniform(0.9, 1.12)
    haze = rng.uniform(0.0, 0.12)
    return wb, float(bright), float(contrast), float(haze)


def _finish(
    img: np.ndarray, rng: np.random.Generator, params: tuple[np.ndarray, float, float, float] | None = None
) -> np.ndarray:
    """Apply white balance, brightness, contrast and haze in one colour transform, then blur and sensor noise."""
    size = img.shape[0]
    wb, bright, contrast, haze = params if params is not None else _finish_params(rng)
    # out = ((img * wb * bright - 118) * contrast + 118) * (1 - haze) + haze * haze_rgb, as one affine map
    scale = wb * bright * contrast * (1 - haze)
    offset = 118.0 * (1 - contrast) * (1 - haze) + haze * np.array([196.0, 200.0, 210.0])
    m = np.concatenate([np.diag(scale), offset[:, None]], axis=1).astype(np.float32)
    out = cv2.transform(img, m)
    out = cv2.GaussianBlur(out, (0, 0), 0.6)
    out = np.clip(out, 0, 255, out=out).astype(np.uint8)
    noise = np.frombuffer(rng.bytes(size * size * 3), np.uint8).reshape(size, size, 3)
    out = cv2.add(out, noise & 3)
    return cv2.subtract(out, (noise >> 4) & 3)


def render_labels(polys: list[np.ndarray], size: int) -> np.ndarray:
    """Rasterise place footprints (image pixels) as an (H, W) int32 label image, label k for polygon k-1."""
    labels = np.zeros((size, size), np.int32)
    for k, poly in enumerate(polys, start=1):
        cv2.fillPoly(labels, [cv_pts(poly)], k, cv2.LINE_8, SHIFT)
    return labels
