"""Cluster layers, coarse to fine, from one HDBSCAN condensed tree — nested by construction.

HDBSCAN's chosen clusters are a set of nodes of its condensed tree (no node above another).
Moving every chosen node one step up the tree (to its parent cluster, never the root) gives a
coarser clustering; replacing every chosen node that splits by its child clusters gives a finer
one. Repeating both ways gives layers from the leaves (what `cluster_selection_method=leaf` would
choose) to the root's children (the first split). Every layer is a set of tree nodes and every node
of a finer layer lies under a node of the next coarser one, so layers nest: each fine cluster lies
inside exactly one coarse cluster (its points that are noise at the fine layer may belong to the
coarse cluster: a coarse cluster holds more points, never fewer).

Layer 0 is the finest, the last the coarsest; the chosen layer's labels are exactly the backend's
`labels_` (same numbers). Other layers are numbered by size, largest first.

Backends with their own layers but no condensed tree (PLSCAN's `cluster_layers_`, EVoC's) go
through `nest_layers`, which makes them nest by moving each point of a coarse layer to the coarse
cluster holding most of its fine cluster; the share of points moved is reported.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd

from visframe import contracts as C


class CondensedTree:
    """The cluster nodes of a condensed tree and, for every point, the node it falls out of."""

    def __init__(self, parent, child, lambda_val, child_size, n_points: int):
        parent = np.asarray(parent, dtype=np.intp)
        child = np.asarray(child, dtype=np.intp)
        self.n_points = n_points
        self.root = int(parent.min())
        is_cluster = child >= self.root
        top = int(max(parent.max(), child.max())) + 1
        self.parent_of = np.full(top, -1, dtype=np.intp)
        self.parent_of[child[is_cluster]] = parent[is_cluster]
        self.children_of: dict[int, list[int]] = {}
        for p, c in zip(parent[is_cluster].tolist(), child[is_cluster].tolist()):
            self.children_of.setdefault(p, []).append(c)
        # Rows come breadth first (parents before children): a top-down order of the cluster nodes.
        self.nodes = [self.root, *child[is_cluster].tolist()]
        # split[p]: the lambda (1 / distance) at which cluster p divides into its child clusters.
        self.split = np.zeros(top)
        np.maximum.at(self.split, parent[is_cluster], np.asarray(lambda_val, dtype=np.float64)[is_cluster])
        self.falls_from = np.full(n_points, self.root, dtype=np.intp)
        points = ~is_cluster & (child < n_points)
        self.falls_from[child[points]] = parent[points]

    def labels_for(self, nodes: dict[int, int]) -> np.ndarray:
        """Point labels for a set of disjoint nodes (node → label); points under none are noise."""
        label_of = np.full(len(self.parent_of), C.NOISE, dtype=np.int64)
        for node in self.nodes:  # top-down: a node takes its own label, else its parent's
            if node in nodes:
                label_of[node] = nodes[node]
            elif node != self.root:
                label_of[node] = label_of[self.parent_of[node]]
        return label_of[self.falls_from]

    def chosen_nodes(self, labels: np.ndarray) -> dict[int, int]:
        """The node behind each cluster label: the lowest node holding all the label's points."""
        found: dict[int, int] = {}
        for label in np.unique(labels[labels >= 0]).tolist():
            nodes = np.unique(self.falls_from[labels == label]).tolist()
            node = nodes[0]
            while not all(self._under(other, node) for other in nodes):
                node = int(self.parent_of[node])
            found[node] = int(label)
        return found

    def _under(self, node: int, ancestor: int) -> bool:
        while node != -1:
            if node == ancestor:
                return True
            node = int(self.parent_of[node])
        return False

    def coarser_steps(self, nodes: list[int]):
        """Antichains, each merging one more split: the one at the highest density (the weakest) first."""
        current = set(nodes)
        while True:
            parents = {int(self.parent_of[n]) for n in current} - {-1, self.root}
            if not parents:
                return
            merged = max(parents, key=lambda p: (self.split[p], p))
            current = {n for n in current if not self._under(n, merged)} | {merged}
            yield sorted(current)

    def finer_steps(self, nodes: list[int]):
        """Antichains, each splitting one more cluster: the most persistent split (lowest density) first."""
        current = set(nodes)
        while True:
            splitting = [n for n in current if self.children_of.get(n)]
            if not splitting:
                return
            node = min(splitting, key=lambda p: (self.split[p], p))
            current = (current - {node}) | set(self.children_of[node])
            yield sorted(current)


def _numbered_by_size(tree: CondensedTree, nodes: list[int]) -> np.ndarray:
    provisional = tree.labels_for({node: i for i, node in enumerate(nodes)})
    sizes = np.bincount(provisional[provisional >= 0], minlength=len(nodes))
    order = np.argsort(-sizes, kind="stable")
    renumber = np.empty(len(nodes), dtype=np.int64)
    renumber[order] = np.arange(len(nodes))
    return np.where(provisional >= 0, renumber[np.maximum(provisional, 0)], C.NOISE)


