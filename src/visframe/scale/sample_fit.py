"""Fit on a sample, map the rest with the estimators' own out-of-sample methods, as a Dask job.

A full UMAP + HDBSCAN fit holds every point's kNN graph and spanning tree in one process and runs
its seeded optimisation on one core. Past `scale.sample_size` points (50,000 by default) this path
fits the reducer (5-d), the 2-D map and the clusterer on a seeded random sample and maps every
other point in chunks with umap-learn's `UMAP.transform` and hdbscan's `approximate_predict` /
`approximate_predict_scores`. The chunks are tasks of a `dask.distributed` job: a `LocalCluster`
(`scale.dask.n_workers` processes) unless `scale.dask.address` names a scheduler. The fitted models
are scattered to the workers once; each task returns its chunk's 5-d and 2-D coordinates, labels,
probabilities and outlier scores. The result is deterministic for a given seed, sample size and
chunk size (each transform is seeded by the UMAP's `transform_seed`), whatever the worker count.
"""

from __future__ import annotations

import logging
import time
import uuid
import warnings
from dataclasses import dataclass, field

import numpy as np
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from visframe.cluster import ClusterResult, fit_clusterer
from visframe.reduce.cache import INIT_OPTION, KNN_OPTIONS, VISFRAME_OPTIONS, _initial_layout, _is_umap_learn
from visframe.reduce.epochs import EPOCHS_OPTION, apply_epoch_budget
from visframe.reduce.knn import compute_knn
from visframe.scale.dask_jobs import dask_client

log = logging.getLogger(__name__)
# hdbscan.HDBSCAN parameters a fast_hdbscan / sklearn config shares (approximate_predict needs hdbscan's).
_SHARED_HDBSCAN_PARAMS = ("min_cluster_size", "min_samples", "cluster_selection_method", "cluster_selection_epsilon",
                          "allow_single_cluster", "metric", "alpha")


@dataclass
class SampleFitResult:
    reduced: np.ndarray  # (N, n_components) float32
    map_coordinates: np.ndarray  # (N, 2) float32
    clusters: ClusterResult  # labels, probabilities, outlier scores for all N points
    sample_rows: np.ndarray  # the rows the estimators were fitted on
    seconds: dict[str, float] = field(default_factory=dict)


def uses_sample_fit(scale_cfg: DictConfig | dict | None, n_points: int) -> bool:
    """Whether `scale_cfg` asks for the sample-fit path at this size."""
    return bool(scale_cfg) and scale_cfg["mode"] == "sample_fit" and n_points > int(scale_cfg["sample_size"])


def _estimator(cfg: DictConfig | dict):
    options = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)
    for name in VISFRAME_OPTIONS:
        options.pop(name, None)
    return instantiate(options)


def _option(cfg, name: str, default=None):
    return (OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)).get(name, default)


def _share_sample_knn(reducer, mapper, sample: np.ndarray, reducer_cfg) -> None:
    """One kNN graph of the sample, with its search index (transform needs it), for both UMAPs."""
    knn_options = _option(reducer_cfg, KNN_OPTIONS) or {}
    umaps = [m for m in (reducer, mapper) if m is not None and _is_umap_learn(m)]
    if not knn_options.get("shared") or not umaps:
        return
    params = [(int(m.get_params()["n_neighbors"]), m.get_params()["metric"]) for m in umaps]
    if len(set(params)) != 1 or len(sample) <= params[0][0] + 1:
        return
    indices, distances, index = compute_knn(sample, params[0][0], params[0][1], reducer.get_params()["random_state"],
                                            threads=int(knn_options.get("n_jobs") or 1))
    for model in umaps:
        model.set_params(precomputed_knn=(indices, distances, index))


def predicting_clusterer(clusterer_cfg: DictConfig | dict):
    """The configured clusterer if it can `approximate_predict` (hdbscan.HDBSCAN), else hdbscan's
    HDBSCAN with the same shared parameters; `prediction_data` switched on."""
    import hdbscan

    clusterer = _estimator(clusterer_cfg)
    if not isinstance(clusterer, hdbscan.HDBSCAN):
        params = clusterer.get_params()
        shared = {name: params[name] for name in _SHARED_HDBSCAN_PARAMS if name in params}
        log.info("scale=sample_fit: fitting hdbscan.HDBSCAN(%s) for approximate_predict", shared)
        clusterer = hdbscan.HDBSCAN(**shared)
    clusterer.set_params(prediction_data=True)
    return clusterer


