"""The CPU backends' adapters: same labels/probabilities as the library they wrap, plus GLOSH scores
equal to the hdbscan library's on the same condensed tree."""

import sys
import types

import hdbscan
import numpy as np
import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from visframe import CONFIG_DIR
from visframe.cluster import fit_clusterer, glosh_outlier_scores


@pytest.fixture(scope="module")
def blobs():
    points, _ = make_blobs(
        n_samples=600, centers=[[0, 0, 0], [8, 8, 0], [-8, 8, 4]], cluster_std=1.2, random_state=3
    )
    points = np.vstack([points, points[:20]])  # exact duplicates, as reshared images give
    return points


def test_glosh_matches_the_hdbscan_library_on_its_own_tree(blobs):
    model = hdbscan.HDBSCAN(min_cluster_size=15).fit(blobs)
    tree = model._condensed_tree
    mine = glosh_outlier_scores(tree["parent"], tree["child"], tree["lambda_val"])
    np.testing.assert_allclose(mine, model.outlier_scores_, equal_nan=True)
    assert mine.max() > 0.5  # real outliers are scored, not all zeros


def test_glosh_by_hand():
    # root 3 splits into clusters 4 (points 0, 1) and point 2 leaves the root at lambda 1.
    parent = np.array([3, 3, 4, 4])
    child = np.array([4, 2, 0, 1])
    lam = np.array([2.0, 1.0, 4.0, 3.0])
    # deaths: cluster 4 → 4.0; root 3 → max(2, 1, 4) = 4.0
    np.testing.assert_allclose(glosh_outlier_scores(parent, child, lam), [0.0, 0.25, 0.75])


@pytest.mark.parametrize("name", ["fast_hdbscan", "sklearn_hdbscan"])
def test_backend_from_its_config_gives_all_three_outputs_and_agrees_with_hdbscan(name, blobs):
    cfg = OmegaConf.load(f"{CONFIG_DIR}/clusterer/{name}.yaml")
    cfg.min_cluster_size = 15
    result = fit_clusterer(
        instantiate(cfg), blobs.astype(np.float32)
    )  # float32, as the reduction cache stores
    reference = fit_clusterer(hdbscan.HDBSCAN(min_cluster_size=15), blobs)
    assert result.n_clusters == 3
    assert adjusted_rand_score(reference.labels, result.labels) > 0.95
    assert np.isfinite(result.outlier_scores).all() and result.outlier_scores.max() > 0.5
    assert np.corrcoef(result.outlier_scores, reference.outlier_scores)[0, 1] > 0.9
    assert ((result.probabilities > 0) & (result.probabilities <= 1)).sum() == (result.labels >= 0).sum()


def test_fast_hdbscan_reproducible_config_gives_identical_labels(blobs):
    cfg = OmegaConf.load(f"{CONFIG_DIR}/clusterer/fast_hdbscan.yaml")
    cfg.min_cluster_size = 15
    first = fit_clusterer(instantiate(cfg), blobs)
    second = fit_clusterer(instantiate(cfg), blobs)
    np.testing.assert_array_equal(first.labels, second.labels)
    np.testing.assert_array_equal(first.probabilities, second.probabilities)


def test_gpu_adapter_reads_cuml_outputs_and_adds_glosh(monkeypatch, blobs):
    # cuML cannot be installed here: a stand-in module with cuML's surface (labels_, probabilities_,
    # condensed_tree_.to_numpy(), output_type) checks the adapter's own logic only.
    class FakeCumlHDBSCAN:
        def __init__(self, output_type=None, **params):
            assert output_type == "numpy"
            params.pop("build_algo")
            self.model = hdbscan.HDBSCAN(**params)

        def fit(self, X):
            assert X.dtype == np.float32
            self.model.fit(X)
            self.labels_, self.probabilities_ = self.model.labels_.astype(np.int32), self.model.probabilities_
            self.condensed_tree_ = self.model.condensed_tree_
            return self

    monkeypatch.setitem(sys.modules, "cuml.cluster.hdbscan", types.SimpleNamespace(HDBSCAN=FakeCumlHDBSCAN))
    cfg = OmegaConf.load(f"{CONFIG_DIR}/clusterer/hdbscan_gpu.yaml")
    cfg.min_cluster_size = 15
    estimator = instantiate(cfg)
    result = fit_clusterer(estimator, blobs)
    np.testing.assert_allclose(result.outlier_scores, estimator.model_.model.outlier_scores_, rtol=1e-5)
    assert result.labels.dtype == np.int64 and result.n_clusters == 3


def test_gpu_adapter_without_cuml_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "cuml.cluster.hdbscan", None)  # import fails
    estimator = instantiate(OmegaConf.load(f"{CONFIG_DIR}/clusterer/hdbscan_gpu.yaml"))
    with pytest.raises(ImportError, match=r"\.\[gpu\]"):
        estimator.fit(np.zeros((10, 2)))


class RawKMeans(KMeans):
    """A clusterer of the raw vectors (as EVoC is), for the stage's test."""

    input_space = "raw"

    def __init__(self, n_clusters=3, n_init=2, random_state=0):
        super().__init__(n_clusters=n_clusters, n_init=n_init, random_state=random_state)


def test_the_cluster_stage_gives_a_raw_input_estimator_the_vectors(monkeypatch):
    """An estimator whose `input_space` is "raw" (EVoC) clusters the vectors, not the coordinates."""
    from visframe.cluster import stage as cluster
    from visframe.errors import ConfigError
    from visframe.stages import StageContext

    module = types.ModuleType("raw_clusterer_for_tests")
    module.RawKMeans = RawKMeans
    monkeypatch.setitem(sys.modules, module.__name__, module)
    config = OmegaConf.create({"_target_": "raw_clusterer_for_tests.RawKMeans"})
    vectors, _ = make_blobs(n_samples=120, centers=3, n_features=8, random_state=2)
    coordinates = vectors[:, :2]
    result = cluster.run(
        cluster.ClusterInputs(coordinates, vectors), cluster.ClusterSettings(config), StageContext()
    )
    np.testing.assert_array_equal(result.labels, RawKMeans().fit(vectors).labels_)
    with pytest.raises(ConfigError, match="raw vectors"):
        cluster.run(cluster.ClusterInputs(coordinates), cluster.ClusterSettings(config), StageContext())
