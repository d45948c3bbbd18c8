"""End-to-end in real headless Chromium (Debian `chromium`, driven by Playwright) against a live server.

Two coders code two images in the browser and see Cohen's kappa; a caption with <script> does not run;
a screenshot of every page goes to $VISFRAME_REVIEW_SCREENS (default /tmp/review_screens/).
"""

from __future__ import annotations

import re

import pytest
from review_fixtures import CLUSTER_NAMES, SCREENS, XSS_CAPTION, browser_marks, launch_chromium, make_run_dir
from sklearn.metrics import cohen_kappa_score

from visframe.review.app import create_app
from visframe.review.run_data import load_run
from visframe.review.server import serve_in_background
from visframe.review.store import ReviewStore, sqlite_url

pytestmark = browser_marks(180)


@pytest.fixture(scope="module")
def chromium():
    yield from launch_chromium(["--disable-gpu"])


@pytest.fixture
def live(tmp_path):
    run = load_run(make_run_dir(tmp_path))
    store = ReviewStore(sqlite_url(tmp_path / "review.db"), run.run_id)
    with serve_in_background(create_app(run, store)) as base_url:
        yield base_url, run, store
    store.dispose()


def _new_page(chromium, base_url, dialogs):
    """A fresh browser profile (own cookies); alert() dialogs and console errors land in `dialogs`."""
    context = chromium.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("dialog", lambda dialog: (dialogs.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    # A CSP violation (e.g. htmx injecting a style) or a failed request shows up as a console error.
    page.on("console", lambda message: message.type == "error" and dialogs.append(f"console: {message.text}"))
    page.on("pageerror", lambda error: dialogs.append(f"page error: {error}"))
    return context, page


def _become(page, name):
    page.goto("/coder")
    page.fill("input[name=name]", name)
    page.click("form[action='/coder'] button")
    page.wait_for_url(re.compile(r"/$"))
    assert page.inner_text("#coder-name") == name


def _code(page, image_id, codes, memo=""):
    panel = page.locator(f"#panel-{image_id}")
    for label in panel.locator("fieldset label").all():
        box = label.locator("input[type=checkbox]")
        box.set_checked(label.inner_text().strip() in codes)
    panel.locator("textarea[name=memo]").fill(memo)
    url_before = page.url
    panel.locator("button[type=submit]").click()
    # htmx swaps the panel in place: the page does not navigate, the new panel says "saved".
    page.locator(f"#panel-{image_id} [role=status]").wait_for()
    assert page.locator(f"#panel-{image_id} [role=status]").inner_text() == "saved"
    assert page.url == url_before


def _shot(page, name):
    """A full-page screenshot once every thumbnail (lazy ones too) has loaded."""
    page.evaluate("document.querySelectorAll('img[loading=lazy]').forEach(i => { i.loading = 'eager'; })")
    # Polled from Python: wait_for_function compiles its predicate with eval, which the app's
    # Content-Security-Policy (script-src 'self') rightly refuses in some Chromium builds.
    for _ in range(100):
        if page.evaluate("() => [...document.images].every(i => i.complete)"):
            break
        page.wait_for_timeout(50)
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


def test_two_coders_code_two_images_and_see_kappa(chromium, live):
    base_url, run, _store = live
    dialogs: list[str] = []
    ana_context, ana = _new_page(chromium, base_url, dialogs)
    _become(ana, "ana")
    _shot(ana, "01_overview_empty")
    ana.goto("/codebook")
    for name, description in (("protest", "a march, a crowd"), ("text", "mostly words")):
        ana.fill("#add-code input[name=name]", name)
        ana.fill("#add-code input[name=description]", description)
        ana.click("#add-code button")
        ana.wait_for_selector(f"input[value='{name}']")
    _shot(ana, "02_codebook")

    ana.goto("/")
    ana.click("#card-0")
    ana.wait_for_url(re.compile(r"/cluster/0"))
    articles = ana.locator("article.image")
    first, second = (articles.nth(k).get_attribute("id").removeprefix("img-") for k in range(2))
    ana_codes = {first: {"protest"}, second: {"text"}}
    bea_codes = {first: {"protest", "text"}, second: {"text"}}
    for image_id, codes in ana_codes.items():
        _code(ana, image_id, codes, memo=f"ana on {image_id}")
    _shot(ana, "03_cluster_coded_by_ana")

    bea_context, bea = _new_page(chromium, base_url, dialogs)
    _become(bea, "bea")
    bea.goto("/cluster/0")
    for image_id, codes in bea_codes.items():
        _code(bea, image_id, codes, memo="bea's memo")
    # Each save also updates the header's progress (htmx out-of-band swap), no reload needed.
    assert bea.inner_text("#coder-progress") == f"2/{run.n_images}"
    bea.reload()
    assert bea.inner_text("#coder-progress") == f"2/{run.n_images}"

    bea.goto("/agreement")
    images = [first, second]
    shown = {}
    for name in ("protest", "text"):
        expected = cohen_kappa_score(
            [int(name in ana_codes[i]) for i in images], [int(name in bea_codes[i]) for i in images]
        )
        cell = bea.locator(f"#kappa tr[data-code='{name}'][data-pair='ana|bea'] td.kappa").inner_text()
        shown[name] = cell
        assert float(cell) == pytest.approx(expected, abs=5e-4)  # both codes vary: kappa is defined
    pooled_expected = cohen_kappa_score(
        [int(n in ana_codes[i]) for n in ("protest", "text") for i in images],
        [int(n in bea_codes[i]) for n in ("protest", "text") for i in images],
    )
    pooled = bea.locator("#kappa tr.pooled td.kappa").inner_text()
    assert float(pooled) == pytest.approx(pooled_expected, abs=5e-4)
    print(f"\n[browser two-coder test] kappa protest={shown['protest']} text={shown['text']} pooled={pooled}")
    _shot(bea, "04_agreement")
    bea.goto("/disagreements")
    assert bea.locator("article.disagreement").count() == 1  # only the first image differs
    _shot(bea, "05_disagreements")
    bea.goto("/export")
    _shot(bea, "06_export")
    bea.goto("/coder")
    _shot(bea, "07_coder")
    bea.goto("/")
    _shot(bea, "08_overview_progress")
    assert not dialogs
    ana_context.close()
    bea_context.close()


def test_a_script_in_a_caption_or_memo_does_not_run(chromium, live):
    base_url, run, store = live
    dialogs: list[str] = []
    context, page = _new_page(chromium, base_url, dialogs)
    _become(page, "<img src=x onerror=alert('coder')>")
    page.goto("/cluster/0")
    target = run.images.index[run.images.caption == XSS_CAPTION][0]
    caption = page.locator(f"#img-{target} dd.caption")
    assert caption.inner_text() == XSS_CAPTION  # shown as text, not parsed as HTML
    store.add_code("<b>bold code</b>")
    page.reload()
    _code(page, target, {"<b>bold code</b>"}, memo='</textarea><img src=x onerror="window.__xss = 2">')
    page.reload()
    page.wait_for_timeout(300)  # give any injected handler the chance to fire
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.evaluate("document.querySelectorAll('img[onerror], script:not([src])').length") == 0
    assert page.locator(f"#img-{target} dd.hashtags").inner_text().count("<img src=x onerror=alert(1)>") == 1
    _shot(page, "09_cluster_hostile_text")
    assert dialogs == []
    context.close()


def test_noise_queue_code_and_assign_then_rename_and_search(chromium, live):
    """A coder codes a noise image and places it in a cluster, renames that cluster, finds by text."""
    base_url, run, store = live
    store.add_code("protest")
    dialogs: list[str] = []
    context, page = _new_page(chromium, base_url, dialogs)
    _become(page, "ana")
    page.click("nav a[href='/noise']")
    page.wait_for_url(re.compile(r"/noise$"))
    first = page.locator("article.image").first.get_attribute("id").removeprefix("img-")
    noise = run.images[run.images.cluster == -1].sort_values("nearest_cluster_strength", ascending=False)
    assert first == noise.index[0]  # the strongest nearest cluster first
    _code(page, first, {"protest"}, memo="looks like a march")
    page.select_option(f"#assign-{first} select[name=cluster]", "1")
    page.click(f"#assign-{first} button")
    page.wait_for_url(re.compile(r"/noise"))
    assert "placed in" in page.inner_text(f"#assign-{first} [role=status]")
    _shot(page, "10_noise_queue")
    assert store.coding_for(first, "ana")[1] == "looks like a march"
    placed = store.human_clusters()
    assert list(zip(placed.image_id, placed.human_cluster)) == [(first, 1)]
    assert int(run.images.at[first, "cluster"]) == -1  # the algorithm's cluster is untouched

    page.goto("/cluster/1")
    assert page.inner_text("#cluster-title") == CLUSTER_NAMES[1]
    page.fill("#rename input[name=name]", "comunicados")
    page.click("#rename button")
    page.wait_for_url(re.compile(r"/cluster/1$"))
    assert page.inner_text("#cluster-title") == "comunicados" and CLUSTER_NAMES[1] in page.inner_text(
        "#cluster-names"
    )

    page.fill("header form.search input[name=q]", "justicia")
    page.press("header form.search input[name=q]", "Enter")
    page.wait_for_url(re.compile(r"/search\?q=justicia"))
    assert page.locator("#results figure.hit").count() == 1
    _shot(page, "11_search")
    assert dialogs == []
    context.close()
