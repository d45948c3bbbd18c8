"""How the points are spread over the clusters, and how confident each cluster is.

Flat numbers for metrics.json (the per-cluster table itself, the study's Appendix 2, is the report's
`cluster_confidence` table): cluster sizes, the largest cluster's share of ALL points (noise
included, so "one cluster holds most images" reads directly), and the spread of the clusters' mean
membership probability.
"""

from __future__ import annotations

import math

import numpy as np


def cluster_size_metrics(labels: np.ndarray) -> dict[str, float]:
    clustered = labels[labels >= 0]
    n = len(labels)
    if clustered.size == 0:
        return {
            "largest_cluster_share": 0.0 if n else math.nan,
            "largest_cluster_size": 0.0,
            "smallest_cluster_size": math.nan,
            "median_cluster_size": math.nan,
        }
    sizes = np.bincount(clustered)
    sizes = sizes[sizes > 0]
    return {
        "largest_cluster_share": float(sizes.max() / n),
        "largest_cluster_size": float(sizes.max()),
        "smallest_cluster_size": float(sizes.min()),
        "median_cluster_size": float(np.median(sizes)),
    }


def cluster_probability_metrics(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    """Per-cluster mean probability, summarised: the least confident cluster and the median one."""
    clustered = labels >= 0
    if not clustered.any():
        return {"min_cluster_mean_probability": math.nan, "median_cluster_mean_probability": math.nan}
    ids = labels[clustered]
    counts = np.bincount(ids)
    sums = np.bincount(ids, weights=probabilities[clustered])
    means = sums[counts > 0] / counts[counts > 0]
    return {
        "min_cluster_mean_probability": float(means.min()),
        "median_cluster_mean_probability": float(np.median(means)),
    }
