"""Per-cluster tables: the summary formats describe's lift (checked by hand), the dominant-account
flag, file lists."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from visframe.describe import describe_clusters
from visframe.errors import StageError
from visframe.report.posts import join_posts
from visframe.report.tables import cluster_file_lists, cluster_metadata, terms_of

OFF = {"zero_shot": {"enabled": False}, "terms": {"min_posts": 1}}


def _summary(posts, top_n=2):
    described = describe_clusters(posts, None, OFF)
    terms = described.terms
    return cluster_metadata(posts, described.clusters, terms, top_n=top_n, dominant_share=0.5), terms


@pytest.fixture
def small_posts() -> pd.DataFrame:
    """6 posts: cluster 0 (3 posts), cluster 1 (2), noise (1)."""
    manifest = pd.DataFrame(
        {
            "path": [f"/p{i}.jpg" for i in range(6)],
            "account": ["ana", "ana", "bea", "bea", "cam", "ana"],
            # '#A' and 'a' are the same tag; a tag repeated in a post counts once
            "hashtags": [["#a", "b"], ["a", "a"], ["#A"], ["b"], ["c"], ["a", "c"]],
        }
    )
    assignments = pd.DataFrame(
        {
            "image_id": ["i0", "i1", "i2", "i3", "i4", "i5"],
            "path": [f"/p{i}.jpg" for i in range(6)],
            "cluster": [0, 0, 0, 1, 1, -1],
            "probability": [0.9, 0.8, 0.7, 0.6, 0.5, 0.0],
            "outlier_score": np.nan,
            "x": 0.0,
            "y": 0.0,
        }
    )
    return join_posts(manifest, assignments)


def test_hashtag_lift_matches_hand_computation(small_posts):
    _, terms = _summary(small_posts)
    table = terms_of(terms, "hashtag", "hashtag").set_index(["cluster", "hashtag"])
    # '#A' and 'a' are one tag (the first spelling is shown); a tag repeated in a post counts once
    # tag a: in all 3 posts of cluster 0 and in the noise post: corpus share 4/6
    assert table.loc[(0, "#a"), "count"] == 3
    assert table.loc[(0, "#a"), "share"] == pytest.approx(1.0)
    assert table.loc[(0, "#a"), "corpus_share"] == pytest.approx(4 / 6)
    assert table.loc[(0, "#a"), "lift"] == pytest.approx(1.0 / (4 / 6))
    # tag b: 1 of 3 posts in cluster 0, 1 of 2 in cluster 1, corpus 2/6
    assert table.loc[(0, "#b"), "lift"] == pytest.approx((1 / 3) / (2 / 6))
    assert table.loc[(1, "#b"), "lift"] == pytest.approx((1 / 2) / (2 / 6))
    # tag c: 1 of 2 in cluster 1, the noise post; corpus 2/6
    assert table.loc[(1, "#c"), "lift"] == pytest.approx((1 / 2) / (2 / 6))
    assert table.loc[(-1, "#c"), "lift"] == pytest.approx(1.0 / (2 / 6))
    assert len(table) == 6


def test_account_lift_and_dominant_flag(small_posts):
    meta, terms = _summary(small_posts)
    lookup = terms_of(terms, "account", "account").set_index(["cluster", "account"])
    assert lookup.loc[(0, "ana"), "lift"] == pytest.approx((2 / 3) / (3 / 6))
    assert lookup.loc[(1, "bea"), "lift"] == pytest.approx((1 / 2) / (2 / 6))
    meta = meta.set_index("cluster")
    assert meta.loc[0, "top_account"] == "ana"
    assert meta.loc[0, "top_account_share"] == pytest.approx(2 / 3)
    assert bool(meta.loc[0, "dominant_account"]) is True
    # 1 of 2 posts is exactly one half: "more than" 0.5 is not met
    assert bool(meta.loc[1, "dominant_account"]) is False
    assert meta.loc[0, "n_posts"] == 3 and meta.loc[0, "n_unique_images"] == 3
    assert meta.loc[0, "top_hashtags"].startswith("#a 3 (×1.5)")
    assert meta.loc[0, "top_accounts"].startswith("@ana 2 (×1.3)")
    assert list(meta.index) == [0, 1, -1]  # by size, noise last
    assert meta["name"].str.len().gt(0).all()


def test_missing_metadata_gives_empty_tables_not_errors():
    assignments = pd.DataFrame(
        {"image_id": ["a", "b"], "path": ["/a", "/b"], "cluster": [0, -1], "probability": [1.0, 0.0]}
    )
    posts = join_posts(pd.DataFrame({"path": ["/a", "/b"], "status": ["ok", "ok"]}), assignments)
    meta, terms = _summary(posts, top_n=5)
    assert terms_of(terms, "hashtag", "hashtag").empty and terms_of(terms, "account", "account").empty
    assert meta["n_posts"].tolist() == [1, 1]
    assert meta["dominant_account"].isna().all()
    assert meta["name"].tolist() == ["cluster 0", "noise"]


def test_file_lists_sorted_by_probability(tmp_path, small_posts):
    paths = cluster_file_lists(small_posts, [0, 1, -1], tmp_path)
    assert [p.name for p in paths] == ["cluster_0.csv", "cluster_1.csv", "cluster_-1.csv"]
    first = pd.read_csv(paths[0])
    assert list(first.columns) == ["image_id", "path", "probability"]
    assert first["probability"].tolist() == [0.9, 0.8, 0.7]


def test_join_rejects_duplicated_manifest_paths():
    assignments = pd.DataFrame({"image_id": ["a"], "path": ["/a"], "cluster": [0], "probability": [1.0]})
    manifest = pd.DataFrame({"path": ["/a", "/a"], "account": ["x", "y"]})
    with pytest.raises(StageError, match="duplicated path"):
        join_posts(manifest, assignments)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["#NiUnaMenos", "niunamenos", " 8M "], (["NiUnaMenos", "8M"], ["niunamenos", "8m"])),
        (np.array(["a", "b"], dtype=object), (["a", "b"], ["a", "b"])),
        ("#8M #25N, arte", (["8M", "25N", "arte"], ["8m", "25n", "arte"])),
        (None, ([], [])),
        (float("nan"), ([], [])),
    ],
)
def test_join_normalises_hashtags_once(value, expected):
    """Old manifests (no hashtag_keys, lists or strings): display forms and keys as ingest makes them."""
    assignments = pd.DataFrame({"image_id": ["a"], "path": ["/a"], "cluster": [0], "probability": [1.0]})
    posts = join_posts(pd.DataFrame({"path": ["/a"], "hashtags": [value]}), assignments)
    assert (posts["hashtags"].iloc[0], posts["hashtag_keys"].iloc[0]) == expected
