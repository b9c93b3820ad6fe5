"""Benchmark the web app: time from a question's submit to its features drawn on the map, in headless Chromium.

A real `socio serve` (offline default: map policy + classical segmenter) serves SynthCity scenes (768x768,
georeferenced, as `socio synth` writes them); Debian's chromium, driven by Playwright, loads each scene in the
page, types its question and submits it, `--repeats` times per scene. The page measures (``window.socio``):

- total: submit -> features drawn (the answer parsed, the GeoJSON layer added, two animation frames painted);
- request: submit -> answer received (the server's work plus HTTP and JSON);
- server: the server's own time for the answer (``seconds`` in the answer);
- draw: answer received -> drawn.

The first question of the process is reported apart (it pays the lazy imports). Medians and p90 over the rest.

Run: .venv/bin/python bench/bench_web.py [--scenes 4] [--repeats 5] [--size 768] [--mode segment|ask|auto]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    """Describe the machine in one line."""
    cpu = ""
    with contextlib.suppress(OSError, StopIteration), open("/proc/cpuinfo") as f:
        cpu = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    return f"{platform.machine()} {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def start_server(root: Path, out: Path) -> tuple[subprocess.Popen, str]:
    """Start `socio serve --port 0` and return the process and its URL."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "socioagent", "serve", "--root", str(root), "--out", str(out), "--port", "0"]
    p = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if not line.startswith("socio serve: "):
        p.kill()
        raise SystemExit(f"socio serve did not start: {line}{p.stderr.read()}")
    return p, line.split(" ", 2)[2].strip()


def pct(values: list[float], q: float) -> float:
    """Return the q-quantile (nearest rank)."""
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def main() -> None:
    """Run the benchmark and print a summary (and JSON with --json)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", type=int, default=4, help="SynthCity test scenes")
    ap.add_argument("--repeats", type=int, default=5, help="questions per scene")
    ap.add_argument("--size", type=int, default=768, help="scene size in pixels")
    ap.add_argument(
        "--mode",
        default="segment",
        choices=["segment", "ask", "auto"],
        help="segment: the two-stage agent every time; ask/auto: the spatial planner (entity sets are "
        "segmented once per scene and phrase, so repeats are answered from them)",
    )
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("needs Debian's chromium: apt-get install -y chromium (or make browser)")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="bench-web-") as d:
        data = Path(d) / "data"
        subprocess.run([sys.executable, "-m", "socioagent", "synth", "--out", str(data), "--split", "test", "--n",
                        str(args.scenes), "--size", str(args.size), "--formats", "raw"], cwd=ROOT, check=True,
                       capture_output=True)  # fmt: skip
        scenes = sorted(p for p in (data / "test").iterdir() if p.is_dir())
        questions = {p: json.loads((p / "question.json").read_text())["problem"] for p in scenes}
        server, url = start_server(data, Path(d) / "out")
        rows: list[dict[str, float]] = []
        first: dict[str, float] | None = None
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=chromium, headless=True)
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                t0 = time.perf_counter()
                page.goto(url)
                page.wait_for_function("socio.status === 'ready'", timeout=120_000)
                page_load_s = time.perf_counter() - t0
                for scene in scenes:
                    page.fill("#scene-path", str(scene))
                    page.click("#scene-load")
                    page.wait_for_function(f"socio.status === 'ready' && socio.scene.name === {scene.name!r}",
                                           timeout=120_000)  # fmt: skip
                    for _ in range(args.repeats):
                        asked = page.evaluate("socio.asked")
                        page.select_option("#mode", args.mode)
                        page.fill("#question", questions[scene])
                        page.click("#ask")
                        page.wait_for_function(f"socio.asked > {asked} || socio.status === 'error'", timeout=120_000)
                        s = page.evaluate("({status: socio.status, error: socio.error, total: socio.lastMs,"
                                          " t: socio.lastTiming, server: socio.answer && socio.answer.seconds,"
                                          " drawn: socio.drawn})")  # fmt: skip
                        if s["status"] != "drawn":
                            raise SystemExit(f"question {questions[scene]!r} failed: {s['error']}")
                        row = {"total_ms": s["total"], "request_ms": s["t"]["requestMs"], "draw_ms": s["t"]["drawMs"],
                               "server_ms": s["server"] * 1000, "features": s["drawn"]}  # fmt: skip
                        if first is None:
                            first = row
                        else:
                            rows.append(row)
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    summary = {k: {"median": statistics.median(r[k] for r in rows), "p90": pct([r[k] for r in rows], 0.9)}
               for k in ("total_ms", "request_ms", "server_ms", "draw_ms")}  # fmt: skip
    overhead = [r["total_ms"] - r["server_ms"] for r in rows]
    report = {"machine": machine(), "mode": args.mode, "scenes": len(scenes), "size": args.size,
              "questions": len(rows) + 1,
              "page_load_s": page_load_s, "first_question": first, "summary": summary,
              "outside_server_ms_median": statistics.median(overhead),
              "features_drawn_median": statistics.median(r["features"] for r in rows)}  # fmt: skip
    print(f"bench_web: {machine()}")
    print(f"  mode {args.mode}, {len(scenes)} SynthCity scenes {args.size}x{args.size}, {len(rows) + 1} questions; "
          f"page load {page_load_s:.2f} s; first question {first['total_ms']:.0f} ms (lazy imports)")  # fmt: skip
    for k, v in summary.items():
        print(f"  {k:<11} median {v['median']:8.1f} ms   p90 {v['p90']:8.1f} ms")
    print(f"  outside the server's own work (HTTP, JSON, drawing): median {report['outside_server_ms_median']:.1f} ms;"
          f" features drawn per answer: median {report['features_drawn_median']:g}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
