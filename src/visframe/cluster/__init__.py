"""Cluster: reduced coordinates → labels, membership probabilities and outlier scores.

Clusterers are scikit-learn-style estimators built from `_target_`: hdbscan.HDBSCAN as it is, and
thin adapters where a backend lacks an output (GLOSH outlier scores, float64 input, host arrays):
`visframe.cluster.adapters.FastHDBSCAN`, `visframe.cluster.adapters.SklearnHDBSCAN`,
`visframe.cluster.gpu.CumlHDBSCAN` (cuML). `fit_clusterer` reads the fitted attributes into one
result, whatever the backend.
"""

from visframe.cluster.glosh import glosh_outlier_scores
from visframe.cluster.result import ClusterResult, fit_clusterer

__all__ = ["ClusterResult", "CumlHDBSCAN", "FastHDBSCAN", "SklearnHDBSCAN", "fit_clusterer", "glosh_outlier_scores"]

_LAZY = {
    "FastHDBSCAN": "visframe.cluster.adapters",
    "SklearnHDBSCAN": "visframe.cluster.adapters",
    "CumlHDBSCAN": "visframe.cluster.gpu",
}


def __getattr__(name: str):
    # The adapters import fast_hdbscan / numba, whose first import in a process costs seconds
    # (tens without a warm numba cache): only when a config asks for them.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'visframe.cluster' has no attribute {name!r}")
