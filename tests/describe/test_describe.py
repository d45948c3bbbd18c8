"""describe on a tiny ingested run: the contract tables, names, lift by hand, text share, medoids,
layers and the posts-over-time bins."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from visframe import contracts as C
from visframe.describe import describe_clusters, join_posts
from visframe.describe import stage as describe_stage
from visframe.describe.timeline import cluster_timeline
from visframe.errors import ConfigError, StageError
from visframe.run_dir import RunDir
from visframe.session import Memo
from visframe.stages import StageContext


@pytest.fixture(scope="module")
def described(run, tmp_path_factory):
    out = tmp_path_factory.mktemp("described")
    inputs = describe_stage.DescribeInputs(run["manifest"], run["assignments"], run["texts"])
    result = describe_stage.run(inputs, None, StageContext())
    RunDir(out).write_descriptions(result)
    return {"dir": out, "result": result}


def _chosen(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame[C.IS_CHOSEN_LAYER]].set_index(C.CLUSTER)


def test_run_directory_tables_follow_the_contract(described):
    out = described["dir"]
    clusters = C.validate(C.CLUSTERS, pd.read_parquet(out / C.CLUSTERS_FILE))
    C.validate(C.CLUSTER_TIMELINE, pd.read_parquet(out / C.CLUSTER_TIMELINE_FILE))
    assert (out / "cluster_terms.parquet").is_file()
    # one row per cluster of each layer, noise included; layer 0 is the chosen one
    assert sorted(zip(clusters[C.LAYER], clusters[C.CLUSTER])) == [
        (0, -1),
        (0, 0),
        (0, 1),
        (0, 2),
        (1, -1),
        (1, 0),
        (1, 10),
    ]
    assert set(clusters.loc[clusters[C.IS_CHOSEN_LAYER], C.LAYER]) == {0}
    assert _chosen(clusters)[C.SIZE].to_dict() == {0: 12, 1: 10, 2: 8, -1: 6}
    assert _chosen(clusters).loc[0, C.N_UNIQUE_IMAGES] == 11  # its last post reshares its first image


def test_every_cluster_has_a_nonempty_unique_name(described):
    clusters = described["result"].clusters
    assert clusters[C.NAME].str.len().gt(0).all()
    for _, layer in clusters.groupby(C.LAYER):
        assert layer[C.NAME].is_unique
    names = described["result"].names()
    assert names[0] == "text-heavy · comunicado, exigimos, justicia · #Feminicidio"
    assert names[1] == "dibujo, ilustración, mural · #arte"
    assert names[2].startswith("text-heavy · ") and names[2].endswith(" · #25N")
    # the searched hashtag (on every post, lift 1) never names a cluster
    assert names[-1] == "noise · hola"


def test_hashtag_and_account_lift_by_hand(described):
    terms = pd.read_parquet(described["dir"] / "cluster_terms.parquet")
    chosen = terms[terms[C.LAYER] == 0].set_index(["kind", C.CLUSTER, "term"])
    # #arte: on all 10 posts of cluster 1 and nowhere else (36 posts)
    arte = chosen.loc[("hashtag", 1, "#arte")]
    assert (arte["count"], arte["corpus_count"]) == (10, 10)
    assert arte["lift"] == pytest.approx(1.0 / (10 / 36))
    assert chosen.loc[("hashtag", 1, "#NiUnaMenos"), "lift"] == pytest.approx(1.0)
    # ana: 8 of cluster 0's 12 posts (accounts cycle ana, ana, bea) and no other post
    ana = chosen.loc[("account", 0, "ana")]
    assert ana["count"] == 8 and ana["share"] == pytest.approx(8 / 12)
    assert ana["lift"] == pytest.approx((8 / 12) / (8 / 36))
    clusters = _chosen(described["result"].clusters)
    assert list(clusters.loc[0, C.TOP_ACCOUNTS]) == ["ana", "bea"]
    assert list(clusters.loc[1, C.TOP_HASHTAGS]) == ["#arte", "#NiUnaMenos"]  # by posts, then lift


def test_text_share_counts_unique_images_with_ocr_text(described):
    clusters = described["result"].clusters.set_index([C.LAYER, C.CLUSTER])
    assert clusters.loc[(0, 0), C.TEXT_SHARE] == 1.0
    assert clusters.loc[(0, 1), C.TEXT_SHARE] == 0.0
    assert clusters.loc[(1, 10), C.TEXT_SHARE] == pytest.approx(8 / 18)  # cluster 2's 8 of 18 images


def test_dates_and_monthly_timeline(described, run):
    clusters = _chosen(described["result"].clusters)
    assert clusters.loc[2, C.FIRST_POSTED_AT] == pd.Timestamp("2024-11-25T12:00", tz="UTC")
    assert clusters.loc[0, C.LAST_POSTED_AT] == pd.Timestamp("2024-03-23", tz="UTC")
    timeline = described["result"].timeline
    chosen = timeline[timeline[C.LAYER] == 0]
    # March to November is longer than 183 days: monthly bins, every cluster on every month
    assert set(chosen["frequency"]) == {"month"}
    assert chosen.groupby(C.CLUSTER).size().tolist() == [9, 9, 9, 9]
    november = chosen[chosen[C.PERIOD] == pd.Timestamp("2024-11-01", tz="UTC")].set_index(C.CLUSTER)[
        C.N_POSTS
    ]
    assert november.to_dict() == {-1: 0, 0: 0, 1: 0, 2: 8}
    assert chosen.groupby(C.CLUSTER)[C.N_POSTS].sum().to_dict() == {-1: 6, 0: 12, 1: 10, 2: 8}


def test_weekly_bins_start_on_monday(run):
    posts = join_posts(run["manifest"], run["assignments"])
    march = posts[posts[C.CLUSTER] != 2]
    timeline = cluster_timeline(march, 0, C.CLUSTER, [0, 1, -1], weekly_max_days=183)
    assert set(timeline["frequency"]) == {"week"}
    periods = sorted(timeline[C.PERIOD].unique())
    assert periods[0] == pd.Timestamp("2024-02-26", tz="UTC")  # 1 March 2024 was a Friday
    assert all(p.day_of_week == 0 for p in periods)
    # cluster 0 posts every 2 days from 1 March: Fri+Sun, then 3-4 a week
    first = timeline[(timeline[C.CLUSTER] == 0)].set_index(C.PERIOD)[C.N_POSTS]
    assert first.iloc[0] == 2 and first.sum() == 12


def test_medoid_is_closest_to_the_cluster_mean_else_the_most_probable(run):
    posts = join_posts(run["manifest"], run["assignments"])
    ids = list(dict.fromkeys(posts[C.IMAGE_ID]))
    rng = np.random.default_rng(0)
    vectors = rng.normal(0, 1, (len(ids), 6)).astype(np.float32)
    members = list(dict.fromkeys(posts.loc[posts[C.CLUSTER] == 1, C.IMAGE_ID]))
    for j, image_id in enumerate(members):
        vectors[ids.index(image_id)] = np.eye(6)[0] * 5 + rng.normal(0, 1, 6) * (0 if j == 4 else 1)
    with_vectors = describe_clusters(
        posts, None, {"zero_shot": {"enabled": False}}, vectors=vectors, vector_ids=ids
    )
    medoid = _chosen(with_vectors.clusters)[C.MEDOID_IMAGE_ID]
    assert medoid[1] == members[4]
    plain = _chosen(describe_clusters(posts, None, {"zero_shot": {"enabled": False}}).clusters)[
        C.MEDOID_IMAGE_ID
    ]
    best = posts[posts[C.CLUSTER] == 1].sort_values(C.PROBABILITY).iloc[-1][C.IMAGE_ID]
    assert plain[1] == best


def test_bare_folder_still_gets_names_and_says_what_is_missing(run):
    manifest = run["manifest"][[C.IMAGE_ID, C.PATH, C.STATUS, C.REASON]]
    assignments = run["assignments"][[C.IMAGE_ID, C.PATH, C.CLUSTER, C.PROBABILITY]]
    result = describe_clusters(join_posts(manifest, assignments))
    assert result.names() == {0: "cluster 0", 1: "cluster 1", 2: "cluster 2", -1: "noise"}
    assert result.clusters[C.TEXT_SHARE].isna().all()
    assert any("hashtags" in n for n in result.notes) and any("account" in n for n in result.notes)
    assert any("no posted_at" in n for n in result.notes)
    assert result.timeline.empty
    C.validate(C.CLUSTERS, result.clusters)


def test_layer_columns_must_contain_the_chosen_cluster(run):
    posts = join_posts(run["manifest"], run["assignments"])
    broken = posts.assign(**{C.layer_column(0): posts[C.layer_column(1)]})
    with pytest.raises(StageError, match="chosen layer"):
        describe_clusters(broken)
    chosen_coarse = describe_clusters(
        broken.assign(cluster=broken[C.layer_column(1)]), None, {"zero_shot": {"enabled": False}}
    )
    assert set(chosen_coarse.clusters.loc[chosen_coarse.clusters[C.IS_CHOSEN_LAYER], C.CLUSTER]) == {
        0,
        10,
        -1,
    }


def test_config_typos_are_errors_naming_the_key():
    with pytest.raises(ConfigError, match="top_nn"):
        describe_clusters(
            pd.DataFrame(columns=[C.IMAGE_ID, C.PATH, C.CLUSTER, C.PROBABILITY]), None, {"top_nn": 3}
        )


def test_a_sweeps_second_job_reuses_the_term_matrices_and_describes_the_same(run, monkeypatch):
    """Same posts, other clusters (a sweep's next job): no second tokenising, same tables as fresh."""
    from visframe.describe import terms as T

    posts = join_posts(run["manifest"], run["assignments"])
    memo = Memo(1)  # a Session's term_matrices
    describe_clusters(posts, run["texts"], memo=memo)
    built = []
    original = T.word_matrix
    monkeypatch.setattr(T, "word_matrix", lambda *a, **k: built.append(1) or original(*a, **k))
    merged = np.where(posts[C.CLUSTER] == 2, 1, posts[C.CLUSTER])
    other = posts.assign(**{C.CLUSTER: merged, "cluster_layer_0": merged})
    reused = describe_clusters(other, run["texts"], memo=memo)
    assert built == []
    fresh = describe_clusters(other, run["texts"])  # no memo: built again
    assert built == [1]
    pd.testing.assert_frame_equal(reused.clusters, fresh.clusters)
    pd.testing.assert_frame_equal(reused.terms, fresh.terms)
    changed = run["texts"].assign(**{C.TEXT: "otra cosa distinta"}) if run["texts"] is not None else None
    if changed is not None:
        describe_clusters(other, changed, memo=memo)
        assert built == [1, 1]  # other texts: the matrices are built again


def test_posts_missing_an_account_or_hashtags_are_described(run):
    """A manifest where some posts lack an account or hashtags (NaN under pandas 3's string dtype)."""
    manifest = run["manifest"].copy()
    assert C.ACCOUNT in manifest and C.HASHTAGS in manifest
    manifest[C.ACCOUNT] = manifest[C.ACCOUNT].astype("string")
    manifest.loc[manifest.index[::2], C.ACCOUNT] = pd.NA
    for column in (C.HASHTAGS, C.HASHTAG_KEYS):
        if column in manifest:
            manifest[column] = manifest[column].astype(object)
            manifest.loc[manifest.index[1::3], column] = np.nan
    posts = join_posts(manifest, run["assignments"])
    result = describe_clusters(posts, run["texts"])
    assert set(result.names()) == set(posts[C.CLUSTER])
    C.validate(C.CLUSTERS, result.clusters)
    assert posts[C.ACCOUNT].isna().sum() > 0  # the gaps reached describe
