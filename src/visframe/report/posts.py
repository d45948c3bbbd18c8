"""The report's input: each clustered post with its metadata (describe's `join_posts`), and cluster names.

The report reads names from describe's clusters.parquet; `cluster_label` falls back to
"cluster 3" / "noise" for a run that has none (e.g. one made before the describe stage existed).
"""

from __future__ import annotations

from visframe.contracts import NOISE
from visframe.describe.naming import fallback_name
from visframe.describe.posts import cluster_order, has_column, join_posts, rank_by_probability

__all__ = ["NOISE", "cluster_label", "cluster_order", "has_column", "join_posts", "rank_by_probability"]


def cluster_label(cluster: int, names: dict[int, str] | None = None) -> str:
    """The cluster's name from describe, or "cluster 3" / "noise" when there is none."""
    name = (names or {}).get(int(cluster))
    return name if name else fallback_name(cluster)