def fit_sample_clusterer(clusterer_cfg: DictConfig | dict, points: np.ndarray):
    """(the sample's ClusterResult, a fitted hdbscan.HDBSCAN that can approximate_predict the rest).

    AutoHDBSCAN (the default) chooses min_cluster_size on the sample, as it would on the whole
    collection (its candidates are shares of n); hdbscan's own HDBSCAN with that choice is then
    fitted on the same points for `approximate_predict`: the same hierarchy cut at the same size,
    so the same labels. Any other backend: `predicting_clusterer`.
    """
    estimator = _estimator(clusterer_cfg)
    if hasattr(estimator, "as_hdbscan"):
        clusters = fit_clusterer(estimator, points)
        return clusters, estimator.as_hdbscan(prediction_data=True).fit(points)
    predictor = predicting_clusterer(clusterer_cfg)
    return fit_clusterer(predictor, points), predictor


def fit_sample_and_map(
    reducer_cfg: DictConfig,
    map_reducer_cfg: DictConfig | None,
    clusterer_cfg: DictConfig,
    scale_cfg: DictConfig,
    vectors: np.ndarray,
    seed: int = 0,
) -> SampleFitResult:
    """Fit on `scale_cfg.sample_size` seeded random rows of `vectors`, map the rest on Dask.

    `map_reducer_cfg` None (or a reducer with n_components 2) reuses the reduction as the map.
    """
    seconds: dict[str, float] = {}
    n = len(vectors)
    rng = np.random.default_rng(seed)
    sample_rows = np.sort(rng.choice(n, size=min(n, int(scale_cfg["sample_size"])), replace=False))
    sample = np.ascontiguousarray(vectors[sample_rows])

    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="n_jobs value .* overridden", category=UserWarning)
        reducer = _estimator(reducer_cfg)
        apply_epoch_budget(reducer, _option(reducer_cfg, EPOCHS_OPTION), len(sample))
        mapper = None
        if map_reducer_cfg is not None and int(reducer.get_params().get("n_components", 0)) != 2:
            mapper = _estimator(map_reducer_cfg)
            apply_epoch_budget(mapper, _option(map_reducer_cfg, EPOCHS_OPTION), len(sample))
        _share_sample_knn(reducer, mapper, sample, reducer_cfg)
        sample_reduced = np.asarray(reducer.fit_transform(sample), dtype=np.float32)
        seconds["fit_reducer"] = time.perf_counter() - started
        sample_map = sample_reduced[:, :2]
        if mapper is not None:
            started = time.perf_counter()
            if _option(map_reducer_cfg, INIT_OPTION):
                mapper.set_params(init=_initial_layout(sample_reduced, 2))
            sample_map = np.asarray(mapper.fit_transform(sample), dtype=np.float32)
            seconds["fit_map"] = time.perf_counter() - started
    started = time.perf_counter()
    sample_clusters, clusterer = fit_sample_clusterer(clusterer_cfg, sample_reduced.astype(np.float64))
    seconds["fit_clusterer"] = time.perf_counter() - started

    rest = np.setdiff1d(np.arange(n), sample_rows, assume_unique=True)
    started = time.perf_counter()
    parts = map_on_dask((reducer, mapper, clusterer), vectors, rest, scale_cfg)
    seconds["map_rest"] = time.perf_counter() - started

    reduced = np.empty((n, sample_reduced.shape[1]), dtype=np.float32)
    map_coordinates = np.empty((n, 2), dtype=np.float32)
    labels = np.empty(n, dtype=np.int64)
    probabilities = np.empty(n, dtype=np.float64)
    outlier_scores = np.empty(n, dtype=np.float64)
    reduced[sample_rows], map_coordinates[sample_rows] = sample_reduced, sample_map
    labels[sample_rows] = sample_clusters.labels
    probabilities[sample_rows] = sample_clusters.probabilities
    outlier_scores[sample_rows] = sample_clusters.outlier_scores
    for rows, part in parts:
        reduced[rows], map_coordinates[rows] = part["reduced"], part["map"]
        labels[rows], probabilities[rows], outlier_scores[rows] = part["labels"], part["probabilities"], part["scores"]
    clusters = ClusterResult(labels, probabilities, outlier_scores, seconds["fit_clusterer"])
    log.info("scale=sample_fit: fitted on %d of %d points, mapped %d in %.1fs", len(sample_rows), n, len(rest),
             seconds["map_rest"])
    return SampleFitResult(reduced, map_coordinates, clusters, sample_rows, seconds)


