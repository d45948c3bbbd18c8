"""/map in real headless Chromium (Debian `chromium` + Playwright, software WebGL2 via SwiftShader).

The fixture run lays post k at (k, -k): a diagonal whose points we can find on screen through the
page's own projection (`window.__map.project`). The overview tests lay 3,000 posts on a lattice and
open the page with a small cap (`/map?overview_cap=1000`), so a few thousand points stand for the
million that make the page draw them as one image. Screenshots go to $VISFRAME_REVIEW_SCREENS.
"""

from __future__ import annotations

import io
from urllib.parse import unquote

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from review_fixtures import SCREENS, XSS_CAPTION, browser_marks, launch_chromium, make_run_dir

from visframe.review.app import create_app
from visframe.review.run_data import load_run
from visframe.review.security import SECURITY_HEADERS
from visframe.review.server import serve_in_background
from visframe.review.store import ReviewStore, sqlite_url

# SwiftShader gives headless Chromium a software WebGL2 (deck.gl/luma.gl 9 need WebGL2).
pytestmark = browser_marks(120)


@pytest.fixture(scope="module")
def chromium():
    yield from launch_chromium(["--use-angle=swiftshader", "--use-gl=angle", "--enable-unsafe-swiftshader"])


@pytest.fixture
def live(tmp_path):
    run_dir = make_run_dir(tmp_path, describe=False)
    run = load_run(run_dir)
    store = ReviewStore(sqlite_url(tmp_path / "review.db"), run.run_id)
    assignments = pd.read_parquet(run_dir / "assignments.parquet")
    with serve_in_background(create_app(run, store)) as base_url:
        yield base_url, run, store, assignments
    store.dispose()


def _poll(page, expression, timeout_s=20.0):
    """Wait for a JS expression to be truthy, polled from Python (the CSP forbids eval-based waits)."""
    for _ in range(int(timeout_s / 0.05)):
        value = page.evaluate(expression)
        if value:
            return value
        page.wait_for_timeout(50)
    raise AssertionError(
        f"timed out waiting for {expression}: {page.evaluate('JSON.stringify(window.__map)')}"
    )


def _open_map(chromium, base_url, problems, requests):
    context = chromium.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.on("request", lambda request: requests.append(request.url))
    return context, page


def _load(page):
    response = page.goto("/map")
    _poll(page, "() => window.__map && (window.__map.ready || window.__map.error)")
    assert page.evaluate("window.__map.error || ''") == ""
    page.wait_for_timeout(300)
    return response


def _at(page, x, y):
    return page.evaluate(f"window.__map.project({x}, {y})")


def _drag(page, points):
    page.mouse.move(*points[0])
    page.mouse.down()
    for p in points[1:]:
        page.mouse.move(*p, steps=4)
    page.mouse.up()


def _ids_at(assignments, rows):
    return sorted(set(assignments.image_id.iloc[rows]))


def test_map_draws_points_hover_shows_escaped_caption_and_zoom_shows_thumbnails(chromium, live):
    base_url, run, _store, assignments = live
    problems, requests = [], []
    context, page = _open_map(chromium, base_url, problems, requests)
    response = _load(page)
    assert response.headers["content-security-policy"] == SECURITY_HEADERS["content-security-policy"]

    # The canvas is not blank: many non-white pixels, in the clusters' colours.
    pixels = np.asarray(
        Image.open(io.BytesIO(page.locator("#map-canvas").screenshot())).convert("RGB")
    ).astype(int)
    coloured = (np.abs(pixels - 255).sum(axis=2) > 60).sum()
    assert coloured > 200, f"only {coloured} coloured pixels: the scatter did not draw"
    assert page.evaluate("window.__map.thumbnails || 0") == 0  # whole-map view: points, not thumbnails

    # Hover the point of row 0 (at 0, 0): its thumbnail and its hostile caption, as text.
    page.mouse.move(*_at(page, 0.0, 0.0))
    tooltip = page.locator("#map-tooltip")
    tooltip.locator(".caption").wait_for()
    image_id = assignments.image_id.iloc[0]
    assert tooltip.locator("img").get_attribute("src") == f"/thumb/{image_id}"
    _poll(page, "() => document.querySelector('#map-tooltip img').naturalWidth > 0")
    assert tooltip.locator(".caption").inner_text() == XSS_CAPTION
    assert tooltip.locator("script").count() == 0
    assert page.evaluate("typeof window.__xss") == "undefined"

    # A click opens that image's coding panel: the cluster pages' own form, posting to /code/<id>.
    page.mouse.click(*_at(page, 0.0, 0.0))
    panel = page.locator(f"#map-panel #panel-{image_id}")
    panel.wait_for()
    assert panel.get_attribute("hx-post") == f"/code/{image_id}"

    # Zoomed in, the visible points become thumbnails fetched for those points only.
    page.mouse.move(*_at(page, 3.0, -3.0))
    page.evaluate("window.__map.zoomBy(2.2)")
    shown = _poll(page, "() => window.__map.thumbnails")
    assert 0 < shown < run.n_images
    page.wait_for_timeout(800)
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "map_zoomed_thumbnails.png"))
    tiles = [u for u in requests if "/map/tile/" in u]
    assert 0 < len(set(tiles)) <= shown
    assert all(u.startswith((base_url, "data:")) for u in requests), [
        u for u in requests if not u.startswith(base_url)
    ]
    assert problems == []
    context.close()


