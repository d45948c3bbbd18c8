"""scale=sample_fit, the reduce stage's half: fit the reducer and the map on a sample, place the rest.

The reducer (5-d) and the 2-D map are `Reducer`s fitted on the seeded sample
(`visframe.scale.sample_rows`), sharing one kNN graph of the sample that keeps its search index
(umap-learn's `transform` needs it). Every other point is placed with their `transform` in chunks,
as tasks of a Dask job (`visframe.scale.map_chunks`); the cluster stage then fits its clusterer on
the sample's rows of the coordinates and predicts the rest (visframe.cluster.sample_fit).
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from visframe.reduce.knn import compute_knn
from visframe.reduce.reducer import Reducer, ReducerConfig, is_umap_learn
from visframe.scale import map_chunks, rest_rows, sample_rows

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SampleFitReduction:
    coordinates: np.ndarray  # (N, n_components) float32
    map_coordinates: np.ndarray  # (N, 2) float32
    sample_rows: np.ndarray  # the rows the reducer and the map were fitted on
    seconds: dict[str, float] = field(default_factory=dict)  # fit_reducer, fit_map, map_rest


def sample_graph(config: ReducerConfig, models: list, sample: np.ndarray) -> tuple | None:
    """One kNN graph of the sample, with its search index (transform needs it), for both UMAPs; None
    when the reducer config does not share the graph or the UMAPs ask for different neighbourhoods."""
    umaps = [m for m in models if m is not None and is_umap_learn(m)]
    if not config.shares_knn or not umaps:
        return None
    params = [(int(m.get_params()["n_neighbors"]), m.get_params()["metric"]) for m in umaps]
    if len(set(params)) != 1 or len(sample) <= params[0][0] + 1:
        return None
    return compute_knn(
        sample, params[0][0], params[0][1], umaps[0].get_params()["random_state"], threads=config.knn_threads
    )


def fit_on_sample(sample: np.ndarray, reducer_cfg, map_reducer_cfg, seconds: dict[str, float]):
    """(the fitted reducer, the fitted map or None, the sample's coordinates, the sample's map)."""
    started = time.perf_counter()
    reducer_config = ReducerConfig.parse(reducer_cfg)
    reducer_model = reducer_config.build()
    map_config = map_model = None
    if map_reducer_cfg is not None and int(reducer_model.get_params().get("n_components", 0)) != 2:
        map_config = ReducerConfig.parse(map_reducer_cfg)
        map_model = map_config.build()
    graph = sample_graph(reducer_config, [reducer_model, map_model], sample)
    reducer = Reducer(reducer_model, knn_graph=graph, epoch_budget=reducer_config.epoch_budget)
    sample_reduced = reducer.fit_transform(sample)
    seconds["fit_reducer"] = time.perf_counter() - started
    if map_config is None:
        return reducer, None, sample_reduced, sample_reduced[:, :2]
    started = time.perf_counter()
    mapper = Reducer(
        map_model,
        knn_graph=graph,
        epoch_budget=map_config.epoch_budget,
        init=sample_reduced if map_config.init_from_reduction else None,
    )
    sample_map = mapper.fit_transform(sample)
    seconds["fit_map"] = time.perf_counter() - started
    return reducer, mapper, sample_reduced, sample_map


def fit_sample_and_map(
    vectors: np.ndarray, reducer_cfg, map_reducer_cfg, scale_cfg, seed: int = 0
) -> SampleFitReduction:
    """Fit on `scale_cfg.sample_size` seeded random rows of `vectors`, place the rest on Dask.

    `map_reducer_cfg` None (or a reducer with n_components 2) reuses the reduction as the map.
    """
    seconds: dict[str, float] = {}
    n = len(vectors)
    rows = sample_rows(n, int(scale_cfg["sample_size"]), seed)
    reducer, mapper, sample_reduced, sample_map = fit_on_sample(
        np.ascontiguousarray(vectors[rows]), reducer_cfg, map_reducer_cfg, seconds
    )
    rest = rest_rows(n, rows)
    started = time.perf_counter()
    parts = map_chunks(transform_chunk, (reducer, mapper), vectors, rest, scale_cfg)
    seconds["map_rest"] = time.perf_counter() - started

    coordinates = np.empty((n, sample_reduced.shape[1]), dtype=np.float32)
    map_coordinates = np.empty((n, 2), dtype=np.float32)
    coordinates[rows], map_coordinates[rows] = sample_reduced, sample_map
    for chunk, part in parts:
        coordinates[chunk], map_coordinates[chunk] = part["reduced"], part["map"]
    log.info(
        "scale=sample_fit: reducer and map fitted on %d of %d points, %d placed in %.1fs",
        len(rows),
        n,
        len(rest),
        seconds["map_rest"],
    )
    return SampleFitReduction(coordinates, map_coordinates, rows, seconds)


class QueryOnce:
    """The sample's kNN search index, queried once per chunk for both UMAPs' `transform`.

    The reduction and the map share one index and one n_neighbors (`sample_graph`), so their
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
        same_points = seen is X or (seen.shape == X.shape and np.array_equal(seen, X))
        return (seen_k, seen_epsilon) == (k, epsilon) and same_points

    def __getattr__(self, name):  # everything else (e.g. _angular_trees) is the index's own
        return getattr(self.index, name)


def share_query(reducer: Reducer, mapper: Reducer | None) -> None:
    """Point both fitted UMAPs at one `QueryOnce` when they share their search index and n_neighbors."""
    if mapper is None:
        return
    first, second = reducer.estimator_, mapper.estimator_
    index = getattr(first, "_knn_search_index", None)  # umap-learn's own attribute; absent elsewhere
    if index is None or isinstance(index, QueryOnce):
        return
    if getattr(second, "_knn_search_index", None) is index and first.n_neighbors == second.n_neighbors:
        first._knn_search_index = second._knn_search_index = QueryOnce(index)


def transform_chunk(models: tuple[Reducer, Reducer | None], chunk: np.ndarray) -> dict[str, np.ndarray]:
    """One Dask task: the chunk's coordinates (5-d) and map (2-D)."""
    reducer, mapper = models
    share_query(reducer, mapper)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        reduced = reducer.transform(chunk)
        map_coordinates = reduced[:, :2] if mapper is None else mapper.transform(chunk)
    return {"reduced": reduced, "map": map_coordinates}
