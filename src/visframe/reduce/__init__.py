"""Reduce: embeddings → low-dimensional coordinates, cached by (embedding, image set, reducer config).

Reducers are plain scikit-learn-style estimators built from `_target_` (umap.UMAP,
cuml.manifold.UMAP, sklearn PCA, or `Identity`), so CPU ↔ GPU is a config change. `Reducer`
(reducer.py) wraps the configured one with what visframe adds: the shared kNN graph (`knn`), the
epoch budget (`epochs`) and the map's starting layout. `fit_transform_cached` (cache.py) stores an
estimator's output under a key; entries heal (`integrity`). The stage entry point is `stage.run`.
"""

from visframe.reduce.cache import CachedFit, fit_transform_cached, reduction_key
from visframe.reduce.full_fit import ReductionResult, reduce_cached
from visframe.reduce.identity import Identity
from visframe.reduce.knn import KnnGraph, knn_cached
from visframe.reduce.reducer import Reducer, ReducerConfig

__all__ = [
    "CachedFit",
    "Identity",
    "KnnGraph",
    "Reducer",
    "ReducerConfig",
    "ReductionResult",
    "fit_transform_cached",
    "knn_cached",
    "reduce_cached",
    "reduction_key",
]
