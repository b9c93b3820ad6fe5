"""The web app's HTTP API over a real `socio serve` process: token, roots, limits, answers and their files."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from tests.fixtures.web_serve import CITY_QUESTION, ROOT, scene_queries, socio_serve, write_city, write_scene_folders

TOKEN = "api-test-token-5678"


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """Scenes under a root, one scene outside it, and the ways out: a symlinked folder and a symlinked file."""
    base = tmp_path_factory.mktemp("web-api")
    scenes = write_scene_folders(base / "root")
    city = write_city(base / "root")
    outside = write_scene_folders(base / "outside")["pixels"]
    (base / "root" / "link-out").symlink_to(outside, target_is_directory=True)
    sneaky = base / "root" / "sneaky"
    sneaky.mkdir()
    (sneaky / "map.png").write_bytes((scenes["pixels"] / "map.png").read_bytes())
    (sneaky / "sat.png").symlink_to(outside / "sat.png")
    return {"root": base / "root", "outside": outside, "sneaky": sneaky, "out": base / "out", **scenes, **city}


@pytest.fixture(scope="module")
def server(tree):
    with socio_serve(tree["root"], tree["out"]) as s:
        yield s


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=120) as c:
        yield c


def test_a_segmentation_answers_with_features_a_trace_and_files_under_the_output_root(client, tree):
    info = client.post("/api/scenes", json={"path": str(tree["lonlat"])}).json()
    assert info["view"] == "lonlat" and client.get(info["layers"]["sat"]).headers["content-type"] == "image/png"
    question = scene_queries()["lonlat"]
    a = client.post("/api/ask", json={"scene_id": info["scene_id"], "question": question, "mode": "segment"})
    assert a.status_code == 200
    answer = a.json()
    assert answer["mode"] == "segment" and answer["count"] == len(answer["features"]["features"]) >= 1
    trace = client.get(answer["trace_url"]).json()["trace"]
    assert [s["stage"] for s in trace["stages"]] == ["localize", "refine"] and trace["timings"]["total_s"] > 0
    for fmt in ("geojson", "gpkg"):
        r = client.get(answer["downloads"][fmt])
        assert r.status_code == 200
        on_disk = tree["out"] / "answers" / answer["answer_id"] / f"socio-{answer['answer_id']}.{fmt}"
        assert on_disk.read_bytes() == r.content
    import geopandas as gpd

    gdf = gpd.read_file(on_disk)
    assert len(gdf) == answer["count"] and gdf.crs.to_epsg() == 4326
    assert list(gdf["name"]) == [f["properties"].get("name") for f in answer["features"]["features"]]


RELATION = "residential compounds within 500 m of a school"
"""A spatial question about the georeferenced test scene (a school beside a residential compound)."""


def test_a_spatial_question_is_planned_and_measured(client, tree):
    sid = client.post("/api/scenes", json={"path": str(tree["lonlat"])}).json()["scene_id"]
    answer = client.post("/api/ask", json={"scene_id": sid, "question": RELATION}).json()  # auto: the planner
    assert answer["mode"] == "ask" and answer["view"] == "lonlat" and answer["count"] >= 1
    for f in answer["features"]["features"]:
        assert f["properties"]["class"] == "residential_compound" and 0 <= f["properties"]["distance_m"] <= 500
    trace = client.get(answer["trace_url"]).json()["trace"]
    assert trace["plan"]["query"] == RELATION and {s["stage"] for s in trace["stages"]} >= {"class 'school'"}
    # a question the planner cannot read: auto segments it (and says so), ask refuses it
    body = {"scene_id": sid, "question": scene_queries()["pixels"]}
    auto = client.post("/api/ask", json=body).json()
    note = client.get(auto["trace_url"]).json()["trace"]["note"]
    assert auto["mode"] == "segment" and "planner could not read" in note
    r = client.post("/api/ask", json={**body, "mode": "ask"})
    assert r.status_code == 400 and "could not read" in r.json()["error"]


def test_a_scene_without_georeferencing_is_segmented(client, tree):
    sid = client.post("/api/scenes", json={"path": str(tree["pixels"])}).json()["scene_id"]
    answer = client.post("/api/ask", json={"scene_id": sid, "question": scene_queries()["pixels"]}).json()
    assert answer["mode"] == "segment" and answer["view"] == "pixels" and answer["count"] >= 1
    r = client.post("/api/ask", json={"scene_id": sid, "question": RELATION, "mode": "ask"})
    assert r.status_code == 400 and "no georeferencing" in r.json()["error"]


def test_a_raster_with_vectors_shows_its_footprint_and_answers_both_ways(client, tree):
    listed = [s for s in client.get("/api/scenes").json()["scenes"] if s["kind"] == "raster"]
    assert [(s["path"], s["vectors"]) for s in listed] == [(str(tree["raster"]), str(tree["vectors"]))]
    info = client.post("/api/scenes", json={"raster": listed[0]["path"], "vectors": listed[0]["vectors"]}).json()
    assert info["kind"] == "raster" and info["view"] == "lonlat" and (info["width"], info["height"]) == (1024, 1024)
    import rasterio
    from rasterio.warp import transform_bounds

    with rasterio.open(tree["raster"]) as src:  # the footprint is the raster's own bounds in lon/lat
        want = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
    assert max(abs(a - b) for a, b in zip(info["bounds"], want, strict=True)) < 1e-5  # about a metre
    ask = client.post("/api/ask", json={"scene_id": info["scene_id"], "question": CITY_QUESTION}).json()
    assert ask["mode"] == "ask" and ask["count"] >= 1
    assert all(f["properties"]["class"] == "factory" and f["properties"]["distance_m"] <= 400
               for f in ask["features"]["features"])  # fmt: skip
    seg = client.post("/api/ask", json={"scene_id": info["scene_id"], "question": "kindergartens", "mode": "segment"})
    assert seg.status_code == 200 and seg.json()["count"] >= 1 and seg.json()["view"] == "lonlat"


@pytest.mark.parametrize("way_out", ["dotdot", "absolute", "symlinked folder", "symlinked file", "url"])
def test_paths_out_of_the_roots_are_refused(client, tree, way_out):
    body = {
        "dotdot": {"path": f"{tree['root']}/../outside/pixels/name-scene"},
        "absolute": {"path": str(tree["outside"])},
        "symlinked folder": {"path": str(tree["root"] / "link-out")},
        "symlinked file": {"path": str(tree["sneaky"])},
        "url": {"sat": "https://example.org/sat.tif", "map": str(tree["pixels"] / "map.png")},
    }[way_out]
    r = client.post("/api/scenes", json=body)
    assert r.status_code == 403
    want = "never fetches URLs" if way_out == "url" else "outside the allowed folders"
    assert want in r.json()["error"]


def test_the_scene_list_stays_inside_the_roots(client, tree):
    listed = {s["path"] for s in client.get("/api/scenes").json()["scenes"]}
    assert str(tree["lonlat"]) in listed and str(tree["pixels"]) in listed
    assert not any("link-out" in p or str(tree["outside"]) in p for p in listed)


def test_unknown_ids_are_404_and_bad_bodies_422(client, tree):
    assert client.get("/api/scenes/scene-nope").status_code == 404
    assert client.get("/api/answers/nope/trace").status_code == 404
    r = client.post("/api/ask", json={"scene_id": "scene-nope", "question": "schools"})
    assert r.status_code == 404 and "POST /api/scenes" in r.json()["error"]
    assert client.post("/api/ask", json={"scene_id": "x"}).status_code == 422
    assert client.post("/api/ask", json={"scene_id": "x", "question": "   "}).status_code == 422
    assert client.post("/api/scenes", json={}).status_code == 422
    r = client.post("/api/scenes", json={"path": f"{tree['root']}/no-such-scene"})
    assert r.status_code == 404 and "scene folder not found" in r.json()["error"]
    r = client.post("/api/scenes", json={"sat": f"{tree['root']}/none.png", "map": f"{tree['root']}/none.png"})
    assert r.status_code == 404 and "not found" in r.json()["error"]


def test_without_a_token_only_loopback_host_names_are_answered(client):
    assert client.get("/api/health").status_code == 200
    r = client.get("/api/health", headers={"Host": "rebound.example.org"})
    assert r.status_code == 421 and "--token" in r.json()["error"]


def test_with_a_token_every_request_needs_it(tree):
    with socio_serve(tree["root"], tree["out"], "--token", TOKEN) as s, httpx.Client(base_url=s.url) as c:
        for path in ("/", "/api/health", "/openapi.json", "/static/app.js", "/static/vendor/leaflet/leaflet.js"):
            r = c.get(path)
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", path
        assert c.get("/api/health", headers={"Authorization": "Bearer wrong-token"}).status_code == 401
        assert c.get("/api/health", params={"token": TOKEN}).status_code == 401  # ?token= opens the page only
        assert c.get("/api/health", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        page = c.get("/", params={"token": TOKEN})
        assert page.status_code == 303 and page.headers["location"] == "/"
        cookie = page.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert c.get("/api/health", headers={"Cookie": f"socio_token={TOKEN}"}).status_code == 200
        assert c.get("/api/health", headers={"Cookie": "socio_token=wrong-token"}).status_code == 401


def test_limits_refuse_big_images_big_bodies_and_slow_calls(tree):
    flags = ("--max-pixels", "100000", "--max-body-bytes", "2048")
    with socio_serve(tree["root"], tree["out"], *flags) as s, httpx.Client(base_url=s.url, timeout=60) as c:
        r = c.post("/api/scenes", json={"path": str(tree["pixels"])})  # 384 x 384 = 147,456 px
        assert r.status_code == 400 and "over this server's limit of 100,000 pixels" in r.json()["error"]
        r = c.post("/api/ask", json={"scene_id": "x", "question": "parks " * 500})
        assert r.status_code == 413 and "--max-body-bytes" in r.json()["error"]
    with socio_serve(tree["root"], tree["out"], "--call-timeout", "0.001") as s, httpx.Client(base_url=s.url) as c:
        r = c.post("/api/scenes", json={"path": str(tree["pixels"])}, timeout=60)
        assert r.status_code == 504 and "--call-timeout" in r.json()["error"]
        assert c.get("/api/health").status_code == 200  # the server goes on


def test_binding_beyond_loopback_without_a_token_is_refused(tree):
    cmd = [sys.executable, "-m", "socioagent", "serve", "--root", str(tree["root"]), "--host", "0.0.0.0", "--port", "0"]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "needs a bearer token" in p.stderr and "Traceback" not in p.stderr
    p = subprocess.run([*cmd[:5], str(tree["root"] / "missing"), "--port", "0"], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)  # fmt: skip
    assert p.returncode == 2 and "no such folder" in p.stderr
