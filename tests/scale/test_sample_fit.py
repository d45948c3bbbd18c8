"""scale=sample_fit: fit on a sample, map the rest with umap transform + hdbscan approximate_predict on Dask."""

import numpy as np
import pytest
from omegaconf import OmegaConf

from visframe import CONFIG_DIR
from visframe.scale import fit_sample_and_map, uses_sample_fit

REDUCER = {"_target_": "umap.UMAP", "n_neighbors": 10, "min_dist": 0.01, "metric": "cosine", "n_components": 5,
           "random_state": 3, "n_epochs": 60, "knn": {"shared": True, "pca_components": None}}
MAP = {**REDUCER, "n_components": 2, "min_dist": 0.1}
CLUSTERER = {"_target_": "visframe.cluster.adapters.FastHDBSCAN", "min_cluster_size": 15, "min_samples": None,
             "cluster_selection_method": "eom", "cluster_selection_epsilon": 0.0, "allow_single_cluster": False,
             "reproducible": True}


def themes(n=2400, dim=24, k=4, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, dim))
    truth = rng.integers(0, k, size=n)
    vectors = centers[truth] + 0.25 * rng.normal(size=(n, dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32), truth


def scale_cfg(**changes):
    cfg = OmegaConf.load(f"{CONFIG_DIR}/scale/sample_fit.yaml")
    return OmegaConf.merge(cfg, changes)


def test_sample_fit_applies_only_above_its_sample_size():
    cfg = scale_cfg(sample_size=1000)
    assert uses_sample_fit(cfg, 1001) and not uses_sample_fit(cfg, 1000)
    assert not uses_sample_fit(OmegaConf.load(f"{CONFIG_DIR}/scale/full.yaml"), 10**7)


@pytest.mark.slow
def test_dask_path_labels_every_point_on_a_two_worker_local_cluster():
    from sklearn.metrics import adjusted_rand_score

    vectors, truth = themes()
    cfg = scale_cfg(sample_size=800, chunk_size=400, dask={"n_workers": 2, "memory_limit": "2GB"})
    result = fit_sample_and_map(OmegaConf.create(REDUCER), OmegaConf.create(MAP), OmegaConf.create(CLUSTERER), cfg,
                                vectors, seed=1)
    n = len(vectors)
    assert result.reduced.shape == (n, 5) and result.map_coordinates.shape == (n, 2)
    assert np.isfinite(result.reduced).all() and np.isfinite(result.map_coordinates).all()
    assert len(result.sample_rows) == 800 and result.clusters.labels.shape == (n,)
    rest = np.setdiff1d(np.arange(n), result.sample_rows)
    # Every mapped point got a cluster (these themes are clean), and the right one.
    assert (result.clusters.labels[rest] >= 0).mean() > 0.95
    assert adjusted_rand_score(truth[rest], result.clusters.labels[rest]) > 0.95
    assert ((result.clusters.probabilities >= 0) & (result.clusters.probabilities <= 1)).all()


def test_the_default_auto_clusterer_chooses_on_the_sample_and_predicts_with_hdbscan():
    """AutoHDBSCAN (config.yaml's default) on the sample; hdbscan's HDBSCAN with its choice gives the
    same labels there and can approximate_predict the rest."""
    from hdbscan.prediction import approximate_predict

    from visframe.scale.sample_fit import fit_sample_clusterer

    vectors, truth = themes(n=1200, dim=6)
    auto = OmegaConf.load(f"{CONFIG_DIR}/clusterer/auto_hdbscan.yaml")
    sample, rest = vectors[:900].astype(np.float64), vectors[900:].astype(np.float64)
    clusters, predictor = fit_sample_clusterer(auto, sample)
    assert clusters.n_clusters >= 2
    np.testing.assert_array_equal(predictor.labels_, clusters.labels)
    labels, _ = approximate_predict(predictor, rest)
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(truth[900:], labels) > 0.9


@pytest.mark.slow
def test_dask_path_with_the_default_clusterer():
    from sklearn.metrics import adjusted_rand_score

    vectors, truth = themes()
    cfg = scale_cfg(sample_size=800, chunk_size=400, dask={"n_workers": 2, "memory_limit": "2GB"})
    auto = OmegaConf.load(f"{CONFIG_DIR}/clusterer/auto_hdbscan.yaml")
    result = fit_sample_and_map(OmegaConf.create(REDUCER), OmegaConf.create(MAP), auto, cfg, vectors, seed=1)
    assert result.clusters.labels.shape == (len(vectors),)
    assert adjusted_rand_score(truth, result.clusters.labels) > 0.9


def test_both_umaps_transform_with_one_query_per_chunk_and_the_same_result():
    """The map and the reduction share the sample's index: one query per chunk, same coordinates."""
    import umap

    from visframe.scale.sample_fit import QueryOnce, _share_sample_knn, share_query

    vectors, _ = themes(n=600, dim=16)
    sample, chunk = vectors[:450], vectors[450:]

    def fitted():
        reducer, mapper = umap.UMAP(**_umap_params(REDUCER)), umap.UMAP(**_umap_params(MAP))
        _share_sample_knn(reducer, mapper, sample, OmegaConf.create(REDUCER))
        reducer.fit(sample)
        mapper.fit(sample)
        return reducer, mapper

    reducer, mapper = fitted()
    expected = reducer.transform(chunk), mapper.transform(chunk)
    reducer, mapper = fitted()
    share_query(reducer, mapper)
    assert isinstance(reducer._knn_search_index, QueryOnce) and reducer._knn_search_index is mapper._knn_search_index
    calls = []
    index = reducer._knn_search_index.index
    original = index.query
    index.query = lambda *a, **k: calls.append(1) or original(*a, **k)
    np.testing.assert_array_equal(reducer.transform(chunk), expected[0])
    np.testing.assert_array_equal(mapper.transform(chunk), expected[1])
    assert len(calls) == 1


def _umap_params(cfg: dict) -> dict:
    return {k: v for k, v in cfg.items() if k not in ("knn", "_target_")}
