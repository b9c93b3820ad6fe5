"""Benchmark scene-scale search on SynthCity cities: scale, Ray against one process, and seam merging.

Cities are generated once into an ignored folder (``runs/bench_geo/city<size>``, reused while city.json
matches) with the real generator (`evals.synthcity.city_export.write_city`, as ``socio synth --city``). Every
search runs in a child process of this script (``bench_geo.py _search ...``), which reports its own peak RSS.

``scale``  one query over a --scale-size city (20,000 px square by default): peak RSS, windows/s with the
           offline default (map policy, classical segmenter), and the time outside the agent (planning:
           stretch sample, vector read, grid, candidate windows; merging; writing gpkg/geojson/mask.tif) per
           km2 and as a share of the total.
``ray``    --pairs paired runs (alternating order) on a --ray-size city: one process against Ray with 2 local
           workers; median speed-up of the whole run and of the window phase, and whether outputs are identical
           (instances.gpkg records and geometries, mask.tif bytes); also the steady-state speed-up (windows/s
           after the first windows, i.e. without Ray's start-up and the actors' imports) and the load average.
``seams``  on a --seam-size city: the query tiled (768 px, overlap 128) and untiled (one window the size of the
           city); truth places that cross a window seam: recovered whole (one instance, IoU >= 0.5, nothing else
           covering >= 10% of it) or split; gIoU of merged tiled instances against the untiled ones, and both
           against the truth.

Usage:
    .venv/bin/python bench/bench_geo.py [scale] [ray] [seams] [--scale-size 20000] [--ray-size 6144]
        [--seam-size 4096] [--query schools] [--pairs 3] [--root runs/bench_geo]

Results go to runs/bench_geo/bench.json. The machine's cores may be shared: medians are reported.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def vector_functions():
    """Return the project's vector reader and its name."""
    from agent.scene_window import default_vector_functions

    return default_vector_functions(), "tools.vectors"


def city(root: Path, size: int, seed: int = 0) -> tuple[Path, float | None]:
    """Generate a city once; return its folder and the generation seconds (None when reused)."""
    from evals.synthcity.city_export import write_city

    d = root / f"city{size}"
    meta = d / "city.json"
    if meta.is_file():
        doc = json.loads(meta.read_text())
        if doc.get("size") == size and doc.get("seed") == seed:
            return d, None
    shutil.rmtree(d, ignore_errors=True)
    t0 = time.perf_counter()
    write_city(d, seed=seed, size=size)
    return d, time.perf_counter() - t0


