"""Reduce: embeddings → low-dimensional coordinates, cached by (embedding, image set, reducer config).

Reducers are plain scikit-learn-style estimators built from `_target_` (umap.UMAP,
cuml.manifold.UMAP, sklearn PCA, or `Identity`), so CPU ↔ GPU is a config change. Every umap-learn
UMAP of a run shares one cached kNN graph (`knn`); cache entries heal (`integrity`).
"""

from visframe.reduce.cache import ReductionResult, reduce_cached
from visframe.reduce.identity import Identity
from visframe.reduce.knn import KnnGraph, knn_cached

__all__ = ["Identity", "KnnGraph", "ReductionResult", "knn_cached", "reduce_cached"]
