"""Fault injection through the real command line: `python -m socioagent ...` as a subprocess, one fault per test.

Each case asserts the exit code, the message on the terminal (named problem, named fix, never a traceback) and
what the output folder holds afterwards. A full disk is a small tmpfs where this process may mount one (root),
and a file-size limit (RLIMIT_FSIZE, as ``ulimit -f``) always; a read-only disk is a read-only tmpfs (root)
or a folder without write permission (others).
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.fixtures.openai_server import OpenAIServer, server_factory
from tests.fixtures.socioseg_data import write_raw
from tests.fixtures.synthcity import synth_sample
from tools.raster_io import write_geotiff

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def socio(*args: object, preexec: Callable[[], None] | None = None, timeout: float = 180,
          **kw: object) -> subprocess.CompletedProcess:  # fmt: skip
    """Run ``python -m socioagent ARGS`` and return the finished process (text output)."""
    cmd = [sys.executable, "-m", "socioagent", *map(str, args)]
    r = subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=ROOT, preexec_fn=preexec, timeout=timeout,
                       **kw)  # fmt: skip
    assert "Traceback" not in r.stderr, r.stderr
    return r


def tree(p: Path) -> dict[str, bytes]:
    """Every file under ``p`` (hidden ones included) by relative path."""
    return {str(f.relative_to(p)): f.read_bytes() for f in sorted(p.rglob("*")) if f.is_file()}


@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> dict[str, Path]:
    """A georeferenced 256-px SynthCity scene (sat.tif, map.png, layers.geojson) and a plain PNG copy."""
    d = tmp_path_factory.mktemp("scene")
    s = synth_sample(size=256)
    write_geotiff(d / "sat.tif", s.scene.sat, s.scene.georef)
    Image.fromarray(s.scene.map).save(d / "map.png")
    Image.fromarray(s.scene.sat).save(d / "sat.png")
    (d / "layers.geojson").write_text(json.dumps(s.layers_geojson))
    return {"sat": d / "sat.tif", "png": d / "sat.png", "map": d / "map.png", "layers": d / "layers.geojson",
            "query": s.query}  # fmt: skip


def segment(scene: dict, out: Path, *extra: object, query: str | None = None, **kw: object):
    return socio("segment", "--sat", scene["sat"], "--map", scene["map"], "--layers", scene["layers"], "--query",
                 query or scene["query"], "--out", out, "-q", *extra, **kw)  # fmt: skip


def _can_mount() -> bool:
    if os.geteuid() != 0:
        return False
    probe = Path("/tmp") / f"socio-mount-probe-{os.getpid()}"
    probe.mkdir(exist_ok=True)
    ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)], capture_output=True)
    if ok.returncode == 0:
        subprocess.run(["umount", str(probe)], check=True)
    probe.rmdir()
    return ok.returncode == 0


CAN_MOUNT = _can_mount()


@pytest.fixture
def tmpfs(tmp_path) -> Iterator[Callable[..., Path]]:
    mounted: list[Path] = []

    def mount(size_bytes: int, readonly: bool = False) -> Path:
        where = tmp_path / f"fs{len(mounted)}"
        where.mkdir()
        opts = f"size={max(size_bytes, 4096)}" + (",ro" if readonly else "")
        subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(where)], check=True)
        mounted.append(where)
        return where

    yield mount
    for m in mounted:
        subprocess.run(["umount", "-l", str(m)], check=False)


# ------------------------------------------------------------------------------------------ the output location


def test_an_out_that_is_a_file_is_refused_before_the_work(scene, tmp_path):
    f = tmp_path / "taken"
    f.write_bytes(b"mine")
    r = segment(scene, f)
    assert r.returncode == 2 and "is an existing file, not a folder" in r.stderr and str(f) in r.stderr
    assert f.read_bytes() == b"mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_an_out_on_a_read_only_disk_is_refused_before_the_work(scene, tmp_path, tmpfs):
    if CAN_MOUNT:
        ro, says = tmpfs(1 << 20, readonly=True), "read-only file system"
    elif os.geteuid() != 0:
        ro, says = tmp_path / "ro", "no permission to write in"
        ro.mkdir()
        ro.chmod(0o555)
    else:
        pytest.skip("root without mount: no way to make a read-only place")
    r = segment(scene, ro / "o")
    assert r.returncode == 2 and says in r.stderr and "give a --out" in r.stderr
    assert list(ro.iterdir()) == []


def _first_run(scene, out: Path) -> dict[str, bytes]:
    r = segment(scene, out)
    assert r.returncode == 0, r.stderr
    return tree(out)


def test_a_full_disk_leaves_the_first_run_whole(scene, tmp_path, tmpfs):
    """The issue's reproduction: a small tmpfs, two runs with different queries, the second does not fit."""
    if not CAN_MOUNT:
        pytest.skip("needs mount (root); the file-size-limit test below covers the same path")
    probe = _first_run(scene, tmp_path / "probe")
    pages = sum(-(-len(b) // 4096) * 4096 for b in probe.values())
    disk = tmpfs(pages * 3 // 2 + 4 * 4096)  # room for one run, not for two at once
    first = _first_run(scene, disk / "o")
    r = segment(scene, disk / "o", query="parks")
    assert r.returncode == 2, r.stderr
    assert str(disk / "o") in r.stderr and ("No space left on device" in r.stderr or "free" in r.stderr)
    assert "earlier outputs are intact" in r.stderr or "nothing was written" in r.stderr
    assert tree(disk / "o") == first  # the first run, byte for byte: never a mix of two runs
    assert sorted(p.name for p in disk.iterdir()) == ["o"]  # no staging folder left behind


def test_a_file_size_limit_mid_write_leaves_the_first_run_whole(scene, tmp_path):
    first = _first_run(scene, tmp_path / "o")
    limit = max(len(b) for b in first.values()) // 2  # the largest output cannot be written

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    r = segment(scene, tmp_path / "o", query="parks", preexec=small_files)
    assert r.returncode == 2 and "File too large" in r.stderr and "ulimit -f" in r.stderr, r.stderr
    assert tree(tmp_path / "o") == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]


def test_outputs_follow_the_umask(scene, tmp_path):
    r = segment(scene, tmp_path / "o", preexec=lambda: os.umask(0o022))
    assert r.returncode == 0, r.stderr
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "o").iterdir()}
    assert set(modes.values()) == {0o644}, modes
    assert (tmp_path / "o").stat().st_mode & 0o777 == 0o755


