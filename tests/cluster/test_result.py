import hdbscan
import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs

from visframe.cluster import fit_clusterer


def test_hdbscan_labels_probabilities_and_outlier_scores():
    points, _ = make_blobs(n_samples=200, centers=[[0, 0], [10, 10], [-10, 10]], random_state=1)
    clusterer = hdbscan.HDBSCAN(min_cluster_size=15)
    result = fit_clusterer(clusterer, points)
    np.testing.assert_array_equal(result.labels, clusterer.labels_)
    np.testing.assert_allclose(result.probabilities, clusterer.probabilities_)
    np.testing.assert_allclose(result.outlier_scores, clusterer.outlier_scores_)
    assert result.n_clusters == 3


def test_backend_without_probabilities_gets_full_membership_and_nan_outlier_scores():
    points, _ = make_blobs(n_samples=60, centers=2, random_state=0)
    result = fit_clusterer(KMeans(n_clusters=2, n_init=2, random_state=0), points)
    assert set(result.probabilities) == {1.0}
    assert np.isnan(result.outlier_scores).all()


def test_the_result_is_frozen_and_a_single_layer_is_the_labels():
    import dataclasses

    import pytest

    from visframe.cluster import ClusterResult

    labels = np.array([0, 0, 1, -1])
    result = ClusterResult(labels, (labels >= 0).astype(float), np.zeros(4), 0.1)
    assert len(result.layers) == 1 and result.layers[0] is labels and result.chosen_layer == 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.labels = labels
    taken = result.take(np.array([3, 0]))
    np.testing.assert_array_equal(taken.labels, [-1, 0])
    np.testing.assert_array_equal(taken.layers[0], [-1, 0])


def test_read_clusterer_is_the_one_reader_of_the_optional_attributes():
    from visframe.cluster import Clusterer, read_clusterer

    points, _ = make_blobs(n_samples=200, centers=[[0, 0], [10, 10], [-10, 10]], random_state=1)
    fitted = read_clusterer(hdbscan.HDBSCAN(min_cluster_size=15).fit(points))
    assert fitted.labels.dtype == np.int64 and fitted.probabilities.dtype == np.float64
    assert fitted.condensed_tree is not None and len(fitted.condensed_tree) == 4
    assert fitted.outlier_scores is not None and fitted.cluster_layers == [] and fitted.selection == {}
    kmeans = KMeans(n_clusters=2, n_init=2, random_state=0).fit(points)
    assert isinstance(kmeans, Clusterer)
    bare = read_clusterer(kmeans)
    assert bare.probabilities is None and bare.outlier_scores is None and bare.condensed_tree is None


def test_a_backends_own_layers_become_nested_layers():
    """A backend with `cluster_layers_` and no condensed tree (PLSCAN, EVoC): its layers, finest first."""
    from sklearn.base import BaseEstimator, ClusterMixin

    class Layered(ClusterMixin, BaseEstimator):
        def fit(self, X, y=None):
            coarse = (X[:, 0] > 0).astype(np.int64)
            fine = coarse * 2 + (X[:, 1] > 5).astype(np.int64)
            self.labels_, self.cluster_layers_ = coarse, np.stack([coarse, fine])  # a 2-D array, coarse first
            return self

    points, _ = make_blobs(n_samples=200, centers=[[-10, 0], [-10, 10], [10, 0], [10, 10]], random_state=1)
    result = fit_clusterer(Layered(), points)
    assert len(result.layers) == 2 and result.chosen_layer == 1
    np.testing.assert_array_equal(result.layers[1], result.labels)
    assert len(set(result.layers[0].tolist())) == 4
