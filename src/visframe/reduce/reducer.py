"""`Reducer`: the configured reducer, plus what visframe adds to a UMAP fit, as one estimator.

A reducer config names a scikit-learn-style estimator (`umap.UMAP`, `cuml.manifold.UMAP`, sklearn
`PCA`, `visframe.reduce.Identity`) and may carry visframe's own blocks, never passed to it:

    knn:                     # one neighbour graph for every UMAP of a run (visframe.reduce.knn)
      shared: true
      pca_components: null
      n_jobs: 2
    epoch_budget:            # epochs × points bounded at large n (visframe.reduce.epochs)
      point_epochs: 4000000
      min_epochs: 80
    init_from_reduction: true   # (the map) start from the clustering reduction's layout

`ReducerConfig.parse` splits a config into the estimator and those blocks. `Reducer(estimator,
knn_graph, epoch_budget, init)` fits a copy of `estimator` (scikit-learn's `clone`) after adding only
what applies to it: the shared graph to a umap-learn UMAP (`precomputed_knn`), the budgeted epochs to
an estimator with `n_epochs`, the starting layout to one with `init`. PCA and Identity fit as they
are; cuML's UMAP gets the budget and the layout. `get_params` / `set_params` work as for any
scikit-learn meta-estimator (`estimator__n_neighbors=…`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from sklearn.base import BaseEstimator, TransformerMixin, clone

from visframe.errors import ConfigError
from visframe.reduce.epochs import EPOCHS_OPTION, apply_epoch_budget
from visframe.reduce.knn import KnnGraph

KNN_OPTIONS = "knn"  # the reducer config's own block, never passed to the estimator
INIT_OPTION = "init_from_reduction"  # the map's own flag: start from the clustering reduction's layout
VISFRAME_OPTIONS = (KNN_OPTIONS, INIT_OPTION, EPOCHS_OPTION)

# A neighbour graph as umap-learn takes it: (indices, distances) or (indices, distances, search index).
Graph = tuple
GraphSource = KnnGraph | Graph | Callable[[], KnnGraph | Graph] | None


_FIX_SETTING = (
    "change the setting named above in the reducer config that set it (reducer.…, map_reducer.… or "
    "messages.reducer.…), e.g. visframe reducer.n_components=5"
)


def _describe(model) -> str:
    return f"{type(model).__name__}(n_components={model.get_params().get('n_components')})"


def check_n_components(model, shape: tuple[int, int]) -> None:
    """Refuse, before any work, an `n_components` the vectors cannot give: more than their dimensions,
    and for a linear decomposition (PCA, TruncatedSVD) more than min(rows, dimensions), which
    scikit-learn would otherwise refuse mid-run with a traceback."""
    n_components = model.get_params().get("n_components")
    if not isinstance(n_components, int | np.integer) or isinstance(n_components, bool):
        return  # None, "mle", a float variance fraction: the estimator decides
    n_rows, n_dims = int(shape[0]), int(shape[1])
    linear = type(model).__module__.startswith("sklearn.decomposition")
    limit = min(n_rows, n_dims) if linear else n_dims
    if n_components > limit:
        bound = f"min(rows, dimensions) = min({n_rows}, {n_dims})" if linear else f"the {n_dims} dimensions"
        raise ConfigError(
            f"reducer {_describe(model)}: n_components={n_components} is more than {bound} of the "
            "vectors it reduces",
            fix=f"set n_components ≤ {limit}; {_FIX_SETTING}",
        )


def as_dict(cfg: DictConfig | dict | None) -> dict:
    """A resolved plain copy of a config section."""
    if cfg is None:
        return {}
    if isinstance(cfg, DictConfig):
        return OmegaConf.to_container(cfg, resolve=True)
    return dict(cfg)


@dataclass(frozen=True)
class ReducerConfig:
    """A reducer config split into the estimator's parameters and visframe's own blocks."""

    resolved: dict  # the whole resolved config (what the reduction cache key hashes)
    estimator: dict  # `_target_` and the estimator's parameters
    knn: dict  # the `knn` block ({} when absent)
    epoch_budget: dict | None
    init_from_reduction: bool

    @classmethod
    def parse(cls, cfg: DictConfig | dict) -> ReducerConfig:
        resolved = as_dict(cfg)
        estimator = {k: v for k, v in resolved.items() if k not in VISFRAME_OPTIONS}
        return cls(
            resolved,
            estimator,
            dict(resolved.get(KNN_OPTIONS) or {}),
            resolved.get(EPOCHS_OPTION),
            bool(resolved.get(INIT_OPTION, False)),
        )

    @property
    def shares_knn(self) -> bool:
        return bool(self.knn.get("shared", False))

    @property
    def knn_threads(self) -> int:
        return int(self.knn.get("n_jobs") or 1)

    def build(self):
        """A new, unfitted estimator of the config's `_target_`."""
        return instantiate(self.estimator)


def is_umap_learn(estimator) -> bool:
    """umap-learn's UMAP (the one that takes `precomputed_knn`), not cuML's."""
    return type(estimator).__module__.split(".")[0] == "umap" and "precomputed_knn" in estimator.get_params()


