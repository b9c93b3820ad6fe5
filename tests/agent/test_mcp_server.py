"""socio mcp: the MCP SDK's own client in process, over stdio and over real streamable HTTP on 127.0.0.1.

Scenes are SynthCity tiles written as files (sat.tif georeferenced, map.png, layers.geojson) under a root folder.
"""

from __future__ import annotations

import base64
import io
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx2
import numpy as np
import pytest
from PIL import Image

from agent.backends import BackendConfig
from agent.serving.limits import ServeLimits
from agent.serving.mcp_server import build_server
from agent.toolbox import AGENT_REGISTRY
from evals.metrics import iou_counts, sample_iou
from evals.synthcity.export import encode_sample
from tests.fixtures.synthcity import synth_sample

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-token-123"


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> dict[str, Path]:
    """A root with two SynthCity scenes, an image too large, a symlink out; a folder outside it."""
    base = tmp_path_factory.mktemp("mcp")
    root, outside = base / "root", base / "outside"
    for d in (root, outside):
        d.mkdir()
    for i, size in ((0, 256), (3, 256), (1, 768)):
        scene_dir = root / f"scene{i}"
        scene_dir.mkdir()
        for name, data in encode_sample(synth_sample(0, i, "test", size)).items():
            (scene_dir / name).write_bytes(data)
    (outside / "sat.tif").write_bytes((root / "scene0" / "sat.tif").read_bytes())
    (root / "link.tif").symlink_to(outside / "sat.tif")
    Image.fromarray(np.zeros((300, 300, 3), np.uint8)).save(root / "big.png")
    (root / "kotka.osm.pbf").write_bytes((ROOT / "tests" / "data" / "osm" / "kotka.osm.pbf").read_bytes())
    return {"root": root, "outside": outside, "out": base / "out"}


def _scene_args(served: dict[str, Path], i: int = 0) -> dict[str, str]:
    d = served["root"] / f"scene{i}"
    return {"sat": str(d / "sat.tif"), "map": str(d / "map.png"), "layers": str(d / "layers.geojson")}


def _png(block) -> Image.Image:
    assert block.type == "image" and block.mime_type == "image/png"
    im = Image.open(io.BytesIO(base64.b64decode(block.data)))
    assert im.format == "PNG"
    return im


def _server(served, store=None, **limits):
    limits = ServeLimits.create([served["root"]], served["out"], **limits)
    return build_server(BackendConfig().build(), limits, store=store)


def test_tools_are_listed_with_the_registrys_schemas(served):
    from mcp import Client

    async def main():
        async with Client(_server(served)) as c:
            return (await c.list_tools()).tools

    listed = {t.name: t for t in anyio.run(main)}
    expected = {t["name"]: t for t in AGENT_REGISTRY.mcp_schemas()}
    assert {"load_scene", "segment", "ask", "map_lookup", "render_overlay", "sam_segment", "zoom"} <= set(listed)
    assert set(listed) == set(expected)
    for name, t in listed.items():
        assert t.input_schema == expected[name]["inputSchema"], name
        assert t.output_schema == expected[name]["outputSchema"], name
        assert t.description == expected[name]["description"] and t.annotations.open_world_hint is False