def _geometric(steps, start: int, grow: bool, max_layers: int) -> list[list[int]]:
    """Keep the steps whose cluster count has doubled (grow) or halved since the last kept one, and the
    last."""
    kept, last, previous = [], start, None
    for nodes in steps:
        previous = nodes
        if (len(nodes) >= 2 * last) if grow else (len(nodes) <= last / 2):
            kept.append(nodes)
            last = len(nodes)
            previous = None
            if len(kept) == max_layers:
                return kept
    if previous is not None:
        kept.append(previous)
    return kept[:max_layers]


def tree_layers(
    tree: CondensedTree, labels: np.ndarray, max_finer: int, max_coarser: int
) -> tuple[list[np.ndarray], int]:
    """Layers finest → coarsest around `labels` (kept exactly), and the chosen layer's index.

    Coarser layers merge the weakest splits first, finer ones open the strongest first; a layer is
    kept each time the number of clusters halves (doubles), so layers step geometrically."""
    chosen = tree.chosen_nodes(labels)
    if not chosen:
        return [labels.astype(np.int64)], 0
    nodes = sorted(chosen)
    finer = [
        _numbered_by_size(tree, step)
        for step in _geometric(tree.finer_steps(nodes), len(nodes), True, max_finer)
    ]
    coarser = [
        _numbered_by_size(tree, step)
        for step in _geometric(tree.coarser_steps(nodes), len(nodes), False, max_coarser)
    ]
    return [*finer[::-1], labels.astype(np.int64), *coarser], len(finer)


def nest_layers(layers: list[np.ndarray], keep: int = 0) -> tuple[list[np.ndarray], float]:
    """Make layers (finest first) nest, leaving layer `keep` as it is. Above it, every point of a
    fine cluster goes to the coarse cluster holding most of that fine cluster; below it, the points
    of a fine cluster outside its parent's majority become noise. Returns the layers and the share
    of labels changed."""
    nested = [np.asarray(layer, dtype=np.int64).copy() for layer in layers]
    changed = 0
    for i in range(keep + 1, len(nested)):
        fine, coarse = nested[i - 1], nested[i]
        for label in np.unique(fine[fine >= 0]).tolist():
            members = fine == label
            inside = coarse[members]
            inside = inside[inside >= 0]
            target = np.bincount(inside).argmax() if inside.size else _new_label(coarse)
            changed += int((coarse[members] != target).sum())
            coarse[members] = target
    for i in range(keep - 1, -1, -1):
        fine, coarse = nested[i], nested[i + 1]
        for label in np.unique(fine[fine >= 0]).tolist():
            members = fine == label
            parents, counts = np.unique(coarse[members], return_counts=True)
            target = parents[np.argmax(counts)]
            outside = members & ((coarse != target) | (target < 0))
            changed += int(outside.sum())
            fine[outside] = C.NOISE
    total = sum(len(layer) for i, layer in enumerate(layers) if i != keep)
    return nested, (changed / total if total else 0.0)


def _new_label(labels: np.ndarray) -> int:
    return int(labels.max()) + 1 if labels.size and labels.max() >= 0 else 0


def layers_nest(layers: list[np.ndarray]) -> bool:
    """True when every cluster of each layer lies inside one cluster (not noise) of the next."""
    for fine, coarse in pairwise(layers):
        for label in np.unique(fine[fine >= 0]).tolist():
            parents = np.unique(coarse[fine == label])
            if len(parents) != 1 or parents[0] < 0:
                return False
    return True


def layer_tree(layers: list[np.ndarray]) -> pd.DataFrame:
    """contracts.CLUSTER_TREE: for each cluster of layer i < k, the cluster of layer i+1 holding it."""
    rows = []
    for i, (fine, coarse) in enumerate(pairwise(layers)):
        for label in np.unique(fine[fine >= 0]).tolist():
            inside = coarse[fine == label]
            parents, counts = np.unique(inside, return_counts=True)
            rows.append((i, label, i + 1, int(parents[np.argmax(counts)]), len(inside)))
    frame = pd.DataFrame(rows, columns=[C.LAYER, C.CLUSTER, C.PARENT_LAYER, C.PARENT_CLUSTER, C.SIZE])
    frame = frame.astype({c: "int64" for c in frame.columns})
    return C.validate(C.CLUSTER_TREE, frame)


def giant_cluster_notes(layers: list[np.ndarray], chosen: int, max_share: float = 0.5) -> list[dict]:
    """For every cluster of the chosen layer over `max_share` of the points: the first finer layer
    that splits it so that no part is over `max_share` (None when none does)."""
    labels = layers[chosen]
    n = len(labels)
    notes = []
    for label in np.unique(labels[labels >= 0]).tolist():
        members = labels == label
        share = members.sum() / n
        if share <= max_share:
            continue
        note = {
            C.CLUSTER: label,
            "share": float(share),
            "layer": None,
            "parts": 0,
            "largest_part_share": float(share),
        }
        for i in range(chosen - 1, -1, -1):
            parts = layers[i][members]
            sizes = np.bincount(parts[parts >= 0]) if (parts >= 0).any() else np.zeros(1, dtype=int)
            sizes = sizes[sizes > 0]
            if len(sizes) >= 2 and sizes.max() / n <= max_share:
                note.update(layer=i, parts=len(sizes), largest_part_share=float(sizes.max() / n))
                break
        notes.append(note)
    return notes
