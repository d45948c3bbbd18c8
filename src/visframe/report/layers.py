"""The cluster layers in the report: which clusters merge into which, and giant clusters opened up.

`write_layer_report(tree, layers, out_dir, chosen_layer)` reads the run's cluster tree
(contracts.CLUSTER_TREE, as `ClusterResult.tree()` gives and cluster_tree.parquet stores) and
the layer label arrays (finest first: the assignments' `cluster_layer_<i>` columns), and writes
- `cluster_tree.png`: one column of nodes per layer, finest on the left, each node sized by its
  images, a line from every cluster to the coarser cluster it lies in; the chosen layer in colour;
- `giant_clusters_opened.csv`: every cluster of the chosen layer over `max_share` of the images,
  with its sub-clusters in each finer layer (size and share), so a reader sees what it mixes.
It returns the files it wrote. It reads data only: no model, no clustering.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from visframe import contracts as C
from visframe.utils.csv_safe import to_csv_safe

TREE_FIGURE = "cluster_tree.png"
GIANT_TABLE = "giant_clusters_opened.csv"
SHARE = "share"
SUB_LAYER = "sub_layer"
SUB_CLUSTER = "sub_cluster"


def _as_list(layers: Sequence[np.ndarray] | Mapping[str, np.ndarray] | pd.DataFrame) -> list[np.ndarray]:
    if isinstance(layers, pd.DataFrame):
        return [layers[c].to_numpy() for c in C.layer_columns(layers.columns)]
    if isinstance(layers, Mapping):
        return [np.asarray(layers[c]) for c in C.layer_columns(layers.keys())]
    return [np.asarray(layer) for layer in layers]


def _positions(tree: pd.DataFrame, n_layers: int) -> dict[tuple[int, int], float]:
    """y of every (layer, cluster): leaves in the order of a walk down from the coarsest layer;
    a parent at the mean of its children."""
    children: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for row in tree.itertuples(index=False):
        key = (int(getattr(row, C.PARENT_LAYER)), int(getattr(row, C.PARENT_CLUSTER)))
        children.setdefault(key, []).append((int(getattr(row, C.LAYER)), int(getattr(row, C.CLUSTER))))
    top = n_layers - 1
    roots = sorted(
        {k for k in children if k[0] == top}
        | {(top, int(c)) for c in tree.loc[tree[C.PARENT_LAYER] == top, C.PARENT_CLUSTER]}
    )
    y: dict[tuple[int, int], float] = {}
    counter = [0.0]

    def place(node):
        kids = sorted(children.get(node, []), key=lambda k: k[1])
        if not kids:
            y[node] = counter[0]
            counter[0] += 1
            return y[node]
        y[node] = float(np.mean([place(kid) for kid in kids]))
        return y[node]

    for root in roots:
        place(root)
    return y


def tree_figure(
    tree: pd.DataFrame, layers: list[np.ndarray], path: Path, chosen_layer: int | None = None
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = max(len(layers[0]), 1)
    y = _positions(tree, len(layers))
    height = max(3.0, min(20.0, 0.18 * (len(y) and max(y.values()) + 1)))
    fig, ax = plt.subplots(figsize=(2.2 * len(layers) + 2, height))
    for row in tree.itertuples(index=False):
        child = (int(getattr(row, C.LAYER)), int(getattr(row, C.CLUSTER)))
        parent = (int(getattr(row, C.PARENT_LAYER)), int(getattr(row, C.PARENT_CLUSTER)))
        if child in y and parent in y:
            ax.plot([child[0], parent[0]], [y[child], y[parent]], color="0.7", lw=0.8, zorder=1)
    for (layer, cluster), pos in y.items():
        size = int((layers[layer] == cluster).sum())
        colour = "tab:purple" if layer == chosen_layer else "0.35"
        ax.scatter([layer], [pos], s=20 + 600 * size / n, color=colour, alpha=0.8, zorder=2)
        ax.annotate(
            f"{cluster} ({size})",
            (layer, pos),
            xytext=(6, 0),
            textcoords="offset points",
            fontsize=7,
            va="center",
        )
    ax.set_xticks(range(len(layers)))
    ax.set_xticklabels(
        [C.layer_column(i) + (" (chosen)" if i == chosen_layer else "") for i in range(len(layers))],
        fontsize=8,
    )
    ax.set_yticks([])
    ax.set_xlim(-0.3, len(layers) - 0.4)
    ax.invert_yaxis()
    ax.set_title("Cluster layers: each cluster and the coarser cluster it lies in (node size = images)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def giant_clusters_table(layers: list[np.ndarray], chosen_layer: int, max_share: float = 0.5) -> pd.DataFrame:
    """Rows: (cluster of the chosen layer over max_share, finer layer, sub-cluster, size, share)."""
    labels = layers[chosen_layer]
    n = len(labels)
    rows = []
    for cluster in np.unique(labels[labels >= 0]).tolist():
        members = labels == cluster
        if members.sum() / n <= max_share:
            continue
        for sub_layer in range(chosen_layer - 1, -1, -1):
            subs, counts = np.unique(layers[sub_layer][members], return_counts=True)
            for sub, count in zip(subs.tolist(), counts.tolist()):
                rows.append(
                    (chosen_layer, cluster, float(members.sum() / n), sub_layer, sub, count, count / n)
                )
    return pd.DataFrame(
        rows, columns=[C.LAYER, C.CLUSTER, "cluster_share", SUB_LAYER, SUB_CLUSTER, C.SIZE, SHARE]
    )


def write_layer_report(
    tree: pd.DataFrame,
    layers: Sequence[np.ndarray] | Mapping[str, np.ndarray] | pd.DataFrame,
    out_dir: str | Path,
    chosen_layer: int | None = None,
    max_share: float = 0.5,
) -> list[Path]:
    """Write the tree figure (when there are >= 2 layers) and the giant-cluster table (when a
    cluster of the chosen layer holds over `max_share` of the images); return the files written."""
    layers = _as_list(layers)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if len(layers) >= 2 and not tree.empty:
        C.validate(C.CLUSTER_TREE, tree)
        written.append(tree_figure(tree, layers, out_dir / TREE_FIGURE, chosen_layer))
    if chosen_layer is not None and layers:
        table = giant_clusters_table(layers, chosen_layer, max_share)
        if not table.empty:
            to_csv_safe(table, out_dir / GIANT_TABLE)
            written.append(out_dir / GIANT_TABLE)
    return written
