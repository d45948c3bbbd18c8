"""The `Reducer` estimator (the configured reducer + shared graph, epoch budget, starting layout),
the cache as a function over (estimator, vectors, key), and the reduce stage's entry point."""

import numpy as np
import pytest
import umap
from omegaconf import OmegaConf
from sklearn.base import clone
from sklearn.decomposition import PCA

from visframe.reduce import Identity, Reducer, fit_transform_cached, reduce_cached, reduction_key
from visframe.reduce import stage as reduce
from visframe.reduce.knn import knn_cached
from visframe.reduce.reducer import ReducerConfig, initial_layout
from visframe.session import Session
from visframe.stages import StageContext

UMAP = {
    "_target_": "umap.UMAP",
    "n_neighbors": 10,
    "min_dist": 0.01,
    "metric": "cosine",
    "n_components": 5,
    "random_state": 7,
    "n_epochs": 30,
    "knn": {"shared": True, "pca_components": None, "n_jobs": 2},
    "epoch_budget": {"point_epochs": 6000, "min_epochs": 5},
}
MAP = {**UMAP, "n_components": 2, "min_dist": 0.1, "init_from_reduction": True}


def points(n=300, dim=12, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(3, dim)) * 4
    return (centers[rng.integers(0, 3, size=n)] + rng.normal(size=(n, dim))).astype(np.float32)


def test_params_are_the_estimators_and_visframes_and_can_be_set():
    reducer = Reducer(umap.UMAP(n_neighbors=10), epoch_budget={"point_epochs": 100})
    params = reducer.get_params()
    assert params["estimator__n_neighbors"] == 10 and params["epoch_budget"] == {"point_epochs": 100}
    reducer.set_params(estimator__n_neighbors=20, epoch_budget=None)
    assert reducer.estimator.n_neighbors == 20 and reducer.epoch_budget is None
    copy = clone(reducer)
    assert copy.get_params()["estimator__n_neighbors"] == 20 and copy.estimator is not reducer.estimator


def test_pca_and_identity_fit_as_they_are_whatever_is_given():
    vectors = points()
    pca = Reducer(
        PCA(n_components=2, random_state=0),
        knn_graph=lambda: pytest.fail("PCA needs no graph"),
        epoch_budget={"point_epochs": 10},
        init=vectors[:, :5],
    )
    np.testing.assert_array_equal(
        pca.fit_transform(vectors),
        PCA(n_components=2, random_state=0).fit_transform(vectors).astype(np.float32),
    )
    np.testing.assert_array_equal(
        pca.transform(vectors[:7]), pca.estimator_.transform(vectors[:7]).astype(np.float32)
    )
    assert pca.n_epochs_ is None and pca.knn_seconds_ == 0.0
    np.testing.assert_array_equal(Reducer(Identity()).fit(vectors).transform(vectors), vectors)


def test_a_umap_gets_the_graph_the_budget_and_the_layout_and_equals_the_umap_given_them_by_hand():
    vectors = points()
    graph = knn_cached(vectors, "wrapper-test", 10, seed=7, use_cache=False)
    start = points(dim=5, seed=1)
    options = {
        k: v for k, v in MAP.items() if k not in ("_target_", "knn", "epoch_budget", "init_from_reduction")
    }
    wrapped = Reducer(
        umap.UMAP(**options), knn_graph=lambda: graph, epoch_budget=MAP["epoch_budget"], init=start
    )
    coordinates = wrapped.fit_transform(vectors)
    assert (
        wrapped.n_epochs_ == 20 and wrapped.estimator.n_epochs == 30
    )  # 6,000 / 300; the template is unfitted
    by_hand = umap.UMAP(
        **{**options, "n_epochs": 20}, precomputed_knn=graph.as_precomputed(), init=initial_layout(start, 2)
    ).fit_transform(vectors)
    np.testing.assert_array_equal(coordinates, by_hand.astype(np.float32))


def test_the_cache_is_a_function_of_estimator_vectors_and_key(tmp_path):
    vectors = points()
    made = []
    reducer = Reducer(
        umap.UMAP(**{k: v for k, v in UMAP.items() if k not in ("_target_", "knn", "epoch_budget")}),
        knn_graph=lambda: made.append(1) or knn_cached(vectors, "k", 10, seed=7, use_cache=False),
    )
    first = fit_transform_cached(reducer, vectors, "some-key", tmp_path)
    second = fit_transform_cached(clone(reducer), vectors, "some-key", tmp_path)
    assert (first.cache_hit, second.cache_hit) == (False, True) and made == [1]  # a hit reads no graph
    np.testing.assert_array_equal(first.coordinates, second.coordinates)
    assert (tmp_path / "reductions" / "some-key.npz").exists()