def test_box_and_lasso_select_exactly_the_points_inside_and_coding_reaches_the_store(chromium, live):
    base_url, _run, store, assignments = live
    code = store.add_code("marcha")
    problems, requests = [], []
    context, page = _open_map(chromium, base_url, problems, requests)
    page.goto("/coder")
    page.fill("input[name=name]", "ana")
    page.click("form[action='/coder'] button")
    page.wait_for_url(f"{base_url}/")
    _load(page)

    # Box over rows 0-3 (x 0..3) and the reshare of row 1: 5 posts, 4 images.
    page.click("button[data-mode=box]")
    _drag(page, [_at(page, -0.5, 0.5), _at(page, 3.5, -3.5)])
    summary = _poll(page, "() => window.__map.selection")
    assert (summary["n_posts"], summary["n_images"]) == (5, 4)
    shown = sorted(page.locator("#map-grid figure").evaluate_all("els => els.map(e => e.dataset.imageId)"))
    assert shown == _ids_at(assignments, [0, 1, 2, 3, 30])
    assert "s=" + summary["id"] in page.url  # the URL holds the selection: a reload shows it again
    page.reload()
    _poll(page, "() => window.__map && window.__map.ready")
    assert _poll(page, "() => window.__map.selection")["id"] == summary["id"]
    assert page.locator("#map-grid figure").count() == 4

    # Lasso along the diagonal around rows 10-14: a rotated rectangle, drawn as a free-hand path.
    page.click("button[data-mode=lasso]")
    corners = [
        (9.6 - 0.7, -9.6 - 0.7),
        (14.4 - 0.7, -14.4 - 0.7),
        (14.4 + 0.7, -14.4 + 0.7),
        (9.6 + 0.7, -9.6 + 0.7),
    ]
    path = []
    for (ax, ay), (bx, by) in zip(corners, corners[1:] + corners[:1]):
        path += [_at(page, ax + (bx - ax) * t / 6, ay + (by - ay) * t / 6) for t in range(6)]
    page.evaluate("window.__map.selection = null")
    _drag(page, path)
    summary = _poll(page, "() => window.__map.selection")
    shown = sorted(page.locator("#map-grid figure").evaluate_all("els => els.map(e => e.dataset.imageId)"))
    assert shown == _ids_at(assignments, range(10, 15))
    assert summary["n_posts"] == 5

    # Code the selection: every selected image gets the code, in the store, for this coder.
    page.select_option("#map-code", str(code.id))
    page.click("#map-code-button")
    _poll(page, "() => window.__map.coded")
    codings = store.codings_frame()
    assert sorted(codings.image_id) == _ids_at(assignments, range(10, 15))
    assert set(codings.code) == {"marcha"} and set(codings.coder) == {"ana"}
    assert all(u.startswith(base_url) for u in requests if not u.startswith("data:"))
    assert problems == []
    context.close()


@pytest.fixture
def big_live(tmp_path):
    """60,000 posts spread evenly over a 1,000 x 1,000 square (no image files: points only)."""
    n, rng = 60_000, np.random.default_rng(3)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    ids = [f"{k:016x}" for k in range(n)]
    paths = [f"/nowhere/{i}.png" for i in ids]
    xy = rng.uniform(0, 1000, size=(n, 2))
    pd.DataFrame(
        {
            "image_id": ids,
            "path": paths,
            "cluster": rng.integers(0, 5, n),
            "probability": 0.9,
            "outlier_score": 0.1,
            "x": xy[:, 0],
            "y": xy[:, 1],
        }
    ).to_parquet(run_dir / "assignments.parquet")
    pd.DataFrame({"image_id": ids, "path": paths, "status": "ok"}).to_parquet(run_dir / "manifest.parquet")
    run = load_run(run_dir)
    store = ReviewStore(sqlite_url(tmp_path / "review.db"), run.run_id)
    with serve_in_background(create_app(run, store)) as base_url:
        yield base_url, n
    store.dispose()


