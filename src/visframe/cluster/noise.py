"""The nearest cluster of every noise point, and how strongly its neighbourhood points there.

Method: a kNN vote in the space the clusterer clustered (the reduced coordinates, or the raw
vectors for a raw-input clusterer such as EVoC). For each noise point, its `k` nearest CLUSTERED
points vote, each weighted by 1 / distance; `nearest_cluster` is the winner and
`nearest_cluster_strength` its share of the weighted vote, in (0, 1] (1 = every neighbour in that
cluster, ~1/k = a point between many clusters).

Why a vote and not hdbscan's `approximate_predict` / soft clustering: those exist only in the
hdbscan library (fast_hdbscan, scikit-learn, cuML-to-host, EVoC and any sklearn clusterer have no
such thing), and `approximate_predict` gives most noise points probability 0 by construction
(they are noise there too). The vote works for every backend, gives every noise point a real
cluster id, and costs one kNN query (~20 ms for 2,000 points). The labels are untouched: noise
stays noise in every metric; these are extra columns. Clustered points carry their own cluster and
a NaN strength (the strength is defined for noise only).
"""

from __future__ import annotations

import numpy as np
from sklearn.neighbors import NearestNeighbors

from visframe import contracts as C

DEFAULT_NEIGHBORS = 10


def nearest_clusters(
    points: np.ndarray, labels: np.ndarray, k: int = DEFAULT_NEIGHBORS
) -> tuple[np.ndarray, np.ndarray]:
    """(nearest_cluster int64, nearest_cluster_strength float64), one per point."""
    labels = np.asarray(labels, dtype=np.int64)
    nearest = labels.copy()
    strength = np.full(len(labels), np.nan)
    noise = labels == C.NOISE
    clustered = ~noise
    if not noise.any() or not clustered.any():
        return nearest, strength
    points = np.asarray(points, dtype=np.float64)
    k = int(min(k, clustered.sum()))
    index = NearestNeighbors(n_neighbors=k).fit(points[clustered])
    distances, neighbours = index.kneighbors(points[noise])
    votes_for = labels[clustered][neighbours]  # (noise, k)
    weights = 1.0 / np.maximum(distances, 1e-12)
    n_labels = int(labels.max()) + 1
    tally = np.zeros((len(votes_for), n_labels))
    np.add.at(tally, (np.repeat(np.arange(len(votes_for)), k), votes_for.ravel()), weights.ravel())
    winner = tally.argmax(axis=1)
    nearest[noise] = winner
    strength[noise] = tally[np.arange(len(winner)), winner] / tally.sum(axis=1)
    return nearest, strength
