"""Benchmark chat questions (issue: `socio ask "parks within 1 km of hospitals"`).

Measures, on this machine:
1. Accuracy of the offline planner + executor on the test suites, per operation (a question counts for every
   operation its plan uses): the OSM suite (48 questions on Helsinki and Kotka, exact answer set / order / count
   against the GDAL + geopandas reference of tests/agent/test_chat_osm.py) and the SynthCity suite (questions
   on 8 generated scenes, answer sets from segmentation named against the generator's instances, see
   tests/agent/test_chat_synthcity.py; also instance F1 at IoU >= 0.5 for mask quality).
2. Latency on Helsinki: warm (the data loaded once, as `socio chat` and the Python API with a `ChatData`:
   plan + execute; and with the answer files written) and cold (`socio ask` in a fresh process per question,
   files written), p50 / p95.
3. Latency with segmentation on a SynthCity scene folder: a question whose entity sets are segmented
   (cold: a fresh load per question) and one whose sets were segmented before (warm).

Run: .venv/bin/python bench/bench_ask.py [--cold-runs 8] [--out bench_ask.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HELSINKI_QUESTIONS = [
    "parks within 1 km of hospitals", "cafes within 100 m of parks", "how many playgrounds are there",
    "the nearest pharmacy to the university", "which is the largest park", "restaurants near Kaisaniemen puisto",
    "bars or pubs within 50 m of a park", "cafes not within 200 m of a park",
    "how far is the nearest school from the university", "the 5 closest restaurants to Kaisaniemen puisto",
]  # fmt: skip


def machine() -> str:
    """Describe the machine in one line."""
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}"


def pct(xs: list[float], q: float) -> float:
    """Return the q-th percentile (nearest rank) of a list."""
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))]


def ops_of(plan) -> set[str]:
    """Return the operations a plan uses (and its output when it is not a feature list)."""
    from agent.planner.plan import walk

    ops = {n.op for n in walk(plan.root) if n.op != "entities"} or {"entities"}
    return ops | ({f"output:{plan.output}"} if plan.output != "features" else set())


def osm_accuracy() -> dict[str, dict[str, float]]:
    """Run the OSM suite's questions and score each against the reference, per operation."""
    from agent.chat import ask, load_data
    from tests.agent import test_chat_osm as osm_suite

    refs = {n: osm_suite.Ref(p) for n, p in osm_suite.PATHS.items()}
    loaded = {}
    for n, p in osm_suite.PATHS.items():
        d = load_data(p)
        loaded[n] = dataclasses.replace(d, features=d.features[d.features["osm_id"].isin(refs[n].g.index).to_numpy()])
    per: dict[str, list[bool]] = defaultdict(list)
    for extract, question, reference, kind in osm_suite.CASES:
        a = ask(question, loaded[extract])
        exp = reference(refs[extract])
        got = [f["properties"]["osm_id"] for f in a.features["features"]]
        if kind in ("count", "empty"):
            ok = a.count == len(exp)
        elif kind == "set":
            ok = set(got) == set(exp.index)
        else:
            ok = got == list(exp.index)
        for op in ops_of(a.plan) | {"all"}:
            per[op].append(ok)
    return {op: {"n": len(v), "exact": sum(v) / len(v)} for op, v in sorted(per.items())}


def synth_accuracy() -> dict[str, dict[str, float]]:
    """Run the SynthCity suite's questions: exact answer sets per operation, and instance F1 at IoU >= 0.5."""
    import geopandas as gpd
    import shapely
    from shapely.geometry import Polygon, shape

    from agent.chat import ask, load_scene_folder
    from evals.synthcity import generate_sample
    from evals.synthcity.export import encode_sample, write_raw
    from tests.agent import test_chat_synthcity as synth_suite
    from tools.coords import geometry_to_crs

    per: dict[str, list[bool]] = defaultdict(list)
    tp = fp = fn = 0
    iou_tp = 0
    with tempfile.TemporaryDirectory() as d:
        for i in synth_suite.SCENES:
            s = generate_sample(0, i, "test", synth_suite.SIZE)
            folder = Path(d) / s.sample_id
            write_raw(encode_sample(s), folder)
            polys = [
                (x["class"], geometry_to_crs(Polygon(x["polygon"]).buffer(0), s.scene.georef)) for x in s.instances
            ]
            data = load_scene_folder(folder)
            for question, kind, spec in synth_suite.questions_for(s.instances):
                a = ask(question, data)
                feats = a.features["features"]
                pred = list(gpd.GeoSeries([shape(f["geometry"]) for f in feats], crs="EPSG:4326").to_crs(
                    s.scene.georef.crs))  # fmt: skip
                truth = synth_suite.truth_set(spec, polys)
                m = synth_suite.match(pred, truth)
                ok = len(pred) == len(truth) if kind == "count" else len(pred) == len(truth) == m
                if kind != "count":
                    tp, fp, fn = tp + m, fp + len(pred) - m, fn + len(truth) - m
                    ious = [shapely.area(p.intersection(t)) / shapely.area(p.union(t)) for p in pred for t in truth]
                    iou_tp += min(sum(v >= 0.5 for v in ious), len(pred), len(truth))
                for op in ops_of(a.plan) | {"all"}:
                    per[op].append(ok)
    out: dict[str, dict[str, float]] = {op: {"n": len(v), "exact": sum(v) / len(v)} for op, v in sorted(per.items())}
    out["instances"] = {"f1_named": 2 * tp / max(2 * tp + fp + fn, 1),
                        "f1_iou50": 2 * iou_tp / max(tp + fp + tp + fn, 1)}  # fmt: skip
    return out


