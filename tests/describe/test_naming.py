"""Cluster names: the naming hashtag of each cluster, chosen for a whole layer in one pass."""

from __future__ import annotations

import pandas as pd
from omegaconf import OmegaConf

from visframe import contracts as C
from visframe.describe.naming import cluster_name, named_hashtags

NAME_CFG = OmegaConf.create({"text_heavy_share": 0.5, "n_terms": 3, "hashtag_min_share": 0.2})


def _rows(*rows):
    return pd.DataFrame(rows, columns=[C.CLUSTER, C.TERM, C.COUNT, C.SHARE, C.LIFT])


def test_highest_lift_names_a_cluster_then_count_then_the_term():
    hashtags = _rows(
        (0, "#common", 90, 0.9, 1.0),  # the searched tag: on every post, lift 1, never a name
        (0, "#rare", 5, 0.05, 9.0),  # highest lift but on too few posts
        (0, "#marcha", 40, 0.4, 3.0),
        (0, "#protesta", 30, 0.3, 4.0),  # <- highest lift among the common ones
        (1, "#b_tag", 20, 0.5, 2.0),
        (1, "#a_tag", 20, 0.5, 2.0),  # <- same lift and count: the term decides
        (1, "#more", 30, 0.6, 2.0 - 1e-12),
        (2, "#only_common", 50, 0.9, 1.0),  # cluster 2: no hashtag names it
    )
    assert named_hashtags(hashtags, 0.2) == {0: "#protesta", 1: "#a_tag"}
    assert named_hashtags(hashtags.iloc[:0], 0.2) == {} and named_hashtags(None, 0.2) == {}


def test_name_parts_and_fallbacks():
    assert cluster_name(3, 0.8, ["marcha", "#x", "justicia"], "#protesta", [], NAME_CFG) == (
        "text-heavy · marcha, justicia · #protesta"
    )
    assert cluster_name(3, float("nan"), [], None, ["a photo of a crowd"], NAME_CFG) == "a photo of a crowd"
    assert cluster_name(3, 0.0, [], None, [], NAME_CFG) == "cluster 3"
    assert cluster_name(-1, 0.0, [], None, [], NAME_CFG) == "noise"
