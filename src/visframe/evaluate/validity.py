"""DBCV, density-based clustering validation (Moulavi et al. 2014), in the space HDBSCAN clustered.

Computed with the hdbscan library's reference implementation, `hdbscan.validity.validity_index`,
not with HDBSCAN's `relative_validity_` (a fast approximation that only the hdbscan backend with
`gen_min_span_tree=True` has). The reference costs O(n_c²) per cluster and O(k²) cluster pairs, so
it runs on a seeded stratified sample: every cluster and the noise keep their share of the points
(at least 3 points per cluster, so each still has an internal spanning tree). Range [-1, 1], higher
is better; noise points count against it (the index is weighted by cluster size over all points).
"""

from __future__ import annotations

import math
import warnings

import numpy as np


def stratified_sample(
    labels: np.ndarray, sample_size: int | None, seed: int = 0, min_per_label: int = 3
) -> np.ndarray:
    """Row indices: about `sample_size` rows, each label's share kept (all rows when small enough)."""
    n = len(labels)
    if not sample_size or sample_size >= n:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    fraction = sample_size / n
    chosen = []
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        take = min(len(rows), max(min_per_label, round(fraction * len(rows))))
        chosen.append(rng.choice(rows, size=take, replace=False))
    return np.sort(np.concatenate(chosen))


def dbcv(points: np.ndarray, labels: np.ndarray, sample_size: int | None = 2000, seed: int = 0) -> float:
    """DBCV of `labels` (-1 = noise) over `points` (euclidean); NaN with fewer than two clusters."""
    from hdbscan.validity import validity_index

    rows = stratified_sample(labels, sample_size, seed)
    sample_points = np.ascontiguousarray(points[rows], dtype=np.float64)
    sample_labels = labels[rows]
    clusters = np.unique(sample_labels[sample_labels >= 0])
    if len(clusters) < 2:
        return math.nan
    # validity_index indexes clusters 0..max: relabel to consecutive ids, keep -1.
    consecutive = np.where(sample_labels >= 0, np.searchsorted(clusters, sample_labels), -1)
    # Duplicate points give zero distances, which the index raises to a negative power: the
    # resulting inf/NaN warnings are expected and the index stays finite for the clusters' MSTs.
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        value = validity_index(sample_points, consecutive, metric="euclidean")
    return float(value)
