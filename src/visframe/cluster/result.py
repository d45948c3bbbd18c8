"""One result type for every clustering backend: labels, layers coarse to fine, soft noise, and why.

`fit_clusterer(estimator, X)` fits any scikit-learn-style clusterer (`visframe.cluster.clusterer.Clusterer`),
reads it with `read_clusterer` and makes:
- `labels`, `probabilities`, `outlier_scores` (as before);
- `layers` (finest first) with `chosen_layer` (whose labels are `labels`, exactly): from the
  condensed tree when the backend has one (hdbscan, fast_hdbscan, cuML, AutoHDBSCAN), from its own
  `cluster_layers_` (PLSCAN, EVoC) made to nest, else the one layer;
- `nearest_cluster` / `nearest_cluster_strength` for noise points (a kNN vote, visframe.cluster.noise);
- `selection`: why the estimator chose its setting (AutoHDBSCAN's DBCV per candidate), for metrics.json.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from visframe import contracts as C
from visframe.cluster.clusterer import Clusterer, ClustererOutputs, read_clusterer
from visframe.cluster.layers import CondensedTree, giant_cluster_notes, layer_tree, nest_layers, tree_layers
from visframe.cluster.noise import DEFAULT_NEIGHBORS, nearest_clusters

MAX_FINER_LAYERS = 3  # steps down the condensed tree below the chosen clusters (towards the leaves)
MAX_COARSER_LAYERS = 3  # steps up (towards the first split)


@dataclass(frozen=True)
class ClusterResult:
    labels: np.ndarray  # int64, -1 = noise
    probabilities: np.ndarray  # float64 in [0, 1]; 0 for noise
    outlier_scores: np.ndarray  # float64 GLOSH scores, NaN where the backend gives none
    seconds: float
    layers: list[np.ndarray] = field(default_factory=list)  # finest first; layers[chosen_layer] is labels
    chosen_layer: int = 0
    nearest_cluster: np.ndarray | None = None  # int64: noise → its nearest cluster; else its own
    nearest_cluster_strength: np.ndarray | None = None  # float64 in (0, 1] for noise; NaN for clustered
    selection: dict[str, float] = field(default_factory=dict)
    layers_relabelled_share: float = 0.0  # share of layer labels moved to make a backend's layers nest

    def __post_init__(self):
        if not self.layers:  # one layer: the labels (frozen, so set the way dataclasses do)
            object.__setattr__(self, "layers", [self.labels])
            object.__setattr__(self, "chosen_layer", 0)

    @property
    def n_clusters(self) -> int:
        return len(set(self.labels.tolist()) - {C.NOISE})

    def take(self, rows: np.ndarray) -> ClusterResult:
        """The result for `rows` (e.g. every post row mapped to its clustered point)."""
        pick = lambda a: None if a is None else a[rows]
        return replace(
            self,
            labels=self.labels[rows],
            probabilities=self.probabilities[rows],
            outlier_scores=self.outlier_scores[rows],
            layers=[layer[rows] for layer in self.layers],
            nearest_cluster=pick(self.nearest_cluster),
            nearest_cluster_strength=pick(self.nearest_cluster_strength),
            selection=dict(self.selection),
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
                    f" The finer layer {C.layer_column(note['layer'])} splits it into "
                    f"{note['parts']} clusters"
                    f" (largest {note['largest_part_share']:.0%}): see that column of assignments.parquet and"
                    " the cluster tree in the report."
                )
            else:
                text += (
                    " No finer layer of this hierarchy splits it: its images are one dense region here; "
                    "try another model."
                )
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


def _layers_of(fitted: ClustererOutputs) -> tuple[list[np.ndarray], int, float]:
    labels = fitted.labels
    if fitted.condensed_tree is not None and fitted.condensed_tree[0].size:
        tree = CondensedTree(*fitted.condensed_tree, n_points=len(labels))
        layers, chosen = tree_layers(tree, labels, MAX_FINER_LAYERS, MAX_COARSER_LAYERS)
        if chosen == 0 and fitted.finer_layers:
            # The chosen clusters are leaves of their tree: finer layers come from smaller settings'
            # cuts of the same hierarchy (AutoHDBSCAN's candidates), made to nest below the chosen one.
            finer = fitted.finer_layers[-MAX_FINER_LAYERS:]
            nested, moved = nest_layers([*finer, *layers], keep=len(finer))
            return nested, len(finer), moved
        return layers, chosen, 0.0
    own = fitted.cluster_layers
    if len(own) > 1:
        own = sorted(own, key=lambda layer: -len(set(layer.tolist()) - {C.NOISE}))  # finest first
        same = [i for i, layer in enumerate(own) if np.array_equal(layer, labels)]
        if not same:
            own.append(labels)
            own = sorted(own, key=lambda layer: -len(set(layer.tolist()) - {C.NOISE}))
            same = [i for i, layer in enumerate(own) if layer is labels]
        nested, moved = nest_layers(own, keep=same[0])
        return nested, same[0], moved
    return [labels], 0, 0.0


def _split_setting(fitted: ClustererOutputs, layers: list[np.ndarray], chosen: int) -> dict[str, float]:
    """A candidate setting with no cluster over half the images, when the chosen one has such a cluster."""
    splitting = [
        c for c in fitted.candidates if c.get("largest_share", 1.0) <= 0.5 and c.get("n_clusters", 0) > 2
    ]
    if splitting and giant_cluster_notes(layers, chosen):
        return {"split_min_cluster_size": float(max(c["min_cluster_size"] for c in splitting))}
    return {}


def fit_clusterer(
    clusterer: Clusterer, coordinates: np.ndarray, noise_neighbors: int = DEFAULT_NEIGHBORS
) -> ClusterResult:
    """Fit `clusterer` on `coordinates`; collect labels, probabilities, outlier scores, layers,
    the nearest cluster of every noise point, and the estimator's `selection_` (if any)."""
    started = time.perf_counter()
    clusterer.fit(coordinates)
    seconds = time.perf_counter() - started
    fitted = read_clusterer(clusterer)
    labels = fitted.labels
    # A backend without soft membership: full membership for clustered points, none for noise.
    probabilities = (
        fitted.probabilities if fitted.probabilities is not None else (labels >= 0).astype(np.float64)
    )
    outlier_scores = (
        fitted.outlier_scores if fitted.outlier_scores is not None else np.full(labels.shape, np.nan)
    )
    layers, chosen, moved = _layers_of(fitted)
    nearest, strength = nearest_clusters(np.asarray(coordinates), labels, noise_neighbors)
    selection = {**fitted.selection, **_split_setting(fitted, layers, chosen)}
    return ClusterResult(
        labels, probabilities, outlier_scores, seconds, layers, chosen, nearest, strength, selection, moved
    )