def test_every_tool_answers_in_process_and_images_are_pngs_of_the_scene(served):
    from mcp import Client

    sample = synth_sample(0, 0, "test", 256)

    async def main():
        async with Client(_server(served)) as c:
            loaded = await c.call_tool("load_scene", _scene_args(served))
            assert not loaded.is_error, loaded.content
            sid = loaded.structured_content["scene_id"]
            assert loaded.structured_content["crs"] == sample.scene.georef.crs
            assert (await c.call_tool("load_scene", _scene_args(served))).structured_content["scene_id"] == sid

            seg = await c.call_tool("segment", {"scene_id": sid, "query": sample.query})
            assert not seg.is_error, seg.content
            out = seg.structured_content
            assert out["count"] == len(out["instances"]) >= 1
            assert json.loads(seg.content[-1].text) == out
            assert _png(seg.content[0]).size == (256, 256)
            assert all(i["polygon"]["type"] in ("Polygon", "MultiPolygon") and 0 <= i["score"] <= 1
                       for i in out["instances"])  # fmt: skip
            assert out["geojson"]["crs"]["properties"]["name"] == sample.scene.georef.crs
            out_dir = Path(out["output_dir"])
            assert out_dir.is_relative_to(served["out"].resolve())
            assert sorted(out["files"]) == ["instances.geojson", "mask.png", "overlay.png", "result.json"]
            mask = np.asarray(Image.open(out_dir / "mask.png")) > 0
            assert sample_iou(*iou_counts(mask, sample.scene.truth)) > 0.3  # the map policy finds the school

            found = await c.call_tool("map_lookup", {"scene_id": sid, "query": sample.query})
            assert found.structured_content["level"] == "class" and found.structured_content["features"]
            box = found.structured_content["proposals"][0]["box"]
            masks = await c.call_tool("sam_segment", {"scene_id": sid, "prompts": [{"box": box}]})
            assert not masks.is_error and len(masks.structured_content["masks"]) == 1
            mask_id = masks.structured_content["masks"][0]["mask_id"]
            rendered = await c.call_tool("render_overlay", {"scene_id": sid, "prompts": [{"box": box}],
                                                            "mask_ids": [mask_id]})  # fmt: skip
            assert [_png(b).size for b in rendered.content[:-1]] == [(256, 256), (256, 256)]  # map, satellite
            zoomed = await c.call_tool("zoom", {"scene_id": sid, "boxes": [box], "size": 128})
            assert [_png(b).size for b in zoomed.content[:-1]] == [(128, 128), (128, 128)]
            drawn = await c.call_tool("draw_box", {"scene_id": sid, "prompts": [{"box": box}]})
            assert _png(drawn.content[0]).size == (256, 256)
            missing = await c.call_tool("segment", {"scene_id": "nope", "query": "schools"})
            assert missing.is_error and "no scene 'nope'" in missing.content[0].text

    anyio.run(main)


def test_paths_out_of_the_roots_and_oversize_rasters_are_clear_tool_errors(served):
    from mcp import Client

    root, outside = served["root"], served["outside"]
    bad = [str(outside / "sat.tif"), f"{root}/scene0/../../outside/sat.tif", str(root / "link.tif")]

    async def main():
        async with Client(_server(served, max_pixels=256 * 256)) as c:
            for sat in bad:
                r = await c.call_tool("load_scene", {**_scene_args(served), "sat": sat})
                assert r.is_error and "outside the allowed folders" in r.content[0].text, sat
                assert "Traceback" not in r.content[0].text
            r = await c.call_tool("load_scene", {**_scene_args(served), "layers": "https://example.org/x.geojson"})
            assert r.is_error and "never fetches URLs" in r.content[0].text
            big = await c.call_tool("load_scene", {"sat": str(root / "big.png"), "map": str(root / "big.png")})
            assert big.is_error and "300x300 = 90,000 pixels, over this server's limit" in big.content[0].text

    anyio.run(main)


def test_ask_answers_a_spatial_question_about_a_scene_folder(served):
    from mcp import Client

    async def main():
        async with Client(_server(served)) as c:
            folder = served["root"] / "scene0"
            r = await c.call_tool("ask", {"question": "how many schools are there?", "data": str(folder)})
            assert not r.is_error, r.content
            out = r.structured_content
            assert out["count"] == 1 and out["features"]["type"] == "FeatureCollection"
            assert out["entity_counts"][0]["key"] == "school" and "1" in out["sentence"]
            assert sorted(out["files"]) == ["answer.geojson", "answer.json", "answer.png"]
            assert Path(out["output_dir"]).is_relative_to(served["out"].resolve())
            again = await c.call_tool("ask", {"question": "list the schools", "data": str(folder), "save": False})
            assert again.structured_content["count"] == 1 and again.structured_content["output_dir"] is None
            linked = await c.call_tool("ask", {"question": "how many schools", "data": str(served["root"])})
            assert (
                linked.is_error
                and "link.tif" in linked.content[0].text
                and "outside the allowed" in linked.content[0].text
            )
            unread = await c.call_tool("ask", {"question": "where is the nearest school?", "data": str(folder)})
            assert unread.is_error and "nearest" in unread.content[0].text and "Traceback" not in unread.content[0].text

    anyio.run(main)