def _coloured(page) -> int:
    pixels = np.asarray(
        Image.open(io.BytesIO(page.locator("#map-canvas").screenshot())).convert("RGB")
    ).astype(int)
    return int((np.abs(pixels - 255).sum(axis=2) > 60).sum())


def test_zoomed_in_on_a_big_map_only_the_points_near_the_view_are_drawn(chromium, big_live):
    base_url, n = big_live
    problems, requests = [], []
    context, page = _open_map(chromium, base_url, problems, requests)
    page.goto("/map#v=500,500,5.5")  # about 20 x 14 units of the 1,000 x 1,000 square
    _poll(page, "() => window.__map && window.__map.ready")
    drawn = _poll(page, "() => window.__map.drawnPoints")
    assert 0 < drawn < n / 20, drawn
    assert _coloured(page) > 50  # the points in view are drawn

    # Drag the map until the view lies wholly outside the points drawn first (a view's width each
    # side of the first view): only if they were chosen again does the new view show any.
    box = page.locator("#map-canvas").bounding_box()
    width = box["width"] / 2**5.5
    y = box["y"] + box["height"] / 2
    for _ in range(3):
        page.mouse.move(box["x"] + 40, y)
        _drag(page, [(box["x"] + box["width"] - 20, y), (box["x"] + 20, y)])
        page.mouse.up()
    page.wait_for_timeout(800)
    view_x = float(unquote(page.evaluate("location.hash")).split("v=")[1].split(",")[0])
    assert view_x - 500 > 2 * width, (view_x, width)
    assert 0 < page.evaluate("window.__map.drawnPoints") < n / 20
    assert _coloured(page) > 50

    # Zoomed out to the whole square: more points in view than the page's cap (50,000), so no point
    # is drawn as a point; the overview image shows them all.
    page.evaluate("window.__map.zoomBy(-6)")
    _poll(page, "() => window.__map.settled && window.__map.overview")
    assert page.evaluate("window.__map.drawnPoints") == 0
    assert _coloured(page) > 10_000
    assert [p for p in problems if "status of 404" not in p] == []  # these posts have no image files
    context.close()


def test_search_by_meaning_says_why_it_cannot_and_words_still_work(chromium, live):
    """The fixture run has no config.yaml (so no model): choosing "meaning" says so and falls back."""
    base_url, _run, _store, assignments = live
    problems, requests = [], []
    context, page = _open_map(chromium, base_url, problems, requests)
    _load(page)
    page.select_option("#map-search-mode", "meaning")
    _poll(page, "() => window.__map.similarStatus")
    message = page.locator("#map-search-count").inner_text()
    assert "not available" in message and "config.yaml not found" in message
    assert page.locator("#map-search-mode").input_value() == "words"
    page.fill("#map-search input[name=q]", "cuenta_3")
    page.click("#map-search button")
    assert _poll(page, "() => window.__map.searchHits") == int((assignments.index % 5 == 3).sum())
    assert [p for p in problems if "status of 409" not in p] == []
    context.close()


def requests_json(base_url, url, page):
    """GET `url` with the page's cookies (the app's session), as JSON."""
    return page.context.request.get(base_url + url).json()


