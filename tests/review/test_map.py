"""/map's server side: the binary points, colourings, search, selections, coding and export of a selection.

The fixture run (review_fixtures.make_run_dir) has post k at (k, -k), clusters 0, 1, 2, -1 in turn,
a reshare of post 1 (row 30, also at (1, -1)) and a caption with <script> in post 0.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from review_fixtures import XSS_CAPTION, Browser, make_run_dir

from visframe.review.app import create_app
from visframe.review.map_data import MapData
from visframe.review.run_data import load_run
from visframe.review.store import ReviewStore


@pytest.fixture
def run_dir(tmp_path):
    """The fixture run without the describe stage's files: these tests add names where they need them."""
    return make_run_dir(tmp_path, describe=False)


@pytest.fixture
def browser(app):
    return Browser(app, coder="ana")


@pytest.fixture
def assignments(run_dir):
    return pd.read_parquet(run_dir / "assignments.parquet")


def _select(browser, polygon, **extra):
    return browser.client.post(
        "/map/selection",
        content=json.dumps({"polygon": polygon, **extra}),
        headers={"x-csrf-token": browser.csrf},
    )


BOX_0_3 = [[-0.5, 0.5], [3.5, 0.5], [3.5, -3.5], [-0.5, -3.5]]


def test_points_arrive_as_typed_arrays_in_file_order(browser, assignments):
    meta = browser.get("/map/meta.json").json()
    n = meta["n"]
    assert n == len(assignments) == 31
    body = browser.get("/map/points.bin").content
    assert len(body) == 14 * n
    xy = np.frombuffer(body, "<f4", 2 * n).reshape(n, 2)
    probability = np.frombuffer(body, "<f4", n, offset=8 * n)
    codes = np.frombuffer(body, "<u2", n, offset=12 * n)
    np.testing.assert_array_equal(xy, assignments[["x", "y"]].to_numpy(np.float32))
    np.testing.assert_allclose(probability, assignments.probability, rtol=1e-6)
    labels = [c["label"] for c in meta["cluster"]["categories"]]
    assert labels == ["noise", "cluster 0", "cluster 1", "cluster 2"]
    shown = [labels[c] for c in codes]
    expected = ["noise" if c == -1 else f"cluster {c}" for c in assignments.cluster]
    assert shown == expected
    assert meta["bounds"] == [0.0, -29.0, 29.0, 0.0]


def test_cluster_names_come_from_the_describe_stage(run_dir, browser):
    pd.DataFrame(
        {
            "layer": [0, 0, 0],
            "cluster": [0, 1, 2],
            "is_chosen_layer": [True] * 3,
            "name": ["marcha", "texto", ""],
            "size": [8, 9, 7],
            "n_unique_images": [8, 8, 7],
        }
    ).to_parquet(run_dir / "clusters.parquet")
    data = MapData.load(run_dir)
    assert data.cluster.labels == ["noise", "marcha", "texto", "cluster 2"]  # empty name: the number


def test_colourings_count_every_post(browser, assignments):
    for key in ("noise", "account", "hashtag", "month", "has_text"):
        cat = browser.get(f"/map/colour/{key}.json").json()
        codes = np.frombuffer(browser.get(f"/map/colour/{key}.bin").content, "<u2")
        assert len(codes) == len(assignments)
        counts = np.bincount(codes, minlength=len(cat["categories"]))
        assert [c["count"] for c in cat["categories"]] == counts.tolist(), key
    noise = browser.get("/map/colour/noise.json").json()["categories"]
    assert noise[1] == {"code": 1, "label": "noise", "count": int((assignments.cluster == -1).sum())}
    tags = [c["label"] for c in browser.get("/map/colour/hashtag.json").json()["categories"]]
    assert "#NiUnaMenos" not in tags or tags.index("#8M") < tags.index("#NiUnaMenos")  # shown as written
    assert browser.get("/map/colour/nonsense.json").status_code == 404


def test_a_point_carries_its_metadata_as_data(browser, assignments):
    point = browser.get("/map/point/0.json").json()
    assert point["image_id"] == assignments.image_id[0]
    assert point["caption"] == XSS_CAPTION  # JSON text; the page puts it in with textContent
    assert point["cluster_name"] == "cluster 0" and point["codeable"] is True
    assert browser.get("/map/point/31.json").status_code == 404


def test_search_finds_captions_hashtags_accounts_and_ocr_text(run_dir, browser, assignments):
    def hits(q):
        return np.frombuffer(browser.get("/map/search.bin", params={"q": q}).content, "<u4").tolist()

    assert hits("NI UNA menos") == [0]  # caption, any case
    assert hits("#niunamenos") == [k for k in range(31) if assignments.cluster[k] == 0]  # hashtag key
    assert hits("reposter") == [30]  # account of the reshare
    pd.DataFrame({"image_id": [assignments.image_id[7]], "text": ["JUSTICIA para todas"]}).to_parquet(
        run_dir / "texts.parquet"
    )
    assert MapData.load(run_dir).search("justicia").tolist() == [7]