def test_a_call_past_its_time_limit_is_cancelled_and_the_server_goes_on(served, openai_server):
    from mcp import Client

    from agent.serving.mcp_server import STORE_ITEMS
    from tools.scene_store import SceneStore

    store = SceneStore(max_items=STORE_ITEMS)  # loaded (and imports warmed) by a server without a tight limit
    policy_server = openai_server()
    policy_server.stall(seconds=2)  # the first policy request hangs past the limit
    backends = BackendConfig(policy="openai:fake-vlm", base_url=policy_server.base_url, max_retries=0).build()
    limits = ServeLimits.create([served["root"]], served["out"], call_timeout_s=1.0, max_concurrent=1)
    strict = build_server(backends, limits, store=store)

    async def main():
        async with Client(_server(served, store, call_timeout_s=600)) as warm:
            loaded = await warm.call_tool("load_scene", _scene_args(served))
            sid = loaded.structured_content["scene_id"]
            assert not (await warm.call_tool("map_lookup", {"scene_id": sid, "query": "schools"})).is_error
        async with Client(strict) as c:
            slow = await c.call_tool("segment", {"scene_id": sid, "query": "schools"})
            assert slow.is_error and "time limit of 1 s and was cancelled" in slow.content[0].text
            # the one work slot stays with the cancelled worker until it really stops (at its first step after the
            # stalled answer); then the server answers again
            for _ in range(120):
                fine = await c.call_tool("map_lookup", {"scene_id": sid, "query": "schools"})
                if not fine.is_error:
                    break
                assert "time limit" in fine.content[0].text
            assert not fine.is_error and fine.structured_content["features"]

    anyio.run(main)
    assert len(policy_server.chat_requests) == 1  # the cancelled worker stopped: it never asked for the refine stage


# -- over real transports ---------------------------------------------------------------------------------------


def _socio(*args: str) -> list[str]:
    return [sys.executable, "-m", "socioagent", *args]


