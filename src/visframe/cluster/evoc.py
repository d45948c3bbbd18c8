"""EVoC (Embedding Vector Oriented Clustering, the `evoc` package): experimental, not the default.

EVoC clusters the RAW embedding vectors itself (a kNN graph, a node embedding, then HDBSCAN-like
density clustering), so it must not get the UMAP coordinates. An estimator says which space it
wants with the class attribute `input_space` ("reduced", the default for any estimator without
it, or "raw"); `visframe.cluster.input_space(estimator)` reads it and the pipeline passes the
raw vectors to such an estimator. EVoC's own `cluster_layers_` become visframe's layers (made to
nest, see visframe.cluster.layers.nest_layers) and `membership_strengths_` its probabilities.
EVoC is beta upstream; make bench-cluster compares it with the default on the same data.
"""

from __future__ import annotations

import numpy as np

from visframe.utils.extras import import_extra

try:
    from evoc import EVoC as _Base
except ImportError:

    class _Base:
        """Stands in for evoc.EVoC where it is not installed: the config still composes, and building
        the estimator stops with the pip line (a MissingExtraError) instead of a TypeError."""

        def __init__(self, **params):
            import_extra(
                "evoc",
                extra="experimental",
                option="clusterer=evoc",
                instead="the default clusterer (clusterer=auto_hdbscan)",
            )


class EVoCClusterer(_Base):
    """evoc.EVoC with `probabilities_` and visframe's `input_space = "raw"`."""

    input_space = "raw"

    def fit(self, X, y=None, **kwargs):
        super().fit(np.ascontiguousarray(X, dtype=np.float32), y, **kwargs)
        self.labels_ = np.asarray(self.labels_, dtype=np.int64)
        self.probabilities_ = np.asarray(self.membership_strengths_, dtype=np.float64)
        return self