def test_a_box_selects_exactly_the_points_inside_and_skips_hidden_categories(browser, assignments):
    made = _select(browser, BOX_0_3).json()
    assert (made["n_posts"], made["n_images"]) == (5, 4)
    indices = np.frombuffer(browser.get(f"/map/selection/{made['id']}.bin").content, "<u4").tolist()
    assert indices == [0, 1, 2, 3, 30]
    # Hide noise in the legend (code 0 of the cluster colouring): row 3 (cluster -1) drops out.
    hidden = _select(browser, BOX_0_3, colouring="cluster", hidden=[0]).json()
    assert np.frombuffer(browser.get(f"/map/selection/{hidden['id']}.bin").content, "<u4").tolist() == [
        0,
        1,
        2,
        30,
    ]
    assert _select(browser, [[0, 0], [1, 1]]).status_code == 400


def test_a_selection_outlives_the_app_and_an_unknown_one_says_so(
    run_dir, review_run, store, browser, tmp_path
):
    """The review store keeps selections: a new app on the same store (a restart) serves the link."""
    sid = _select(browser, BOX_0_3).json()["id"]
    store.dispose()
    again = ReviewStore(store.url, review_run.run_id)  # a fresh engine on the same database
    restarted = Browser(create_app(load_run(run_dir), again))
    assert np.frombuffer(restarted.get(f"/map/selection/{sid}.bin").content, "<u4").tolist() == [
        0,
        1,
        2,
        3,
        30,
    ]
    summary = restarted.get(f"/map/selection/{sid}.json").json()
    assert (summary["id"], summary["n_posts"], summary["n_images"]) == (sid, 5, 4)
    assert restarted.get(f"/map/selection/{sid}.csv").text.count("\n") == 6  # header + 5 posts
    # An id nobody drew, and a real id asked of another run's store: a 404 that says what to do.
    for url, db in (
        (f"/map/selection/{'0' * 16}.json", again),
        (f"/map/selection/{sid}.json", ReviewStore(store.url, "another-run")),
    ):
        response = Browser(create_app(load_run(run_dir), db)).get(url)
        assert response.status_code == 404
        assert "no map selection" in response.text and "draw it again" in response.text
    assert restarted.get("/map/selection/not-an-id.bin").status_code == 404
    again.dispose()


def test_a_selection_of_a_changed_run_is_refused_with_a_reason(run_dir, review_run, store, browser):
    sid = _select(browser, BOX_0_3).json()["id"]
    assignments = pd.read_parquet(run_dir / "assignments.parquet")
    assignments.iloc[:20].to_parquet(run_dir / "assignments.parquet")  # the run's map now has 20 posts
    response = Browser(create_app(review_run, store)).get(f"/map/selection/{sid}.json")
    assert response.status_code == 409 and "31 posts" in response.text and "has 20" in response.text


def test_a_selection_needs_the_csrf_token(browser):
    response = browser.client.post("/map/selection", content=json.dumps({"polygon": BOX_0_3}))
    assert response.status_code == 403


def test_coding_a_selection_adds_the_code_and_keeps_each_image_s_other_codes(browser, store, assignments):
    protest, text = store.add_code("protest"), store.add_code("text")
    first = assignments.image_id[0]
    store.save_coding(first, "ana", [text.id], memo="already seen")
    sid = _select(browser, BOX_0_3).json()["id"]
    response = browser.client.post(
        f"/map/selection/{sid}/code",
        content=json.dumps({"code_id": protest.id}),
        headers={"x-csrf-token": browser.csrf},
    )
    assert response.status_code == 200, response.text
    assert response.json()["coded"] == 4
    codings = store.codings_frame()
    assert sorted(codings[codings.code == "protest"].image_id) == sorted(set(assignments.image_id[:4]))
    assert store.coding_for(first, "ana") == ({protest.id, text.id}, "already seen", True)
    bad = browser.client.post(
        f"/map/selection/{sid}/code",
        content=json.dumps({"code_id": 999}),
        headers={"x-csrf-token": browser.csrf},
    )
    assert bad.status_code == 400
    forged = browser.client.post(f"/map/selection/{sid}/code", content=json.dumps({"code_id": protest.id}))
    assert forged.status_code == 403


def test_the_selection_exports_as_csv_with_formulas_neutralised_and_as_parquet(run_dir, browser):
    manifest = pd.read_parquet(run_dir / "manifest.parquet")
    manifest.loc[1, "caption"] = '=HYPERLINK("http://evil.example","x")'
    manifest.loc[2, "account"] = "@cmd"
    manifest.to_parquet(run_dir / "manifest.parquet")
    app_browser = Browser(browser.client.app, coder="ana")
    sid = _select(app_browser, BOX_0_3).json()["id"]
    csv = pd.read_csv(io.StringIO(app_browser.get(f"/map/selection/{sid}.csv").text), dtype=str)
    assert csv.caption[1] == '\'=HYPERLINK("http://evil.example","x")'
    assert csv.account[2] == "'@cmd"
    assert csv.cluster[3] == "-1"  # numbers stay numbers
    table = pd.read_parquet(io.BytesIO(app_browser.get(f"/map/selection/{sid}.parquet").content))
    assert list(table.columns[:7]) == ["image_id", "path", "cluster", "probability", "x", "y", "name"]
    assert len(table) == 5 and table.caption[1].startswith("=HYPERLINK")  # Parquet keeps the data as it is