# ------------------------------------------------------------------------------------------ what the terminal says


def test_zero_instances_say_why_on_the_terminal(scene, tmp_path):
    r = socio("segment", "--sat", scene["sat"], "--map", scene["map"], "--query", "schools", "--out", tmp_path / "o",
              "-q")  # fmt: skip
    assert r.returncode == 0
    assert "0 instances:" in r.stderr and "--layers" in r.stderr  # no layers for the map policy: say so
    assert json.loads((tmp_path / "o" / "result.json").read_text())["instances"] == []


def test_a_hit_cap_is_a_warning_naming_the_flag(tmp_path):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (256, 256, 3), dtype=np.uint8)).save(tmp_path / "sat.png")
    Image.fromarray(np.full((256, 256, 3), 240, np.uint8)).save(tmp_path / "map.png")
    pts = [(16 + 32 * i, 16 + 32 * j) for i in range(8) for j in range(8)]
    feats = [{"type": "Feature", "properties": {"class": "school"}, "geometry": {"type": "Point",
              "coordinates": list(p)}} for p in pts]  # fmt: skip
    (tmp_path / "layers.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    args = ("segment", "--sat", tmp_path / "sat.png", "--map", tmp_path / "map.png", "--layers",
            tmp_path / "layers.geojson", "--query", "schools", "-q", "--refine", "0")  # fmt: skip
    r = socio(*args, "--out", tmp_path / "capped", "--max-instances", "5")
    assert r.returncode == 0, r.stderr
    assert "more than --max-instances 5 instances" in r.stderr and "larger --max-instances" in r.stderr
    doc = json.loads((tmp_path / "capped" / "result.json").read_text())
    assert len(doc["stages"][0]["prompts"]) == 5 and "too_many_items" in doc["stages"][0]["repairs"]
    r = socio(*args, "--out", tmp_path / "all")  # the default keeps every box of the answer
    assert r.returncode == 0 and "--max-instances" not in r.stderr
    stage = json.loads((tmp_path / "all" / "result.json").read_text())["stages"][0]
    assert len(stage["prompts"]) == stage["raw"].count("bbox_2d") > 5 and "too_many_items" not in stage["repairs"]
    assert (tmp_path / "all" / "instances_pixels.geojson").is_file()  # a PNG scene: pixel polygons, named so
    assert not (tmp_path / "all" / "instances.geojson").exists()


