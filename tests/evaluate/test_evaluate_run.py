"""evaluate_run: every metric named by its space and checked against its reference implementation,
and the warnings for degenerate outcomes."""

import math

import numpy as np
import pytest
from hdbscan.validity import validity_index
from omegaconf import OmegaConf
from sklearn import metrics as skm
from sklearn.datasets import make_blobs

from visframe import CONFIG_DIR
from visframe.evaluate import (
    cluster_probability_metrics,
    cluster_size_metrics,
    dbcv,
    degenerate_outcome_warnings,
    evaluate_run,
    raw_space_metrics,
    stratified_sample,
)

CFG = OmegaConf.load(f"{CONFIG_DIR}/evaluation/default.yaml")


@pytest.fixture(scope="module")
def job():
    reduced, truth = make_blobs(n_samples=400, centers=4, n_features=3, random_state=0)
    rng = np.random.default_rng(0)
    # Raw "embeddings": a direction per theme in 64-d, scaled randomly (cosine ignores the length).
    directions = rng.normal(size=(4, 64))
    vectors = (directions[truth] + 0.3 * rng.normal(size=(400, 64))) * rng.uniform(0.5, 3, size=(400, 1))
    labels = truth.copy()
    labels[::8] = -1
    probabilities = np.where(labels >= 0, rng.uniform(0.5, 1.0, size=400), 0.0)
    return reduced, vectors.astype(np.float32), labels, probabilities, truth


def test_raw_space_metrics_are_sklearns_on_normalised_vectors_without_noise(job):
    _, vectors, labels, _, _ = job
    keep = labels >= 0
    unit = vectors[keep] / np.linalg.norm(vectors[keep], axis=1, keepdims=True)
    got = raw_space_metrics(vectors, labels, silhouette_sample_size=None, sample_size=None)
    assert got["silhouette_raw_cosine"] == pytest.approx(
        skm.silhouette_score(vectors[keep], labels[keep], metric="cosine")
    )
    assert got["calinski_harabasz_raw_cosine"] == pytest.approx(
        skm.calinski_harabasz_score(unit, labels[keep])
    )
    assert got["davies_bouldin_raw_cosine"] == pytest.approx(skm.davies_bouldin_score(unit, labels[keep]))
    # The vectors' lengths vary: un-normalised Calinski-Harabasz would differ.
    assert got["calinski_harabasz_raw_cosine"] != pytest.approx(
        skm.calinski_harabasz_score(vectors[keep], labels[keep])
    )


def test_dbcv_is_the_reference_validity_index_when_not_sampled(job):
    reduced, _, labels, _, _ = job
    assert dbcv(reduced, labels, sample_size=None) == pytest.approx(
        validity_index(reduced.astype(np.float64), labels)
    )
    # Clusters with gaps in their ids (as a sweep's relabelled subsets have) give the same value.
    gapped = np.where(labels >= 0, labels * 3 + 1, -1)
    assert dbcv(reduced, gapped, sample_size=None) == pytest.approx(dbcv(reduced, labels, sample_size=None))
    # A worse clustering (two true clusters merged) scores lower.
    merged = np.where(labels == 1, 0, labels)
    assert dbcv(reduced, merged, sample_size=None) < dbcv(reduced, labels, sample_size=None)


def test_dbcv_sampled_is_close_and_deterministic(job):
    reduced, _, labels, _, _ = job
    full = dbcv(reduced, labels, sample_size=None)
    sampled = dbcv(reduced, labels, sample_size=200, seed=1)
    assert sampled == dbcv(reduced, labels, sample_size=200, seed=1)
    assert sampled == pytest.approx(full, abs=0.15)


def test_stratified_sample_keeps_every_label_and_its_share():
    labels = np.array([0] * 900 + [1] * 90 + [2] * 5 + [-1] * 5)
    rows = stratified_sample(labels, 100, seed=0)
    counts = {k: int((labels[rows] == k).sum()) for k in (0, 1, 2, -1)}
    assert counts == {0: 90, 1: 9, 2: 3, -1: 3}
    assert len(np.unique(rows)) == len(rows)


def test_cluster_sizes_and_probabilities_by_hand():
    labels = np.array([0, 0, 0, 0, 1, 1, 2, -1, -1, -1])
    probabilities = np.array([1.0, 0.8, 0.6, 0.6, 0.5, 0.3, 0.9, 0, 0, 0])
    sizes = cluster_size_metrics(labels)
    assert sizes == {
        "largest_cluster_share": 0.4,
        "largest_cluster_size": 4.0,
        "smallest_cluster_size": 1.0,
        "median_cluster_size": 2.0,
    }
    probs = cluster_probability_metrics(labels, probabilities)
    assert probs["min_cluster_mean_probability"] == pytest.approx(0.4)
    assert probs["median_cluster_mean_probability"] == pytest.approx(0.75)


