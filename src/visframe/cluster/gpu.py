"""cuML's HDBSCAN with the outputs every visframe clusterer has (needs the `gpu` extra, cuml-cu13).

cuML's estimator gives `labels_` and `probabilities_` (device or host arrays) but no GLOSH
`outlier_scores_`. `CumlHDBSCAN` builds `cuml.cluster.hdbscan.HDBSCAN` with `output_type="numpy"`
and adds the scores from its condensed tree (`condensed_tree_.to_numpy()`, the hdbscan library's
layout), with the same numpy GLOSH as the CPU adapters. cuML is imported only when it is fitted, so
the config can be composed, validated and instantiated anywhere; without cuML, `fit` raises
`visframe.utils.extras.MissingExtraError` with the pip line.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin

from visframe.cluster.glosh import glosh_outlier_scores
from visframe.utils.extras import import_extra

_CUML_MODULE = "cuml.cluster.hdbscan"


class CumlHDBSCAN(ClusterMixin, BaseEstimator):
    def __init__(
        self,
        min_cluster_size: int = 5,
        min_samples: int | None = None,
        metric: str = "euclidean",
        cluster_selection_method: str = "eom",
        cluster_selection_epsilon: float = 0.0,
        allow_single_cluster: bool = False,
        prediction_data: bool = True,
        build_algo: str = "brute_force",
    ):
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.metric = metric
        self.cluster_selection_method = cluster_selection_method
        self.cluster_selection_epsilon = cluster_selection_epsilon
        self.allow_single_cluster = allow_single_cluster
        self.prediction_data = prediction_data
        self.build_algo = build_algo

    def _backend_class(self):
        return import_extra(
            _CUML_MODULE,
            extra="gpu",
            option="clusterer=hdbscan_gpu",
            needs="cuML (cuml-cu13) and an NVIDIA GPU",
            instead="a CPU clusterer (clusterer=auto_hdbscan, fast_hdbscan or hdbscan)",
        ).HDBSCAN

    def fit(self, X, y=None):
        model = self._backend_class()(**self.get_params(), output_type="numpy")
        # cuML computes in float32 on the device.
        model.fit(np.ascontiguousarray(X, dtype=np.float32))
        self.model_ = model
        self.labels_ = np.asarray(model.labels_).astype(np.int64)
        self.probabilities_ = np.asarray(model.probabilities_, dtype=np.float64)
        tree = model.condensed_tree_.to_numpy()
        scores = glosh_outlier_scores(tree["parent"], tree["child"], tree["lambda_val"])
        self.outlier_scores_ = (
            scores if len(scores) == len(self.labels_) else np.full(len(self.labels_), np.nan)
        )
        return self
