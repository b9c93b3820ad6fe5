"""The web app in a real browser: headless Chromium (Debian's) driven by Playwright, against a real `socio serve`.

The page loads a scene, a question is typed and submitted, and the answer's features must be drawn on the map:
checked from the page's state (``window.socio``), from the SVG paths Leaflet drew and where they lie over the image
(against the feature coordinates the API returned, projected independently here), and from a screenshot. Every
request the page makes must go to the server itself (no CDN).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.fixtures.web_serve import CITY_QUESTION, scene_queries, socio_serve, write_city, write_scene_folders

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed: make test installs it")
TOKEN = "browser-test-token-1234"


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    base = tmp_path_factory.mktemp("web-scenes")
    return {**write_scene_folders(base), **write_city(base)}


@pytest.fixture(scope="module")
def root(scenes):
    return scenes["lonlat"].parents[1]


@pytest.fixture(scope="module")
def server(root, tmp_path_factory):
    with socio_serve(root, tmp_path_factory.mktemp("web-out")) as s:
        yield s


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    """A fresh page whose every request is recorded; any request off the server is aborted and counted."""
    ctx = browser.new_context(viewport={"width": 1200, "height": 800})
    page = ctx.new_page()
    page.outside = []

    def route(r):
        if r.request.url.startswith(server.url):
            r.continue_()
        else:
            page.outside.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    yield page
    assert page.outside == [], f"the page reached outside the server: {page.outside}"
    assert page.errors == [], f"JavaScript errors: {page.errors}"
    ctx.close()


def _ask(page, question: str) -> dict:
    asked = page.evaluate("socio.asked")
    page.fill("#question", question)
    page.click("#ask")
    page.wait_for_function(f"socio.asked > {asked} || socio.status === 'error'", timeout=120_000)
    state = page.evaluate("({status: socio.status, error: socio.error, drawn: socio.drawn, lastMs: socio.lastMs,"
                          " answer: socio.answer})")  # fmt: skip
    assert state["status"] == "drawn", state["error"]
    return state


def _rects(page) -> tuple[dict, list[dict]]:
    """The satellite image's and each drawn path's bounding box on screen."""
    return page.evaluate("""() => {
        const box = (e) => {
            const r = e.getBoundingClientRect();
            return {l: r.left, t: r.top, r: r.right, b: r.bottom};
        };
        const img = [...document.querySelectorAll('img.leaflet-image-layer')].find((i) => i.src.endsWith('/sat'));
        return [box(img), [...document.querySelectorAll('.leaflet-overlay-pane path.leaflet-interactive')].map(box)];
    }""")


def _relative(rect: dict, img: dict) -> np.ndarray:
    w, h = img["r"] - img["l"], img["b"] - img["t"]
    return np.array([(rect["l"] - img["l"]) / w, (rect["t"] - img["t"]) / h, (rect["r"] - img["l"]) / w,
                     (rect["b"] - img["t"]) / h])  # fmt: skip


def _expected_lonlat(feature: dict, bounds: list[float]) -> np.ndarray:
    """Where a lon/lat feature lies on the Web Mercator image, as fractions of its width and height."""
    import shapely
    from pyproj import Transformer
    from shapely.geometry import shape

    merc = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True).transform
    to_merc = lambda c: np.column_stack(merc(c[:, 0], c[:, 1]))  # noqa: E731
    x0, y0, x1, y1 = shapely.transform(shape(feature["geometry"]), to_merc).bounds
    (X0, X1), (Y0, Y1) = merc([bounds[0], bounds[2]], [bounds[1], bounds[3]])
    return np.array([(x0 - X0) / (X1 - X0), (Y1 - y1) / (Y1 - Y0), (x1 - X0) / (X1 - X0), (Y1 - y0) / (Y1 - Y0)])


def _orange_pixels(png: Path, rect: dict) -> int:
    from PIL import Image

    a = np.asarray(Image.open(png).convert("RGB")).astype(int)
    crop = a[int(rect["t"]) : int(rect["b"]) + 1, int(rect["l"]) : int(rect["r"]) + 1]
    r, g, b = crop[..., 0], crop[..., 1], crop[..., 2]
    return int(((r > 200) & (g > 80) & (g < 150) & (b < 70)).sum())


def test_a_question_draws_its_features_on_the_georeferenced_map(page, server, scenes, tmp_path):
    page.goto(f"{server.url}?scene={scenes['lonlat']}")
    page.wait_for_function("socio.status === 'ready'", timeout=60_000)
    info = page.evaluate("socio.scene")
    assert info["view"] == "lonlat" and info["crs"].startswith("EPSG:326")
    state = _ask(page, scene_queries()["lonlat"])
    feats = state["answer"]["features"]["features"]
    assert state["drawn"] == len(feats) == state["answer"]["count"] >= 1
    img, paths = _rects(page)
    assert len(paths) == len(feats)
    for feat, rect in zip(feats, paths, strict=True):  # drawn where the feature's lon/lat puts it on the image
        assert np.abs(_relative(rect, img) - _expected_lonlat(feat, info["bounds"])).max() < 0.02
    shot = tmp_path / "georeferenced.png"
    page.screenshot(path=str(shot))
    assert _orange_pixels(shot, paths[0]) > 50  # the outline is on screen, in the answer colour
    # the popup names the place the API answered, with its class and score
    page.mouse.click((paths[0]["l"] + paths[0]["r"]) / 2, (paths[0]["t"] + paths[0]["b"]) / 2)
    popup = page.wait_for_selector(".leaflet-popup-content").inner_text()
    props = feats[0]["properties"]
    assert props["name"] in popup and props["class"] in popup and f"{props['score']:.2f}" in popup
    assert props["name"] in page.inner_text("#messages")


def test_a_scene_without_georeferencing_is_drawn_in_image_pixels(page, server, scenes, tmp_path):
    page.goto(server.url)
    page.wait_for_function("socio.status === 'ready'", timeout=60_000)
    page.select_option("#scene-select", str(scenes["pixels"]))
    page.click("#scene-load")
    page.wait_for_function("socio.status === 'ready' && socio.scene.view === 'pixels'", timeout=60_000)
    info = page.evaluate("socio.scene")
    assert info["crs"] is None and info["bounds"] == [0, 0, info["width"], info["height"]]
    state = _ask(page, scene_queries()["pixels"])
    feats = state["answer"]["features"]["features"]
    assert state["answer"]["view"] == "pixels" and state["drawn"] == len(feats) >= 1
    img, paths = _rects(page)
    from shapely.geometry import shape

    for feat, rect in zip(feats, paths, strict=True):
        x0, y0, x1, y1 = shape(feat["geometry"]).bounds
        want = np.array([x0 / info["width"], y0 / info["height"], x1 / info["width"], y1 / info["height"]])
        assert np.abs(_relative(rect, img) - want).max() < 0.02
    page.screenshot(path=str(tmp_path / "pixels.png"))
    assert _orange_pixels(tmp_path / "pixels.png", paths[0]) > 50


def test_a_spatial_question_shows_its_distances_and_plan(page, server, scenes):
    page.goto(f"{server.url}?scene={scenes['lonlat']}")
    page.wait_for_function("socio.status === 'ready'", timeout=60_000)
    state = _ask(page, "residential compounds within 500 m of a school")
    feats = state["answer"]["features"]["features"]
    assert state["answer"]["mode"] == "ask" and state["drawn"] == len(feats) >= 1
    _, paths = _rects(page)
    page.mouse.click((paths[0]["l"] + paths[0]["r"]) / 2, (paths[0]["t"] + paths[0]["b"]) / 2)
    popup = page.wait_for_selector(".leaflet-popup-content").inner_text()
    assert "distance" in popup and f"{feats[0]['properties']['distance_m']:.0f} m" in popup
    page.click("#show-trace")
    plan = json.loads(page.wait_for_selector("#trace-plan").inner_text())
    assert plan["query"] == "residential compounds within 500 m of a school"


def test_a_raster_footprint_with_the_answer_drawn_over_it(page, server, scenes, tmp_path):
    page.goto(server.url)
    page.wait_for_function("socio.status === 'ready'", timeout=60_000)
    page.select_option("#scene-select", str(scenes["raster"]))
    page.click("#scene-load")
    page.wait_for_function("socio.status === 'ready' && socio.scene.kind === 'raster'", timeout=60_000)
    info = page.evaluate("socio.scene")
    state = _ask(page, CITY_QUESTION)
    feats = state["answer"]["features"]["features"]
    assert state["drawn"] == len(feats) >= 1
    img, paths = _rects(page)
    for feat, rect in zip(feats, paths, strict=True):
        assert np.abs(_relative(rect, img) - _expected_lonlat(feat, info["bounds"])).max() < 0.02
    page.screenshot(path=str(tmp_path / "raster.png"))
    assert _orange_pixels(tmp_path / "raster.png", paths[0]) > 20


def test_the_trace_and_the_downloads_of_the_last_answer(page, server, scenes):
    page.goto(f"{server.url}?scene={scenes['lonlat']}")
    page.wait_for_function("socio.status === 'ready'", timeout=60_000)
    state = _ask(page, scene_queries()["lonlat"])
    assert page.is_hidden("#trace")
    page.click("#show-trace")
    page.wait_for_selector("#trace-stages")
    trace = json.loads(page.request.get(server.url + state["answer"]["trace_url"].lstrip("/")).text())["trace"]
    rows = page.locator("#trace-stages tr").count() - 1
    assert rows == len(trace["stages"]) >= 1
    assert "total_s" in page.inner_text("#trace-timings")
    geojson = page.request.get(page.get_attribute("#download-geojson", "href").replace("/", server.url, 1)).json()
    assert geojson == state["answer"]["features"]
    gpkg = page.request.get(page.get_attribute("#download-gpkg", "href").replace("/", server.url, 1))
    assert gpkg.headers["content-type"] == "application/geopackage+sqlite3"
    assert gpkg.body()[:16] == b"SQLite format 3\x00"


def test_with_a_token_the_page_needs_it_once_then_keeps_it(browser, root, scenes, tmp_path):
    with socio_serve(root, tmp_path, "--token", TOKEN) as s:
        ctx = browser.new_context()
        try:
            page = ctx.new_page()
            assert page.goto(s.url).status == 401
            assert page.goto(f"{s.url}?token=wrong-token-0000").status == 401
            page.goto(f"{s.url}?token={TOKEN}")
            assert "token" not in page.url  # the token left the address bar for a same-site cookie
            page.goto(f"{s.url}?scene={scenes['lonlat']}")  # the cookie carries it from now on
            page.wait_for_function("socio.status === 'ready'", timeout=60_000)
            state = _ask(page, scene_queries()["lonlat"])
            assert state["drawn"] >= 1
        finally:
            ctx.close()
