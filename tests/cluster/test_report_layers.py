"""The report's layer outputs: the tree figure and a giant cluster opened into its sub-clusters."""

import hdbscan
import numpy as np
import pandas as pd
from sklearn.datasets import make_blobs

from visframe import contracts as C
from visframe.cluster import fit_clusterer
from visframe.report.layers import GIANT_TABLE, TREE_FIGURE, write_layer_report


def test_tree_figure_and_giant_cluster_table(tmp_path):
    centers = [(0, 0), (7, 0), (0, 7), (7, 7), (60, 60)]
    points, _ = make_blobs(n_samples=[300] * 5, centers=centers, cluster_std=0.9, random_state=1)
    result = fit_clusterer(
        hdbscan.HDBSCAN(min_cluster_size=100, min_samples=10, cluster_selection_epsilon=8), points
    )
    assignments = pd.DataFrame(result.assignment_columns())
    written = write_layer_report(result.tree(), assignments, tmp_path, chosen_layer=result.chosen_layer)
    assert {p.name for p in written} == {TREE_FIGURE, GIANT_TABLE}
    assert (tmp_path / TREE_FIGURE).stat().st_size > 5000
    table = pd.read_csv(tmp_path / GIANT_TABLE)
    (giant,) = table[C.CLUSTER].unique()
    members = result.labels == giant
    assert table["cluster_share"].iloc[0] == members.mean()
    finest = table[table["sub_layer"] == 0]
    assert finest[C.SIZE].sum() == members.sum()  # every image of the giant cluster, noise included
    assert len(finest[finest["sub_cluster"] >= 0]) == 4  # the four sub-blobs it merges


def test_one_layer_and_no_giant_writes_nothing(tmp_path):
    labels = np.array([0, 0, 1, 1, -1])
    empty = pd.DataFrame(
        {c: pd.Series(dtype="int64") for c in [C.LAYER, C.CLUSTER, C.PARENT_LAYER, C.PARENT_CLUSTER, C.SIZE]}
    )
    assert write_layer_report(empty, [labels], tmp_path, chosen_layer=0) == []