def child_search(args: argparse.Namespace) -> None:
    """Run one search in this process and print its summary, wall time and peak RSS as JSON."""
    import resource

    from agent.backends import BackendConfig
    from agent.scene_search import SearchSpec, run_search

    fns, reader = vector_functions()
    spec = SearchSpec(raster=Path(args.city) / "city.tif", vectors=Path(args.city) / "layers.gpkg", query=args.query,
                      tile=args.tile, overlap=args.overlap, outlines=False)  # fmt: skip
    t0 = time.perf_counter()
    stamps: list[float] = []
    report = run_search(spec, BackendConfig(), args.out, vectors=fns, ray=args.ray, workers=args.workers,
                        on_progress=lambda done, total: stamps.append(time.perf_counter()))  # fmt: skip
    wall = time.perf_counter() - t0
    skip = min(10, len(stamps) // 4)  # steady state: after the workers are up and the first windows are done
    steady = (len(stamps) - 1 - skip) / (stamps[-1] - stamps[skip]) if len(stamps) > skip + 1 else None
    usage = resource.getrusage(resource.RUSAGE_SELF)
    rss_mb, cpu_s = usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime
    print(json.dumps({"summary": report.summary, "wall_s": wall, "peak_rss_mb": rss_mb, "cpu_s": cpu_s,
                      "first_window_s": stamps[0] - t0 if stamps else None, "steady_windows_per_s": steady,
                      "load_avg": os.getloadavg(), "reader": reader}))  # fmt: skip


def search(city_dir: Path, out: Path, query: str, ray: bool = False, workers: int | None = None, tile: int = 768,
           overlap: int = 128) -> dict:  # fmt: skip
    """Run a search in a child process (fresh output folder) and return what it printed."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, __file__, "_search", "--city", str(city_dir), "--out", str(out), "--query", query,
           "--tile", str(tile), "--overlap", str(overlap)]  # fmt: skip
    if ray:
        cmd += ["--ray", "--workers", str(workers or 2)]
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env={**os.environ, "RAY_DEDUP_LOGS": "0"})
    if p.returncode != 0:
        raise SystemExit(f"search failed ({p.returncode}):\n{p.stderr[-4000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def bench_scale(root: Path, size: int, query: str) -> dict:
    d, gen_s = city(root, size)
    r = search(d, root / f"scale{size}", query)
    s = r["summary"]
    secs, win = s["seconds"], s["window_seconds"]
    outside = secs["plan"] + secs["claim"] + secs["merge"] + secs["write"]
    area = s["area_km2"]
    out = {
        "city_px": size, "city_km2": area, "generate_s": gen_s, "query": query, "reader": r["reader"],
        "windows": s["windows"], "ran": s["ran"], "instances": s["instances"], "pieces": s["pieces"],
        "peak_rss_mb": round(r["peak_rss_mb"], 1), "total_s": round(secs["total"], 2),
        "windows_per_s": round(s["ran"] / secs["windows"], 3),
        "seconds": secs, "window_seconds": win,
        "outside_agent_s": round(outside, 3), "outside_agent_share": round(outside / secs["total"], 4),
        "outside_agent_s_per_km2": round(outside / area, 4),
        "read_and_map_share": round((win.get("read", 0) + win.get("map", 0)) / secs["total"], 4),
        "agent_share": round(win.get("agent", 0) / secs["total"], 4),
    }  # fmt: skip
    print(json.dumps(out, indent=1))
    return out


def _same_outputs(a: Path, b: Path) -> bool:
    import geopandas as gpd

    ga, gb = gpd.read_file(a / "instances.gpkg"), gpd.read_file(b / "instances.gpkg")
    same_rows = ga.drop(columns="geometry").equals(gb.drop(columns="geometry"))
    same_geoms = len(ga) == len(gb) and all(x.equals_exact(y, 0) for x, y in zip(ga.geometry, gb.geometry, strict=True))
    return same_rows and same_geoms and (a / "mask.tif").read_bytes() == (b / "mask.tif").read_bytes()


def bench_ray(root: Path, size: int, query: str, pairs: int) -> dict:
    d, _ = city(root, size)
    runs = []
    for k in range(pairs):
        order = ("single", "ray") if k % 2 == 0 else ("ray", "single")
        pair = {}
        for mode in order:
            pair[mode] = search(d, root / f"ray{size}-{mode}", query, ray=mode == "ray", workers=2)
        same = _same_outputs(root / f"ray{size}-single", root / f"ray{size}-ray")
        s1, s2 = pair["single"]["summary"]["seconds"], pair["ray"]["summary"]["seconds"]
        p1, p2 = pair["single"], pair["ray"]
        runs.append({"order": list(order), "single_s": s1["total"], "ray_s": s2["total"],
                     "single_windows_s": s1["windows"], "ray_windows_s": s2["windows"],
                     "speedup": s1["total"] / s2["total"], "window_speedup": s1["windows"] / s2["windows"],
                     "ray_first_window_s": p2["first_window_s"], "single_first_window_s": p1["first_window_s"],
                     "steady_speedup": p2["steady_windows_per_s"] / p1["steady_windows_per_s"],
                     "load_avg": [p1["load_avg"][0], p2["load_avg"][0]],
                     "identical": same, "windows": p1["summary"]["ran"]})  # fmt: skip
        print(json.dumps(runs[-1]))
    out = {
        "city_px": size, "query": query, "pairs": runs,
        "median_speedup": round(statistics.median(r["speedup"] for r in runs), 3),
        "median_window_speedup": round(statistics.median(r["window_speedup"] for r in runs), 3),
        "median_steady_speedup": round(statistics.median(r["steady_speedup"] for r in runs), 3),
        "all_identical": all(r["identical"] for r in runs),
    }  # fmt: skip
    print(json.dumps({k: v for k, v in out.items() if k != "pairs"}, indent=1))
    return out


def _best_iou(g, others, tree) -> tuple[float, int]:
    best, idx = 0.0, -1
    for j in tree.query(g, predicate="intersects").tolist():
        o = others[j]
        iou = g.intersection(o).area / g.union(o).area
        if iou > best:
            best, idx = iou, j
    return best, idx


def _seam_stats(truth, inst, footprints) -> dict:
    import shapely

    tree = shapely.STRtree(inst) if inst else None
    whole = split = missed = 0
    ious = []
    for t in truth:
        if sum(f.intersects(t) for f in footprints) < 2:
            continue
        covering = [g for g in inst if g.intersection(t).area >= 0.1 * t.area] if inst else []
        best = _best_iou(t, inst, tree)[0] if tree is not None else 0.0
        ious.append(best)
        if len(covering) >= 2:
            split += 1
        elif len(covering) == 1 and best >= 0.5:
            whole += 1
        else:
            missed += 1
    return {"seam_places": whole + split + missed, "whole": whole, "split": split, "missed": missed,
            "giou_vs_truth": round(statistics.fmean(ious), 4) if ious else None}  # fmt: skip


def bench_seams(root: Path, size: int, queries: list[str]) -> dict:
    import geopandas as gpd
    import rasterio
    import shapely

    from tools.query import read_query
    from tools.tiling import grid_windows

    d, _ = city(root, size)
    truth_all = gpd.read_file(d / "truth.gpkg")
    with rasterio.open(d / "city.tif") as src:
        transform = src.transform
    footprints = [w.footprint(transform) for w in grid_windows((size, size), 768, 128)]
    out = {"city_px": size, "queries": {}}
    for q in queries:
        r_t = search(d, root / f"seam{size}-tiled", q)
        r_u = search(d, root / f"seam{size}-whole", q, tile=size, overlap=64)
        tiled = list(gpd.read_file(root / f"seam{size}-tiled" / "instances.gpkg").geometry)
        whole = list(gpd.read_file(root / f"seam{size}-whole" / "instances.gpkg").geometry)
        cls = read_query(q).cls
        truth = list(truth_all[truth_all["class"] == cls].geometry)
        tree = shapely.STRtree(tiled) if tiled else None
        vs_untiled = [_best_iou(g, tiled, tree)[0] if tree is not None else 0.0 for g in whole]
        u_t, u_w = shapely.union_all(tiled), shapely.union_all(whole)
        res = {
            "truth_places": len(truth), "tiled_instances": len(tiled), "untiled_instances": len(whole),
            "tiled_windows": r_t["summary"]["ran"], "untiled_peak_rss_mb": round(r_u["peak_rss_mb"], 1),
            "giou_tiled_vs_untiled": round(statistics.fmean(vs_untiled), 4) if vs_untiled else None,
            "mask_iou_tiled_vs_untiled": round(u_t.intersection(u_w).area / u_t.union(u_w).area, 4)
            if not u_w.is_empty else None,
            "tiled": _seam_stats(truth, tiled, footprints), "untiled": _seam_stats(truth, whole, footprints),
        }  # fmt: skip
        out["queries"][q] = res
        print(json.dumps({q: res}, indent=1))
    return out


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_search":
        ap = argparse.ArgumentParser()
        ap.add_argument("_search")
        ap.add_argument("--city", required=True)
        ap.add_argument("--out", required=True)
        ap.add_argument("--query", required=True)
        ap.add_argument("--tile", type=int, default=768)
        ap.add_argument("--overlap", type=int, default=128)
        ap.add_argument("--ray", action="store_true")
        ap.add_argument("--workers", type=int, default=None)
        child_search(ap.parse_args())
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", nargs="*", default=["scale", "ray", "seams"])
    ap.add_argument("--scale-size", type=int, default=20000)
    ap.add_argument("--ray-size", type=int, default=6144)
    ap.add_argument("--seam-size", type=int, default=4096)
    ap.add_argument("--query", default="schools")
    ap.add_argument("--seam-queries", default="parks,schools")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--root", type=Path, default=REPO / "runs" / "bench_geo")
    args = ap.parse_args()
    args.root.mkdir(parents=True, exist_ok=True)
    results_path = args.root / "bench.json"
    results = json.loads(results_path.read_text()) if results_path.is_file() else {}
    results["machine"] = {"cpus": os.cpu_count(), "note": "cores shared with other jobs; medians reported"}
    if "scale" in args.what:
        results["scale"] = bench_scale(args.root, args.scale_size, args.query)
    if "ray" in args.what:
        results["ray"] = bench_ray(args.root, args.ray_size, args.query, args.pairs)
    if "seams" in args.what:
        results["seams"] = bench_seams(args.root, args.seam_size, args.seam_queries.split(","))
    results_path.write_text(json.dumps(results, indent=2))
    print(f"results: {results_path}")


if __name__ == "__main__":
    main()