def warm_latency(rounds: int) -> dict[str, float]:
    """Answer the Helsinki questions in process with the data loaded once (as socio chat), with and without files."""
    from agent.chat import ask, load_data
    from agent.chat.ask import answer_plan, make_plan, write_answer

    path = ROOT / "tests" / "data" / "osm" / "helsinki.osm.pbf"
    t0 = time.perf_counter()
    data = load_data(path)
    load_s = time.perf_counter() - t0
    ask(HELSINKI_QUESTIONS[0], data)  # the first question pays lazy imports
    plain, files = [], []
    with tempfile.TemporaryDirectory() as d:
        for _ in range(rounds):
            for q in HELSINKI_QUESTIONS:
                t = time.perf_counter()
                plan, _ = make_plan(q, data)
                answer_plan(plan, data)
                plain.append(time.perf_counter() - t)
                t = time.perf_counter()
                plan, _ = make_plan(q, data)
                a, ex = answer_plan(plan, data)
                write_answer(Path(d) / "o", a, data, ex)
                files.append(time.perf_counter() - t)
    return {"load_s": load_s, "p50_s": statistics.median(plain), "p95_s": pct(plain, 95),
            "files_p50_s": statistics.median(files), "files_p95_s": pct(files, 95), "n": len(plain)}  # fmt: skip


def cold_latency(runs: int) -> dict[str, float]:
    """Run `socio ask` in a fresh process per question (files written), p50 / p95 of the wall time."""
    socio = Path(sys.executable).with_name("socio")
    path = ROOT / "tests" / "data" / "osm" / "helsinki.osm.pbf"
    walls = []
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory() as d:
        for i in range(runs):
            q = HELSINKI_QUESTIONS[i % len(HELSINKI_QUESTIONS)]
            t = time.perf_counter()
            subprocess.run([str(socio), "ask", q, "--vectors", str(path), "--out", f"{d}/o{i}"], check=True,
                           capture_output=True, env=env)  # fmt: skip
            walls.append(time.perf_counter() - t)
    return {"p50_s": statistics.median(walls), "p95_s": pct(walls, 95), "n": len(walls)}


def segmentation_latency(n_scenes: int) -> dict[str, float]:
    """A two-set question on SynthCity scene folders: cold (sets segmented) and warm (sets segmented before)."""
    from agent.chat import ask, load_scene_folder
    from evals.synthcity import generate_sample
    from evals.synthcity.export import encode_sample, write_raw

    cold, warm, loads = [], [], []
    with tempfile.TemporaryDirectory() as d:
        for i in range(n_scenes):
            s = generate_sample(0, i, "test", 768)
            classes = sorted({x["class"] for x in s.instances} - {"residential_compound"})
            if len(classes) < 2:
                continue
            folder = Path(d) / s.sample_id
            write_raw(encode_sample(s), folder)
            from agent.chat.answer import plural
            from tools.taxonomy import CLASSES

            q = f"{plural(CLASSES[classes[0]].label)} within 200 m of {plural(CLASSES[classes[1]].label)}"
            t = time.perf_counter()
            data = load_scene_folder(folder)
            loads.append(time.perf_counter() - t)
            t = time.perf_counter()
            ask(q, data)
            cold.append(time.perf_counter() - t)
            t = time.perf_counter()
            ask(q.replace("200 m", "50 m"), data)
            warm.append(time.perf_counter() - t)
    return {"load_p50_s": statistics.median(loads), "cold_p50_s": statistics.median(cold),
            "cold_p95_s": pct(cold, 95), "warm_p50_s": statistics.median(warm), "warm_p95_s": pct(warm, 95),
            "n": len(cold), "size_px": 768}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cold-runs", type=int, default=8)
    ap.add_argument("--warm-rounds", type=int, default=3)
    ap.add_argument("--seg-scenes", type=int, default=8)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    report = {"machine": machine(), "osm_accuracy": osm_accuracy(), "synth_accuracy": synth_accuracy(),
              "helsinki_warm": warm_latency(args.warm_rounds), "helsinki_cold": cold_latency(args.cold_runs),
              "synthcity_segmentation": segmentation_latency(args.seg_scenes)}  # fmt: skip
    text = json.dumps(report, indent=2)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