# ------------------------------------------------------------------------------------------ CRS and sizes


def test_lon_lat_layers_on_a_plain_image_are_refused(scene, tmp_path):
    ll = [[24.9384, 60.1699], [24.9412, 60.1720]]
    fc = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"class": "school"},
          "geometry": {"type": "Point", "coordinates": c}} for c in ll]}  # fmt: skip
    (tmp_path / "ll.geojson").write_text(json.dumps(fc))
    r = socio("segment", "--sat", scene["png"], "--map", scene["map"], "--layers", tmp_path / "ll.geojson", "--query",
              "schools", "--out", tmp_path / "o")  # fmt: skip
    assert r.returncode == 2 and "is in lon/lat" in r.stderr and "no georeferencing" in r.stderr
    assert not (tmp_path / "o").exists()


def test_layers_that_miss_the_raster_are_reported_with_both_extents(scene, tmp_path):
    fc = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"class": "school"},
          "geometry": {"type": "Point", "coordinates": [24.9384, 60.1699]}}]}  # fmt: skip
    (tmp_path / "far.geojson").write_text(json.dumps(fc))
    r = socio("segment", "--sat", scene["sat"], "--map", scene["map"], "--layers", tmp_path / "far.geojson",
              "--query", "schools", "--out", tmp_path / "o")  # fmt: skip
    assert r.returncode == 2 and "overlaps the satellite image" in r.stderr
    assert "the layers cover x 24.93840" in r.stderr and "(EPSG:4326)" in r.stderr and "EPSG:32653" in r.stderr
    assert not (tmp_path / "o").exists()


def test_huge_single_scenes_are_refused_with_a_pointer_to_raster(tmp_path):
    Image.new("1", (12000, 12000)).save(tmp_path / "big.png")
    r = socio("segment", "--sat", tmp_path / "big.png", "--map", tmp_path / "big.png", "--query", "x", "--out",
              tmp_path / "o")  # fmt: skip
    assert r.returncode == 2 and "over the single-scene limit" in r.stderr and "--raster" in r.stderr
    assert "DecompressionBomb" not in r.stderr
    import rasterio
    from rasterio.windows import Window

    profile = {"driver": "GTiff", "width": 12000, "height": 12000, "count": 1, "dtype": "uint16", "tiled": True,
               "compress": "deflate", "crs": "EPSG:32633",
               "transform": rasterio.Affine(0.6, 0, 0, 0, -0.6, 0)}  # fmt: skip
    with rasterio.open(tmp_path / "big.tif", "w", **profile) as dst:
        block = np.zeros((1000, 12000), np.uint16)
        for k in range(12):
            dst.write(block, 1, window=Window(0, 1000 * k, 12000, 1000))
    r = socio("segment", "--sat", tmp_path / "big.tif", "--map", tmp_path / "big.png", "--query", "x", "--out",
              tmp_path / "o", preexec=lambda: resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30)))  # fmt: skip
    assert r.returncode == 2 and "over the single-scene limit" in r.stderr and "--raster" in r.stderr
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------------------------------ the policy server


@pytest.fixture
def server() -> Iterator[Callable[..., OpenAIServer]]:
    with server_factory() as make:
        yield make


