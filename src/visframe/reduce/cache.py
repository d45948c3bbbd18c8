"""Fit a reducer once per (embedding key, ordered image set, reducer config); reuse it after.

A sweep over clusterer parameters must never re-reduce: the reduced coordinates are stored under a
key derived from exactly the inputs that determine them. UMAPs share one kNN graph (`knn`): the
reducer config's `knn` block (visframe's, not passed to the estimator) says whether and how:

    knn:
      shared: true          # one graph for every UMAP of the run, cached (umap's precomputed_knn)
      pca_components: null  # e.g. 50: search neighbours on the leading principal components
    epoch_budget:           # epochs × points bounded at large n (visframe.reduce.epochs)
      point_epochs: 4000000
      min_epochs: 80

Entries heal: written atomically with a checksum; a damaged one is set aside (`corrupt-…`) with
one warning and computed again, giving the same coordinates (same seed).
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from visframe.reduce.epochs import EPOCHS_OPTION, apply_epoch_budget
from visframe.reduce.integrity import load_arrays, save_arrays
from visframe.reduce.knn import knn_cached, knn_method
from visframe.utils.cache import cache_subdir
from visframe.utils.hashing import stable_hash

log = logging.getLogger(__name__)
KNN_OPTIONS = "knn"  # the reducer config's own block, never passed to the estimator
INIT_OPTION = "init_from_reduction"  # the map's own flag: start from the clustering reduction's layout
VISFRAME_OPTIONS = (KNN_OPTIONS, INIT_OPTION, EPOCHS_OPTION)


@dataclass
class ReductionResult:
    coordinates: np.ndarray  # (N, n_components) float32, rows aligned with the input vectors
    cache_key: str
    cache_hit: bool
    seconds: float            # time to fit (0 when read from the cache)
    knn_seconds: float = 0.0  # time spent computing the shared kNN graph (0 when it was reused)


def _as_dict(reducer_cfg: DictConfig | dict) -> dict:
    if isinstance(reducer_cfg, DictConfig):
        return OmegaConf.to_container(reducer_cfg, resolve=True)
    return dict(reducer_cfg)


def reduction_key(
    reducer_cfg: DictConfig | dict, input_key: str, init_from: np.ndarray | None = None, knn_method: str | None = None
) -> str:
    """The cache key: the input's identity, the fully resolved reducer config (and the init, if any,
    and how the shared kNN graph is searched: exact below knn.EXACT_BELOW points, approximate above)."""
    spec = {"input": input_key, "reducer": _as_dict(reducer_cfg)}
    if init_from is not None:
        spec["init_from"] = _array_digest(init_from)
    if knn_method is not None:
        spec["knn_method"] = knn_method
    return stable_hash(spec, digits=24)


def _array_digest(values: np.ndarray) -> str:
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(values).tobytes()).hexdigest()


def reduce_cached(
    reducer_cfg: DictConfig,
    vectors: np.ndarray,
    input_key: str,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    init_from: np.ndarray | None = None,
) -> ReductionResult:
    """Reduce `vectors` with the estimator `reducer_cfg` describes, through the reduction cache.

    `input_key` must identify the vectors exactly: the embedding key and the ordered image ids.
    `init_from`: coordinates of the same points (the 5-d reduction), used when the config says
    `init_from_reduction: true` (the 2-D map): its first two principal axes start the UMAP's
    optimisation instead of a spectral layout, so fewer epochs give a faithful map.
    """
    options = _as_dict(reducer_cfg)
    knn_options = options.pop(KNN_OPTIONS, None) or {}
    epoch_budget = options.pop(EPOCHS_OPTION, None)
    if not options.pop(INIT_OPTION, False):
        init_from = None
    shared = bool(knn_options.get("shared", False))
    key = reduction_key(reducer_cfg, input_key, init_from, knn_method(len(vectors)) if shared else None)
    path = cache_subdir(cache_dir, "reductions") / f"{key}.npz"
    if use_cache:
        stored = load_arrays(path, "cached reduction")
        if stored is not None and stored["coordinates"].shape[0] == vectors.shape[0]:
            log.info("Reduction read from cache %s", path)
            return ReductionResult(stored["coordinates"], key, True, 0.0)
        if stored is not None:
            log.warning("Ignoring cached reduction %s: %d rows, expected %d", path, len(stored["coordinates"]), len(vectors))

    reducer = instantiate(options)
    apply_epoch_budget(reducer, epoch_budget, len(vectors))
    started = time.perf_counter()
    knn_seconds = _share_knn(reducer, knn_options, vectors, input_key, cache_dir, use_cache)
    if init_from is not None and "init" in reducer.get_params():
        reducer.set_params(init=_initial_layout(init_from, int(reducer.get_params()["n_components"])))
    with warnings.catch_warnings():
        # umap-learn warns on every seeded fit that it runs single-threaded: that is our documented
        # choice (reducer.random_state=null for the parallel path), not news to the user each run;
        # and that a precomputed graph has no search index (the pipeline never calls transform).
        warnings.filterwarnings("ignore", message="n_jobs value .* overridden", category=UserWarning)
        warnings.filterwarnings("ignore", message=r"precomputed_knn\[2\]", category=UserWarning)
        coordinates = np.asarray(reducer.fit_transform(_fit_input(reducer, vectors, init_from)), dtype=np.float32)
    seconds = time.perf_counter() - started
    if use_cache:
        save_arrays(path, coordinates=coordinates)
    return ReductionResult(coordinates, key, False, seconds, knn_seconds)


def _is_umap_learn(reducer) -> bool:
    return type(reducer).__module__.split(".")[0] == "umap" and "precomputed_knn" in reducer.get_params()


def _fit_input(reducer, vectors: np.ndarray, init_from: np.ndarray | None) -> np.ndarray:
    """What a UMAP is fitted on. Given the shared kNN graph and a starting layout, umap-learn reads
    its data only for the number of rows, yet copies it (`X[index]` with a list of every row, three
    times) and hashes it: 2.6 s of a 9.1 s map at 100,000 × 512. The starting coordinates (same rows,
    5 columns) then stand in for the vectors: the same map (tested), without the copies."""
    if init_from is None or not _is_umap_learn(reducer):
        return vectors
    params = reducer.get_params()
    graph = params.get("precomputed_knn")
    if graph is None or graph[0] is None or not isinstance(params.get("init"), np.ndarray):
        return vectors
    return np.ascontiguousarray(init_from, dtype=np.float32)


def _share_knn(reducer, knn_options: dict, vectors, input_key, cache_dir, use_cache) -> float:
    """Give a umap-learn UMAP the run's shared kNN graph; seconds spent computing it (0 if reused)."""
    if not knn_options.get("shared", False) or not _is_umap_learn(reducer):
        return 0.0
    params = reducer.get_params()
    n_neighbors = int(params["n_neighbors"])
    if len(vectors) <= n_neighbors + 1:
        return 0.0  # UMAP shrinks n_neighbors itself on tiny inputs
    graph = knn_cached(
        vectors,
        input_key,
        n_neighbors,
        metric=str(params["metric"]),
        seed=params["random_state"],
        pca_components=knn_options.get("pca_components"),
        cache_dir=cache_dir,
        use_cache=use_cache,
        threads=int(knn_options.get("n_jobs") or 1),
    )
    reducer.set_params(precomputed_knn=graph.as_precomputed())
    return graph.seconds


def _initial_layout(init_from: np.ndarray, n_components: int) -> np.ndarray:
    """The first `n_components` principal axes of `init_from` (UMAP rescales any init to [0, 10])."""
    from sklearn.decomposition import PCA

    points = np.asarray(init_from, dtype=np.float64)
    if points.shape[1] <= n_components:
        return points[:, :n_components].astype(np.float32)
    return PCA(n_components=n_components, random_state=0).fit_transform(points).astype(np.float32)
