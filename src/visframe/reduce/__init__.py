"""Reduce: embeddings → low-dimensional coordinates, cached by (embedding, image set, reducer config).

Reducers are plain scikit-learn-style estimators built from `_target_` (umap.UMAP,
cuml.manifold.UMAP, sklearn PCA, or `Identity`), so CPU ↔ GPU is a config change.
"""

from visframe.reduce.cache import ReductionResult, reduce_cached
from visframe.reduce.identity import Identity

__all__ = ["Identity", "ReductionResult", "reduce_cached"]
