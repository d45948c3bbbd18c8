"""One result type for every clustering backend: labels, layers coarse to fine, soft noise, and why.

`fit_clusterer(estimator, X)` fits any scikit-learn-style clusterer and reads back:
- `labels`, `probabilities`, `outlier_scores` (as before);
- `layers` (finest first) with `chosen_layer` (whose labels are `labels`, exactly): from the
  condensed tree when the backend has one (hdbscan, fast_hdbscan, cuML, AutoHDBSCAN), from its own
  `cluster_layers_` (PLSCAN, EVoC) made to nest, else the one layer;
- `nearest_cluster` / `nearest_cluster_strength` for noise points (a kNN vote, visframe.cluster.noise);
- `selection`: why the estimator chose its setting (AutoHDBSCAN's DBCV per candidate), for metrics.json.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from visframe import contracts as C
from visframe.cluster.layers import (
    CondensedTree,
    giant_cluster_notes,
    layer_tree,
    nest_layers,
    tree_arrays,
    tree_layers,
)
from visframe.cluster.noise import DEFAULT_NEIGHBORS, nearest_clusters

MAX_FINER_LAYERS = 3    # steps down the condensed tree below the chosen clusters (towards the leaves)
MAX_COARSER_LAYERS = 3  # steps up (towards the first split)


@dataclass
class ClusterResult:
    labels: np.ndarray          # int64, -1 = noise
    probabilities: np.ndarray   # float64 in [0, 1]; 0 for noise
    outlier_scores: np.ndarray  # float64 GLOSH scores, NaN where the backend gives none
    seconds: float
    layers: list[np.ndarray] = field(default_factory=list)  # finest first; layers[chosen_layer] is labels
    chosen_layer: int = 0
    nearest_cluster: np.ndarray | None = None           # int64: noise → its nearest cluster; else its own
    nearest_cluster_strength: np.ndarray | None = None  # float64 in (0, 1] for noise; NaN for clustered
    selection: dict[str, float] = field(default_factory=dict)
    layers_relabelled_share: float = 0.0  # share of layer labels moved to make a backend's layers nest

    def __post_init__(self):
        if not self.layers:
            self.layers = [self.labels]
            self.chosen_layer = 0

    @property
    def n_clusters(self) -> int:
        return len(set(self.labels.tolist()) - {C.NOISE})

    def take(self, rows: np.ndarray) -> ClusterResult:
        """The result for `rows` (e.g. every post row mapped to its clustered point)."""
        pick = (lambda a: None if a is None else a[rows])
        return ClusterResult(
            self.labels[rows], self.probabilities[rows], self.outlier_scores[rows], self.seconds,
            [layer[rows] for layer in self.layers], self.chosen_layer,
            pick(self.nearest_cluster), pick(self.nearest_cluster_strength), dict(self.selection), self.layers_relabelled_share,
        )

    def tree(self) -> pd.DataFrame:
        """contracts.CLUSTER_TREE: which cluster of layer i lies in which of layer i+1 (sizes in rows)."""
        return layer_tree(self.layers)

    def assignment_columns(self) -> dict[str, np.ndarray]:
        """The extra assignments columns: one per layer, and the nearest cluster of noise points."""
        columns = {C.layer_column(i): layer.astype("int64") for i, layer in enumerate(self.layers)}
        if self.nearest_cluster is not None:
            columns[C.NEAREST_CLUSTER] = self.nearest_cluster.astype("int64")
            columns[C.NEAREST_CLUSTER_STRENGTH] = self.nearest_cluster_strength.astype("float64")
        return columns

    def giant_clusters(self, max_share: float = 0.5) -> list[dict]:
        """Clusters over `max_share` of the points, each with the finer layer that splits it (or None)."""
        return giant_cluster_notes(self.layers, self.chosen_layer, max_share)

    def giant_cluster_warnings(self, max_share: float = 0.5) -> list[str]:
        """Computed sentences: which layer column (and setting, when known) splits each giant cluster."""
        found = []
        smaller = self.selection.get("split_min_cluster_size")
        for note in self.giant_clusters(max_share):
            text = f"Cluster {note[C.CLUSTER]} holds {note['share']:.0%} of the images (> {max_share:.0%})."
            if note["layer"] is not None:
                text += (
                    f" The finer layer {C.layer_column(note['layer'])} splits it into {note['parts']} clusters"
                    f" (largest {note['largest_part_share']:.0%}): see that column of assignments.parquet and"
                    " the cluster tree in the report."
                )
            else:
                text += " No finer layer of this hierarchy splits it: its images are one dense region here; try another model."
            if smaller:
                text += f" Setting clusterer.min_cluster_size={int(smaller)} also splits it."
            found.append(text)
        return found

    def metrics(self) -> dict[str, float]:
        """For metrics.json: the selection criterion's values and the layers' shape."""
        values = {k: float(v) for k, v in self.selection.items()}
        values["n_layers"] = float(len(self.layers))
        values["chosen_layer"] = float(self.chosen_layer)
        for i, layer in enumerate(self.layers):
            values[f"{C.layer_column(i)}_n_clusters"] = float(len(set(layer.tolist()) - {C.NOISE}))
        values["layers_relabelled_share"] = float(self.layers_relabelled_share)
        return values


def _to_numpy(values) -> np.ndarray:
    # cuML returns device arrays; they convert through .get() / to_numpy()
    if hasattr(values, "to_numpy"):
        values = values.to_numpy()
    elif hasattr(values, "get"):
        values = values.get()
    return np.asarray(values)


def _layers_of(clusterer, labels: np.ndarray) -> tuple[list[np.ndarray], int, float]:
    arrays = tree_arrays(clusterer)
    if arrays is not None and arrays[0].size:
        tree = CondensedTree(*arrays, n_points=len(labels))
        layers, chosen = tree_layers(tree, labels, MAX_FINER_LAYERS, MAX_COARSER_LAYERS)
        finer = [_to_numpy(layer).astype(np.int64) for layer in (getattr(clusterer, "finer_layers_", None) or [])]
        if chosen == 0 and finer:
            # The chosen clusters are leaves of their tree: finer layers come from smaller settings'
            # cuts of the same hierarchy (AutoHDBSCAN's candidates), made to nest below the chosen one.
            finer = finer[-MAX_FINER_LAYERS:]
            nested, moved = nest_layers([*finer, *layers], keep=len(finer))
            return nested, len(finer), moved
        return layers, chosen, 0.0
    own = getattr(clusterer, "cluster_layers_", None)
    if own is not None and len(own) > 1:
        own = [_to_numpy(layer).astype(np.int64) for layer in own]
        own = sorted(own, key=lambda layer: -len(set(layer.tolist()) - {C.NOISE}))  # finest first
        same = [i for i, layer in enumerate(own) if np.array_equal(layer, labels)]
        if not same:
            own.append(labels)
            own = sorted(own, key=lambda layer: -len(set(layer.tolist()) - {C.NOISE}))
            same = [i for i, layer in enumerate(own) if layer is labels]
        nested, moved = nest_layers(own, keep=same[0])
        return nested, same[0], moved
    return [labels], 0, 0.0


def fit_clusterer(clusterer, coordinates: np.ndarray, noise_neighbors: int = DEFAULT_NEIGHBORS) -> ClusterResult:
    """Fit `clusterer` on `coordinates`; collect labels, probabilities, outlier scores, layers,
    the nearest cluster of every noise point, and the estimator's `selection_` (if any)."""
    started = time.perf_counter()
    clusterer.fit(coordinates)
    seconds = time.perf_counter() - started
    labels = _to_numpy(clusterer.labels_).astype(np.int64)
    probabilities = getattr(clusterer, "probabilities_", None)
    if probabilities is None:
        # A backend without soft membership: full membership for clustered points, none for noise.
        probabilities = (labels >= 0).astype(np.float64)
    probabilities = _to_numpy(probabilities).astype(np.float64)
    try:
        outlier_scores = getattr(clusterer, "outlier_scores_", None)
    except (AttributeError, ValueError, NotImplementedError):
        outlier_scores = None
    if outlier_scores is None:
        outlier_scores = np.full(labels.shape, np.nan)
    outlier_scores = _to_numpy(outlier_scores).astype(np.float64)
    layers, chosen, moved = _layers_of(clusterer, labels)
    nearest, strength = nearest_clusters(np.asarray(coordinates), labels, noise_neighbors)
    selection = dict(getattr(clusterer, "selection_", None) or {})
    giant = giant_cluster_notes(layers, chosen)
    candidates = getattr(clusterer, "candidates_", None) or []
    for note in giant:  # a candidate setting with no cluster over half the images, when one was tried
        splitting = [c for c in candidates if c.get("largest_share", 1.0) <= 0.5 and c.get("n_clusters", 0) > 2]
        if splitting:
            selection["split_min_cluster_size"] = float(max(c["min_cluster_size"] for c in splitting))
    return ClusterResult(labels, probabilities, outlier_scores, seconds, layers, chosen, nearest, strength, selection, moved)
