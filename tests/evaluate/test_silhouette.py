"""Our silhouettes (compiled euclidean, per-cluster-sum cosine) give scikit-learn's values on the same
input."""

import numpy as np
import pytest
from sklearn.metrics import silhouette_samples, silhouette_score

from visframe.evaluate.metrics import internal_metrics, raw_space_metrics
from visframe.evaluate.silhouette import (
    silhouette_samples_cosine,
    silhouette_samples_euclidean,
    silhouette_score_euclidean,
)


def _blobs(n=600, dims=5, k=4, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, n)
    centres = rng.normal(scale=4.0, size=(k, dims))
    return (centres[labels] + rng.normal(size=(n, dims))).astype(np.float32), labels


@pytest.mark.parametrize("dims", [2, 5, 10])
def test_samples_equal_scikit_learn(dims):
    points, labels = _blobs(dims=dims, seed=dims)
    ours = silhouette_samples_euclidean(points, labels)
    np.testing.assert_allclose(ours, silhouette_samples(points.astype(np.float64), labels), atol=1e-7)


def test_singletons_duplicates_and_arbitrary_label_values_as_in_scikit_learn():
    points, labels = _blobs(n=300, seed=3)
    labels = np.where(labels == 2, 17, labels * 5)  # non-consecutive label values
    labels[0] = 99  # a cluster of one point: its silhouette is 0
    points[10:20] = points[10]  # exact duplicates: zero distances
    ours = silhouette_samples_euclidean(points, labels)
    expected = silhouette_samples(points.astype(np.float64), labels)
    assert ours[0] == 0.0
    np.testing.assert_allclose(ours, expected, atol=1e-7)
    assert silhouette_score_euclidean(points, labels) == pytest.approx(
        silhouette_score(points, labels), abs=1e-7
    )


def test_internal_metrics_use_it_and_keep_scikit_learns_value():
    points, labels = _blobs(n=800, seed=5)
    labels[:40] = -1  # noise is left out of the silhouette
    metrics = internal_metrics(points, labels)
    kept = labels >= 0
    assert metrics["silhouette"] == pytest.approx(silhouette_score(points[kept], labels[kept]), abs=1e-7)
    assert metrics["silhouette_sample_size"] == kept.sum()


@pytest.mark.parametrize("dims", [3, 64, 512])
def test_cosine_samples_equal_scikit_learn(dims):
    points, labels = _blobs(n=700, dims=dims, k=6, seed=dims)
    expected = silhouette_samples(points.astype(np.float64), labels, metric="cosine")
    np.testing.assert_allclose(silhouette_samples_cosine(points, labels), expected, atol=1e-9)


def test_cosine_singletons_duplicates_and_zero_vectors_as_in_scikit_learn():
    points, labels = _blobs(n=300, dims=32, seed=4)
    labels = np.where(labels == 1, 23, labels * 3)
    labels[0] = 77  # alone in its cluster: 0
    points[10:20] = points[10]  # duplicates: distance 0
    points[30] = 0.0  # a zero vector: distance 1 to everything, itself included
    ours = silhouette_samples_cosine(points, labels)
    assert ours[0] == 0.0
    np.testing.assert_allclose(
        ours, silhouette_samples(points.astype(np.float64), labels, metric="cosine"), atol=1e-9
    )


def test_raw_space_silhouette_is_scikit_learns_cosine_silhouette_on_every_clustered_point():
    points, labels = _blobs(n=900, dims=128, seed=6)
    labels[:50] = -1
    metrics = raw_space_metrics(points, labels, silhouette_sample_size=None)
    kept = labels >= 0
    expected = silhouette_score(points[kept].astype(np.float64), labels[kept], metric="cosine")
    assert metrics["silhouette_raw_cosine"] == pytest.approx(expected, abs=1e-9)
    assert metrics["silhouette_raw_cosine_sample_size"] == kept.sum()
