"""Clustering metrics, each a thin, documented call into scikit-learn.

Conventions (the study's): internal metrics exclude noise points (label -1); they are undefined
(NaN, written as null) with fewer than two clusters. Ground-truth metrics treat noise as one more label.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from visframe.evaluate.silhouette import (
    MAX_DIMENSIONS,
    silhouette_samples_of_unit_rows,
    silhouette_score_euclidean,
)
from visframe.evaluate.validity import stratified_sample
from visframe.utils.arrays import rows_of, unit_rows


def internal_metrics(
    coordinates: np.ndarray,
    labels: np.ndarray,
    metric: str = "euclidean",
    silhouette_sample_size: int | None = None,
    seed: int = 0,
) -> dict[str, float]:
    """Silhouette, Calinski-Harabasz and Davies-Bouldin over the clustered (non-noise) points.

    The silhouette is O(n²): above `silhouette_sample_size` clustered points it is computed on a
    seeded sample stratified by cluster (each keeps its share), exactly below it (None = always
    exact). `silhouette_sample_size` in the result is the number of points it used. In the reduced
    space (up to 32 dimensions) it runs as visframe.evaluate.silhouette's compiled loop: scikit-learn's
    value without its distance matrix.
    Calinski-Harabasz and Davies-Bouldin are O(n) and always exact.
    """
    clustered = labels >= 0
    points, point_labels = coordinates[clustered], labels[clustered]
    if len(np.unique(point_labels)) < 2 or len(point_labels) < 3:
        return {
            "silhouette": math.nan,
            "calinski_harabasz": math.nan,
            "davies_bouldin": math.nan,
            "silhouette_sample_size": 0.0,
        }
    rows = stratified_sample(point_labels, silhouette_sample_size, seed)
    return {
        "silhouette": _silhouette(points[rows], point_labels[rows], metric),
        "silhouette_sample_size": float(len(rows)),
        # Calinski-Harabasz and Davies-Bouldin are defined with euclidean centroids only.
        "calinski_harabasz": float(skm.calinski_harabasz_score(points, point_labels)),
        "davies_bouldin": float(skm.davies_bouldin_score(points, point_labels)),
    }


def _silhouette(points: np.ndarray, labels: np.ndarray, metric: str) -> float:
    if len(np.unique(labels)) < 2:
        return math.nan
    if metric == "euclidean" and points.shape[1] <= MAX_DIMENSIONS:
        return silhouette_score_euclidean(points, labels)  # scikit-learn's value, without its distance matrix
    # float64 first: on float32 input scikit-learn computes euclidean distances chunk by chunk in an
    # upcasting loop, 1.4x slower here, for the same value.
    return float(skm.silhouette_score(np.asarray(points, dtype=np.float64), labels, metric=metric))


def confidence_metrics(
    labels: np.ndarray, probabilities: np.ndarray, threshold: float = 0.85
) -> dict[str, float]:
    """How confident HDBSCAN is about its clustered points (the study's Appendix 3).

    - noise_fraction: share of all points labelled noise
    - confident_fraction: share of clustered points with probability >= threshold
    - mean_confident_probability: mean probability of those confident points
    - mean_probability: mean probability over all clustered points
    """
    n = len(labels)
    clustered = labels >= 0
    clustered_probabilities = probabilities[clustered]
    confident = clustered_probabilities >= threshold
    return {
        "n_clusters": float(len(np.unique(labels[clustered]))),
        "noise_fraction": float(1.0 - clustered.mean()) if n else math.nan,
        "confident_fraction": float(confident.mean()) if clustered.any() else math.nan,
        "mean_confident_probability": float(clustered_probabilities[confident].mean())
        if confident.any()
        else math.nan,
        "mean_probability": float(clustered_probabilities.mean()) if clustered.any() else math.nan,
    }


def ground_truth_metrics(labels: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """ARI and NMI against known labels; rows without a label (None/NaN) are left out."""
    truth = np.asarray(truth, dtype=object)
    known = ~pd.isna(truth)  # None and NaN are both "unknown"
    if known.sum() < 2:
        return {}
    predicted, expected = labels[known], truth[known].astype(str)
    return {
        "ari": float(skm.adjusted_rand_score(expected, predicted)),
        "nmi": float(skm.normalized_mutual_info_score(expected, predicted)),
    }


def raw_space_metrics(
    vectors: np.ndarray,
    labels: np.ndarray,
    silhouette_sample_size: int | None = 20000,
    sample_size: int | None = 50000,
    seed: int = 0,
) -> dict[str, float]:
    """The three internal metrics in the raw embedding space, cosine geometry, noise excluded.

    The vectors are L2-normalised first: on unit vectors the euclidean distance is a monotone
    function of the cosine distance (||a - b||² = 2 - 2 cos), so Calinski-Harabasz and
    Davies-Bouldin (defined with euclidean centroids) measure the same geometry as the cosine
    silhouette. Bounded at any n: Calinski-Harabasz and Davies-Bouldin on a seeded sample of
    `sample_size` clustered points stratified by cluster (1,000,000 × 512 in float64 would be 4 GB),
    the silhouette (O(n·d·k) from per-cluster sums, visframe.evaluate.silhouette) on
    `silhouette_sample_size` of those; None = all of them. Each value's `<name>_sample_size` is the
    number of points it used.
    """
    names = ("silhouette_raw_cosine", "calinski_harabasz_raw_cosine", "davies_bouldin_raw_cosine")
    clustered = np.flatnonzero(labels >= 0)
    if len(np.unique(labels[clustered])) < 2 or len(clustered) < 3:
        return dict.fromkeys(names, math.nan) | {f"{name}_sample_size": 0.0 for name in names}
    rows = clustered[stratified_sample(labels[clustered], sample_size, seed)]
    # One float64 copy of the sampled rows, normalised in place; every metric reads it (on this VM,
    # whose fresh memory is slow to touch, two more copies of 19,903 × 1,280 took 1.5 s a job, profiled).
    unit, point_labels = unit_rows(rows_of(vectors, rows)), labels[rows]
    silhouette_rows = stratified_sample(point_labels, silhouette_sample_size, seed)
    return {
        names[0]: _cosine_silhouette(rows_of(unit, silhouette_rows), point_labels[silhouette_rows]),
        names[1]: float(skm.calinski_harabasz_score(unit, point_labels)),
        names[2]: float(skm.davies_bouldin_score(unit, point_labels)),
        f"{names[0]}_sample_size": float(len(silhouette_rows)),
        f"{names[1]}_sample_size": float(len(rows)),
        f"{names[2]}_sample_size": float(len(rows)),
    }


def _cosine_silhouette(unit: np.ndarray, labels: np.ndarray) -> float:
    if len(np.unique(labels)) < 2:
        return math.nan
    return float(np.mean(silhouette_samples_of_unit_rows(unit, labels)))
