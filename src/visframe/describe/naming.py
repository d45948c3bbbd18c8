"""Automatic cluster names: "<genre> · <top words> · <hashtag>", e.g.
"text-heavy · comunicado, exigimos, justicia · #Feminicidio".

- genre: "text-heavy" when at least `text_heavy_share` of the cluster's images carry OCR text;
- words: the top `n_terms` c-TF-IDF terms that are words (hashtags and mentions are left to the
  next part);
- hashtag: of the hashtags on at least `hashtag_min_share` of the cluster's posts and more common
  there than anywhere (lift > 1), the one with the highest lift (the hashtag the researcher searched
  is on every post, lift ≈ 1: it never names a cluster);
- when neither words nor a hashtag exist, the top zero-shot label stands in; a cluster with nothing
  at all is "cluster 3". Noise is always "noise · …". Names are unique within a layer: a repeated
  name gets its cluster id added.
"""

from __future__ import annotations

import math
from collections import Counter

import pandas as pd

from visframe import contracts as C
from visframe.contracts import NOISE

SEPARATOR = " · "


def fallback_name(cluster: int) -> str:
    return "noise" if cluster == NOISE else f"cluster {cluster}"


def cluster_name(
    cluster: int,
    text_share: float,
    terms: list[str],
    tag: str | None,
    zero_shot: list[str],
    cfg,
) -> str:
    """The name of one cluster. `tag`: its naming hashtag (`named_hashtags`), or None."""
    parts = []
    if text_share is not None and not math.isnan(text_share) and text_share >= float(cfg.text_heavy_share):
        parts.append("text-heavy")
    words = [t for t in terms if t[:1] not in "#@"][: int(cfg.n_terms)]
    if words:
        parts.append(", ".join(words))
    if tag:
        parts.append(tag)
    if not words and not tag and zero_shot:
        parts.append(zero_shot[0])
    if cluster == NOISE:
        parts.insert(0, "noise")
    elif not words and not tag and not zero_shot:
        parts.append(fallback_name(cluster))
    return SEPARATOR.join(parts)


def named_hashtags(hashtags: pd.DataFrame | None, min_share: float) -> dict[int, str]:
    """cluster → the hashtag that names it, from a layer's hashtag term rows (cluster, term, count,
    share, lift): of those on at least `min_share` of its posts with lift > 1, the highest lift (then
    count, then the term). One pass for the whole layer: a filter and sort per cluster cost 1.6 ms
    each, a third of describe at 250 clusters."""
    if hashtags is None or hashtags.empty:
        return {}
    common = hashtags[(hashtags[C.SHARE] >= min_share) & (hashtags[C.LIFT] > 1.0 + 1e-9)]
    best = common.sort_values([C.CLUSTER, C.LIFT, C.COUNT, C.TERM], ascending=[True, False, False, True])
    best = best.drop_duplicates(C.CLUSTER)
    return dict(zip(best[C.CLUSTER].astype(int), best[C.TERM].astype(str), strict=True))


def unique_names(names: list[str], clusters: list[int]) -> list[str]:
    """Add " (cluster k)" to every name that occurs more than once in a layer."""
    seen = Counter(names)
    return [n if seen[n] == 1 else f"{n} ({fallback_name(k)})" for n, k in zip(names, clusters)]
