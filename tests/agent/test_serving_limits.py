"""The serving limits: roots, URLs, pixel and file sizes, the bind rule, the time limit and its cancellation."""

import threading
import time

import anyio
import numpy as np
import pytest
from PIL import Image

import tools
from agent.serving.limits import CallLimitError, CancelToken, ServeLimits, check_bind, run_limited, safe_name
from tools.errors import InputError
from tools.scene_store import SceneStore


@pytest.fixture
def roots(tmp_path):
    inside = tmp_path / "root"
    outside = tmp_path / "outside"
    inside.mkdir()
    outside.mkdir()
    for d in (inside, outside):
        Image.fromarray(np.full((40, 60, 3), 90, np.uint8)).save(d / "sat.png")
        Image.fromarray(np.full((40, 60, 3), 200, np.uint8)).save(d / "map.png")
    (inside / "link.png").symlink_to(outside / "sat.png")
    (inside / "sub").mkdir()
    return inside, outside


def test_paths_out_of_the_roots_are_refused_by_every_route(roots, tmp_path):
    inside, outside = roots
    limits = ServeLimits.create([inside], tmp_path / "out")
    assert limits.resolve_input(inside / "sub" / ".." / "sat.png") == (inside / "sat.png").resolve()
    for bad in (outside / "sat.png", f"{inside}/../outside/sat.png", inside / "link.png", "/etc/passwd"):
        with pytest.raises(InputError, match="outside the allowed folders"):
            limits.resolve_input(bad, "satellite image")
    with pytest.raises(InputError, match=r"resolves to .*symlinks are followed"):
        limits.resolve_input(inside / "link.png")
    for url in ("http://example.org/sat.png", "/vsicurl/https://example.org/sat.tif", "s3://bucket/sat.tif"):
        with pytest.raises(InputError, match="is a URL; socioagent never fetches URLs"):
            limits.resolve_input(url)
    with pytest.raises(InputError, match="not found"):
        limits.resolve_input(inside / "missing.png")


def test_load_scene_obeys_the_pixel_and_file_limits(roots, tmp_path):
    inside, _ = roots
    ctx = ServeLimits.create([inside], tmp_path / "out", max_pixels=40 * 60).tool_context(SceneStore())
    args = {"sat": str(inside / "sat.png"), "map": str(inside / "map.png")}
    assert tools.REGISTRY.call("load_scene", args, ctx).width == 60
    small = ServeLimits.create([inside], tmp_path / "out", max_pixels=40 * 60 - 1).tool_context(SceneStore())
    with pytest.raises(InputError, match=r"60x40 = 2,400 pixels, over this server's limit of 2,399 .*--max-pixels"):
        tools.REGISTRY.call("load_scene", args, small)
    tiny = ServeLimits.create([inside], tmp_path / "out", max_file_bytes=10).tool_context(SceneStore())
    with pytest.raises(InputError, match="over this server's limit of 10 bytes"):
        tools.REGISTRY.call("load_scene", args, tiny)


def test_roots_bind_and_limits_are_checked_when_the_server_is_configured(roots, tmp_path):
    inside, _ = roots
    with pytest.raises(InputError, match="at least one --root"):
        ServeLimits.create([], tmp_path)
    with pytest.raises(InputError, match="no such folder"):
        ServeLimits.create([tmp_path / "nope"], tmp_path)
    with pytest.raises(InputError, match="needs a bearer token: give --token"):
        ServeLimits.create([inside], tmp_path, host="0.0.0.0")
    assert ServeLimits.create([inside], tmp_path, host="0.0.0.0", token="s3cret").token == "s3cret"
    check_bind("localhost", None)
    check_bind("::1", None)
    with pytest.raises(InputError, match="--call-timeout"):
        ServeLimits.create([inside], tmp_path, call_timeout_s=0)
    assert "s3cret" not in repr(ServeLimits.create([inside], tmp_path, token="s3cret"))


def test_output_dirs_stay_under_the_output_root(tmp_path):
    limits = ServeLimits.create([tmp_path], tmp_path / "out")
    d = limits.output_dir("..", "../../etc", "scene-1")
    assert d.is_relative_to(limits.out_root) and d.is_dir()
    assert safe_name("..") == "out" and safe_name("a/b") == "a-b"


def test_a_call_past_its_time_limit_is_cancelled_and_its_worker_stops():
    stopped = threading.Event()

    def slow(token: CancelToken) -> int:
        try:
            while True:
                token.check()
                time.sleep(0.01)
        finally:
            stopped.set()

    slots = threading.BoundedSemaphore(1)

    async def main():
        with pytest.raises(CallLimitError, match=r"time limit of 0\.2 s and was cancelled.*--call-timeout"):
            await run_limited(slow, 0.2, "segment", slots)
        assert await anyio.to_thread.run_sync(stopped.wait, 10)
        return await run_limited(lambda token: 7, 10, "next", slots)  # the slot was given back

    assert anyio.run(main) == 7


def test_a_folder_is_refused_when_an_entry_points_out_of_the_roots(roots, tmp_path):
    inside, outside = roots
    ctx = ServeLimits.create([inside], tmp_path / "out", max_pixels=40 * 60).tool_context(SceneStore())
    (inside / "sub" / "sat.png").write_bytes((inside / "sat.png").read_bytes())
    assert ctx.resolve_folder(inside / "sub") == (inside / "sub").resolve()
    with pytest.raises(InputError, match=r"file link\.png of the folder .* is outside the allowed folders"):
        ctx.resolve_folder(inside)
    with pytest.raises(InputError, match="outside the allowed folders"):
        ctx.resolve_folder(outside)
    Image.fromarray(np.zeros((50, 60, 3), np.uint8)).save(inside / "sub" / "big.png")
    with pytest.raises(InputError, match="over this server's limit of 2,400 pixels"):
        ctx.resolve_folder(inside / "sub")
