"""Per-cluster summaries for the overview cards: size, top hashtags and accounts, a montage, names."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from visframe import contracts as C
from visframe.review.run_columns import PostTags
from visframe.utils.hashtags import format_hashtag


@dataclass
class RunPosts:
    """Every clustered post, in the posts' order (probability descending): what the summaries count."""

    cluster: np.ndarray  # int64 per post
    account: pa.Array  # string per post, "" when none
    tags: PostTags


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


def _top(cluster: np.ndarray, item: np.ndarray, n: int) -> dict[int, list[tuple[int, int, int]]]:
    """cluster -> its `n` most frequent items as (item, count, first position), ties by first position
    (as `Counter.most_common` ranks them when the items are counted in position order)."""
    frame = pd.DataFrame({"group": cluster, "item": item, "pos": np.arange(len(item))})
    counts = frame.groupby(["group", "item"], sort=False)["pos"].agg(["size", "min"]).reset_index()
    counts = counts.sort_values(["group", "size", "min"], ascending=[True, False, True], kind="stable")
    top: dict[int, list[tuple[int, int, int]]] = {}
    for row in counts.groupby("group", sort=False).head(n).itertuples(index=False):  # clusters x n rows
        top.setdefault(int(row.group), []).append((int(row.item), int(row.size), int(row.min)))
    return top


def top_hashtags(cluster: np.ndarray, tags: PostTags, n: int) -> dict[int, list[tuple[str, int]]]:
    """cluster -> its `n` most used tags over posts: counted by key, shown in the first spelling seen."""
    top = _top(cluster[tags.post], tags.key, n)
    return {
        c: [(format_hashtag(tags.display[first].as_py()), count) for _, count, first in found]
        for c, found in top.items()
    }


def top_accounts(cluster: np.ndarray, accounts: pa.Array, n: int) -> dict[int, list[tuple[str, int]]]:
    """cluster -> its `n` most frequent non-empty accounts over posts."""
    encoded = pc.dictionary_encode(accounts)
    names = encoded.dictionary.to_pylist()
    code = encoded.indices.to_numpy(zero_copy_only=False)
    keep = code != (names.index("") if "" in names else -1)
    top = _top(cluster[keep], code[keep], n)
    return {c: [(names[item], count) for item, count, _ in found] for c, found in top.items()}


def summarise_clusters(
    images: pd.DataFrame, posts: RunPosts, names: dict[int, str], top_terms: int = 5, montage_size: int = 6
) -> list[ClusterSummary]:
    """One summary per cluster of `images` (noise last); `posts` holds every clustered post."""
    hashtags = top_hashtags(posts.cluster, posts.tags, top_terms)
    accounts = top_accounts(posts.cluster, posts.account, top_terms)
    in_cluster, n_posts = np.unique(posts.cluster, return_counts=True)
    n_posts_of = dict(zip(in_cluster.tolist(), n_posts.tolist()))
    order = np.argsort(images[C.CLUSTER].to_numpy(), kind="stable")  # each cluster's images in page order
    clusters, first, n_images = np.unique(
        images[C.CLUSTER].to_numpy()[order], return_index=True, return_counts=True
    )
    summaries = []
    for cluster, start, size in zip(clusters.tolist(), first.tolist(), n_images.tolist()):
        summaries.append(
            ClusterSummary(
                cluster=int(cluster),
                n_images=int(size),
                n_posts=n_posts_of.get(cluster, 0),
                top_hashtags=hashtags.get(cluster, []),
                top_accounts=accounts.get(cluster, []),
                top_image_ids=list(images.index[order[start : start + min(size, montage_size)]]),
                name=names.get(int(cluster), ""),
            )
        )
    # Noise last: it is the least interesting card.
    summaries.sort(key=lambda c: (c.cluster == C.NOISE, c.cluster))
    return summaries
