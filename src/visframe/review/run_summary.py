"""Per-cluster summaries for the overview cards: size, top hashtags and accounts, a montage, names."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pandas as pd

from visframe import contracts as C
from visframe.utils.hashtags import format_hashtag


@dataclass
class ClusterSummary:
    cluster: int
    n_images: int  # distinct images to code in this cluster
    n_posts: int  # clustered posts (all of them, not only the sample)
    top_hashtags: list[tuple[str, int]]  # ('#Display', posts), counted by hashtag key
    top_accounts: list[tuple[str, int]]
    top_image_ids: list[str]
    name: str = ""  # the describe stage's automatic name (clusters.parquet), "" when absent

    @property
    def title(self) -> str:
        """How pages name the cluster: its automatic name, else 'cluster N' (or 'noise')."""
        if self.cluster == C.NOISE:
            return "noise"
        return self.name or f"cluster {self.cluster}"

    @property
    def number(self) -> str:
        return "noise" if self.cluster == C.NOISE else f"cluster {self.cluster}"


def top_hashtags(tag_lists: pd.Series, key_lists: pd.Series, n: int) -> list[tuple[str, int]]:
    """The `n` most used tags over posts: counted by key, shown in the first spelling seen."""
    counts: Counter[str] = Counter()
    shown: dict[str, str] = {}
    for displays, keys in zip(tag_lists, key_lists):
        for display, key in zip(displays, keys):
            counts[key] += 1
            shown.setdefault(key, display)
    return [(format_hashtag(shown[k]), c) for k, c in counts.most_common(n)]


def summarise_clusters(images: pd.DataFrame, posts: pd.DataFrame, names: dict[int, str],
                       top_terms: int = 5, montage_size: int = 6) -> list[ClusterSummary]:
    """One summary per cluster of `images` (noise last); `posts` holds every clustered post."""
    summaries = []
    for cluster, members in images.groupby(C.CLUSTER, sort=True):
        in_cluster = posts[posts[C.CLUSTER] == cluster]
        accounts = Counter(a for a in in_cluster[C.ACCOUNT] if a)
        summaries.append(ClusterSummary(
            cluster=int(cluster),
            n_images=len(members),
            n_posts=len(in_cluster),
            top_hashtags=top_hashtags(in_cluster[C.HASHTAGS], in_cluster[C.HASHTAG_KEYS], top_terms),
            top_accounts=accounts.most_common(top_terms),
            top_image_ids=list(members.index[:montage_size]),
            name=names.get(int(cluster), ""),
        ))
    # Noise last: it is the least interesting card.
    summaries.sort(key=lambda c: (c.cluster == C.NOISE, c.cluster))
    return summaries
