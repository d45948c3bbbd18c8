"""/map at 100,000 and 1,000,000 posts: server time, first paint, JS heap and redraw in headless Chromium.

For each size: a synthetic run directory (assignments with 40 Gaussian clusters + 8 % noise, a
manifest with accounts, hashtags, captions and dates, and small generated images for every post of
cluster 0 only, so the zoomed-in view has real thumbnails), served by the review app under uvicorn
on 127.0.0.1, then /map opened in Debian's chromium (Playwright, software WebGL2 via SwiftShader).

Printed per size: seconds to write the run, to load it into the review app (load_run + create_app),
the points request (`/map/points.bin`, first request of a fresh app, so it includes reading
assignments.parquet, and a warm repeat), first paint (performance.now() at deck.gl's first
onAfterRender, from navigation start: the frame's draw calls are issued) and first pixels (from
navigation start until a screenshot of the canvas, taken then, comes back: the GPU has drawn the
frame; under software WebGL a frame of points costs about 20-45 us a point here, so the two differ
by seconds when the points are drawn as points; a WebGL fence signals long before), whether that
whole-map view is the overview (`overview`: more than the page's OVERVIEW_CAP points in view, drawn
as one image the page rasterises; `raster_ms` the last rasterisation, in the page), the JS heap
after load (CDP Performance.getMetrics), and the redraw time after a colour change (fetch of the
colouring's codes if new + recolour (+ rasterise, in the overview) + a forced deck.gl redraw + a
one-pixel readPixels, which waits for the GPU): to `noise`, to `account` (first use: the manifest
join on the server), and back to `cluster` (no fetch); `draw_*` is the redraw + readPixels alone.
`pan_pixels_s`: a mouse drag of a quarter of the view, until the view settled (in the overview: the
image made again) and a screenshot came back.
If that view is the overview, the same page then zooms in about its centre a quarter step at
a time until the points are drawn as points (`cap_zoom`: how far in), and `cap_pixels_s` is from
that last zoom until a screenshot comes back (the view settling, the points near it chosen, their
frame): a frame of points at the cap, the dearest kind the page draws (`cap_drawn_points` its points:
the view's and some around it, at most twice the cap).
Then a fresh page opened zoomed in on cluster 0 (the URL holds the view): `thumbs_s` from the view
settling to the frame with its thumbnails issued (ids, tiles, atlas), `thumbs_pixels_s` from then
until a screenshot comes back, `drawn_points` how many points the zoomed view draws. Screenshots
go to --screens: the whole map (`map_N_whole.png`), the first view drawn as points
(`map_N_cap.png`), the zoomed-in map with thumbnails (`map_N_zoomed.png`). `--overview-cap N` opens
the page with `?overview_cap=N` (a huge N: every view drawn as points, as before the overview).

    python benchmarks/bench_map.py [--sizes 100000 1000000] [--screens /tmp/map_bench] [--overview-cap N]

Ends with one line `RESULT first_paint_s_100000=… first_paint_s_1000000=… points_request_s_1000000=… …`.
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image, ImageDraw

from visframe import contracts as C
from visframe.review.app import create_app
from visframe.review.run_data import load_run
from visframe.review.server import serve_in_background
from visframe.review.store import ReviewStore, sqlite_url

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--use-angle=swiftshader",
    "--use-gl=angle",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
N_CLUSTERS = 40
PAGE_TIMEOUT_S = 120


def make_run(root: Path, n: int, seed: int = 0) -> tuple[Path, dict]:
    """Write assignments.parquet + manifest.parquet (+ images for cluster 0); return the run dir and facts."""
    rng = np.random.default_rng(seed)
    run_dir, images = root / "run", root / "images"
    run_dir.mkdir(parents=True)
    images.mkdir()
    centres = rng.uniform(-20, 20, size=(N_CLUSTERS, 2))
    cluster = rng.integers(0, N_CLUSTERS, n)
    cluster[rng.random(n) < 0.08] = C.NOISE
    spread = rng.uniform(0.4, 1.6, N_CLUSTERS)
    xy = np.where(
        cluster[:, None] >= 0,
        centres[cluster] + rng.normal(size=(n, 2)) * spread[cluster, None],
        rng.uniform(-24, 24, size=(n, 2)),
    )
    ids = np.char.mod("%016x", rng.permutation(np.arange(n, dtype=np.uint64) * 2654435761 + 12345))
    paths = np.char.add(np.char.add(str(images) + "/", ids), ".png")
    probability = np.where(cluster >= 0, rng.uniform(0.3, 1.0, n), 0.0)
    pq.write_table(
        pa.table(
            {
                C.IMAGE_ID: ids,
                C.PATH: paths,
                C.CLUSTER: cluster.astype(np.int64),
                C.PROBABILITY: probability,
                C.OUTLIER_SCORE: rng.random(n),
                C.X: xy[:, 0],
                C.Y: xy[:, 1],
            }
        ),
        run_dir / C.ASSIGNMENTS_FILE,
    )
    accounts = np.char.mod("cuenta_%d", np.minimum(rng.zipf(1.6, n), 5000))
    tag_pool = np.array(
        [
            "8M",
            "NiUnaMenos",
            "25N",
            "VivasNosQueremos",
            "JusticiaParaTodas",
            "Feminicidio",
            "8Mx",
            "MarchaFeminista",
            "NiUnaMas",
            "SeVaACaer",
        ]
    )
    n_tags = rng.integers(0, 4, n)
    flat = tag_pool[rng.integers(0, len(tag_pool), int(n_tags.sum()))]
    offsets = np.concatenate([[0], np.cumsum(n_tags)]).astype(np.int32)
    hashtags = pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat))
    keys = pa.ListArray.from_arrays(pa.array(offsets), pa.array(np.char.lower(flat)))
    captions = np.char.add("post about theme ", cluster.astype(str))
    posted = np.datetime64("2019-01-01T00:00:00") + rng.integers(0, 5 * 365 * 86400, n).astype(
        "timedelta64[s]"
    )
    pq.write_table(
        pa.table(
            {
                C.IMAGE_ID: ids,
                C.PATH: paths,
                C.STATUS: np.full(n, C.STATUS_OK),
                C.REASON: np.full(n, ""),
                C.ACCOUNT: accounts,
                C.HASHTAGS: hashtags,
                C.HASHTAG_KEYS: keys,
                C.CAPTION: captions,
                C.POSTED_AT: pa.array(posted.astype("datetime64[us]"), pa.timestamp("us", tz="UTC")),
            }
        ),
        run_dir / C.MANIFEST_FILE,
    )
    # Images only for cluster 0: each its own colour, with a band whose height follows y and its row
    # number, so a zoomed view shows distinct pictures where they lie.
    members = np.flatnonzero(cluster == 0)
    lo, hi = xy[members].min(axis=0), xy[members].max(axis=0)
    colours = rng.integers(40, 230, size=(len(members), 3))
    for i, colour in zip(members, colours):
        v = (xy[i, 1] - lo[1]) / max(hi[1] - lo[1], 1e-9)
        image = Image.new("RGB", (48, 48), tuple(int(c) for c in colour))
        image.paste((250, 250, 250), (0, int(36 * (1 - v)), 48, int(36 * (1 - v)) + 10))
        ImageDraw.Draw(image).text((3, 3), str(i % 1000), fill=(0, 0, 0))
        image.save(paths[i])
    # A view over cluster 0's centre that holds ~150 points: where thumbnails show.
    centre = np.median(xy[members], axis=0)
    distance = np.sqrt(((xy - centre) ** 2).sum(axis=1))
    radius = float(np.sort(distance)[150])
    return run_dir, {"centre": centre.tolist(), "radius": radius, "thumbs": len(members)}


def timed_get(url: str) -> tuple[float, int]:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=PAGE_TIMEOUT_S) as response:
        body = response.read()
    return time.perf_counter() - start, len(body)


def poll(page, expression: str, timeout_s: float = PAGE_TIMEOUT_S):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = page.evaluate(expression)
        if value:
            return value
        page.wait_for_timeout(100)
    raise TimeoutError(expression)


def bench_size(browser, n: int, screens: Path, query: str = "") -> dict:
    root = Path(tempfile.mkdtemp(prefix=f"bench_map_{n}_"))
    try:
        start = time.perf_counter()
        run_dir, facts = make_run(root, n)
        figures = {"write_s": time.perf_counter() - start}
        start = time.perf_counter()
        run = load_run(run_dir)
        store = ReviewStore(sqlite_url(root / "review.db"), run.run_id)
        app = create_app(run, store)
        figures["app_load_s"] = time.perf_counter() - start
        with serve_in_background(app) as base:
            figures["points_request_s"], size = timed_get(f"{base}/map/points.bin")
            figures["points_request_warm_s"], _ = timed_get(f"{base}/map/points.bin")
            figures["points_mb"] = size / 1e6
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            crashed = []
            page.on("crash", lambda *_: crashed.append(True))
            page.on("pageerror", lambda error: crashed.append(str(error)))
            cdp = context.new_cdp_session(page)
            cdp.send("Performance.enable")
            opened = time.perf_counter()
            page.goto(f"{base}/map{query}", timeout=PAGE_TIMEOUT_S * 1000, wait_until="domcontentloaded")
            poll(
                page,
                "() => window.__map && "
                "(window.__map.ready || window.__map.error || window.__map.firstPaintMs)",
            )
            shot = page.locator("#map-canvas").screenshot(timeout=PAGE_TIMEOUT_S * 1000)
            figures["first_pixels_s"] = time.perf_counter() - opened
            figures["coloured_pixels"] = int(
                (np.asarray(Image.open(io.BytesIO(shot)).convert("L")) < 235).sum()
            )
            screens.mkdir(parents=True, exist_ok=True)
            (screens / f"map_{n}_whole.png").write_bytes(shot)
            poll(page, "() => window.__map && (window.__map.ready || window.__map.error)")
            error = page.evaluate("window.__map.error || ''")
            if error:
                raise RuntimeError(f"/map failed at {n}: {error}")
            figures["first_paint_s"] = page.evaluate("window.__map.firstPaintMs") / 1000
            figures["points_in_page_s"] = page.evaluate("window.__map.pointsLoadedMs") / 1000
            heap = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
            figures["js_heap_mb"] = heap["JSHeapUsedSize"] / 1e6
            figures["typed_arrays_mb"] = page.evaluate("window.__map.arrayMB")
            figures["overview"] = int(bool(page.evaluate("window.__map.overview")))
            for key in ("noise", "account", "cluster"):
                figures[f"redraw_{key}_s"] = page.evaluate(f"window.__map.setColouring('{key}')") / 1000
                figures[f"fetch_{key}_s"] = page.evaluate("window.__map.colourFetchMs") / 1000
                figures[f"draw_{key}_s"] = page.evaluate("window.__map.drawMs") / 1000
            figures["raster_ms"] = float(page.evaluate("window.__map.rasterMs || 0"))
            # A pan of a quarter of the view (a mouse drag): until the view settled and a screenshot
            # came back.
            box = page.locator("#map-canvas").bounding_box()
            cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            start = time.perf_counter()
            page.mouse.move(cx, cy)
            page.mouse.down()
            page.mouse.move(cx - box["width"] / 4, cy, steps=5)
            page.mouse.up()
            page.wait_for_timeout(50)
            poll(page, "() => window.__map.settled")
            page.locator("#map-canvas").screenshot(timeout=PAGE_TIMEOUT_S * 1000)
            figures["pan_pixels_s"] = time.perf_counter() - start
            figures["cap_zoom"], figures["cap_pixels_s"], figures["cap_drawn_points"] = 0.0, 0.0, 0
            while page.evaluate("window.__map.overview") and figures["cap_zoom"] < 8:
                figures["cap_zoom"] += 0.25
                start = time.perf_counter()
                page.evaluate("window.__map.zoomBy(0.25)")
                poll(page, "() => window.__map.settled")  # the page chose overview or points for the view
                if not page.evaluate("window.__map.overview"):
                    page.locator("#map-canvas").screenshot(
                        path=str(screens / f"map_{n}_cap.png"), timeout=PAGE_TIMEOUT_S * 1000
                    )
                    figures["cap_pixels_s"] = time.perf_counter() - start
                    figures["cap_drawn_points"] = page.evaluate("window.__map.drawnPoints")
            page.close()
            print(f"n={n:,} (before zoom): {figures}", flush=True)
            # A fresh page at cluster 0's centre (the URL holds the view): its thumbnails.
            (cx, cy), radius = facts["centre"], facts["radius"]
            zoom = float(np.log2(880 / (2 * radius)))
            page = context.new_page()
            page.on("crash", lambda *_: crashed.append(True))
            page.goto(
                f"{base}/map{query}#c=cluster&v={cx},{cy},{zoom}",
                timeout=PAGE_TIMEOUT_S * 1000,
                wait_until="domcontentloaded",
            )
            poll(page, "() => window.__map && window.__map.ready")
            figures["thumbs_s"] = poll(page, "() => window.__map.thumbsMs") / 1000
            figures["thumbnails"] = page.evaluate("window.__map.thumbnails")
            figures["drawn_points"] = page.evaluate("window.__map.drawnPoints")
            start = time.perf_counter()
            page.screenshot(path=str(screens / f"map_{n}_zoomed.png"), timeout=PAGE_TIMEOUT_S * 1000)
            figures["thumbs_pixels_s"] = time.perf_counter() - start
            figures["crashed"] = int(bool(crashed))
            context.close()
        store.dispose()
        return figures
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--screens", type=Path, default=Path("/tmp/map_bench"))
    parser.add_argument(
        "--overview-cap",
        type=int,
        default=None,
        help="open /map?overview_cap=N (default: the page's own cap)",
    )
    args = parser.parse_args(argv)
    query = f"?overview_cap={args.overview_cap}" if args.overview_cap else ""
    from playwright.sync_api import sync_playwright

    results: dict[int, dict] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for n in args.sizes:
            figures = bench_size(browser, n, args.screens, query)
            results[n] = figures
            print(
                f"n={n:,}: "
                + ", ".join(
                    f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items()
                ),
                flush=True,
            )
        browser.close()
    fields = []
    for n, figures in results.items():
        for key in (
            "first_paint_s",
            "first_pixels_s",
            "points_request_s",
            "points_request_warm_s",
            "js_heap_mb",
            "typed_arrays_mb",
            "redraw_cluster_s",
            "redraw_account_s",
            "app_load_s",
            "thumbs_s",
            "thumbs_pixels_s",
            "thumbnails",
            "drawn_points",
            "crashed",
            "redraw_noise_s",
            "overview",
            "raster_ms",
            "pan_pixels_s",
            "cap_zoom",
            "cap_pixels_s",
            "cap_drawn_points",
        ):
            value = figures[key]
            fields.append(f"{key}_{n}={value:.3f}" if isinstance(value, float) else f"{key}_{n}={value}")
    print("RESULT " + " ".join(fields))
    return 0


if __name__ == "__main__":
    sys.exit(main())