def test_the_map_page_links_its_vendored_library_and_the_coding_panel_is_the_usual_form(
    browser, review_run, assignments
):
    page = browser.get("/map").text
    assert '<script src="/static/vendor/deck.gl-9.4.0.min.js"' in page and 'href="/map"' in page
    assert browser.get("/static/vendor/deck.gl-9.4.0.min.js").status_code == 200
    image_id = review_run.images.index[0]
    panel = browser.get(f"/map/panel/{image_id}")
    assert panel.status_code == 200 and f'hx-post="/code/{image_id}"' in panel.text
    assert browser.get("/map/panel/0000000000000000").status_code == 404
    ids = browser.get("/map/ids.json", params={"idx": "0,30"}).json()["ids"]
    assert ids == [assignments.image_id[0], assignments.image_id[1]]  # row 30 reshares row 1
    assert browser.get("/map/ids.json", params={"idx": "0,99"}).status_code == 400
    assert browser.get(f"/map/tile/{image_id}").headers["content-type"] == "image/jpeg"


def test_a_cluster_layer_is_a_colouring_with_its_own_names(run_dir):
    assignments = pd.read_parquet(run_dir / "assignments.parquet")
    assignments["cluster_layer_0"] = assignments.cluster
    assignments["cluster_layer_1"] = np.where(assignments.cluster >= 1, 1, assignments.cluster)
    assignments.to_parquet(run_dir / "assignments.parquet")
    pd.DataFrame(
        {
            "layer": [1, 1],
            "cluster": [0, 1],
            "is_chosen_layer": [False, False],
            "name": ["calle", "pantalla"],
            "size": [8, 16],
            "n_unique_images": [8, 15],
        }
    ).to_parquet(run_dir / "clusters.parquet")
    data = MapData.load(run_dir)
    assert [c["key"] for c in data.colourings()][:3] == ["cluster", "cluster_layer_0", "cluster_layer_1"]
    coarse = data.colouring("cluster_layer_1")
    assert coarse.labels == ["noise", "calle", "pantalla"]
    assert coarse.counts == [
        int((assignments.cluster == -1).sum()),
        int((assignments.cluster == 0).sum()),
        int((assignments.cluster >= 1).sum()),
    ]
    noise = data.colouring("noise")
    assert noise.labels == ["clustered", "noise"] and noise.counts[1] == coarse.counts[0]


def test_message_topics_are_a_colouring_when_the_run_has_them(tmp_path):
    from review_fixtures import MESSAGE_TOPIC_NAMES, MESSAGE_TOPIC_OF

    run_dir = make_run_dir(tmp_path, messages=True)  # with describe: message_topics.parquet names them
    assignments = pd.read_parquet(run_dir / "assignments.parquet")
    data = MapData.load(run_dir)
    assert "message_topic" in [c["key"] for c in data.colourings()]
    topics = data.colouring("message_topic")
    assert topics.labels == [MESSAGE_TOPIC_NAMES[0], MESSAGE_TOPIC_NAMES[1], "text in no topic", "no text"]
    # Row k is image k (row 30 reshares image 1): its label is its image's topic, or no text.
    expected = [MESSAGE_TOPIC_OF.get(k, -2) for k in [*range(30), 1]]
    label_of = {0: MESSAGE_TOPIC_NAMES[0], 1: MESSAGE_TOPIC_NAMES[1], -1: "text in no topic", -2: "no text"}
    assert [topics.labels[c] for c in topics.codes] == [label_of[t] for t in expected]
    assert topics.counts == np.bincount(topics.codes, minlength=4).tolist()
    assert len(topics.codes) == len(assignments)
    # Hiding "no text" in the legend leaves the posts with text in a selection.
    everything = [[-1, 1], [31, 1], [31, -31], [-1, -31]]
    kept = data.select(everything, "message_topic", hidden=[3])
    assert sorted(kept.tolist()) == [r for r, t in enumerate(expected) if t != -2]


def test_without_message_topics_the_map_offers_no_such_colouring(browser):
    keys = [c["key"] for c in browser.get("/map/meta.json").json()["colourings"]]
    assert "message_topic" not in keys and "cluster" in keys
    assert browser.get("/map/colour/message_topic.json").status_code == 404


def test_message_topic_colouring_is_served_as_codes_and_categories(tmp_path):
    run = load_run(make_run_dir(tmp_path, messages=True, describe=False))  # no names: topics by number
    store = ReviewStore(f"sqlite:///{tmp_path / 'r.db'}", run.run_id)
    browser = Browser(create_app(run, store), coder="ana")
    cat = browser.get("/map/colour/message_topic.json").json()
    codes = np.frombuffer(browser.get("/map/colour/message_topic.bin").content, "<u2")
    assert [c["label"] for c in cat["categories"]] == ["topic 0", "topic 1", "text in no topic", "no text"]
    assert [c["count"] for c in cat["categories"]] == np.bincount(codes, minlength=4).tolist()
    store.dispose()
