"""scale=sample_fit: the reduce stage fits on a sample and places the rest with umap transform on Dask;
the cluster stage fits on the same rows and predicts the rest with hdbscan's approximate_predict."""

import numpy as np
import pytest
from omegaconf import OmegaConf

from visframe import CONFIG_DIR
from visframe.cluster import stage as cluster
from visframe.reduce import stage as reduce
from visframe.scale import sample_rows, uses_sample_fit
from visframe.stages import StageContext

REDUCER = {
    "_target_": "umap.UMAP",
    "n_neighbors": 10,
    "min_dist": 0.01,
    "metric": "cosine",
    "n_components": 5,
    "random_state": 3,
    "n_epochs": 60,
    "knn": {"shared": True, "pca_components": None},
}
MAP = {**REDUCER, "n_components": 2, "min_dist": 0.1}
CLUSTERER = {
    "_target_": "visframe.cluster.adapters.FastHDBSCAN",
    "min_cluster_size": 15,
    "min_samples": None,
    "cluster_selection_method": "eom",
    "cluster_selection_epsilon": 0.0,
    "allow_single_cluster": False,
    "reproducible": True,
}


def themes(n=2400, dim=24, k=4, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, dim))
    truth = rng.integers(0, k, size=n)
    vectors = centers[truth] + 0.25 * rng.normal(size=(n, dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32), truth


def scale_cfg(**changes):
    cfg = OmegaConf.load(f"{CONFIG_DIR}/scale/sample_fit.yaml")
    return OmegaConf.merge(cfg, changes)


def both_stages(vectors, clusterer, scale, seed=1, map_reducer=MAP):
    context = StageContext(seed=seed)
    reduced = reduce.run(
        reduce.ReduceInputs(vectors, "sample-fit-test"),
        reduce.ReduceSettings(OmegaConf.create(REDUCER), OmegaConf.create(map_reducer), scale),
        context,
    )
    clusters = cluster.run(
        cluster.ClusterInputs(reduced.coordinates, vectors, reduced.sample_rows),
        cluster.ClusterSettings(clusterer, scale),
        context,
    )
    return reduced, clusters


def test_sample_fit_applies_only_above_its_sample_size():
    cfg = scale_cfg(sample_size=1000)
    assert uses_sample_fit(cfg, 1001) and not uses_sample_fit(cfg, 1000)
    assert not uses_sample_fit(OmegaConf.load(f"{CONFIG_DIR}/scale/full.yaml"), 10**7)


@pytest.mark.slow
def test_dask_path_labels_every_point_on_a_two_worker_local_cluster():
    from sklearn.metrics import adjusted_rand_score

    vectors, truth = themes()
    cfg = scale_cfg(sample_size=800, chunk_size=400, dask={"n_workers": 2, "memory_limit": "2GB"})
    reduced, clusters = both_stages(vectors, OmegaConf.create(CLUSTERER), cfg)
    n = len(vectors)
    assert reduced.coordinates.shape == (n, 5) and reduced.map_coordinates.shape == (n, 2)
    assert np.isfinite(reduced.coordinates).all() and np.isfinite(reduced.map_coordinates).all()
    assert len(reduced.sample_rows) == 800 and clusters.labels.shape == (n,)
    np.testing.assert_array_equal(reduced.sample_rows, sample_rows(n, 800, 1))  # the seed's sample
    rest = np.setdiff1d(np.arange(n), reduced.sample_rows)
    # Every mapped point got a cluster (these themes are clean), and the right one.
    assert (clusters.labels[rest] >= 0).mean() > 0.95
    assert adjusted_rand_score(truth[rest], clusters.labels[rest]) > 0.95
    assert ((clusters.probabilities >= 0) & (clusters.probabilities <= 1)).all()


def test_the_default_auto_clusterer_chooses_on_the_sample_and_predicts_with_hdbscan():
    """AutoHDBSCAN (config.yaml's default) on the sample; hdbscan's HDBSCAN with its choice gives the
    same labels there and can approximate_predict the rest."""
    from hdbscan.prediction import approximate_predict

    from visframe.cluster.sample_fit import fit_sample_clusterer

    vectors, truth = themes(n=1200, dim=6)
    auto = OmegaConf.load(f"{CONFIG_DIR}/clusterer/auto_hdbscan.yaml")
    sample, rest = vectors[:900].astype(np.float64), vectors[900:].astype(np.float64)
    clusters, predictor = fit_sample_clusterer(auto, sample)
    assert clusters.n_clusters >= 2
    np.testing.assert_array_equal(predictor.labels_, clusters.labels)
    labels, _ = approximate_predict(predictor, rest)
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(truth[900:], labels) > 0.9


def test_the_cluster_stage_fits_the_sample_rows_and_predicts_the_others_as_hdbscan_does():
    """The split path: the cluster stage given the reduction's sample rows gives, row for row, what
    fitting hdbscan on those rows and calling approximate_predict / _scores on the others gives (what
    the joint sample-fit path computed inside each Dask chunk)."""
    import hdbscan
    from hdbscan.prediction import approximate_predict, approximate_predict_scores

    coordinates, _ = themes(n=1500, dim=5, seed=2)
    rows = sample_rows(len(coordinates), 600, seed=4)
    rest = np.setdiff1d(np.arange(len(coordinates)), rows)
    config = OmegaConf.create({"_target_": "hdbscan.HDBSCAN", "min_cluster_size": 20})
    result = cluster.run(
        cluster.ClusterInputs(coordinates, sample_rows=rows),
        cluster.ClusterSettings(config, None),
        StageContext(),
    )
    direct = hdbscan.HDBSCAN(min_cluster_size=20, prediction_data=True).fit(
        coordinates[rows].astype(np.float64)
    )
    labels, probabilities = approximate_predict(direct, coordinates[rest].astype(np.float64))
    np.testing.assert_array_equal(result.labels[rows], direct.labels_)
    np.testing.assert_array_equal(result.probabilities[rows], direct.probabilities_)
    np.testing.assert_array_equal(result.labels[rest], labels)
    np.testing.assert_array_equal(result.probabilities[rest], probabilities)
    np.testing.assert_array_equal(
        result.outlier_scores[rest], approximate_predict_scores(direct, coordinates[rest].astype(np.float64))
    )
    assert result.n_clusters >= 2


def test_predicting_on_dask_gives_what_predicting_here_gives():
    """Here by default (a LocalCluster shares this machine's cores); on the workers of a scheduler
    named by scale.dask.address; the same answers either way."""
    from visframe.cluster.sample_fit import fit_sample_clusterer, predict_rows, predicts_on_dask

    assert not predicts_on_dask(scale_cfg()) and predicts_on_dask(
        scale_cfg(dask={"address": "tcp://scheduler:8786"})
    )

    coordinates, _ = themes(n=900, dim=5, seed=3)
    _, predictor = fit_sample_clusterer(OmegaConf.create(CLUSTERER), coordinates[:500].astype(np.float64))
    rest = np.arange(500, 900)
    cfg = scale_cfg(chunk_size=150, dask={"n_workers": 1, "memory_limit": "1GB"})
    ((here_rows, here),) = predict_rows(predictor, coordinates, rest, cfg, on_dask=False)
    np.testing.assert_array_equal(here_rows, rest)
    there = predict_rows(predictor, coordinates, rest, cfg, on_dask=True)
    assert [len(chunk) for chunk, _ in there] == [150, 150, 100]
    for name in ("labels", "probabilities", "scores"):
        np.testing.assert_array_equal(np.concatenate([part[name] for _, part in there]), here[name])


@pytest.mark.slow
def test_dask_path_with_the_default_clusterer():
    from sklearn.metrics import adjusted_rand_score

    vectors, truth = themes()
    cfg = scale_cfg(sample_size=800, chunk_size=400, dask={"n_workers": 2, "memory_limit": "2GB"})
    auto = OmegaConf.load(f"{CONFIG_DIR}/clusterer/auto_hdbscan.yaml")
    _, clusters = both_stages(vectors, auto, cfg)
    assert clusters.labels.shape == (len(vectors),)
    assert adjusted_rand_score(truth, clusters.labels) > 0.9


def test_both_umaps_transform_with_one_query_per_chunk_and_the_same_result():
    """The map and the reduction share the sample's index: one query per chunk, same coordinates."""
    from visframe.reduce.reducer import ReducerConfig
    from visframe.reduce.sample_fit import QueryOnce, fit_on_sample, share_query

    vectors, _ = themes(n=600, dim=16)
    sample, chunk = vectors[:450], vectors[450:]

    def fitted():
        reducer, mapper, _, _ = fit_on_sample(sample, OmegaConf.create(REDUCER), OmegaConf.create(MAP), {})
        return reducer, mapper

    reducer, mapper = fitted()
    assert (
        ReducerConfig.parse(REDUCER).shares_knn and len(reducer.knn_graph) == 3
    )  # the graph keeps its index
    expected = reducer.transform(chunk), mapper.transform(chunk)
    reducer, mapper = fitted()
    share_query(reducer, mapper)
    index = reducer.estimator_._knn_search_index
    assert isinstance(index, QueryOnce) and index is mapper.estimator_._knn_search_index
    calls = []
    original = index.index.query
    index.index.query = lambda *a, **k: calls.append(1) or original(*a, **k)
    np.testing.assert_array_equal(reducer.transform(chunk), expected[0])
    np.testing.assert_array_equal(mapper.transform(chunk), expected[1])
    assert len(calls) == 1
