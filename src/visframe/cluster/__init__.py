"""Cluster: reduced coordinates → labels, membership probabilities and outlier scores.

Clusterers are scikit-learn-style estimators built from `_target_` (hdbscan.HDBSCAN,
fast_hdbscan.HDBSCAN, sklearn.cluster.HDBSCAN, cuml.cluster.hdbscan.HDBSCAN); `fit_clusterer`
reads their fitted attributes into one result, whatever the backend.
"""

from visframe.cluster.result import ClusterResult, fit_clusterer

__all__ = ["ClusterResult", "fit_clusterer"]
