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

from visframe.contracts import NOISE

SEPARATOR = " · "


def fallback_name(cluster: int) -> str:
    return "noise" if cluster == NOISE else f"cluster {cluster}"


def cluster_name(
    cluster: int,
    text_share: float,
    terms: list[str],
    hashtags: pd.DataFrame,
    zero_shot: list[str],
    cfg,
) -> str:
    """The name of one cluster. `hashtags`: its rows of the hashtag term table (term, share, lift)."""
    parts = []
    if text_share is not None and not math.isnan(text_share) and text_share >= float(cfg.text_heavy_share):
        parts.append("text-heavy")
    words = [t for t in terms if t[:1] not in "#@"][: int(cfg.n_terms)]
    if words:
        parts.append(", ".join(words))
    tag = _named_hashtag(hashtags, float(cfg.hashtag_min_share))
    if tag:
        parts.append(tag)
    if not words and not tag and zero_shot:
        parts.append(zero_shot[0])
    if cluster == NOISE:
        parts.insert(0, "noise")
    elif not words and not tag and not zero_shot:
        parts.append(fallback_name(cluster))
    return SEPARATOR.join(parts)


def _named_hashtag(hashtags: pd.DataFrame, min_share: float) -> str | None:
    common = hashtags[(hashtags["share"] >= min_share) & (hashtags["lift"] > 1.0 + 1e-9)]
    if common.empty:
        return None
    best = common.sort_values(["lift", "count", "term"], ascending=[False, False, True]).iloc[0]
    return str(best["term"])


def unique_names(names: list[str], clusters: list[int]) -> list[str]:
    """Add " (cluster k)" to every name that occurs more than once in a layer."""
    seen = Counter(names)
    return [n if seen[n] == 1 else f"{n} ({fallback_name(k)})" for n, k in zip(names, clusters)]