def test_evaluate_run_names_every_space_and_keeps_issue2_names(job):
    reduced, vectors, labels, probabilities, truth = job
    metrics, warnings = evaluate_run(
        CFG, reduced, vectors, labels, probabilities, truth=truth.astype(str), seed=0
    )
    keep = labels >= 0
    assert metrics["silhouette"] == pytest.approx(skm.silhouette_score(reduced[keep], labels[keep]))
    for name in (
        "calinski_harabasz",
        "davies_bouldin",
        "dbcv",
        "silhouette_raw_cosine",
        "calinski_harabasz_raw_cosine",
        "davies_bouldin_raw_cosine",
        "largest_cluster_share",
        "noise_fraction",
        "confident_fraction",
        "min_cluster_mean_probability",
        "ari",
        "nmi",
    ):
        assert math.isfinite(metrics[name]), name
    assert metrics["n_clusters"] == 4 and warnings == []
    # Small data: every bounded metric is exact and says so.
    assert (
        metrics["silhouette_sample_size"] == keep.sum() == metrics["calinski_harabasz_raw_cosine_sample_size"]
    )
    assert metrics["dbcv_sample_size"] == len(labels)
    assert metrics["silhouette_raw_cosine_sample_size"] == keep.sum()


def test_every_sample_size_written_is_a_registered_metric(job):
    from visframe.evaluate.registry import REGISTRY

    reduced, vectors, labels, probabilities, truth = job
    metrics, _ = evaluate_run(CFG, reduced, vectors, labels, probabilities, truth=truth.astype(str))
    sizes = [name for name in metrics if name.endswith("_sample_size")]
    assert len(sizes) == 5 and all(name in REGISTRY for name in sizes)


def test_raw_space_metrics_sampled_are_close_to_exact_and_bounded(job):
    _, vectors, labels, _, _ = job
    exact = raw_space_metrics(vectors, labels, silhouette_sample_size=None, sample_size=None)
    sampled = raw_space_metrics(vectors, labels, silhouette_sample_size=150, sample_size=250, seed=2)
    assert sampled["calinski_harabasz_raw_cosine_sample_size"] == pytest.approx(250, abs=4)
    assert sampled["silhouette_raw_cosine_sample_size"] == pytest.approx(150, abs=4)
    assert sampled["silhouette_raw_cosine"] == pytest.approx(exact["silhouette_raw_cosine"], abs=0.05)
    assert sampled["davies_bouldin_raw_cosine"] == pytest.approx(exact["davies_bouldin_raw_cosine"], rel=0.1)


def test_a_config_missing_an_option_says_where_the_defaults_are(job):
    from visframe.errors import ConfigError

    reduced, vectors, labels, probabilities, _ = job
    partial = OmegaConf.create({k: v for k, v in CFG.items() if k != "dbcv_sample_size"})
    with pytest.raises(ConfigError, match="dbcv_sample_size"):
        evaluate_run(partial, reduced, vectors, labels, probabilities)


def test_evaluate_run_switches_off_the_slow_metrics(job):
    reduced, vectors, labels, probabilities, _ = job
    cfg = OmegaConf.merge(CFG, {"dbcv": False, "raw_space": False})
    metrics, _ = evaluate_run(cfg, reduced, vectors, labels, probabilities)
    assert "dbcv" not in metrics and "silhouette_raw_cosine" not in metrics


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (np.full(100, -1), ["No clusters"]),
        (np.r_[np.zeros(90, int), np.full(10, -1)], ["A single cluster"]),
        (np.r_[np.zeros(20, int), np.ones(20, int), np.full(60, -1)], ["Most images are noise"]),
        (np.r_[np.zeros(80, int), np.ones(20, int)], ["One cluster holds 80%"]),
        (np.r_[np.zeros(50, int), np.ones(50, int)], []),
    ],
)
def test_degenerate_outcomes_warn(labels, expected):
    rng = np.random.default_rng(0)
    points = rng.normal(size=(len(labels), 2)) + labels[:, None] * 5
    _, warnings = evaluate_run(CFG, points, points, labels, (labels >= 0).astype(float))
    assert len(warnings) == len(expected)
    for warning, start in zip(warnings, expected, strict=True):
        assert warning.startswith(start)


def test_warning_thresholds_come_from_the_config():
    metrics = {"n_clusters": 3, "noise_fraction": 0.3, "largest_cluster_share": 0.4}
    assert degenerate_outcome_warnings(metrics) == []
    assert (
        len(degenerate_outcome_warnings(metrics, max_largest_cluster_share=0.35, max_noise_fraction=0.25))
        == 2
    )
