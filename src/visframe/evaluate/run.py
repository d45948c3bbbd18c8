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

from visframe import CONFIG_DIR
from visframe.errors import ConfigError
from visframe.evaluate.distribution import cluster_probability_metrics, cluster_size_metrics
from visframe.evaluate.metrics import (
    confidence_metrics,
    ground_truth_metrics,
    internal_metrics,
    raw_space_metrics,
)
from visframe.evaluate.validity import dbcv, stratified_sample
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
    Every option comes from `eval_cfg` (src/visframe/conf/evaluation/default.yaml, the one place
    their defaults live). Every metric is bounded at any n: the O(n²) ones are computed on a
    seeded sample stratified by cluster above their `*_sample_size`, and the number of points each
    used is written beside it (`silhouette_sample_size`, `dbcv_sample_size`, …).
    """
    started = time.perf_counter()
    option = _options(eval_cfg)
    labels = np.asarray(labels)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    metrics: dict[str, float] = {}
    metrics.update(confidence_metrics(labels, probabilities, option("confidence_threshold")))
    metrics.update(cluster_size_metrics(labels))
    metrics.update(cluster_probability_metrics(labels, probabilities))
    metrics.update(
        internal_metrics(reduced, labels, silhouette_sample_size=option("silhouette_sample_size"), seed=seed)
    )
    if option("dbcv"):
        size = option("dbcv_sample_size")
        metrics["dbcv"] = dbcv(reduced, labels, sample_size=size, seed=seed)
        metrics["dbcv_sample_size"] = float(len(stratified_sample(labels, size, seed)))
    if option("raw_space") and vectors is not None:
        metrics.update(
            raw_space_metrics(
                vectors,
                labels,
                silhouette_sample_size=option("raw_silhouette_sample_size"),
                sample_size=option("raw_space_sample_size"),
                seed=seed,
            )
        )
    if truth is not None:
        metrics.update(ground_truth_metrics(labels, truth))
    # How long the evaluation took (bench-sweep's "one cluster+evaluate pass" uses it).
    metrics["evaluate_seconds"] = time.perf_counter() - started
    warnings = degenerate_outcome_warnings(
        metrics,
        max_largest_cluster_share=option("warn_largest_cluster_share"),
        max_noise_fraction=option("warn_noise_fraction"),
    )
    return metrics, warnings


def _options(eval_cfg: DictConfig | Mapping):
    """A reader of `evaluation.<name>` that says how to fix a config lacking it (no second default)."""

    def option(name: str):
        if name not in eval_cfg:
            raise ConfigError(
                f"evaluation.{name} is missing from the evaluation config",
                fix=f"add it (see {CONFIG_DIR}/evaluation/default.yaml), or compose evaluation=default",
            )
        return eval_cfg[name]

    return option
