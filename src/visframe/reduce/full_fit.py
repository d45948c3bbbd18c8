"""Every point in one fit: a configured reduction through the reduction cache, and the 2-D map.

`reduce_cached(reducer_cfg, vectors, input_key)` = the cache key of the config and input
(`reduction_key`, unchanged since before the estimators: existing entries stay valid) + a `Reducer`
built from the config + `fit_transform_cached`. The shared kNN graph is handed to the `Reducer` as a
function called only on a cache miss, so a cached reduction reads no graph; the graph comes from the
session's memo (the map reuses the reduction's without a disk read), the disk cache, or is computed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from visframe.reduce.cache import fit_transform_cached, reduction_key
from visframe.reduce.knn import knn_cached, knn_method
from visframe.reduce.reducer import Reducer, ReducerConfig, is_umap_learn
from visframe.session import Session

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReductionResult:
    coordinates: np.ndarray  # (N, n_components) float32, rows aligned with the input vectors
    cache_key: str
    cache_hit: bool
    seconds: float  # time to fit (0 when read from the cache)
    knn_seconds: float = 0.0  # time spent computing the shared kNN graph (0 when it was reused)


def shared_graph_source(
    config: ReducerConfig,
    estimator,
    vectors: np.ndarray,
    input_key: str,
    cache_dir: str | Path | None,
    use_cache: bool,
    session: Session | None,
):
    """A function of no arguments giving the run's shared kNN graph for `estimator` (a umap-learn UMAP
    whose config shares it), or None."""
    if not config.shares_knn or not is_umap_learn(estimator):
        return None
    params = estimator.get_params()
    return partial(
        knn_cached,
        vectors,
        input_key,
        int(params["n_neighbors"]),
        metric=str(params["metric"]),
        seed=params["random_state"],
        pca_components=config.knn.get("pca_components"),
        cache_dir=cache_dir,
        use_cache=use_cache,
        threads=config.knn_threads,
        session=session,
    )


def reduce_cached(
    reducer_cfg: DictConfig | dict,
    vectors: np.ndarray,
    input_key: str,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    init_from: np.ndarray | None = None,
    session: Session | None = None,
) -> ReductionResult:
    """Reduce `vectors` with the estimator `reducer_cfg` describes, through the reduction cache.

    `input_key` must identify the vectors exactly: the embedding key and the ordered image ids.
    `init_from`: coordinates of the same points (the 5-d reduction), used when the config says
    `init_from_reduction: true` (the 2-D map): its first two principal axes start the UMAP's
    optimisation instead of a spectral layout, so fewer epochs give a faithful map.
    `session`: where the kNN graph is remembered between the reduction and the map (and jobs).
    """
    config = ReducerConfig.parse(reducer_cfg)
    init_from = init_from if config.init_from_reduction else None
    key = reduction_key(
        config.resolved, input_key, init_from, knn_method(len(vectors)) if config.shares_knn else None
    )
    estimator = config.build()
    graph = shared_graph_source(config, estimator, vectors, input_key, cache_dir, use_cache, session)
    reducer = Reducer(estimator, knn_graph=graph, epoch_budget=config.epoch_budget, init=init_from)
    fitted = fit_transform_cached(reducer, vectors, key, cache_dir, use_cache)
    knn_seconds = 0.0 if fitted.cache_hit else reducer.knn_seconds_
    return ReductionResult(fitted.coordinates, key, fitted.cache_hit, fitted.seconds, knn_seconds)


@dataclass(frozen=True)
class FullFit:
    coordinates: np.ndarray
    map_coordinates: np.ndarray
    cache_hit: bool  # the clustering reduction came from the cache
    seconds: dict[str, float] = field(default_factory=dict)  # knn, reduce, map


def reduce_and_map(
    vectors: np.ndarray,
    input_key: str,
    reducer_cfg,
    map_reducer_cfg,
    cache_dir: str | Path | None = None,
    session: Session | None = None,
) -> FullFit:
    """The clustering reduction and the 2-D map (one kNN graph shared by both UMAPs, the map started
    from the reduction). A 2-D reduction, or no map reducer, is its own map (its first two columns)."""
    reduction = reduce_cached(reducer_cfg, vectors, input_key, cache_dir, session=session)
    where = "cache" if reduction.cache_hit else f"{reduction.seconds:.1f}s"
    log.info("Reduced %s → %s (%s)", vectors.shape, reduction.coordinates.shape, where)
    seconds = {"knn": reduction.knn_seconds, "reduce": reduction.seconds - reduction.knn_seconds}
    if reduction.coordinates.shape[1] == 2 or map_reducer_cfg is None:
        map_coordinates = reduction.coordinates[:, :2]
    else:
        mapped = reduce_cached(
            map_reducer_cfg, vectors, input_key, cache_dir, init_from=reduction.coordinates, session=session
        )
        map_coordinates, seconds["map"] = mapped.coordinates, mapped.seconds
    return FullFit(reduction.coordinates, map_coordinates, reduction.cache_hit, seconds)
