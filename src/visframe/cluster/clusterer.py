"""What visframe reads from a clusterer: the `Clusterer` protocol and the one function that reads it.

Any scikit-learn-style clusterer works: `fit(X)` and `labels_` are all it must have. Everything
else is optional and read, when present, by `read_clusterer` alone (backends differ in what they
expose; nothing else in visframe looks for these attributes):

- `probabilities_`: soft membership in [0, 1] (absent: 1 for clustered points, 0 for noise);
- `outlier_scores_`: GLOSH scores (absent, or raising on access: NaN);
- a condensed tree: `condensed_tree_arrays_` (AutoHDBSCAN), `_condensed_tree` (fast_hdbscan and the
  adapters), `condensed_tree_` (hdbscan's `_raw_tree`, cuML's `to_numpy()`);
- `cluster_layers_`: the backend's own layers (PLSCAN, EVoC); `finer_layers_`: finer cuts of the
  same hierarchy (AutoHDBSCAN's smaller candidates);
- `selection_`: why the estimator chose its setting (AutoHDBSCAN's criterion per candidate);
  `candidates_`: the settings it tried, each with `min_cluster_size`, `n_clusters`, `largest_share`;
- the class attribute `input_space`: "reduced" (the default) or "raw" (it clusters the embedding
  vectors itself, e.g. EVoC).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

TREE_COLUMNS = ("parent", "child", "lambda_val", "child_size")
CondensedTreeArrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@runtime_checkable
class Clusterer(Protocol):
    """A scikit-learn-style clusterer; the optional attributes are listed in the module docstring."""

    labels_: Any

    def fit(self, X, y=None) -> Any: ...


@dataclass(frozen=True)
class ClustererOutputs:
    """A fitted clusterer's outputs as numpy arrays, None / empty where the backend has none."""

    labels: np.ndarray  # int64, -1 = noise
    probabilities: np.ndarray | None  # float64
    outlier_scores: np.ndarray | None  # float64
    condensed_tree: CondensedTreeArrays | None  # (parent, child, lambda_val, child_size)
    cluster_layers: list[np.ndarray] = field(default_factory=list)  # int64 each, the backend's order
    finer_layers: list[np.ndarray] = field(default_factory=list)  # int64 each, finest first
    selection: dict[str, float] = field(default_factory=dict)
    candidates: list[dict] = field(default_factory=list)


def to_numpy(values) -> np.ndarray:
    """A host numpy array (cuML returns device arrays; they convert through .get() / to_numpy())."""
    if hasattr(values, "to_numpy"):
        values = values.to_numpy()
    elif hasattr(values, "get"):
        values = values.get()
    return np.asarray(values)


def read_clusterer(estimator: Clusterer) -> ClustererOutputs:
    """Read a fitted clusterer into `ClustererOutputs`: the one place its optional attributes are
    looked up."""
    labels = to_numpy(estimator.labels_).astype(np.int64)
    probabilities = getattr(estimator, "probabilities_", None)
    try:
        outlier_scores = getattr(estimator, "outlier_scores_", None)
    except (AttributeError, ValueError, NotImplementedError):  # a property that cannot compute them
        outlier_scores = None
    return ClustererOutputs(
        labels=labels,
        probabilities=None if probabilities is None else to_numpy(probabilities).astype(np.float64),
        outlier_scores=None if outlier_scores is None else to_numpy(outlier_scores).astype(np.float64),
        condensed_tree=condensed_tree_arrays(estimator),
        cluster_layers=_layers(getattr(estimator, "cluster_layers_", None)),
        finer_layers=_layers(getattr(estimator, "finer_layers_", None)),
        selection=dict(getattr(estimator, "selection_", None) or {}),
        candidates=list(getattr(estimator, "candidates_", None) or []),
    )


def _layers(layers) -> list[np.ndarray]:
    """A list of int64 label arrays from a backend's layers (a list, or a 2-D array: one row a layer)."""
    return [] if layers is None else [to_numpy(layer).astype(np.int64) for layer in layers]


def condensed_tree_arrays(estimator) -> CondensedTreeArrays | None:
    """(parent, child, lambda_val, child_size) of a fitted estimator's condensed tree, if it has one."""
    tree = getattr(estimator, "condensed_tree_arrays_", None)
    if tree is None:
        tree = getattr(estimator, "_condensed_tree", None)  # fast_hdbscan and our adapters
    if tree is None and hasattr(estimator, "condensed_tree_"):
        try:  # hdbscan library (CondensedTree._raw_tree), cuML (to_numpy())
            condensed = estimator.condensed_tree_
            tree = getattr(condensed, "_raw_tree", None)
            if tree is None and hasattr(condensed, "to_numpy"):
                tree = condensed.to_numpy()
        except (AttributeError, ValueError, NotImplementedError):
            tree = None
    if tree is None:
        return None
    try:
        return tuple(np.asarray(tree[key]) for key in TREE_COLUMNS)
    except (KeyError, ValueError, IndexError, TypeError):
        return None


def input_space(estimator) -> str:
    """What an estimator clusters: "reduced" (the reducer's coordinates; any estimator that does not
    say) or "raw" (the embedding vectors, e.g. EVoC), from its class attribute `input_space`."""
    space = str(getattr(estimator, "input_space", "reduced"))
    if space not in ("reduced", "raw"):
        raise ValueError(f"{type(estimator).__name__}.input_space must be 'reduced' or 'raw', not {space!r}")
    return space
