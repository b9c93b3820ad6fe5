"""One SynthCity sample: plan, city, images, layers, georeferencing, truth and query, from (seed, split, index).

Every random draw comes from a numpy Generator seeded by ``SeedSequence([seed, split code, index])`` and
spawned into one stream per stage (plan, layout, names, satellite, layers, georeferencing), so a sample is
the same bytes on every run and changing one stage's code leaves the other stages' draws alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from affine import Affine

from evals.synthcity.clutter import CLUTTER_FUNCTIONS
from evals.synthcity.drawing import rect
from evals.synthcity.layers import build_layers, site_polygon, to_geojson
from evals.synthcity.layout import build_layout
from evals.synthcity.names import NameGenerator, class_phrase, function_phrase
from evals.synthcity.palette import SEASONS, make_palette
from evals.synthcity.plan import Plan, make_plan
from evals.synthcity.render import render_labels, render_satellite
from evals.synthcity.splits import get_split
from tools.coords import GeoRef
from tools.errors import InputError
from tools.map_render import render_map
from tools.scene import Scene
from tools.taxonomy import CLASSES

GENERATOR_VERSION = 2
"""Bump when a code change alters generated samples: exports record it, and a rerun refuses to mix versions.

2: no function-level queries for residential and commerce (`evals.synthcity.splits`).
"""

MIN_SIZE = 128
MIN_VISIBLE_PX = 40
MAX_LAYOUT_ATTEMPTS = 8


@dataclass
class SynthSample:
    """A generated sample: the scene the agent sees plus the truth it is scored against.

    Attributes:
        sample_id: ``f"{split}-{seed}-{index:05d}"``.
        split: the split name.
        query: the query text (SocioSeg's ``problem``).
        level: ``name``, ``class`` or ``function``.
        target_class: taxonomy key of the targets' class; None when a function-level query spans classes.
        target_function: taxonomy key of the targets' function.
        instance_ids: ids of the target instances.
        instance_names: names of the target instances.
        scene: the scene (``scene_id`` = sample_id): sat, map, layers in image pixels, georef,
            ``truth`` = (H, W) bool union of the targets, ``meta`` = the sidecar fields.
        instance_labels: (H, W) int32; 0 background, k > 0 the k-th place instance (targets or not).
        instances: per place: id, label, name, class, function, is_target, bbox [x1, y1, x2, y2] (pixels,
            of the visible part), polygon (the site outline in pixels).
        layers_geojson: the layers as a GeoJSON FeatureCollection in the CRS, with a ``crs`` member.
        placed: every place the layout drew, before places with fewer than `MIN_VISIBLE_PX` pixels in the
            tile are dropped from ``instances``: class, function, polygon (pixels). For checking the truth
            against what the satellite image shows.
        clutter: every clutter parcel drawn: kind, function (`evals.synthcity.clutter.CLUTTER_FUNCTIONS`, None
            for most), polygon (pixels).
    """

    sample_id: str
    split: str
    query: str
    level: Literal["name", "class", "function"]
    target_class: str | None
    target_function: str
    instance_ids: list[str]
    instance_names: list[str]
    scene: Scene
    instance_labels: np.ndarray
    instances: list[dict[str, Any]]
    layers_geojson: dict[str, Any]
    placed: list[dict[str, Any]] = field(default_factory=list)
    clutter: list[dict[str, Any]] = field(default_factory=list)


def _polygon(points: np.ndarray) -> list[list[float]]:
    """Return a polygon as lists of floats, unrounded: rasterised again, it gives the truth's pixels exactly."""
    return [[float(x), float(y)] for x, y in points]


def check_args(seed: int, index: int, size: int, gsd: float) -> None:
    """Raise `InputError` naming the fix if generation arguments are out of range.

    The messages name the ``socio synth`` flags (``--seed``, ``--size``, ``--gsd``), the same words for the
    command and for library calls.
    """
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise InputError(f"--seed must be a non-negative integer, got {seed!r}")
    if not isinstance(index, int | np.integer) or index < 0:
        raise InputError(f"the sample index must be a non-negative integer, got {index!r}")
    if size < MIN_SIZE:
        raise InputError(f"--size must be at least {MIN_SIZE} pixels, got {size}; SocioSeg-like tiles are 768")
    if not 0.05 <= gsd <= 5.0:
        raise InputError(f"--gsd must be between 0.05 and 5 metres per pixel, got {gsd}; SocioSeg-like tiles use 0.6")


def check_count(n: int) -> None:
    """Raise `InputError` unless ``n`` (the number of samples to generate) is a positive integer."""
    if not isinstance(n, int | np.integer) or isinstance(n, bool) or n < 1:
        raise InputError(f"--n must be at least 1, got {n!r}")


def _georef(rng: np.random.Generator, size: int, gsd: float) -> GeoRef:
    zone = int(rng.integers(43, 54))
    x0 = round(float(rng.uniform(250_000, 750_000 - size * gsd)), 1)
    y0 = round(float(rng.uniform(2_400_000, 5_300_000)), 1)
    return GeoRef(crs=f"EPSG:{32600 + zone}", transform=Affine(gsd, 0.0, x0, 0.0, -gsd, y0))


def _bboxes(labels: np.ndarray, n: int) -> list[list[float]]:
    """Return the XYXY pixel box of labels 1..n (an empty box at 0 for a label with no pixel)."""
    from scipy.ndimage import find_objects

    out = []
    for sl in find_objects(labels, max_label=n):
        if sl is None:
            out.append([0.0, 0.0, 0.0, 0.0])
        else:
            out.append([float(sl[1].start), float(sl[0].start), float(sl[1].stop), float(sl[0].stop)])
    return out


def _streams(seed: int, code: int, index: int) -> list[np.random.Generator]:
    """Return the six random streams of a sample: plan, layout, names, satellite, layers, georeferencing."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence([int(seed), code, int(index)]).spawn(6)]


def sample_plan(seed: int, index: int, split: str = "test") -> Plan:
    """Return the plan (level, target classes) of a sample without building it: cheap, to pick samples.

    Raises:
        InputError: an unknown split or a negative seed or index.
    """
    spec = get_split(split)
    check_args(seed, index, MIN_SIZE, 0.6)
    return make_plan(_streams(seed, spec.code, index)[0], spec)


def generate_sample(seed: int, index: int, split: str = "test", size: int = 768, gsd: float = 0.6) -> SynthSample:
    """Generate one sample of a split, deterministically from (seed, split, index).

    Raises:
        InputError: an unknown split or an out-of-range argument.
    """
    spec = get_split(split)
    check_args(seed, index, size, gsd)
    r_plan, r_layout, r_names, r_sat, r_layers, r_geo = _streams(seed, spec.code, index)
    plan = make_plan(r_plan, spec)
    region = str(r_plan.choice(spec.regions))
    season = str(r_plan.choice(SEASONS)) if region == "temperate" else "summer"
    style = str(r_plan.choice(spec.map_styles))
    namegen = NameGenerator(r_names)
    for attempt in range(MAX_LAYOUT_ATTEMPTS):
        if attempt:  # the primary target did not show in the tile (small tiles): lay the city out again
            r_layout = np.random.default_rng(np.random.SeedSequence([int(seed), spec.code, int(index), attempt]))
        lay = build_layout(r_layout, plan, size, gsd, namegen, arid=region == "arid")
        polys = [site_polygon(lay, k) for k in range(len(lay.sites))]
        labels = render_labels(polys, size)
        counts = np.bincount(labels.ravel(), minlength=len(polys) + 1)
        if counts[1] >= MIN_VISIBLE_PX:
            break
    else:
        raise InputError(f"could not fit a visible {plan.targets[0]} into a {size}px tile at {gsd} m/px; "
                         "use a larger --size or --gsd")  # fmt: skip
    placed = [
        {"class": st.cls, "function": CLASSES[st.cls].function, "polygon": _polygon(polys[k])}
        for k, st in enumerate(lay.sites)
    ]
    clutter = [
        {"kind": kind, "function": CLUTTER_FUNCTIONS[kind], "polygon": _polygon(lay.px(rect(*r)))}
        for kind, r in lay.clutter
    ]
    keep = [k for k in range(len(polys)) if counts[k + 1] >= MIN_VISIBLE_PX or k == 0]
    if len(keep) < len(polys):
        lay.sites = [lay.sites[k] for k in keep]
        polys = [polys[k] for k in keep]
        labels = render_labels(polys, size)
    names = [namegen.place(s.cls) for s in lay.sites]

    # the targets, by the level's semantics (the primary site 0 is always a target)
    if plan.level == "name":
        targets = [0]
        query = names[0]
    elif plan.level == "class":
        targets = [k for k, s in enumerate(lay.sites) if s.cls == plan.target_class]
        query = class_phrase(str(plan.target_class), r_plan)
    else:
        targets = [k for k, s in enumerate(lay.sites) if CLASSES[s.cls].function == plan.target_function]
        query = function_phrase(plan.target_function, r_plan)
    target_classes = sorted({lay.sites[k].cls for k in targets})
    target_class = target_classes[0] if len(target_classes) == 1 else None
    keep_poi = {0} if plan.level == "name" else set()

    layers = build_layers(lay, names, keep_poi, r_layers, namegen)
    georef = _georef(r_geo, size, gsd)
    drawing = lay.drawing.transformed(lay.to_px, 1.0 / gsd)
    palette = make_palette(region, season, r_sat)
    sat = render_satellite(drawing, palette, size, gsd, r_sat)
    label_first = frozenset({"poi-1"}) if plan.level == "name" else frozenset()
    map_img = render_map(layers, style, (size, size), gsd, label_first)

    sample_id = f"{split}-{seed}-{index:05d}"
    instances = []
    boxes = _bboxes(labels, len(lay.sites))
    for k, s in enumerate(lay.sites):
        instances.append(
            {
                "id": f"inst-{k + 1:02d}",
                "label": k + 1,
                "name": names[k],
                "class": s.cls,
                "function": CLASSES[s.cls].function,
                "is_target": k in targets,
                "bbox": boxes[k],
                "polygon": [[round(float(x), 3), round(float(y), 3)] for x, y in polys[k]],
            }
        )
    instance_ids = [instances[k]["id"] for k in targets]
    instance_names = [names[k] for k in targets]
    truth = np.isin(labels, [k + 1 for k in targets])
    t = georef.transform
    meta = {
        "id": sample_id,
        "split": split,
        "seed": int(seed),
        "index": int(index),
        "level": plan.level,
        "class": target_class,
        "function": plan.target_function,
        "instance_ids": instance_ids,
        "instance_names": instance_names,
        "query": query,
        "size": int(size),
        "gsd": float(gsd),
        "crs": georef.crs,
        "transform": [t.a, t.b, t.c, t.d, t.e, t.f],
        "style": style,
        "region": region,
        "season": season,
        "n_instances": len(instances),
    }
    scene = Scene(sample_id, sat, map_img, layers, georef, truth, meta)
    return SynthSample(
        sample_id=sample_id,
        split=split,
        query=query,
        level=plan.level,  # type: ignore[arg-type]
        target_class=target_class,
        target_function=plan.target_function,
        instance_ids=instance_ids,
        instance_names=instance_names,
        scene=scene,
        instance_labels=labels,
        instances=instances,
        layers_geojson=to_geojson(layers, georef),
        placed=placed,
        clutter=clutter,
    )