def test_cache_keys_are_the_ones_visframe_wrote_before_the_estimators():
    """Existing reduction caches stay valid: the same config and input give the same key as before
    (the keys the code before `Reducer` wrote, computed with it at commit 2360acc)."""
    pca = {"_target_": "sklearn.decomposition.PCA", "n_components": 2, "random_state": 0}
    umap_cfg = {
        "_target_": "umap.UMAP",
        "n_neighbors": 10,
        "min_dist": 0.01,
        "metric": "cosine",
        "n_components": 5,
        "random_state": 3,
        "n_epochs": 60,
        "knn": {"shared": True, "pca_components": None},
    }
    assert reduction_key(pca, "emb:ids") == "802522dbbbdc6817ba2c7499"
    assert reduction_key(umap_cfg, "emb:ids", knn_method="exact") == "2944ba6c2717ed35a1f8ba16"


def test_the_config_is_split_into_the_estimator_and_visframes_blocks():
    config = ReducerConfig.parse(OmegaConf.create(MAP))
    assert "knn" not in config.estimator and "epoch_budget" not in config.estimator
    assert config.shares_knn and config.knn_threads == 2 and config.init_from_reduction
    assert config.resolved == OmegaConf.to_container(OmegaConf.create(MAP))
    assert isinstance(config.build(), umap.UMAP)


def test_the_stage_reduces_and_maps_sharing_one_graph_in_the_session(tmp_path):
    vectors = points(n=400)
    context = StageContext(cache_dir=str(tmp_path), seed=7, session=Session())
    settings = reduce.ReduceSettings(OmegaConf.create(UMAP), OmegaConf.create(MAP))
    result = reduce.run(reduce.ReduceInputs(vectors, "stage-test"), settings, context)
    assert result.coordinates.shape == (400, 5) and result.map_coordinates.shape == (400, 2)
    assert result.n_components == 5 and not result.cache_hit and result.sample_rows is None
    assert result.seconds["knn"] > 0 and len(context.session.knn_graphs) == 1
    expected = reduce_cached(OmegaConf.create(UMAP), vectors, "stage-test", tmp_path / "other")
    np.testing.assert_array_equal(result.coordinates, expected.coordinates)
    again = reduce.run(reduce.ReduceInputs(vectors, "stage-test"), settings, context)
    assert again.cache_hit
    np.testing.assert_array_equal(again.map_coordinates, result.map_coordinates)


def test_a_two_dimensional_reduction_is_its_own_map(tmp_path):
    vectors = points()
    pca = OmegaConf.create({"_target_": "sklearn.decomposition.PCA", "n_components": 2, "random_state": 0})
    result = reduce.run(
        reduce.ReduceInputs(vectors, "pca"),
        reduce.ReduceSettings(pca, OmegaConf.create(MAP)),
        StageContext(cache_dir=str(tmp_path)),
    )
    np.testing.assert_array_equal(result.map_coordinates, result.coordinates)


def test_more_components_than_the_vectors_give_is_refused_before_the_fit():
    """`reducer=pca reducer.n_components=500` on 300 × 64 vectors (issue 25): one message naming the
    setting and the bound, not scikit-learn's traceback halfway through the job."""
    from visframe.errors import ConfigError

    vectors = np.random.default_rng(0).normal(size=(300, 64)).astype(np.float32)
    with pytest.raises(
        ConfigError, match=r"n_components=500 is more than min\(rows, dimensions\) = min\(300, 64\)"
    ):
        Reducer(PCA(n_components=500)).fit_transform(vectors)
    with pytest.raises(ConfigError, match="more than the 64 dimensions"):
        Reducer(umap.UMAP(n_components=65)).fit_transform(vectors)
    assert Reducer(PCA(n_components=64)).fit_transform(vectors).shape == (300, 64)  # the bound itself fits
    assert Reducer(PCA(n_components=0.9)).fit_transform(vectors).shape[0] == 300  # a fraction: PCA decides


def test_a_setting_the_estimator_refuses_at_fit_is_a_config_error():
    from visframe.errors import ConfigError

    vectors = np.random.default_rng(0).normal(size=(50, 8)).astype(np.float32)
    with pytest.raises(ConfigError, match=r"PCA\(n_components=8\) cannot reduce 50 × 8 vectors") as caught:
        Reducer(PCA(n_components=8, svd_solver="arpack")).fit_transform(vectors)  # arpack: < min(rows, dims)
    assert "reducer.n_components" in caught.value.fix
