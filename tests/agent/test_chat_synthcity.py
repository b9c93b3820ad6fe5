"""Chat questions on SynthCity scene folders: entity sets come from segmentation by the agent (offline default:
map policy + classical segmenter), and the truth from the generator's instance polygons.

Questions are made from the classes each scene holds; the truth answer applies the same relation to the
generator's polygons (in the scene's UTM CRS, with shapely). An answer feature names a truth instance when at
least half of its area lies in it (one to one, largest overlap first): the question asks *which* places, and
the classical segmenter's outlines are coarse (IoU 0.3-0.6 is common), so mask quality is the eval's business,
not this suite's. A question is exact when its answer set names exactly the truth set (for counts: the same
number). The offline default is no perfect segmenter, so the suite asserts a floor under the rate
measured (`bench/bench_ask.py` reports it).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon, shape

from agent.chat import ask, load_scene_folder
from agent.chat.answer import plural
from evals.synthcity import generate_sample
from evals.synthcity.export import encode_sample, write_raw
from tools.coords import geometry_to_crs
from tools.taxonomy import CLASSES

SCENES = range(8)
SIZE = 512
SKIP = {"residential_compound"}
"""Classes the questions leave out (the generator draws them as background blocks)."""


def _label(cls: str) -> str:
    return plural(CLASSES[cls].label)


def questions_for(instances: list[dict]) -> list[tuple[str, str, tuple]]:
    """Return (question, kind, truth spec) for one scene, from the classes it holds."""
    classes = sorted({i["class"] for i in instances} - SKIP)
    out = []
    if classes:
        out.append((f"how many {_label(classes[0])} are there", "count", ("all", classes[0])))
    for a in classes:
        for b in classes:
            if a != b:
                out.append((f"{_label(a)} within 100 m of {_label(b)}", "set", ("within", a, b, 100.0)))
                break
    if len(classes) >= 2:
        a, b = classes[-1], classes[0]
        out.append((f"the nearest {CLASSES[a].label.lower()} to the {CLASSES[b].label.lower()}", "set",
                    ("nearest", a, b)))  # fmt: skip
    return out


def truth_set(spec: tuple, polys: list[tuple[str, Polygon]]) -> list[Polygon]:
    of = lambda c: [p for k, p in polys if k == c]  # noqa: E731
    if spec[0] == "all":
        return of(spec[1])
    a, b = of(spec[1]), of(spec[2])
    if spec[0] == "within":
        return [p for p in a if any(p.distance(q) <= spec[3] for q in b if q is not p)]
    d = [min(p.distance(q) for q in b) for p in a]
    return [a[int(np.argmin(d))]] if a and b else []


def match(pred: list[Polygon], truth: list[Polygon]) -> int:
    """Greedy one-to-one matches: a prediction with at least half its area in a truth instance (largest first)."""
    pairs = sorted(((shapely.area(p.intersection(t)) / max(shapely.area(p), 1e-9), i, j)
                    for i, p in enumerate(pred) for j, t in enumerate(truth)), reverse=True)  # fmt: skip
    used_p, used_t, n = set(), set(), 0
    for cover, i, j in pairs:
        if cover >= 0.5 and i not in used_p and j not in used_t:
            used_p.add(i)
            used_t.add(j)
            n += 1
    return n


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    out = []
    for i in SCENES:
        s = generate_sample(0, i, "test", SIZE)
        folder = root / s.sample_id
        write_raw(encode_sample(s), folder)
        georef = s.scene.georef
        polys = [(inst["class"], geometry_to_crs(Polygon(inst["polygon"]).buffer(0), georef)) for inst in s.instances]
        out.append((folder, polys, s.scene.georef.crs, s.instances))
    return out


@pytest.fixture(scope="module")
def results(scenes):
    rows = []
    for folder, polys, crs, instances in scenes:
        data = load_scene_folder(folder)
        for question, kind, spec in questions_for(instances):
            answer = ask(question, data)
            feats = answer.features["features"]
            pred = list(gpd.GeoSeries([shape(f["geometry"]) for f in feats], crs="EPSG:4326").to_crs(crs))
            truth = truth_set(spec, polys)
            rows.append({"question": question, "kind": kind, "answer": answer, "pred": pred, "truth": truth,
                         "matched": match(pred, truth), "data": data})  # fmt: skip
    return rows


def test_at_least_twenty_questions(results):
    assert len(results) >= 20


def test_answers_come_from_segmentation_in_lon_lat(results):
    for r in results:
        for f in r["answer"].features["features"]:
            assert f["properties"]["source"] == "segmentation"
            lon, lat = shape(f["geometry"]).representative_point().coords[0]
            assert -180 <= lon <= 180 and -90 <= lat <= 90
        assert r["answer"].count == len(r["pred"])


def test_each_entity_set_is_segmented_once_per_scene(results):
    for r in results:
        data = r["data"]
        assert data.segment_runs == len(data.segmented)


def test_answers_match_the_generator_truth(results):
    exact = 0
    tp = fp = fn = 0
    for r in results:
        n_pred, n_truth, m = len(r["pred"]), len(r["truth"]), r["matched"]
        if r["kind"] == "count":
            exact += n_pred == n_truth
            continue
        exact += n_pred == n_truth == m
        tp, fp, fn = tp + m, fp + n_pred - m, fn + n_truth - m
    rate = exact / len(results)
    f1 = 2 * tp / max(2 * tp + fp + fn, 1)
    # measured with the offline default on these scenes (bench/bench_ask.py): 0.66 exact, F1 0.64; floors under it
    assert rate >= 0.55, (rate, f1)
    assert f1 >= 0.55, (rate, f1)


def test_parks_within_200_m_of_hospitals_on_a_scene(scenes):
    folder = next(f for f, polys, _, _ in scenes if {"park", "hospital"} <= {c for c, _ in polys})
    answer = ask("parks within 200 m of hospitals", Path(folder))
    assert answer.entity_counts[0].key == "park" and answer.entity_counts[1].key == "hospital"
    assert answer.entity_counts[1].count >= 1
    assert all(f["properties"]["source"] == "segmentation" for f in answer.features["features"])
