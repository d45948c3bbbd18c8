"""`AutoHDBSCAN`: HDBSCAN whose `min_cluster_size` is chosen per collection, without labels.

A fixed `min_cluster_size: 50` (with `min_samples` = 50) suits a 2,000-image synthetic corpus and
collapses a real folder of ~100 images per theme into two giant clusters (issue 11). This estimator
builds HDBSCAN's hierarchy ONCE (the mutual-reachability MST and single-linkage tree depend on
`min_samples` only), then cuts it at several candidate `min_cluster_size` values, a fraction of n
each (`size_fractions`, floored at `min_size_floor`), and keeps the cut with the best relative
validity (DBCV over the MST, `visframe.cluster.validity`). Cutting a tree again costs a
few milliseconds, so the whole choice costs about one HDBSCAN fit (benchmarks/bench_quality.py).

Criterion (`criterion`): `persistence` (default) = the total persistence of the chosen clusters
(the sum of hdbscan's `cluster_persistence_`: each cluster's stability over its size and the
largest lambda, in [0, 1]) — how long, in density, the clusters of that cut survive; `dbcv` =
the relative validity. Measured on EfficientNet-Lite0 embeddings (experiments/real_collections):
with min_samples 5 over n × (0.5%, 1%, 2%, 4%), persistence reached 0.94 / 0.99 of the label-tuned
grid's best NMI on digits / tuxpaint, DBCV 0.92 / 0.93; the fixed min_cluster_size 50 of before, 0.67 / 0.71.
On the held-out openclipart set: 0.89 (43 clusters, largest 5%), where the fixed 50 gave 2 clusters,
one of 94%. The whole choice took 1.1-2.2x one HDBSCAN fit on the same reduction.
Why it chose what it chose is kept in `selection_` (the pipeline writes it to metrics.json).

Set `min_cluster_size` and nothing is chosen: it is then exactly `hdbscan.HDBSCAN` with those
parameters (`min_samples` None = `min_cluster_size`, the library's rule), so
`clusterer.min_cluster_size=40` gives the same labels as before this estimator existed.
"""

from __future__ import annotations

import logging

import hdbscan
import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin

from visframe.cluster.glosh import glosh_outlier_scores
from visframe.cluster.validity import mst_validity

log = logging.getLogger(__name__)


