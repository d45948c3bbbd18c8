"""Loading a run with column operations: the same images, records, summaries and run id as reading
each row in Python, checked against a plain per-row reference written here (Counter over posts)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest
from review_fixtures import Browser, make_run_dir

from visframe import contracts as C
from visframe.review.app import create_app
from visframe.review.run_data import load_run, tag_list
from visframe.review.store import ReviewStore, sqlite_url
from visframe.utils.hashing import hash_strings
from visframe.utils.hashtags import format_hashtag, normalise_hashtags

ODD_TAGS = [
    ["8M", "8m", "#NiUnaMenos", "#", " ", "ＮｉＵｎａＭｅｎｏｓ"],
    ["Ni", "ni", "NI"],
    [],
    ["x", "8M"],
]


def _odd_run(tmp_path, text_tags: bool):
    """The fixture run with hashtags as an older manifest may hold them, missing values and NaNs."""
    run_dir = make_run_dir(tmp_path, soft_noise=False)
    manifest = pd.read_parquet(run_dir / C.MANIFEST_FILE)
    if text_tags:  # '#a #b' text and no keys: keys computed
        manifest[C.HASHTAGS] = [" ".join("#" + t for t in ODD_TAGS[k % 3]) for k in range(len(manifest))]
        manifest = manifest.drop(columns=[C.HASHTAG_KEYS])
    else:  # lists whose stored keys line up with the tags kept only for some posts
        manifest[C.HASHTAGS] = [ODD_TAGS[k % 3] for k in range(len(manifest))]
        stored = [["k8", "niunamenos"], ["niunamenos"], ["extra"]]
        manifest[C.HASHTAG_KEYS] = [stored[k % 3] for k in range(len(manifest))]
    manifest[C.ACCOUNT] = manifest[C.ACCOUNT].astype(object)
    manifest.loc[[3, 8], C.ACCOUNT] = None
    manifest[C.LIKES] = manifest[C.LIKES].astype("float64")
    manifest.loc[5, C.LIKES] = np.nan
    manifest.to_parquet(run_dir / C.MANIFEST_FILE, index=False)
    assignments = pd.read_parquet(run_dir / C.ASSIGNMENTS_FILE)
    assignments.loc[2, C.PROBABILITY] = np.nan
    assignments.loc[[6, 10, 14], C.PROBABILITY] = 0.5  # ties: broken by image_id
    assignments.to_parquet(run_dir / C.ASSIGNMENTS_FILE, index=False)
    return run_dir


def _reference(run_dir, top: int = 5) -> tuple[list[str], dict[int, tuple[list, list]]]:
    """Page order and (top hashtags, top accounts) per cluster, one post at a time."""
    manifest = pd.read_parquet(run_dir / C.MANIFEST_FILE).drop_duplicates(C.PATH)
    posts = pd.read_parquet(run_dir / C.ASSIGNMENTS_FILE).merge(
        manifest.drop(columns=[C.IMAGE_ID]), on=C.PATH, how="left"
    )
    posts = posts.sort_values([C.PROBABILITY, C.IMAGE_ID], ascending=[False, True], kind="stable")
    images = posts.drop_duplicates(C.IMAGE_ID).sort_values(
        [C.CLUSTER, C.PROBABILITY], ascending=[True, False], kind="stable"
    )
    found = {}
    for cluster, members in posts.groupby(C.CLUSTER):
        tags, shown = Counter(), {}
        stored_keys = members[C.HASHTAG_KEYS] if C.HASHTAG_KEYS in members else [None] * len(members)
        for raw, stored in zip(members[C.HASHTAGS], stored_keys):
            displays, keys = normalise_hashtags(tag_list(raw))
            stored = tag_list(stored)
            for display, key in zip(displays, stored if len(stored) == len(displays) else keys):
                tags[key] += 1
                shown.setdefault(key, display)
        accounts = Counter(a for a in members[C.ACCOUNT] if isinstance(a, str) and a)
        found[int(cluster)] = (
            [(format_hashtag(shown[k]), n) for k, n in tags.most_common(top)],
            accounts.most_common(top),
        )
    return list(images[C.IMAGE_ID]), found


@pytest.mark.parametrize("text_tags", [True, False])
def test_column_loading_matches_a_per_row_reading(tmp_path, text_tags):
    run_dir = _odd_run(tmp_path, text_tags)
    run = load_run(run_dir)
    order, summaries = _reference(run_dir)
    assert list(run.images.index) == order
    assert {c.cluster: (c.top_hashtags, c.top_accounts) for c in run.clusters} == summaries
    # '8M' and '8m' in one post count once; stored keys that line up win (here 'Ni' is stored as
    # 'niunamenos').
    posts_with_8m = sum(1 for k in range(len(run.images) + 1) if k % 3 == 0 and k % 4 == 0)  # + the reshare
    expected = [("#Ni", 3), ("#NiUnaMenos", 3)] if text_tags else [("#NiUnaMenos", 6)]
    assert ("#8M", posts_with_8m) in summaries[0][0] and all(e in summaries[0][0] for e in expected)
    images = pd.read_parquet(run_dir / C.MANIFEST_FILE).set_index(C.IMAGE_ID)
    record = run.record(images.index[5])
    assert record[C.LIKES] is None and record[C.POSTED_AT].endswith(" UTC") and record[C.HASHTAGS] == []
    assert run.record(images.index[4])[C.HASHTAGS] == ["#Ni"]  # 'Ni', 'ni', 'NI': one tag, first spelling
    assert run.record(images.index[3])[C.ACCOUNT] == ""


def test_the_content_run_id_is_the_one_codes_were_stored_under(run_dir):
    """Without MLflow the run id hashes 'image_id:cluster' lines: a new loader must not orphan codes."""
    run = load_run(run_dir)
    expected = "local-" + hash_strings(
        [f"{i}:{c}" for i, c in sorted(zip(run.images.index, run.images[C.CLUSTER]))]
    )
    assert run.run_id == expected


def test_start_up_reads_no_texts_and_builds_no_index_until_a_search(tmp_path):
    run = load_run(make_run_dir(tmp_path))
    store = ReviewStore(sqlite_url(tmp_path / "r.db"), run.run_id)
    app = create_app(run, store)
    assert run._texts is None and app.state.review.search._db is None
    page = Browser(app).get("/search", params={"q": "justicia"})
    assert page.status_code == 200 and run._texts and app.state.review.search._db is not None
    assert "30 images indexed" in page.text
    store.dispose()


def test_records_come_in_the_order_asked_and_pages_slice_a_cluster(review_run):
    members = review_run.members(0)
    assert list(members) == list(review_run.images.index[review_run.images[C.CLUSTER] == 0])
    assert [r[C.IMAGE_ID] for r in review_run.records(members[::-1])] == list(members[::-1])
    assert [r[C.IMAGE_ID] for r in review_run.cluster_records(0, 1, 3)] == list(members[1:3])