def test_search_by_meaning_highlights_the_images_the_runs_clip_ranks_first(chromium, tmp_path):
    from review_fixtures import tiny_clip_dir, write_run_config

    from visframe.embed.embedding import embed_images
    from visframe.embed.encoders.hf_clip import CLIPEncoder

    weights = tiny_clip_dir(tmp_path / "clip")
    run_dir = make_run_dir(tmp_path, describe=False)
    write_run_config(
        run_dir,
        {
            "_target_": "visframe.embed.encoders.hf_clip.CLIPEncoder",
            "name": "tiny_clip",
            "weights": str(weights),
        },
        tmp_path / "cache",
    )
    manifest = pd.read_parquet(run_dir / "manifest.parquet")
    images = manifest[manifest.status == "ok"].drop_duplicates("image_id")
    embed_images(
        list(images.image_id),
        list(images.path),
        CLIPEncoder(weights=str(weights), name="tiny_clip"),
        {"accelerator": "cpu", "precision": "32", "num_workers": 0},
        tmp_path / "cache",
        show_progress=False,
    )
    run = load_run(run_dir)
    store = ReviewStore(sqlite_url(tmp_path / "review.db"), run.run_id)
    with serve_in_background(create_app(run, store)) as base_url:
        problems, requests = [], []
        context, page = _open_map(chromium, base_url, problems, requests)
        _load(page)
        page.select_option("#map-search-mode", "meaning")
        assert _poll(page, "() => window.__map.similarStatus")["available"] is True
        page.fill("#map-search input[name=q]", "a purple poster")
        page.click("#map-search button")
        _poll(page, "() => window.__map.searchHits")
        # 31 posts: the 4 best images (a tenth), as the server ranks them; every post of each.
        best = requests_json(base_url, "/map/similar.json?k=4&q=a+purple+poster", page)
        top = [i["image_id"] for i in best["images"]]
        assignments = pd.read_parquet(run_dir / "assignments.parquet")
        assert (
            sorted(page.evaluate("window.__map.searchPoints"))
            == np.flatnonzero(assignments.image_id.isin(top)).tolist()
        )
        assert "the 4 most similar images" in page.locator("#map-search-count").inner_text()
        assert "m=meaning" in page.url and "q=a+purple+poster" in page.url
        assert problems == []
        context.close()
    store.dispose()


# -- the overview: past the cap, the points are one image the page rasterises ---------------------
COLS, ROWS, CAP = 60, 50, 1000


@pytest.fixture
def lattice_live(tmp_path):
    """3,000 posts on a 60 x 50 unit lattice (post k at (k % 60, k // 60)), 5 clusters of 12 columns each."""
    k = np.arange(COLS * ROWS)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    ids = [f"{i:016x}" for i in k]
    paths = [f"/nowhere/{i}.png" for i in ids]
    assignments = pd.DataFrame(
        {
            "image_id": ids,
            "path": paths,
            "cluster": (k % COLS) // 12,
            "probability": 0.9,
            "outlier_score": 0.1,
            "x": (k % COLS).astype(float),
            "y": (k // COLS).astype(float),
        }
    )
    assignments.to_parquet(run_dir / "assignments.parquet")
    pd.DataFrame(
        {"image_id": ids, "path": paths, "status": "ok", "caption": [f"caption of post {i}" for i in k]}
    ).to_parquet(run_dir / "manifest.parquet")
    run = load_run(run_dir)
    store = ReviewStore(sqlite_url(tmp_path / "review.db"), run.run_id)
    with serve_in_background(create_app(run, store)) as base_url:
        yield base_url, assignments
    store.dispose()


def _settled(page, url):
    page.goto(url)
    _poll(page, "() => window.__map && (window.__map.ready || window.__map.error)")
    assert page.evaluate("window.__map.error || ''") == ""
    _poll(page, "() => window.__map.settled")
    page.wait_for_timeout(300)


def _canvas(page) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(page.locator("#map-canvas").screenshot())).convert("RGB")).astype(
        int
    )


def _ink(page, x, y) -> int:
    """How far from white the 3 x 3 pixels around data point (x, y) are, at most (0: white)."""
    px, py = _at(page, x, y)
    shot = page.screenshot(clip={"x": round(px) - 1, "y": round(py) - 1, "width": 3, "height": 3})
    return int(
        np.abs(np.asarray(Image.open(io.BytesIO(shot)).convert("RGB")).astype(int) - 255).sum(axis=2).max()
    )