def initial_layout(init_from: np.ndarray, n_components: int) -> np.ndarray:
    """The first `n_components` principal axes of `init_from` (UMAP rescales any init to [0, 10])."""
    from sklearn.decomposition import PCA

    points = np.asarray(init_from, dtype=np.float64)
    if points.shape[1] <= n_components:
        return points[:, :n_components].astype(np.float32)
    return PCA(n_components=n_components, random_state=0).fit_transform(points).astype(np.float32)


class Reducer(TransformerMixin, BaseEstimator):
    """The configured reducer with a shared kNN graph, an epoch budget and a starting layout.

    - `estimator`: the unfitted reducer (never fitted itself: a clone is, kept as `estimator_`);
    - `knn_graph`: the neighbour graph of the rows `fit` gets, for a umap-learn UMAP: a `KnnGraph`,
      umap's `(indices, distances[, search index])` (`transform` needs the index), or a function of
      no arguments giving one, called only when fitting (so a cached reduction never reads a graph);
    - `epoch_budget`: the config's `epoch_budget` block, applied at the number of rows fitted;
    - `init`: coordinates of the same rows (the 5-d reduction) whose first principal axes start the
      optimisation, for an estimator with `init`.

    After `fit`: `estimator_`, `embedding_` (float32), `n_epochs_` (None: the estimator's own),
    `knn_seconds_` (time the graph source spent computing; 0 when it was read or remembered).
    """

    def __init__(
        self,
        estimator=None,
        knn_graph: GraphSource = None,
        epoch_budget: dict | None = None,
        init: np.ndarray | None = None,
    ):
        self.estimator = estimator
        self.knn_graph = knn_graph
        self.epoch_budget = epoch_budget
        self.init = init

    def fit(self, X, y=None):
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X, y=None) -> np.ndarray:
        if self.estimator is None:
            raise ValueError("Reducer needs an estimator, e.g. Reducer(umap.UMAP(n_components=5))")
        model = clone(self.estimator)
        check_n_components(model, X.shape)
        self.n_epochs_ = apply_epoch_budget(model, self.epoch_budget, len(X))
        self.knn_seconds_ = self._give_graph(model, len(X))
        if self.init is not None and "init" in model.get_params():
            model.set_params(init=initial_layout(self.init, int(model.get_params()["n_components"])))
        with warnings.catch_warnings():
            # umap-learn warns on every seeded fit that it runs single-threaded: that is our documented
            # choice (reducer.random_state=null for the parallel path), not news to the user each run;
            # and that a graph without its search index cannot `transform` (the full path never does).
            warnings.filterwarnings("ignore", message="n_jobs value .* overridden", category=UserWarning)
            warnings.filterwarnings("ignore", message=r"precomputed_knn\[2\]", category=UserWarning)
            try:
                coordinates = model.fit_transform(self._fit_input(model, X))
            except ValueError as error:  # a setting the estimator refuses: one line and the fix, exit 2
                raise ConfigError(
                    f"reducer {_describe(model)} cannot reduce {X.shape[0]} × {X.shape[1]} vectors: {error}",
                    fix=_FIX_SETTING,
                ) from error
        self.estimator_ = model
        self.embedding_ = np.asarray(coordinates, dtype=np.float32)
        return self.embedding_

    def transform(self, X) -> np.ndarray:
        """New rows placed in the fitted layout (umap-learn: needs the graph's search index)."""
        if not hasattr(self, "estimator_"):
            raise ValueError("Reducer.transform needs a fitted reducer: call fit first")
        return np.asarray(self.estimator_.transform(X), dtype=np.float32)

    def _give_graph(self, model, n_rows: int) -> float:
        """Hand a umap-learn UMAP the shared graph; seconds spent computing it (0 if read or reused)."""
        if self.knn_graph is None or not is_umap_learn(model):
            return 0.0
        if n_rows <= int(model.get_params()["n_neighbors"]) + 1:
            return 0.0  # UMAP shrinks n_neighbors itself on tiny inputs
        graph = self.knn_graph() if callable(self.knn_graph) else self.knn_graph
        seconds = graph.seconds if isinstance(graph, KnnGraph) else 0.0
        model.set_params(
            precomputed_knn=graph.as_precomputed() if isinstance(graph, KnnGraph) else tuple(graph)
        )
        return seconds

    def _fit_input(self, model, X) -> np.ndarray:
        """What the estimator is fitted on. Given the shared kNN graph and a starting layout, umap-learn
        reads its data only for the number of rows, yet copies it (`X[index]` with a list of every row,
        three times) and hashes it: 2.6 s of a 9.1 s map at 100,000 × 512. The starting coordinates
        (same rows, 5 columns) then stand in for the vectors: the same map (tested), without the copies.
        Not when the graph carries its search index: that model will `transform`, which needs the data."""
        if self.init is None or not is_umap_learn(model):
            return X
        params = model.get_params()
        graph = params.get("precomputed_knn")
        if graph is None or graph[0] is None or not isinstance(params.get("init"), np.ndarray):
            return X
        if len(graph) > 2 and graph[2] is not None:
            return X
        return np.ascontiguousarray(self.init, dtype=np.float32)


__all__ = [
    "INIT_OPTION",
    "KNN_OPTIONS",
    "VISFRAME_OPTIONS",
    "Reducer",
    "ReducerConfig",
    "as_dict",
    "initial_layout",
    "is_umap_learn",
]
