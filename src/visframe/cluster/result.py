"""One result type for every clustering backend."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np


@dataclass
class ClusterResult:
    labels: np.ndarray          # int64, -1 = noise
    probabilities: np.ndarray   # float64 in [0, 1]; 0 for noise
    outlier_scores: np.ndarray  # float64 GLOSH scores, NaN where the backend gives none
    seconds: float

    @property
    def n_clusters(self) -> int:
        return len(set(self.labels.tolist()) - {-1})


def _to_numpy(values) -> np.ndarray:
    # cuML returns device arrays; they convert through .get() / to_numpy()
    if hasattr(values, "to_numpy"):
        values = values.to_numpy()
    elif hasattr(values, "get"):
        values = values.get()
    return np.asarray(values)


def fit_clusterer(clusterer, coordinates: np.ndarray) -> ClusterResult:
    """Fit `clusterer` on `coordinates` and collect labels, probabilities and outlier scores."""
    started = time.perf_counter()
    clusterer.fit(coordinates)
    seconds = time.perf_counter() - started
    labels = _to_numpy(clusterer.labels_).astype(np.int64)
    probabilities = getattr(clusterer, "probabilities_", None)
    if probabilities is None:
        # A backend without soft membership: full membership for clustered points, none for noise.
        probabilities = (labels >= 0).astype(np.float64)
    probabilities = _to_numpy(probabilities).astype(np.float64)
    try:
        outlier_scores = getattr(clusterer, "outlier_scores_", None)
    except (AttributeError, ValueError, NotImplementedError):
        outlier_scores = None
    if outlier_scores is None:
        outlier_scores = np.full(labels.shape, np.nan)
    outlier_scores = _to_numpy(outlier_scores).astype(np.float64)
    return ClusterResult(labels, probabilities, outlier_scores, seconds)
