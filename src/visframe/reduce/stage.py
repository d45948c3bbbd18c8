"""The reduce stage: vectors → the space the clusterer sees, and the 2-D map.

    run(ReduceInputs(vectors, input_key), ReduceSettings(cfg.reducer, cfg.map_reducer, cfg.scale), context)

Every point in one fit (visframe.reduce.full_fit): both reductions through the reduction cache, one
kNN graph shared by both UMAPs (remembered in `context.session`), the map started from the
reduction. With `scale.mode=sample_fit` above `scale.sample_size` points (visframe.reduce.sample_fit):
the reducer and the map are fitted on a seeded sample (`context.seed`) and the rest placed as a
Dask job; `sample_rows` says which rows were fitted, so the cluster stage fits on the same ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from visframe.reduce.full_fit import reduce_and_map
from visframe.reduce.sample_fit import fit_sample_and_map
from visframe.scale import uses_sample_fit
from visframe.stages import StageContext


@dataclass(frozen=True)
class ReduceInputs:
    vectors: np.ndarray  # (n_points, d): the points to reduce, one row per point
    input_key: str  # identity of the vectors: encoder key + hash of the ordered image ids


@dataclass(frozen=True)
class ReduceSettings:
    reducer: Any  # cfg.reducer
    map_reducer: Any = None  # cfg.map_reducer (None or a 2-D reducer: the reduction is the map)
    scale: Any = None  # cfg.scale (mode=sample_fit above sample_size points)


@dataclass(frozen=True)
class ReduceResult:
    coordinates: np.ndarray  # (n, k) float32: the space the clusterer sees
    map_coordinates: np.ndarray  # (n, 2)
    cache_hit: bool  # the clustering reduction was read from the cache
    sample_rows: np.ndarray | None = None  # scale=sample_fit: the rows the estimators were fitted on
    seconds: Mapping[str, float] = field(
        default_factory=dict
    )  # knn, reduce, map | fit_reducer, fit_map, map_rest

    @property
    def n_components(self) -> int:
        return int(self.coordinates.shape[1])


def run(inputs: ReduceInputs, settings: ReduceSettings, context: StageContext) -> ReduceResult:
    vectors = inputs.vectors
    if uses_sample_fit(settings.scale, len(vectors)):
        fitted = fit_sample_and_map(
            vectors, settings.reducer, settings.map_reducer, settings.scale, seed=context.seed
        )
        return ReduceResult(
            fitted.coordinates, fitted.map_coordinates, False, fitted.sample_rows, fitted.seconds
        )
    full = reduce_and_map(
        vectors, inputs.input_key, settings.reducer, settings.map_reducer, context.cache_dir, context.session
    )
    return ReduceResult(full.coordinates, full.map_coordinates, full.cache_hit, None, full.seconds)
