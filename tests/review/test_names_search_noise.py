"""Cluster names (automatic + a coder's), find by text (FTS5), and the noise queue."""

from __future__ import annotations

import io
import re

import pandas as pd
from review_fixtures import CLUSTER_NAMES, OCR_TEXT, Browser, make_run_dir

from visframe.review.app import create_app
from visframe.review.run_data import load_run
from visframe.review.search import fts_query
from visframe.review.store import ReviewStore, sqlite_url


def _app(tmp_path, **kwargs):
    run = load_run(make_run_dir(tmp_path, **kwargs))
    store = ReviewStore(sqlite_url(tmp_path / "r.db"), run.run_id)
    return run, store, create_app(run, store)


# -- names -------------------------------------------------------------------------------------------
def test_cluster_pages_show_the_describe_stages_names(app):
    browser = Browser(app)
    overview = browser.get("/").text
    for cluster, name in CLUSTER_NAMES.items():
        assert name in overview
        page = browser.get(f"/cluster/{cluster}").text
        assert re.search(r'<h1 id="cluster-title">([^<]+)</h1>', page).group(1) == name.replace("'", "&#39;")
    assert "fine 0" not in overview  # only the chosen layer's names are read


def test_without_clusters_parquet_a_cluster_is_cluster_n(tmp_path):
    _run, store, app = _app(tmp_path, describe=False)
    page = Browser(app).get("/cluster/2").text
    assert '<h1 id="cluster-title">cluster 2</h1>' in page
    store.dispose()


def test_a_coder_renames_a_cluster_and_the_export_keeps_both_names(app, store, review_run):
    ana = Browser(app, coder="ana")
    assert ana.post("/cluster/1/name", {"name": "comunicados de colectivas"}).status_code == 303
    page = ana.get("/cluster/1").text
    assert '<h1 id="cluster-title">comunicados de colectivas</h1>' in page and CLUSTER_NAMES[1] in page
    assert store.cluster_names() == {1: "comunicados de colectivas"}
    assert Browser(app).post("/cluster/1/name", {"name": "anonymous"}).status_code == 400  # no coder
    clusters = pd.read_csv(io.StringIO(ana.get("/export/clusters.csv").text)).set_index("cluster")
    assert (
        clusters.loc[1, "name"] == CLUSTER_NAMES[1]
        and clusters.loc[1, "human_name"] == "comunicados de colectivas"
    )
    image = review_run.images.index[review_run.images.cluster == 1][0]
    store.save_coding(image, "ana", [], "seen")
    codes = pd.read_parquet(io.BytesIO(ana.get("/export/codes.parquet").content))
    assert (codes.name.iloc[0], codes.human_name.iloc[0]) == (CLUSTER_NAMES[1], "comunicados de colectivas")
    assert ana.post("/cluster/1/name", {"name": ""}).status_code == 303  # empty: back to the automatic name
    assert store.cluster_names() == {}


# -- find by text -----------------------------------------------------------------------------------
def test_search_finds_ocr_text_captions_hashtags_and_accounts(app, review_run):
    browser = Browser(app)

    def found(query):
        page = browser.get("/search", params={"q": query}).text
        return re.findall(r'id="hit-([0-9a-f]{16})"', page), page

    images = list(review_run.images.sort_values("post_id").index)  # fixture order: image k is post p{k:03d}
    hits, page = found("justicia")  # OCR text "Exigimos JUSTICIA para todas", case-folded
    assert hits == [images[3]] and "Exigimos" in OCR_TEXT[3]
    cluster = int(review_run.images.at[images[3], "cluster"])
    assert f'href="/cluster/{cluster}"' in page and CLUSTER_NAMES.get(cluster, "noise") in page.replace(
        "&#39;", "'"
    )
    assert set(found("comunicado")[0]) == {images[7]}
    assert found("caption 12")[0] == [images[12]]  # every word must occur
    assert set(found("NiUnaMenos")[0]) == set(review_run.images.index[review_run.images.cluster == 0])
    assert set(found("cuenta_3")[0]) == set(review_run.images.index[review_run.images.account == "cuenta_3"])
    assert found("exig*")[0] == [images[3]]
    assert found("nothing-like-this")[0] == []


def test_search_queries_cannot_use_fts_syntax():
    assert fts_query('a" OR image_id:* NEAR(x') == '"a" "OR" "image_id" "NEAR" "x"'
    assert fts_query("  ") is None and fts_query("#8M") == '"8M"'


def test_search_survives_hostile_queries(app):
    browser = Browser(app)
    for query in ['"', "*", "NEAR(", "a AND", "x" * 500, "\u202e"]:
        assert browser.get("/search", params={"q": query}).status_code == 200


# -- the noise queue ----------------------------------------------------------------------------------
def _queue(page):
    return re.findall(r'<article class="image" id="img-([0-9a-f]{16})"', page)


def test_the_noise_queue_orders_by_nearest_cluster_strength(app, review_run):
    shown = _queue(Browser(app, coder="ana").get("/noise").text)
    noise = review_run.images[review_run.images.cluster == -1]
    assert shown == list(noise.sort_values("nearest_cluster_strength", ascending=False).index)
    assert len(shown) == len(noise) > 1


def test_without_soft_columns_noise_is_ordered_by_probability_then_outlier_score(tmp_path):
    run, store, app = _app(tmp_path, soft_noise=False)
    page = Browser(app).get("/noise").text
    noise = run.images[run.images.cluster == -1]
    assert _queue(page) == list(
        noise.sort_values(["probability", "outlier_score"], ascending=[False, True]).index
    )
    assert "no nearest-cluster columns" in page
    store.dispose()


def test_assigning_a_noise_image_is_kept_beside_cluster(app, store, review_run):
    ana = Browser(app, coder="ana")
    image = _queue(ana.get("/noise").text)[0]
    assert ana.post(f"/assign/{image}", {"cluster": "2"}).status_code == 303
    assert ana.post(f"/assign/{image}", {"cluster": "77"}).status_code == 400
    assert ana.post(f"/assign/{image}", {"cluster": str(2**63)}).status_code == 400
    assert "placed in" in ana.get("/noise").text
    codes = pd.read_parquet(io.BytesIO(ana.get("/export/codes.parquet").content))
    row = codes[codes.image_id == image].iloc[0]
    assert (row.cluster, row.human_cluster, row.coder) == (-1, 2, "ana")  # never overwrites cluster
    assert ana.post(f"/assign/{image}", {"cluster": ""}).status_code == 303  # back to noise
    assert store.human_clusters().empty


def test_the_map_is_served_and_linked_from_every_page(review_run, store):
    browser = Browser(create_app(review_run, store))
    assert browser.get("/map").status_code == 200
    assert 'href="/map"' in browser.get("/").text
