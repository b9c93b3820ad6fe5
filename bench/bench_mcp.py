"""Benchmark ``socio mcp`` over streamable HTTP: concurrent clients mixing segment and ask on SynthCity scenes.

Run ``.venv/bin/python bench/bench_mcp.py`` (``--help`` for options). It writes SynthCity test tiles into a
temporary root, starts ``socio mcp --transport http --port 0`` as a subprocess (offline default backends unless
``--backend-args`` says otherwise), and runs ``--clients`` MCP clients (each its own session, the SDK's own
client) for ``--seconds``: each loads the scenes once, then calls ``segment`` and ``ask`` in turn (segment only
when the server has no ask tool) on the scenes round-robin until the time is up. Printed (and written as JSON
with ``--json``): requests served, errors (tool errors and transport failures, with the first messages), p50 /
p95 latency per tool and overall, throughput, the server's peak RSS (``VmHWM``), and the deadlock check: after
the run, every client has returned within the grace period and one more call is answered.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import anyio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

ASK_QUESTIONS = ("how many {cls} are there?", "list the {cls}", "the largest {one}")


def machine() -> str:
    """Return one line about this machine (cores shared with other jobs on the dev VM)."""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{platform.machine()}, {os.cpu_count()} cores, load {load}, Python {platform.python_version()}"


def write_scenes(root: Path, n: int, size: int) -> list[dict[str, Any]]:
    """Write ``n`` SynthCity test tiles under ``root``; return their files and queries."""
    from evals.synthcity import generate_sample
    from evals.synthcity.export import encode_sample

    scenes = []
    for i in range(n):
        s = generate_sample(0, i, "test", size)
        d = root / f"scene{i}"
        d.mkdir(parents=True)
        for name, data in encode_sample(s).items():
            (d / name).write_bytes(data)
        scenes.append({"args": {"sat": str(d / "sat.tif"), "map": str(d / "map.png"),
                                "layers": str(d / "layers.geojson")},
                       "query": s.query, "cls": s.target_class or "school", "folder": str(d)})  # fmt: skip
    return scenes


def peak_rss_mb(pid: int) -> float:
    """Return a process's peak resident set size (VmHWM) in MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def start_server(root: Path, out: Path, extra: list[str]) -> tuple[subprocess.Popen[str], str]:
    """Start ``socio mcp --transport http --port 0`` and return the process and its URL."""
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    cmd = [sys.executable, "-m", "socioagent", "mcp", "--transport", "http", "--port", "0", "--root", str(root),
           "--out", str(out), *extra]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    for line in proc.stderr:
        if "serving on " in line:
            threading.Thread(target=proc.stderr.read, daemon=True).start()
            return proc, line.split("serving on ", 1)[1].split()[0]
    proc.wait()
    raise SystemExit(f"the server did not start (exit {proc.returncode})")


def ask_args(scene: dict[str, Any], k: int) -> dict[str, Any]:
    """Return arguments for the ask tool: a question about the scene's target class, asked of its scene folder."""
    from agent.chat.answer import plural
    from tools.taxonomy import CLASSES

    label = CLASSES[scene["cls"]].label if scene["cls"] in CLASSES else "school"
    question = ASK_QUESTIONS[k % len(ASK_QUESTIONS)].format(cls=plural(label), one=label.lower())
    return {"question": question, "data": scene["folder"], "save": k % 4 == 1}


