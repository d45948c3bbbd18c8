import numpy as np
from omegaconf import OmegaConf

from visframe.reduce import reduce_cached

PCA = {"_target_": "sklearn.decomposition.PCA", "n_components": 2, "random_state": 0}


def test_second_call_is_a_cache_hit_with_identical_coordinates(tmp_path):
    vectors = np.random.default_rng(0).normal(size=(40, 8)).astype(np.float32)
    cfg = OmegaConf.create(PCA)
    first = reduce_cached(cfg, vectors, "embedding-a:ids", tmp_path)
    second = reduce_cached(cfg, vectors, "embedding-a:ids", tmp_path)
    assert (first.cache_hit, second.cache_hit) == (False, True)
    np.testing.assert_array_equal(first.coordinates, second.coordinates)
    assert first.coordinates.shape == (40, 2)


def test_key_changes_with_reducer_config_and_input(tmp_path):
    vectors = np.random.default_rng(0).normal(size=(40, 8)).astype(np.float32)
    base = reduce_cached(OmegaConf.create(PCA), vectors, "embedding-a:ids", tmp_path)
    other_params = reduce_cached(
        OmegaConf.create({**PCA, "n_components": 3}), vectors, "embedding-a:ids", tmp_path
    )
    other_input = reduce_cached(OmegaConf.create(PCA), vectors, "embedding-b:ids", tmp_path)
    assert not other_params.cache_hit and not other_input.cache_hit
    assert len({base.cache_key, other_params.cache_key, other_input.cache_key}) == 3


def test_identity_reducer_returns_the_vectors(tmp_path):
    vectors = np.random.default_rng(1).normal(size=(10, 4)).astype(np.float32)
    result = reduce_cached(OmegaConf.create({"_target_": "visframe.reduce.Identity"}), vectors, "k", tmp_path)
    np.testing.assert_array_equal(result.coordinates, vectors)
