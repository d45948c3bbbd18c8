"""DBCV's fast approximation over the mutual-reachability minimum spanning tree.

The hdbscan library's `relative_validity_` (Moulavi et al. 2014, DBCV, computed on the MST that
HDBSCAN builds anyway instead of all-points core distances): per cluster, its sparseness is the
longest MST edge inside it and its separation the shortest MST edge to another cluster; the score
is the size-weighted mean of (separation - sparseness) / max(separation, sparseness), noise counted
in the total. It compares clusterings of the SAME points and tree (a selection criterion), not
different data sets. Here as a function of (mst, labels), so one tree scores many candidate cuts
without refitting; `tests/cluster/test_auto.py` checks it equals the library's property.
"""

from __future__ import annotations

import numpy as np


def mst_validity(mst: np.ndarray, labels: np.ndarray) -> float:
    """Relative validity of `labels` given the MST rows (from, to, distance); NaN without clusters."""
    labels = np.asarray(labels, dtype=np.intp)
    sizes = np.bincount(labels + 1)
    cluster_size = sizes[1:]
    n_clusters = len(cluster_size)
    if n_clusters == 0 or cluster_size.sum() == 0:
        return float("nan")
    edge_from = mst[:, 0].astype(np.intp)
    edge_to = mst[:, 1].astype(np.intp)
    distance = mst[:, 2]
    a, b = labels[edge_from], labels[edge_to]
    both_noise = (a < 0) & (b < 0)
    one_noise = (a < 0) ^ (b < 0)
    neither = ~both_noise & ~one_noise
    max_distance = distance.max() if distance.size else 0.0
    min_outlier_sep = distance[one_noise].min() if one_noise.any() else max_distance

    sparseness = np.zeros(n_clusters)
    separation = np.full(n_clusters, np.inf)
    same = neither & (a == b)
    different = neither & (a != b)
    np.maximum.at(sparseness, a[same], distance[same])
    np.minimum.at(separation, a[different], distance[different])
    np.minimum.at(separation, b[different], distance[different])
    # A cluster with no MST edge to another one (an island): a large stand-in separation, as the library does.
    separation[np.isinf(separation)] = 2 * (max_distance if n_clusters > 1 else min_outlier_sep)
    with np.errstate(invalid="ignore", divide="ignore"):
        index = (separation - sparseness) / np.maximum(separation, sparseness)
    index = np.nan_to_num(index)
    return float(np.sum(cluster_size * index) / sizes.sum())