async def client(url: str, scenes: list[dict[str, Any]], deadline: float, index: int, stats: dict[str, Any]) -> None:
    """One MCP session: load every scene, then call segment and ask in turn until ``deadline``."""
    from mcp import Client

    async with Client(url) as c:
        tools = {t.name: t for t in (await c.list_tools()).tools}
        has_ask = "ask" in tools
        ids = []
        for s in scenes:
            r = await c.call_tool("load_scene", s["args"])
            if r.is_error:
                raise SystemExit(f"load_scene failed: {r.content[0].text}")
            ids.append(r.structured_content["scene_id"])
        k = index
        while time.monotonic() < deadline:
            i = k % len(scenes)
            tool = "ask" if has_ask and k % 2 else "segment"
            args = (ask_args(scenes[i], k) if tool == "ask"
                    else {"scene_id": ids[i], "query": scenes[i]["query"], "save": k % 4 == 0})  # fmt: skip
            t0 = time.perf_counter()
            try:
                r = await c.call_tool(tool, args)
                failed = r.is_error
                message = r.content[0].text if failed else ""
            except Exception as e:  # a transport failure counts as an error too
                failed, message = True, f"{type(e).__name__}: {e}"
            stats["latency"].setdefault(tool, []).append(time.perf_counter() - t0)
            if failed:
                stats["errors"].append(f"{tool}: {message[:200]}")
            k += 1
        stats["finished"] += 1


async def warm_up(url: str, scenes: list[dict[str, Any]]) -> None:
    """Load every scene and segment it once (imports, decoding and encodes happen here, not in the measurement)."""
    from mcp import Client

    async with Client(url) as c:
        for s in scenes:
            sid = (await c.call_tool("load_scene", s["args"])).structured_content["scene_id"]
            await c.call_tool("segment", {"scene_id": sid, "query": s["query"], "save": False})


def percentile(xs: list[float], q: float) -> float:
    """Return the q-quantile of ``xs`` (statistics.quantiles, inclusive method)."""
    if len(xs) < 2:
        return xs[0] if xs else float("nan")
    return statistics.quantiles(xs, n=100, method="inclusive")[round(q * 100) - 1]


def main() -> None:
    """Run the benchmark and print the figures."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--scenes", type=int, default=4, help="SynthCity test tiles (round-robin)")
    p.add_argument("--size", type=int, default=768, help="tile side in pixels")
    p.add_argument("--backend-args", default="", help="extra socio mcp flags, e.g. '--max-concurrent 2'")
    p.add_argument("--json", type=Path, help="also write the figures here")
    a = p.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root, out = Path(tmp) / "root", Path(tmp) / "out"
        scenes = write_scenes(root, a.scenes, a.size)
        proc, url = start_server(root, out, shlex.split(a.backend_args))
        stats: dict[str, Any] = {"latency": {}, "errors": [], "finished": 0}
        try:
            anyio.run(warm_up, url, scenes)  # first-call imports and one encode per scene, before the clock starts
            t_start = time.monotonic()
            deadline = t_start + a.seconds
            grace = 180.0

            async def run_all() -> bool:
                with anyio.move_on_after(a.seconds + grace) as scope:
                    async with anyio.create_task_group() as tg:
                        for i in range(a.clients):
                            tg.start_soon(client, url, scenes, deadline, i, stats)
                return not scope.cancelled_caught

            all_returned = anyio.run(run_all)
            wall = time.monotonic() - t_start

            async def one_more() -> bool:
                from mcp import Client

                with anyio.move_on_after(60):
                    async with Client(url) as c:
                        r = await c.call_tool("load_scene", scenes[0]["args"])
                        return not r.is_error
                return False

            responsive = anyio.run(one_more)
            rss = peak_rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=30)

    every = [x for xs in stats["latency"].values() for x in xs]
    report = {
        "machine": machine(),
        "clients": a.clients, "seconds": a.seconds, "scenes": a.scenes, "size": a.size,
        "backend_args": a.backend_args, "wall_s": round(wall, 1),
        "requests": len(every), "errors": len(stats["errors"]), "first_errors": stats["errors"][:5],
        "throughput_rps": round(len(every) / wall, 2),
        "latency_s": {tool: {"n": len(xs), "p50": round(percentile(xs, 0.5), 3), "p95": round(percentile(xs, 0.95), 3)}
                      for tool, xs in sorted({**stats["latency"], "all": every}.items())},
        "peak_rss_mb": round(rss, 1),
        "deadlock_check": {"clients_returned": stats["finished"], "all_returned": all_returned,
                           "responsive_after": responsive},
    }  # fmt: skip
    print(json.dumps(report, indent=2))
    if a.json:
        a.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