def test_past_the_cap_the_map_is_one_image_that_looks_like_its_points(chromium, lattice_live):
    base_url, _assignments = lattice_live
    problems, requests = [], []
    context, page = _open_map(chromium, base_url, problems, requests)
    _settled(page, f"/map?overview_cap={CAP}")
    assert page.evaluate("window.__map.overview") is True
    assert page.evaluate("window.__map.drawnPoints") == 0  # no point layer: one image
    image = _canvas(page)
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "map_overview.png"))

    # The same view drawn as points (a cap above the map's size): the same picture.
    _settled(page, "/map?overview_cap=100000")
    assert page.evaluate("window.__map.overview") is False
    assert page.evaluate("window.__map.drawnPoints") == COLS * ROWS
    points = _canvas(page)
    ink_image, ink_points = np.abs(image - 255).sum(axis=2) > 60, np.abs(points - 255).sum(axis=2) > 60
    assert ink_points.sum() > 100_000, "the point layer did not draw"
    both = (ink_image & ink_points).sum()
    assert both > 0.9 * ink_points.sum() and both > 0.85 * ink_image.sum(), (
        ink_image.sum(),
        ink_points.sum(),
        both,
    )
    assert np.abs(image - points).mean() < 8

    # Zoomed in below the cap, the point layer takes over (the page's cap: a URL parameter).
    _settled(page, f"/map?overview_cap={CAP}")
    page.evaluate("window.__map.zoomBy(2)")  # a sixteenth of the area: about 190 points in view
    _poll(page, "() => window.__map.settled && window.__map.overview === false")
    assert 0 < page.evaluate("window.__map.drawnPoints") <= COLS * ROWS
    assert _ink(page, 30, 25) > 100  # a point near the centre, drawn as a point
    assert "overview_cap=1000" in page.url
    assert [p for p in problems if "status of 404" not in p] == []  # these posts have no image files
    context.close()


def test_in_the_overview_hover_lasso_legend_search_and_selection_work_as_with_points(chromium, lattice_live):
    base_url, assignments = lattice_live
    problems, requests = [], []
    context, page = _open_map(chromium, base_url, problems, requests)
    _settled(page, f"/map?overview_cap={CAP}")
    assert page.evaluate("window.__map.overview") is True

    # Hover reads the positions, not pixels: the caption of exactly the post under the mouse.
    post = 1234
    page.mouse.move(*_at(page, post % COLS, post // COLS))
    tooltip = page.locator("#map-tooltip")
    tooltip.locator(".caption").wait_for()
    assert tooltip.locator(".caption").inner_text() == f"caption of post {post}"
    assert tooltip.get_attribute("data-image-id") == assignments.image_id.iloc[post]

    # Hiding a legend entry takes its points out of the image: one cluster's band turns white.
    bands = [(12 * b + 6, 25) for b in range(5)]
    before = [_ink(page, x, y) for x, y in bands]
    assert min(before) > 100
    page.locator("#map-legend li").first.click()
    _poll(page, "() => location.hash.includes('h=')")
    page.wait_for_timeout(300)
    after = [_ink(page, x, y) for x, y in bands]
    assert sorted(a < 20 for a in after) == [False] * 4 + [True], (before, after)
    page.locator("#map-legend li").first.click()
    _poll(page, "() => !location.hash.includes('h=')")

    # A search highlights its match in the image: the others fade.
    page.fill("#map-search input[name=q]", f"caption of post {post}")
    page.click("#map-search button")
    assert _poll(page, "() => window.__map.searchHits") == 1
    page.wait_for_timeout(300)
    assert _ink(page, post % COLS, post // COLS) > 100 and _ink(page, 5, 5) < 100
    page.fill("#map-search input[name=q]", "")
    page.click("#map-search button")

    # A lasso (a diamond around (30, 25), drawn free-hand) selects exactly the posts inside it,
    # and the selection shows in the image.
    page.click("button[data-mode=lasso]")
    corners = [(30, 21.5), (33.5, 25), (30, 28.5), (26.5, 25)]
    path = []
    for (ax, ay), (bx, by) in zip(corners, corners[1:] + corners[:1]):
        path += [_at(page, ax + (bx - ax) * t / 8, ay + (by - ay) * t / 8) for t in range(8)]
    _drag(page, path)
    summary = _poll(page, "() => window.__map.selection")
    inside = np.flatnonzero(np.abs(assignments.x - 30) + np.abs(assignments.y - 25) <= 3)
    assert summary["n_posts"] == len(inside) == 25
    selected = np.frombuffer(
        page.context.request.get(f"{base_url}/map/selection/{summary['id']}.bin").body(), "<u4"
    )
    assert sorted(selected.tolist()) == inside.tolist()
    assert sorted(
        page.locator("#map-grid figure").evaluate_all("els => els.map(e => e.dataset.imageId)")
    ) == _ids_at(assignments, inside)
    assert page.evaluate("window.__map.overview") is True
    page.wait_for_timeout(300)
    assert _ink(page, 30, 25) > 100 and _ink(page, 5, 5) < 100
    page.screenshot(path=str(SCREENS / "map_overview_selection.png"))
    assert [p for p in problems if "status of 404" not in p] == []
    context.close()
