"""Cluster: reduced coordinates → labels, membership probabilities and outlier scores.

Clusterers are scikit-learn-style estimators built from `_target_`: hdbscan.HDBSCAN as it is, and
thin adapters where a backend lacks an output (GLOSH outlier scores, float64 input, host arrays):
`visframe.cluster.adapters.FastHDBSCAN`, `visframe.cluster.adapters.SklearnHDBSCAN`,
`visframe.cluster.gpu.CumlHDBSCAN` (cuML). The default, `visframe.cluster.auto.AutoHDBSCAN`,
chooses min_cluster_size per collection by DBCV over one hierarchy; `visframe.cluster.evoc` is the
experimental raw-vector EVoC. `fit_clusterer` reads the fitted attributes into one result, whatever
the backend: labels, layers coarse to fine and their tree, the nearest cluster of noise points, and
the selection's criterion values.
"""

from visframe.cluster.glosh import glosh_outlier_scores
from visframe.cluster.result import ClusterResult, fit_clusterer

__all__ = [
    "AutoHDBSCAN",
    "ClusterResult",
    "CumlHDBSCAN",
    "EVoCClusterer",
    "FastHDBSCAN",
    "SklearnHDBSCAN",
    "fit_clusterer",
    "glosh_outlier_scores",
    "input_space",
]


def input_space(estimator) -> str:
    """What an estimator clusters: "reduced" (the reducer's coordinates; any estimator that does not
    say) or "raw" (the embedding vectors, e.g. EVoC), from its class attribute `input_space`."""
    space = str(getattr(estimator, "input_space", "reduced"))
    if space not in ("reduced", "raw"):
        raise ValueError(f"{type(estimator).__name__}.input_space must be 'reduced' or 'raw', not {space!r}")
    return space

_LAZY = {
    "FastHDBSCAN": "visframe.cluster.adapters",
    "SklearnHDBSCAN": "visframe.cluster.adapters",
    "CumlHDBSCAN": "visframe.cluster.gpu",
    "AutoHDBSCAN": "visframe.cluster.auto",
    "EVoCClusterer": "visframe.cluster.evoc",
}


def __getattr__(name: str):
    # The adapters import fast_hdbscan / numba, whose first import in a process costs seconds
    # (tens without a warm numba cache): only when a config asks for them.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'visframe.cluster' has no attribute {name!r}")
