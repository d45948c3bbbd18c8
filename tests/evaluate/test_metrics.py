import math

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.datasets import make_blobs

from visframe.evaluate import confidence_metrics, ground_truth_metrics, internal_metrics


@pytest.fixture
def clustered():
    points, truth = make_blobs(n_samples=300, centers=4, random_state=0)
    labels = truth.copy()
    labels[::10] = -1  # every tenth point is noise
    return points, labels, truth


def test_internal_metrics_exclude_noise_and_match_sklearn(clustered):
    points, labels, _ = clustered
    keep = labels >= 0
    got = internal_metrics(points, labels)
    assert got["silhouette"] == pytest.approx(skm.silhouette_score(points[keep], labels[keep]))
    assert got["calinski_harabasz"] == pytest.approx(skm.calinski_harabasz_score(points[keep], labels[keep]))
    assert got["davies_bouldin"] == pytest.approx(skm.davies_bouldin_score(points[keep], labels[keep]))
    # Including the noise as a cluster would give a different silhouette: noise really is excluded.
    assert got["silhouette"] != pytest.approx(skm.silhouette_score(points, labels))


def test_sampled_silhouette_equals_the_exact_one_below_its_sample_size(clustered):
    points, labels, _ = clustered
    keep = labels >= 0
    got = internal_metrics(points, labels, silhouette_sample_size=10_000, seed=3)
    assert got["silhouette"] == pytest.approx(skm.silhouette_score(points[keep], labels[keep]), rel=1e-12)
    assert got["silhouette_sample_size"] == keep.sum()


def test_sampled_silhouette_above_its_size_is_seeded_stratified_and_close():
    points, labels = make_blobs(
        n_samples=6000, centers=[[0, 0], [6, 0], [0, 6]], cluster_std=1.5, random_state=1
    )
    exact = skm.silhouette_score(points, labels)
    got = internal_metrics(points, labels, silhouette_sample_size=1500, seed=5)
    assert got == internal_metrics(points, labels, silhouette_sample_size=1500, seed=5)
    assert got["silhouette_sample_size"] == pytest.approx(1500, abs=3)
    assert got["silhouette"] == pytest.approx(exact, abs=0.02)
    assert got["calinski_harabasz"] == pytest.approx(
        skm.calinski_harabasz_score(points, labels)
    )  # always exact


def test_internal_metrics_undefined_with_one_cluster():
    points = np.random.default_rng(0).normal(size=(50, 2))
    labels = np.zeros(50, dtype=int)
    labels[:5] = -1
    got = internal_metrics(points, labels)
    assert all(math.isnan(got[name]) for name in ("silhouette", "calinski_harabasz", "davies_bouldin"))
    assert got["silhouette_sample_size"] == 0


def test_confidence_metrics_by_hand():
    labels = np.array([0, 0, 1, 1, -1, -1, 2, 2])
    probabilities = np.array([0.9, 0.5, 1.0, 0.85, 0.0, 0.0, 0.2, 0.95])
    got = confidence_metrics(labels, probabilities, threshold=0.85)
    assert got["n_clusters"] == 3
    assert got["noise_fraction"] == pytest.approx(2 / 8)
    # clustered: 0.9 0.5 1.0 0.85 0.2 0.95 → confident (>= 0.85): 0.9 1.0 0.85 0.95
    assert got["confident_fraction"] == pytest.approx(4 / 6)
    assert got["mean_confident_probability"] == pytest.approx((0.9 + 1.0 + 0.85 + 0.95) / 4)
    assert got["mean_probability"] == pytest.approx(np.mean([0.9, 0.5, 1.0, 0.85, 0.2, 0.95]))


def test_ground_truth_metrics_treat_noise_as_a_label_and_skip_unknown(clustered):
    _, labels, truth = clustered
    truth_text = np.array([f"theme{t}" for t in truth], dtype=object)
    truth_text[:7] = None  # unknown labels are left out
    got = ground_truth_metrics(labels, truth_text)
    assert got["ari"] == pytest.approx(skm.adjusted_rand_score(truth_text[7:].astype(str), labels[7:]))
    assert got["nmi"] == pytest.approx(
        skm.normalized_mutual_info_score(truth_text[7:].astype(str), labels[7:])
    )
    assert 0 < got["ari"] < 1  # noise points cost agreement


def test_ground_truth_metrics_empty_without_labels():
    assert ground_truth_metrics(np.array([0, 1]), np.array([None, None], dtype=object)) == {}
