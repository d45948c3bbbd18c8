"""All of a job's metrics in one call, so the pipeline does not need to know which exist.

Names say the space: `silhouette`, `calinski_harabasz`, `davies_bouldin` and `dbcv` are computed in
the reduced space HDBSCAN clustered (euclidean); `*_raw_cosine` in the raw embedding space (cosine,
vectors L2-normalised). All internal metrics exclude noise points except DBCV, which by definition
weighs every cluster by its share of all points. `describe_metrics` gives one line per name for the
report and the MLflow run.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np
from omegaconf import DictConfig

from visframe.evaluate.distribution import cluster_probability_metrics, cluster_size_metrics
from visframe.evaluate.metrics import (
    confidence_metrics,
    ground_truth_metrics,
    internal_metrics,
    raw_space_metrics,
)
from visframe.evaluate.validity import dbcv
from visframe.evaluate.warnings import degenerate_outcome_warnings


def evaluate_run(
    eval_cfg: DictConfig | Mapping,
    reduced: np.ndarray,
    vectors: np.ndarray,
    labels: np.ndarray,
    probabilities: np.ndarray,
    truth: np.ndarray | None = None,
    seed: int = 0,
) -> tuple[dict[str, float], list[str]]:
    """Metrics (flat name → number) and warnings a researcher must not miss.

    `reduced` is the space HDBSCAN clustered (euclidean metrics), `vectors` the raw embeddings of
    the same points (rows aligned), `truth` the ground-truth labels (None where unknown).
    Config keys (conf/evaluation/default.yaml; missing keys take these defaults):
    confidence_threshold 0.85, silhouette_sample_size null, dbcv true, dbcv_sample_size 2000,
    raw_space true, raw_silhouette_sample_size 5000, warn_largest_cluster_share 0.5,
    warn_noise_fraction 0.5.
    """
    started = time.perf_counter()
    labels = np.asarray(labels)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    metrics: dict[str, float] = {}
    metrics.update(confidence_metrics(labels, probabilities, eval_cfg.get("confidence_threshold", 0.85)))
    metrics.update(cluster_size_metrics(labels))
    metrics.update(cluster_probability_metrics(labels, probabilities))
    metrics.update(
        internal_metrics(reduced, labels, silhouette_sample_size=eval_cfg.get("silhouette_sample_size"), seed=seed)
    )
    if eval_cfg.get("dbcv", True):
        metrics["dbcv"] = dbcv(reduced, labels, sample_size=eval_cfg.get("dbcv_sample_size", 2000), seed=seed)
    if eval_cfg.get("raw_space", True) and vectors is not None:
        metrics.update(
            raw_space_metrics(
                vectors, labels, silhouette_sample_size=eval_cfg.get("raw_silhouette_sample_size", 5000), seed=seed
            )
        )
    if truth is not None:
        metrics.update(ground_truth_metrics(labels, truth))
    # How long the evaluation took (bench-sweep's "one cluster+evaluate pass" uses it).
    metrics["evaluate_seconds"] = time.perf_counter() - started
    warnings = degenerate_outcome_warnings(
        metrics,
        max_largest_cluster_share=eval_cfg.get("warn_largest_cluster_share", 0.5),
        max_noise_fraction=eval_cfg.get("warn_noise_fraction", 0.5),
    )
    return metrics, warnings


def describe_metrics(n_components: int) -> dict[str, str]:
    """What each metric measures and in which space (for the report and the MLflow run)."""
    reduced = f"reduced space ({n_components}-d, euclidean), noise excluded"
    raw = "raw embeddings, L2-normalised (cosine geometry), noise excluded"
    return {
        "silhouette": reduced,
        "calinski_harabasz": reduced,
        "davies_bouldin": reduced,
        "dbcv": f"density-based validity (DBCV, hdbscan.validity.validity_index) in the {reduced.split(',')[0]}, "
        "stratified sample, noise counts against it",
        "silhouette_raw_cosine": raw + ", sampled",
        "calinski_harabasz_raw_cosine": raw,
        "davies_bouldin_raw_cosine": raw,
        "largest_cluster_share": "largest cluster's size / all points (noise included)",
        "noise_fraction": "share of all points labelled noise",
        "confident_fraction": "share of clustered points with probability >= evaluation.confidence_threshold",
        "min_cluster_mean_probability": "the least confident cluster's mean membership probability",
        "ari": "cluster labels vs ground truth, noise as its own label",
        "nmi": "cluster labels vs ground truth, noise as its own label",
    }
