"""All of a job's metrics in one call, so the pipeline does not need to know which exist."""

from __future__ import annotations

import numpy as np
from omegaconf import DictConfig

from visframe.evaluate.metrics import confidence_metrics, ground_truth_metrics, internal_metrics


def evaluate_run(
    eval_cfg: DictConfig,
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
    """
    metrics: dict[str, float] = {}
    metrics.update(confidence_metrics(labels, probabilities, eval_cfg.confidence_threshold))
    metrics.update(
        internal_metrics(reduced, labels, silhouette_sample_size=eval_cfg.get("silhouette_sample_size"), seed=seed)
    )
    if truth is not None:
        metrics.update(ground_truth_metrics(labels, truth))
    warnings: list[str] = []
    return metrics, warnings
