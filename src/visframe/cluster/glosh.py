"""GLOSH outlier scores from an HDBSCAN condensed tree (Campello et al. 2015).

The hdbscan library computes these as `outlier_scores_`; fast_hdbscan and scikit-learn's HDBSCAN
build the same condensed tree but do not expose the scores. This is the hdbscan library's
algorithm (hdbscan/_hdbscan_tree.pyx: `max_lambdas` + `outlier_scores`) in numpy, so every CPU
backend gives the same kind of score:

    score(point) = (lambda_max(cluster) - lambda(point)) / lambda_max(cluster)

where lambda(point) = 1 / distance at which the point leaves its cluster and lambda_max(cluster)
is the largest lambda at which any point of the cluster, or of a cluster below it, leaves.
0 = as dense as the densest part of its cluster, near 1 = an outlier.
"""

from __future__ import annotations

import numpy as np


def glosh_outlier_scores(parent: np.ndarray, child: np.ndarray, lambda_val: np.ndarray) -> np.ndarray:
    """Outlier scores (float64, one per point) from the condensed tree's three columns.

    Points are the children numbered below the root cluster (the smallest parent id).
    """
    parent = np.asarray(parent, dtype=np.intp)
    child = np.asarray(child, dtype=np.intp)
    lambda_val = np.asarray(lambda_val, dtype=np.float64)
    if parent.size == 0:
        return np.zeros(0, dtype=np.float64)
    root = int(parent.min())

    # deaths[c]: the largest lambda of any row whose parent is c (hdbscan's max_lambdas) ...
    deaths = np.zeros(int(max(parent.max(), child.max())) + 1, dtype=np.float64)
    np.maximum.at(deaths, parent, lambda_val)
    # ... then raised to the largest death below it. Cluster rows come in breadth-first order
    # (a child cluster's row after its parent's), so walking them backwards visits children first.
    cluster_rows = np.flatnonzero(child >= root)
    for row in cluster_rows[::-1]:
        deaths[parent[row]] = max(deaths[parent[row]], deaths[child[row]])

    scores = np.zeros(root, dtype=np.float64)
    point_rows = np.flatnonzero(child < root)
    points = child[point_rows]
    lambda_max = deaths[parent[point_rows]]
    lambdas = lambda_val[point_rows]
    with np.errstate(invalid="ignore", divide="ignore"):
        values = (lambda_max - lambdas) / lambda_max
    values[(lambda_max == 0.0) | ~np.isfinite(lambdas)] = 0.0
    scores[points] = values
    return scores
