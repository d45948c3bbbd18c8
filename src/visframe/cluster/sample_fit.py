"""scale=sample_fit, the cluster stage's half: fit on the sample's coordinates, predict the rest.

The reduce stage fitted its reducer on a seeded sample and placed every other point
(visframe.reduce.sample_fit); it says which rows were the sample. The clusterer is fitted on those
rows' coordinates and every other point gets hdbscan's `approximate_predict` (label, probability)
and `approximate_predict_scores` (GLOSH outlier score): the same hierarchy, the same labels for the
sample, each other point's answer independent of the rest (so of how they are chunked).

Where the prediction runs: in this process, unless `scale.dask.address` names a scheduler. hdbscan's
prediction is one KD-tree query and then a Python loop over the points, about 0.2 ms of CPU a point
here. Measured on this shared 2-core VM (load average 5-9; `benchmarks/bench_scale.py --predict`):
950,000 points of 5-d against a 50,000-point sample of the default clusterer took 335 s in this
process and 348 s as 20,000-point tasks on the 2-worker LocalCluster (medians of 2, the same labels);
at 250,000 points 96-99 s here, 96-130 s on 2 workers, 111-142 s on 1. A LocalCluster's workers
share this machine's cores, and starting one and shipping the coordinates costs seconds, so it gains
nothing here; a scheduler elsewhere brings its own cores (as the transform uses them), so there the
chunks run on its workers.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from hydra.utils import instantiate

from visframe.cluster.result import ClusterResult, fit_clusterer
from visframe.scale import map_chunks, rest_rows

log = logging.getLogger(__name__)
# hdbscan.HDBSCAN parameters a fast_hdbscan / sklearn config shares (approximate_predict needs hdbscan's).
_SHARED_HDBSCAN_PARAMS = (
    "min_cluster_size",
    "min_samples",
    "cluster_selection_method",
    "cluster_selection_epsilon",
    "allow_single_cluster",
    "metric",
    "alpha",
)


def predicting_clusterer(clusterer_cfg):
    """The configured clusterer if it can `approximate_predict` (hdbscan.HDBSCAN), else hdbscan's
    HDBSCAN with the same shared parameters; `prediction_data` switched on."""
    import hdbscan

    clusterer = instantiate(clusterer_cfg)
    if not isinstance(clusterer, hdbscan.HDBSCAN):
        params = clusterer.get_params()
        shared = {name: params[name] for name in _SHARED_HDBSCAN_PARAMS if name in params}
        log.info("scale=sample_fit: fitting hdbscan.HDBSCAN(%s) for approximate_predict", shared)
        clusterer = hdbscan.HDBSCAN(**shared)
    clusterer.set_params(prediction_data=True)
    return clusterer


def fit_sample_clusterer(clusterer_cfg, points: np.ndarray):
    """(the sample's ClusterResult, a fitted hdbscan.HDBSCAN that can approximate_predict the rest).

    AutoHDBSCAN (the default) chooses min_cluster_size on the sample, as it would on the whole
    collection (its candidates are shares of n); hdbscan's own HDBSCAN with that choice is then
    fitted on the same points for `approximate_predict`: the same hierarchy cut at the same size,
    so the same labels. Any other backend: `predicting_clusterer`.
    """
    estimator = instantiate(clusterer_cfg)
    if hasattr(estimator, "as_hdbscan"):  # AutoHDBSCAN's own method: its choice as a predicting HDBSCAN
        clusters = fit_clusterer(estimator, points)
        return clusters, estimator.as_hdbscan(prediction_data=True).fit(points)
    predictor = predicting_clusterer(clusterer_cfg)
    return fit_clusterer(predictor, points), predictor


def predict_chunk(predictor, points: np.ndarray) -> dict[str, np.ndarray]:
    """One task: labels, probabilities and outlier scores of `points` from a fitted hdbscan.HDBSCAN."""
    from hdbscan.prediction import approximate_predict, approximate_predict_scores

    points = np.asarray(points, dtype=np.float64)
    labels, probabilities = approximate_predict(predictor, points)
    scores = approximate_predict_scores(predictor, points)
    return {
        "labels": np.asarray(labels, dtype=np.int64),
        "probabilities": np.asarray(probabilities, dtype=np.float64),
        "scores": np.asarray(scores, dtype=np.float64),
    }


def predicts_on_dask(scale_cfg) -> bool:
    """Whether the prediction runs on Dask: when `scale.dask.address` names a scheduler (see above)."""
    return bool(scale_cfg) and scale_cfg["dask"].get("address") is not None


def predict_rows(
    predictor, coordinates: np.ndarray, rows: np.ndarray, scale_cfg, on_dask: bool | None = None
):
    """[(rows, predict_chunk's result)] for `rows` of `coordinates`: in this process, or as chunk tasks
    on Dask (`on_dask` None: `predicts_on_dask(scale_cfg)`)."""
    if on_dask is None:
        on_dask = predicts_on_dask(scale_cfg)
    if on_dask:
        return map_chunks(predict_chunk, predictor, coordinates, rows, scale_cfg)
    if len(rows) == 0:
        return []
    return [(rows, predict_chunk(predictor, coordinates[rows]))]


def fit_sample_and_predict(
    clusterer_cfg, coordinates: np.ndarray, fitted_rows: np.ndarray, scale_cfg
) -> ClusterResult:
    """Fit the clusterer on `coordinates[fitted_rows]`, predict every other row.

    The result has labels, probabilities and outlier scores for every row; `seconds` is the fit's.
    """
    n = len(coordinates)
    started = time.perf_counter()
    sample_clusters, predictor = fit_sample_clusterer(
        clusterer_cfg, np.asarray(coordinates[fitted_rows], dtype=np.float64)
    )
    fit_seconds = time.perf_counter() - started
    rest = rest_rows(n, fitted_rows)
    started = time.perf_counter()
    parts = predict_rows(predictor, coordinates, rest, scale_cfg)
    labels = np.empty(n, dtype=np.int64)
    probabilities = np.empty(n, dtype=np.float64)
    outlier_scores = np.empty(n, dtype=np.float64)
    labels[fitted_rows] = sample_clusters.labels
    probabilities[fitted_rows] = sample_clusters.probabilities
    outlier_scores[fitted_rows] = sample_clusters.outlier_scores
    for rows, part in parts:
        labels[rows], probabilities[rows], outlier_scores[rows] = (
            part["labels"],
            part["probabilities"],
            part["scores"],
        )
    log.info(
        "scale=sample_fit: clusterer fitted on %d of %d points in %.1fs, %d predicted in %.1fs",
        len(fitted_rows),
        n,
        fit_seconds,
        len(rest),
        time.perf_counter() - started,
    )
    return ClusterResult(labels, probabilities, outlier_scores, fit_seconds)
