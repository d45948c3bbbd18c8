"""Noise points get the nearest real cluster and a strength; the labels (and so every metric) are
untouched."""

import hdbscan
import numpy as np
from sklearn.cluster import DBSCAN
from sklearn.datasets import make_blobs

from visframe import contracts as C
from visframe.cluster import fit_clusterer
from visframe.cluster.noise import nearest_clusters


def _noisy_blobs():
    points, _ = make_blobs(n_samples=500, centers=[[0, 0], [10, 0], [0, 10]], cluster_std=1.0, random_state=2)
    rng = np.random.default_rng(2)
    return np.vstack([points, rng.uniform(-5, 15, size=(60, 2))])


def test_every_noise_point_gets_a_real_cluster_for_every_backend():
    points = _noisy_blobs()
    for clusterer in (hdbscan.HDBSCAN(min_cluster_size=20), DBSCAN(eps=0.6, min_samples=8)):
        result = fit_clusterer(clusterer, points)
        noise = result.labels == C.NOISE
        assert noise.any()
        clusters = set(result.labels[~noise].tolist())
        assert set(result.nearest_cluster[noise].tolist()) <= clusters
        strength = result.nearest_cluster_strength[noise]
        assert ((strength > 0) & (strength <= 1)).all()
        # Clustered points keep their own cluster; the strength is for noise only.
        np.testing.assert_array_equal(result.nearest_cluster[~noise], result.labels[~noise])
        assert np.isnan(result.nearest_cluster_strength[~noise]).all()
        np.testing.assert_array_equal(result.labels, clusterer.labels_)  # noise stays noise


def test_a_noise_point_beside_one_cluster_votes_for_it_fully():
    points = np.array([[0, 0], [0.1, 0], [0, 0.1], [10, 10], [10.1, 10], [10, 10.1], [0.3, 0.3]], dtype=float)
    labels = np.array([0, 0, 0, 1, 1, 1, -1])
    nearest, strength = nearest_clusters(points, labels, k=3)
    assert nearest[-1] == 0 and strength[-1] == 1.0
    nearest, strength = nearest_clusters(points, labels, k=6)
    assert nearest[-1] == 0 and 0.5 < strength[-1] < 1.0
