"""Thin adapters that give every CPU HDBSCAN backend the same three outputs.

`fit_clusterer` reads `labels_`, `probabilities_` and `outlier_scores_`. The hdbscan library has all
three. These subclasses add only what is missing, and change nothing else: same parameters
(`get_params` is the parent's), same labels and probabilities as the library they wrap.

- `FastHDBSCAN` (fast_hdbscan.HDBSCAN): casts input to float64 (its numba kernels are compiled for
  float64; float32 input from the reduction cache fails or recompiles) and adds GLOSH
  `outlier_scores_` computed from its condensed tree.
- `SklearnHDBSCAN` (sklearn.cluster.HDBSCAN): adds GLOSH `outlier_scores_` from the condensed tree
  of its single-linkage tree. That condensation is a private scikit-learn function; if a future
  release moves it, the scores become NaN (documented in ARCHITECTURE: NaN = backend has none)
  rather than the fit failing.
"""

from __future__ import annotations

import logging

import fast_hdbscan
import numpy as np
import sklearn.cluster

from visframe.cluster.glosh import glosh_outlier_scores

log = logging.getLogger(__name__)


class FastHDBSCAN(fast_hdbscan.HDBSCAN):
    """fast_hdbscan.HDBSCAN with float64 input and GLOSH `outlier_scores_`."""

    def fit(self, X, y=None, sample_weight=None, **fit_params):
        X = np.ascontiguousarray(X, dtype=np.float64)
        super().fit(X, y, sample_weight=sample_weight, **fit_params)
        tree = self._condensed_tree
        scores = glosh_outlier_scores(tree["parent"], tree["child"], tree["lambda_val"])
        # The condensed tree names every point; a degenerate fit (< 2 points) has an empty tree.
        self.outlier_scores_ = (
            scores if len(scores) == len(self.labels_) else np.full(len(self.labels_), np.nan)
        )
        return self


class SklearnHDBSCAN(sklearn.cluster.HDBSCAN):
    """sklearn.cluster.HDBSCAN with GLOSH `outlier_scores_`."""

    def fit(self, X, y=None, **fit_params):
        super().fit(X, y, **fit_params)
        self.outlier_scores_ = self._glosh_scores(len(self.labels_))
        return self

    def _glosh_scores(self, n_points: int) -> np.ndarray:
        try:
            from sklearn.cluster._hdbscan._tree import _condense_tree

            tree = _condense_tree(self._single_linkage_tree_, self.min_cluster_size)
            scores = glosh_outlier_scores(tree["parent"], tree["child"], tree["value"])
        except (ImportError, AttributeError, KeyError, ValueError, TypeError) as error:
            log.warning("scikit-learn HDBSCAN: no GLOSH outlier scores (%s); writing NaN", error)
            return np.full(n_points, np.nan)
        return scores if len(scores) == n_points else np.full(n_points, np.nan)