@pytest.fixture(scope="module")
def http_server(served) -> Iterator[str]:
    """``socio mcp --transport http`` in a subprocess on a free port of 127.0.0.1, with a token."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SOCIO_TOKEN": TOKEN}
    proc = subprocess.Popen(_socio("mcp", "--transport", "http", "--port", "0", "--root", str(served["root"]),
                                   "--out", str(served["out"]), "--max-body-bytes", "65536"),
                            cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)  # fmt: skip
    lines: list[str] = []
    url = None
    try:
        for line in proc.stderr:  # type: ignore[union-attr]
            lines.append(line)
            if "serving on " in line:
                url = line.split("serving on ", 1)[1].split()[0]
                break
        assert url, "".join(lines)
        threading.Thread(target=proc.stderr.read, daemon=True).start()  # type: ignore[union-attr]
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_over_streamable_http_with_the_token(served, http_server):
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    from agent.chat import ask as chat_ask

    sample = synth_sample(0, 3, "test", 256)

    async def main():
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120)
        async with http, Client(streamable_http_client(http_server, http_client=http)) as c:
            names = {t.name for t in (await c.list_tools()).tools}
            assert {"load_scene", "segment", "map_lookup", "render_overlay"} <= names
            sid = (await c.call_tool("load_scene", _scene_args(served, 3))).structured_content["scene_id"]
            seg = await c.call_tool("segment", {"scene_id": sid, "query": sample.query})
            assert not seg.is_error and seg.structured_content["count"] >= 1
            assert _png(seg.content[0]).size == (256, 256)
            # a full-size tile: its noisy overlay is a 1.1 MB PNG, sent within the client's 1 MiB SSE event limit
            big = await c.call_tool("load_scene", _scene_args(served, 1))
            seg = await c.call_tool("segment", {"scene_id": big.structured_content["scene_id"],
                                                "query": synth_sample(0, 1, "test", 768).query})  # fmt: skip
            assert not seg.is_error and _png(seg.content[0]).size == (768, 768)
            question = {"question": "the largest park", "data": str(served["root"] / "kotka.osm.pbf")}
            answered = await c.call_tool("ask", {**question, "save": False})
            assert not answered.is_error, answered.content
            direct = chat_ask(question["question"], served["root"] / "kotka.osm.pbf")  # the library, in this process
            got = answered.structured_content
            assert (got["sentence"], got["count"], got["areas_m2"]) == (direct.sentence, 1, direct.areas_m2)
            out = await c.call_tool("load_scene", {**_scene_args(served), "sat": str(served["root"] / "link.tif")})
            assert out.is_error and "outside the allowed folders" in out.content[0].text

    anyio.run(main)


def test_http_requests_without_the_token_or_too_large_are_refused(http_server):
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    for auth in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        r = httpx2.post(http_server, json=body, headers={**headers, **auth}, timeout=30)
        assert r.status_code == 401 and "bearer token" in r.json()["error"]
        assert r.headers["www-authenticate"] == "Bearer"
    foreign = httpx2.post(http_server, json=body, timeout=30,
                          headers={**headers, "Authorization": f"Bearer {TOKEN}", "Host": "evil.example"})  # fmt: skip
    assert foreign.status_code in (403, 421)  # the SDK's DNS-rebinding check on a loopback server
    big = httpx2.post(http_server, content=b"x" * 70_000, timeout=30,
                      headers={**headers, "Authorization": f"Bearer {TOKEN}"})  # fmt: skip
    assert big.status_code == 413 and "--max-body-bytes" in big.json()["error"]


def test_over_stdio(served):
    from mcp import Client, StdioServerParameters

    params = StdioServerParameters(command=sys.executable, cwd=str(ROOT), env={**os.environ, "OMP_NUM_THREADS": "1"},
                                   args=["-m", "socioagent", "mcp", "--root", str(served["root"]),
                                         "--out", str(served["out"])])  # fmt: skip

    async def main():
        async with Client(params) as c:
            loaded = await c.call_tool("load_scene", _scene_args(served))
            assert not loaded.is_error and loaded.structured_content["width"] == 256
            refused = await c.call_tool("load_scene", {**_scene_args(served), "map": "/etc/hostname"})
            assert refused.is_error and "outside the allowed folders" in refused.content[0].text

    anyio.run(main)


def test_binding_beyond_localhost_needs_a_token_and_bad_flags_exit_2(served):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("SOCIO_TOKEN", None)
    cases = [
        (["--transport", "http", "--host", "0.0.0.0"], "needs a bearer token: give --token"),
        (["--transport", "ftp"], "unknown --transport 'ftp'"),
        (["--call-timeout", "0"], "--call-timeout"),
    ]
    for extra, message in cases:
        p = subprocess.run(_socio("mcp", "--root", str(served["root"]), "--out", str(served["out"]), *extra),
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
        assert p.returncode == 2 and message in p.stderr and "Traceback" not in p.stderr, (extra, p.stderr)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        busy = subprocess.run(_socio("mcp", "--transport", "http", "--port", port, "--root", str(served["root"])),
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert busy.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in busy.stderr
    missing = subprocess.run(_socio("mcp", "--root", str(served["root"] / "nope")), cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)  # fmt: skip
    assert missing.returncode == 2 and "no such folder" in missing.stderr