class AutoHDBSCAN(ClusterMixin, BaseEstimator):
    def __init__(
        self,
        min_cluster_size: int | None = None,
        min_samples: int | None = None,
        size_fractions: tuple[float, ...] = (0.005, 0.01, 0.02, 0.04),
        min_size_floor: int = 5,
        auto_min_samples: int = 5,
        criterion: str = "persistence",
        metric: str = "euclidean",
        cluster_selection_method: str = "eom",
        cluster_selection_epsilon: float = 0.0,
        allow_single_cluster: bool = False,
        core_dist_n_jobs: int = 2,
    ):
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.size_fractions = size_fractions
        self.min_size_floor = min_size_floor
        self.auto_min_samples = auto_min_samples
        self.criterion = criterion
        self.metric = metric
        self.cluster_selection_method = cluster_selection_method
        self.cluster_selection_epsilon = cluster_selection_epsilon
        self.allow_single_cluster = allow_single_cluster
        self.core_dist_n_jobs = core_dist_n_jobs

    def candidate_sizes(self, n: int) -> list[int]:
        """The `min_cluster_size` values tried for n points (ascending, distinct, at least 2)."""
        sizes = {max(int(self.min_size_floor), round(n * float(f))) for f in self.size_fractions}
        return sorted(s for s in sizes if 2 <= s < max(n, 3))

    def _hdbscan(self, min_cluster_size: int, min_samples: int | None, keep_mst: bool) -> hdbscan.HDBSCAN:
        return hdbscan.HDBSCAN(
            min_cluster_size=min_cluster_size,
            min_samples=min_samples,
            metric=self.metric,
            cluster_selection_method=self.cluster_selection_method,
            cluster_selection_epsilon=self.cluster_selection_epsilon,
            allow_single_cluster=self.allow_single_cluster,
            core_dist_n_jobs=self.core_dist_n_jobs,
            gen_min_span_tree=keep_mst,
        )

    def fit(self, X, y=None):
        if self.criterion not in ("persistence", "dbcv"):
            raise ValueError(f"AutoHDBSCAN criterion must be 'persistence' or 'dbcv', not {self.criterion!r}")
        X = np.asarray(X)
        n = len(X)
        if self.min_cluster_size is not None:  # the user's setting: plain HDBSCAN, nothing chosen
            model = self._hdbscan(int(self.min_cluster_size), self.min_samples, keep_mst=False).fit(X)
            self._take(model.labels_, model.probabilities_, model.condensed_tree_._raw_tree)
            self.selection_ = {
                "selected_min_cluster_size": float(self.min_cluster_size),
                "selection_candidates": 1.0,
            }
            self.candidates_, self.finer_layers_ = [], []
            return self
        min_samples = int(self.min_samples if self.min_samples is not None else self.auto_min_samples)
        sizes = self.candidate_sizes(n) or [max(2, min(int(self.min_size_floor), n - 1))]
        model = self._hdbscan(sizes[0], min(min_samples, max(1, n - 1)), keep_mst=True).fit(X)
        mst = model._min_spanning_tree
        linkage = model.single_linkage_tree_._linkage
        self.candidates_ = []
        best, cuts = None, []
        for size in sizes:
            labels, probabilities, tree, persistence = self._cut(X, linkage, size, model)
            cuts.append(labels)
            k = len(np.unique(labels[labels >= 0]))
            dbcv = mst_validity(mst, labels) if k >= 2 else float("nan")
            score = dbcv if self.criterion == "dbcv" else (persistence if k >= 2 else float("nan"))
            largest = float(np.bincount(labels[labels >= 0]).max() / n) if k else 1.0
            self.candidates_.append(
                {
                    "min_cluster_size": size,
                    "n_clusters": k,
                    "noise_fraction": float(np.mean(labels < 0)),
                    "largest_share": largest,
                    "dbcv": dbcv,
                    "persistence": persistence,
                }
            )
            if np.isfinite(score) and (best is None or score > best[0]):
                best = (score, size, labels, probabilities, tree)
        if best is None:  # no cut has two clusters: keep the smallest size's result
            labels, probabilities, tree, _ = self._cut(X, linkage, sizes[0], model)
            best = (float("nan"), sizes[0], labels, probabilities, tree)
        score, size, labels, probabilities, tree = best
        self._take(labels, probabilities, tree)
        # Smaller sizes' cuts with at least twice as many clusters: finer layers (finest first).
        self.finer_layers_, last = (
            [],
            self.candidates_[[c["min_cluster_size"] for c in self.candidates_].index(size)]["n_clusters"],
        )
        for candidate, cut in sorted(
            zip(self.candidates_, cuts), key=lambda pair: -pair[0]["min_cluster_size"]
        ):
            if candidate["min_cluster_size"] < size and candidate["n_clusters"] >= 2 * last:
                self.finer_layers_.insert(0, cut)
                last = candidate["n_clusters"]
        self.selection_ = {
            "selected_min_cluster_size": float(size),
            "selected_min_samples": float(min_samples),
            f"selection_{self.criterion}": float(score),
            "selection_candidates": float(len(sizes)),
            **{f"selection_dbcv_mcs{c['min_cluster_size']}": float(c["dbcv"]) for c in self.candidates_},
            **{
                f"selection_persistence_mcs{c['min_cluster_size']}": float(c["persistence"])
                for c in self.candidates_
            },
        }
        log.info(
            "AutoHDBSCAN: min_cluster_size=%d chosen by %s among %s",
            size,
            self.criterion,
            [(c["min_cluster_size"], round(c[self.criterion], 3)) for c in self.candidates_],
        )
        return self

    def as_hdbscan(self, **params) -> hdbscan.HDBSCAN:
        """An unfitted `hdbscan.HDBSCAN` with the min_cluster_size and min_samples this fit chose:
        fitted on the same points it gives this cut's labels, and hdbscan's own out-of-sample
        methods (`approximate_predict` with `prediction_data=True`, used by scale=sample_fit)."""
        if not hasattr(self, "selection_"):
            raise ValueError("AutoHDBSCAN.as_hdbscan() needs a fitted estimator: call fit first")
        size = int(self.selection_["selected_min_cluster_size"])
        chosen_samples = self.selection_.get("selected_min_samples")
        min_samples = int(chosen_samples) if chosen_samples is not None else self.min_samples
        return self._hdbscan(size, min_samples, keep_mst=False).set_params(**params)

    def _cut(self, X, linkage, size: int, model):
        try:
            from hdbscan.hdbscan_ import _tree_to_labels

            labels, probabilities, persistence, tree, _ = _tree_to_labels(
                X,
                linkage,
                size,
                self.cluster_selection_method,
                self.allow_single_cluster,
                False,
                self.cluster_selection_epsilon,
            )
        except ImportError:  # a future hdbscan without the private helper: refit (slower, same result)
            refit = self._hdbscan(size, model.min_samples, keep_mst=False).fit(X)
            labels, probabilities, tree = refit.labels_, refit.probabilities_, refit.condensed_tree_._raw_tree
            persistence = refit.cluster_persistence_
        total = float(np.sum(persistence)) if len(persistence) else 0.0
        return np.asarray(labels, dtype=np.int64), np.asarray(probabilities, dtype=np.float64), tree, total

    def _take(self, labels, probabilities, tree) -> None:
        self.labels_ = np.asarray(labels, dtype=np.int64)
        self.probabilities_ = np.asarray(probabilities, dtype=np.float64)
        self.condensed_tree_arrays_ = {
            k: np.asarray(tree[k]) for k in ("parent", "child", "lambda_val", "child_size")
        }
        scores = glosh_outlier_scores(tree["parent"], tree["child"], tree["lambda_val"])
        self.outlier_scores_ = (
            scores if len(scores) == len(self.labels_) else np.full(len(self.labels_), np.nan)
        )
