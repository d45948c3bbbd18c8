"""The `none` reducer: cluster the embeddings as they are."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin


class Identity(TransformerMixin, BaseEstimator):
    """Returns its input unchanged (as float32), so `reducer=none` needs no special case."""

    def fit(self, X, y=None):
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def transform(self, X):
        return np.asarray(X, dtype=np.float32)
