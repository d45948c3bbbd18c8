"""Cluster layers coarse to fine: they nest, the chosen layer is the backend's labels, the tree is a
valid cluster_tree table, and a giant cluster's warning names the layer that splits it."""

import hdbscan
import numpy as np
import pytest
from sklearn.datasets import make_blobs

from visframe import contracts as C
from visframe.cluster import fit_clusterer
from visframe.cluster.adapters import FastHDBSCAN
from visframe.cluster.layers import layers_nest, nest_layers


@pytest.fixture(scope="module")
def two_level_blobs():
    """Three groups far apart, each made of three tight sub-blobs: a two-level hierarchy."""
    centers = []
    for gx, gy in [(0, 0), (40, 0), (0, 40)]:
        centers += [(gx, gy), (gx + 6, gy), (gx, gy + 6)]
    points, sub = make_blobs(n_samples=1800, centers=centers, cluster_std=0.8, random_state=0)
    return points, sub


@pytest.mark.parametrize(
    "make", [lambda: hdbscan.HDBSCAN(min_cluster_size=150), lambda: FastHDBSCAN(min_cluster_size=150)]
)
def test_layers_nest_and_keep_the_chosen_labels(two_level_blobs, make):
    points, _ = two_level_blobs
    clusterer = make()
    result = fit_clusterer(clusterer, points)
    assert len(result.layers) >= 2
    np.testing.assert_array_equal(result.layers[result.chosen_layer], clusterer.labels_)
    assert layers_nest(result.layers)
    counts = [len(set(layer.tolist()) - {C.NOISE}) for layer in result.layers]
    assert counts == sorted(counts, reverse=True)  # finest first
    # Sub-blobs of 200 points, min_cluster_size=150: one layer has the 9 sub-blobs, one the 3 groups.
    assert 9 in counts and 3 in counts


def test_tree_is_a_valid_cluster_tree_table_with_every_fine_cluster_once(two_level_blobs):
    points, _ = two_level_blobs
    result = fit_clusterer(hdbscan.HDBSCAN(min_cluster_size=150), points)
    tree = result.tree()
    C.validate(C.CLUSTER_TREE, tree)
    for i, layer in enumerate(result.layers[:-1]):
        rows = tree[tree[C.LAYER] == i]
        assert sorted(rows[C.CLUSTER]) == sorted(set(layer.tolist()) - {C.NOISE})
        assert (rows[C.PARENT_LAYER] == i + 1).all()
        for _, row in rows.iterrows():
            assert row[C.SIZE] == (layer == row[C.CLUSTER]).sum()
            parents = set(result.layers[i + 1][layer == row[C.CLUSTER]].tolist())
            assert parents == {row[C.PARENT_CLUSTER]}
    columns = result.assignment_columns()
    assert [c for c in columns if c.startswith(C.CLUSTER_LAYER_PREFIX)] == [
        C.layer_column(i) for i in range(len(result.layers))
    ]


def test_giant_cluster_warning_names_the_finer_layer_that_splits_it():
    # One big group of four sub-blobs (80% of the points) and one small group; epsilon merges the four.
    centers = [(0, 0), (7, 0), (0, 7), (7, 7), (60, 60)]
    points, _ = make_blobs(n_samples=[300] * 5, centers=centers, cluster_std=0.9, random_state=1)
    result = fit_clusterer(
        hdbscan.HDBSCAN(min_cluster_size=100, min_samples=10, cluster_selection_epsilon=8), points
    )
    notes = result.giant_clusters()
    assert len(notes) == 1 and notes[0]["share"] > 0.5
    assert notes[0]["layer"] is not None and notes[0]["layer"] < result.chosen_layer
    assert notes[0]["largest_part_share"] <= 0.5
    (warning,) = result.giant_cluster_warnings()
    assert C.layer_column(notes[0]["layer"]) in warning


def test_nest_layers_makes_foreign_layers_nest_and_keeps_the_chosen_one():
    rng = np.random.default_rng(0)
    fine = rng.integers(-1, 8, size=400)
    chosen = np.where(fine >= 0, fine // 2, -1)
    chosen[:15] = rng.integers(0, 4, size=15)  # a few points disagree with their fine cluster
    coarse = np.where(chosen >= 0, chosen // 2, -1)
    coarse[20:30] = 1 - np.maximum(coarse[20:30], 0)
    nested, moved = nest_layers([fine, chosen, coarse], keep=1)
    np.testing.assert_array_equal(nested[1], chosen)
    assert layers_nest(nested)
    assert 0 < moved < 0.1