@pytest.mark.parametrize(("raw", "ctype", "says"), [
    (b"<html><body>Welcome to nginx</body></html>", "text/html", "Content-Type 'text/html'"),
    (b"<html>Bad gateway</html>", "application/json", "not valid JSON"),
])  # fmt: skip
def test_a_server_answering_200_with_no_completion_is_exit_3(scene, tmp_path, server, raw, ctype, says):
    s = server()
    s.garble(raw, content_type=ctype, times=10)
    r = segment(scene, tmp_path / "o", "--policy", "openai:fake-vlm", "--base-url", s.base_url)
    assert r.returncode == 3, r.stderr
    assert s.base_url in r.stderr and says in r.stderr and "--base-url" in r.stderr
    assert not (tmp_path / "o").exists()


def test_a_cut_off_answer_is_exit_3(scene, tmp_path, server):
    s = server()
    s.garble(b'{"id": "x", "object": "chat.completion", "choices": [{"index": 0}]}', truncate=True, times=10)
    r = segment(scene, tmp_path / "o", "--policy", "openai:fake-vlm", "--base-url", s.base_url, "--max-retries", "1")
    assert r.returncode == 3 and "closed the connection before the answer was complete" in r.stderr, r.stderr
    assert not (tmp_path / "o").exists()


def test_a_hung_server_is_exit_3_naming_timeout(scene, tmp_path, server):
    s = server()
    s.stall(60.0, times=10)
    r = segment(scene, tmp_path / "o", "--policy", "openai:fake-vlm", "--base-url", s.base_url, "--timeout", "1",
                "--max-retries", "0")  # fmt: skip
    assert r.returncode == 3 and "timed out" in r.stderr and "--timeout" in r.stderr and s.base_url in r.stderr
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------------------------------ eval processes


def _children(pid: int) -> list[int]:
    kids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(d.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _eval(data: Path, out: Path, base_url: str, *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "socioagent", "eval", "--data", f"socioseg:{data}", "--out", str(out), "--quiet",
           "--policy", "openai:fake-vlm", "--base-url", base_url, "--timeout", "120", *extra]  # fmt: skip
    return subprocess.Popen(cmd, env=ENV, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait(cond: Callable[[], bool], seconds: float, what: str) -> None:
    end = time.monotonic() + seconds
    while not cond():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.mark.slow
def test_eval_workers_die_with_a_killed_parent(tmp_path, server):
    s = server()
    s.stall(120.0, times=100)  # every sample hangs in its request: the workers are mid-sample when the parent dies
    data = write_raw(tmp_path / "data", n=6)
    parent = _eval(data, tmp_path / "out", s.base_url, "--workers", "2")
    kids: list[int] = []
    try:
        _wait(lambda: len(s.chat_requests) >= 2, 240, "both workers to send a request")
        kids += _children(parent.pid)
        assert len(kids) >= 2, kids  # two workers (and the resource tracker)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        _wait(lambda: not any(_alive(k) for k in kids), 10, f"the workers {kids} to exit after their parent")
    finally:
        parent.kill()
        for k in kids:  # if the test failed: leave no orphan behind
            if _alive(k):
                os.kill(k, signal.SIGKILL)


@pytest.mark.slow
def test_a_second_eval_on_the_same_out_is_refused_naming_the_first(tmp_path, server):
    s = server()
    s.stall(120.0, times=100)
    data = write_raw(tmp_path / "data", n=3)
    out = tmp_path / "out"
    first = _eval(data, out, s.base_url)
    try:
        _wait(lambda: len(s.chat_requests) >= 1, 240, "the first eval to start")
        r = socio("eval", "--data", f"socioseg:{data}", "--out", out, "--policy", "random-box", "--quiet")
        assert r.returncode == 2 and f"in use by another socio eval (pid {first.pid})" in r.stderr, r.stderr
        assert not (out / "results.jsonl").read_bytes()  # the refused run wrote nothing
    finally:
        first.kill()
        first.wait()
    r = socio("eval", "--data", f"socioseg:{data}", "--out", out, "--policy", "random-box", "--quiet", "--force")
    assert r.returncode == 0, r.stderr  # the killed holder's lock went with it
    ids = [json.loads(line)["id"] for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(ids) == len(set(ids)) == 3
