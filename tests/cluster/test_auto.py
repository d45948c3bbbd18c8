"""AutoHDBSCAN: a user's min_cluster_size means plain HDBSCAN; otherwise the choice follows the
criterion over candidate sizes and is recorded; the DBCV helper equals the hdbscan library's."""

import hdbscan
import numpy as np
import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf
from sklearn.datasets import make_blobs

from visframe import CONFIG_DIR
from visframe.cluster import fit_clusterer
from visframe.cluster.auto import AutoHDBSCAN
from visframe.cluster.layers import layers_nest
from visframe.cluster.validity import mst_validity


@pytest.fixture(scope="module")
def points():
    # 12 themes of ~50 points: the collection size where a fixed min_cluster_size=50 collapses.
    centers = np.random.default_rng(4).uniform(-30, 30, size=(12, 5))
    X, _ = make_blobs(n_samples=600, centers=centers, cluster_std=1.5, random_state=4)
    return X


def test_a_set_min_cluster_size_gives_exactly_plain_hdbscan(points):
    config = OmegaConf.load(f"{CONFIG_DIR}/clusterer/auto_hdbscan.yaml")
    config.min_cluster_size = 40
    auto = fit_clusterer(instantiate(config), points)
    plain = hdbscan.HDBSCAN(min_cluster_size=40).fit(points)
    np.testing.assert_array_equal(auto.labels, plain.labels_)
    np.testing.assert_allclose(auto.probabilities, plain.probabilities_)
    np.testing.assert_allclose(auto.outlier_scores, plain.outlier_scores_)
    assert auto.selection["selected_min_cluster_size"] == 40


@pytest.mark.parametrize("criterion", ["persistence", "dbcv"])
def test_the_choice_is_the_best_candidate_and_is_recorded(points, criterion):
    estimator = AutoHDBSCAN(criterion=criterion)
    result = fit_clusterer(estimator, points)
    candidates = estimator.candidates_
    assert (
        [c["min_cluster_size"] for c in candidates]
        == estimator.candidate_sizes(len(points))
        == [5, 6, 12, 24]
    )
    best = max((c for c in candidates if c["n_clusters"] >= 2), key=lambda c: c[criterion])
    assert result.selection["selected_min_cluster_size"] == best["min_cluster_size"]
    for c in candidates:
        assert result.selection[f"selection_{criterion}_mcs{c['min_cluster_size']}"] == pytest.approx(
            c[criterion], nan_ok=True
        )
    # The chosen cut equals HDBSCAN refitted with that size and the same min_samples.
    refit = hdbscan.HDBSCAN(min_cluster_size=best["min_cluster_size"], min_samples=5).fit(points)
    np.testing.assert_array_equal(result.labels, refit.labels_)
    assert result.n_clusters >= 10  # the 12 themes are found, not merged into 2
    assert layers_nest(result.layers)


def test_mst_validity_equals_the_hdbscan_library(points):
    model = hdbscan.HDBSCAN(min_cluster_size=20, min_samples=3, gen_min_span_tree=True).fit(points)
    assert mst_validity(model._min_spanning_tree, model.labels_) == pytest.approx(model.relative_validity_)
