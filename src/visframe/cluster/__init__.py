"""Cluster: reduced coordinates → labels, membership probabilities and outlier scores.

Clusterers are scikit-learn-style estimators built from `_target_`: hdbscan.HDBSCAN as it is, and
thin adapters where a backend lacks an output (GLOSH outlier scores, float64 input, host arrays):
`visframe.cluster.adapters.FastHDBSCAN`, `visframe.cluster.adapters.SklearnHDBSCAN`,
`visframe.cluster.gpu.CumlHDBSCAN` (cuML). The default, `visframe.cluster.auto.AutoHDBSCAN`,
chooses min_cluster_size per collection by DBCV over one hierarchy; `visframe.cluster.evoc` is the
experimental raw-vector EVoC. What visframe reads from any clusterer is the `Clusterer` protocol
(clusterer.py: `read_clusterer` is the one reader of its optional attributes); `fit_clusterer`
turns it into one result, whatever the backend: labels, layers coarse to fine and their tree, the
nearest cluster of noise points, and the selection's criterion values. The stage entry point is
`stage.run`.
"""

from visframe.cluster.clusterer import Clusterer, ClustererOutputs, input_space, read_clusterer
from visframe.cluster.glosh import glosh_outlier_scores
from visframe.cluster.result import ClusterResult, fit_clusterer

__all__ = [
    "AutoHDBSCAN",
    "ClusterResult",
    "Clusterer",
    "ClustererOutputs",
    "CumlHDBSCAN",
    "EVoCClusterer",
    "FastHDBSCAN",
    "SklearnHDBSCAN",
    "fit_clusterer",
    "glosh_outlier_scores",
    "input_space",
    "read_clusterer",
]

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