class QueryOnce:
    """The sample's kNN search index, queried once per chunk for both UMAPs' `transform`.

    The reduction and the map share one index and one n_neighbors (`_share_sample_knn`), so their
    transforms ask for the same neighbours of the same chunk: the query (pynndescent, 512-d) was
    two thirds of a chunk's time here (20,000 points against a 50,000-point sample: 21 of 32 s).
    Each caller gets its own copy (umap-learn writes into the indices it is given).
    """

    def __init__(self, index):
        self.index = index
        self._last: tuple | None = None

    def query(self, X, k, epsilon=0.1):
        if self._last is None or not self._same_request(X, k, epsilon):
            self._last = (X, k, epsilon, self.index.query(X, k, epsilon=epsilon))
        indices, distances = self._last[3]
        return indices.copy(), distances.copy()

    def _same_request(self, X, k, epsilon) -> bool:
        seen, seen_k, seen_epsilon, _ = self._last
        return (seen_k, seen_epsilon) == (k, epsilon) and (seen is X or (seen.shape == X.shape and np.array_equal(seen, X)))

    def __getattr__(self, name):  # everything else (e.g. _angular_trees) is the index's own
        return getattr(self.index, name)


def share_query(reducer, mapper) -> None:
    """Point both UMAPs at one `QueryOnce` when they share their search index and n_neighbors."""
    index = getattr(reducer, "_knn_search_index", None)
    if mapper is None or index is None or isinstance(index, QueryOnce):
        return
    if getattr(mapper, "_knn_search_index", None) is index and reducer.n_neighbors == mapper.n_neighbors:
        reducer._knn_search_index = mapper._knn_search_index = QueryOnce(index)


def map_chunk(models, chunk: np.ndarray) -> dict[str, np.ndarray]:
    """One Dask task: the chunk's coordinates (5-d, 2-D), labels, probabilities, outlier scores."""
    from hdbscan.prediction import approximate_predict, approximate_predict_scores

    reducer, mapper, clusterer = models
    share_query(reducer, mapper)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        reduced = np.asarray(reducer.transform(chunk), dtype=np.float32)
        map_coordinates = reduced[:, :2] if mapper is None else np.asarray(mapper.transform(chunk), dtype=np.float32)
    points = reduced.astype(np.float64)
    labels, probabilities = approximate_predict(clusterer, points)
    scores = approximate_predict_scores(clusterer, points)
    return {"reduced": reduced, "map": map_coordinates, "labels": np.asarray(labels, dtype=np.int64),
            "probabilities": np.asarray(probabilities, dtype=np.float64), "scores": np.asarray(scores, dtype=np.float64)}


def map_on_dask(models, vectors: np.ndarray, rows: np.ndarray, scale_cfg: DictConfig):
    """[(rows of the chunk, map_chunk's result)], the chunks run as tasks on a Dask cluster."""
    if len(rows) == 0:
        return []
    chunk_size = int(scale_cfg["chunk_size"])
    chunks = [rows[start : start + chunk_size] for start in range(0, len(rows), chunk_size)]
    with dask_client(scale_cfg["dask"]) as client:
        return _run_chunks(client, models, vectors, chunks, int(scale_cfg["dask"]["n_workers"]))


def _run_chunks(client, models, vectors, chunks, n_workers: int):
    from dask.distributed import as_completed

    in_flight = 2 * n_workers  # bounds the chunks held in memory at once
    results: dict[int, dict] = {}
    token = uuid.uuid4().hex[:12]  # a shared scheduler must never hand back another run's chunk
    (shared,) = client.scatter([models], broadcast=True)
    pending = as_completed()
    for index, chunk in enumerate(chunks):
        future = client.submit(map_chunk, shared, vectors[chunk], key=f"visframe-map-{token}-{index}", retries=2)
        pending.add(future)
        while pending.count() >= in_flight:
            _collect(next(pending), results)
    for future in pending:
        _collect(future, results)
    return [(chunk, results[index]) for index, chunk in enumerate(chunks)]


def _collect(future, results: dict) -> None:
    results[int(future.key.rsplit("-", 1)[1])] = future.result()
