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
