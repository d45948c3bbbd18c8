"""One kNN graph for every UMAP of a run, and caches that heal."""

import logging
import os

import numpy as np
import pytest
from omegaconf import OmegaConf

from visframe.reduce import reduce_cached
from visframe.reduce.knn import knn_cached
from visframe.session import Session

UMAP = {
    "_target_": "umap.UMAP",
    "n_neighbors": 10,
    "min_dist": 0.01,
    "metric": "cosine",
    "n_components": 5,
    "random_state": 7,
    "n_epochs": 60,
    "knn": {"shared": True, "pca_components": None},
}
MAP = {**UMAP, "n_components": 2, "min_dist": 0.1}
PCA = {"_target_": "sklearn.decomposition.PCA", "n_components": 2, "random_state": 0}


def blobs(n=600, dim=16, k=4, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, dim)) * 4
    labels = rng.integers(0, k, size=n)
    return (centers[labels] + rng.normal(size=(n, dim))).astype(np.float32), labels


def run_both(vectors, cache_dir):
    session = Session()
    reduction = reduce_cached(OmegaConf.create(UMAP), vectors, "emb:ids", cache_dir, session=session)
    mapped = reduce_cached(OmegaConf.create(MAP), vectors, "emb:ids", cache_dir, session=session)
    return reduction, mapped


def labels_of(coordinates):
    import hdbscan

    return hdbscan.HDBSCAN(min_cluster_size=20).fit(coordinates).labels_


@pytest.mark.slow
def test_shared_knn_gives_the_same_labels_as_recomputing_it(tmp_path):
    vectors, truth = blobs()
    reduction, mapped = run_both(vectors, tmp_path / "a")
    assert reduction.knn_seconds > 0 and mapped.knn_seconds == 0  # the map reused the graph
    again, _ = run_both(vectors, tmp_path / "b")  # fresh cache: the graph is computed anew
    np.testing.assert_array_equal(reduction.coordinates, again.coordinates)
    labels = labels_of(reduction.coordinates)
    np.testing.assert_array_equal(labels, labels_of(again.coordinates))
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(truth, labels) > 0.9
    assert mapped.coordinates.shape == (len(vectors), 2)


def test_pca_before_knn_is_its_own_cache_entry(tmp_path):
    vectors, _ = blobs(n=300)
    plain = knn_cached(vectors, "emb:ids", 10, seed=1, cache_dir=tmp_path)
    projected = knn_cached(vectors, "emb:ids", 10, seed=1, pca_components=4, cache_dir=tmp_path)
    assert plain.key != projected.key and not projected.cache_hit
    assert projected.indices.shape == (300, 10)
    assert (projected.indices[:, 0] == np.arange(300)).all()  # each point is its own first neighbour


def corrupt(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_damaged_reduction_heals_to_identical_coordinates(tmp_path, caplog):
    vectors, _ = blobs(n=200)
    first = reduce_cached(OmegaConf.create(PCA), vectors, "emb:ids", tmp_path)
    (entry,) = (tmp_path / "reductions").glob("*.npz")
    corrupt(entry)
    with caplog.at_level(logging.WARNING):
        healed = reduce_cached(OmegaConf.create(PCA), vectors, "emb:ids", tmp_path)
    assert not healed.cache_hit
    np.testing.assert_array_equal(first.coordinates, healed.coordinates)
    assert len([r for r in caplog.records if "damaged" in r.getMessage()]) == 1
    assert len(list((tmp_path / "reductions").glob("corrupt-*.npz"))) == 1
    assert reduce_cached(OmegaConf.create(PCA), vectors, "emb:ids", tmp_path).cache_hit


def test_interrupted_reduction_write_is_recomputed(tmp_path):
    vectors, _ = blobs(n=100)
    first = reduce_cached(OmegaConf.create(PCA), vectors, "emb:ids", tmp_path)
    (checksum,) = (tmp_path / "reductions").glob("*.npz.blake2b")
    checksum.unlink()  # killed between the archive's rename and its checksum's
    again = reduce_cached(OmegaConf.create(PCA), vectors, "emb:ids", tmp_path)
    assert not again.cache_hit
    np.testing.assert_array_equal(first.coordinates, again.coordinates)


def test_damaged_knn_graph_heals_to_the_identical_graph(tmp_path, caplog):
    vectors, _ = blobs(n=300)
    first = knn_cached(vectors, "emb:ids", 10, seed=3, cache_dir=tmp_path)
    (entry,) = (tmp_path / "reductions" / "knn").glob("*.npz")
    corrupt(entry)
    with caplog.at_level(logging.WARNING):
        healed = knn_cached(vectors, "emb:ids", 10, seed=3, cache_dir=tmp_path)
    assert not healed.cache_hit
    np.testing.assert_array_equal(first.indices, healed.indices)
    np.testing.assert_array_equal(first.distances, healed.distances)
    assert any("damaged" in r.getMessage() for r in caplog.records)
    assert knn_cached(vectors, "emb:ids", 10, seed=3, cache_dir=tmp_path).cache_hit


def test_small_collections_get_the_exact_graph_self_first():
    """Below EXACT_BELOW points the shared graph is exact (umap-learn's own small-data rule), each
    row led by the point itself even beside an exact duplicate."""
    from sklearn.neighbors import NearestNeighbors

    from visframe.reduce.knn import EXACT_BELOW, knn_cached

    rng = np.random.default_rng(4)
    vectors = rng.normal(size=(500, 12)).astype(np.float32)
    vectors[7] = vectors[8]
    graph = knn_cached(vectors, "exact-test", 10, metric="cosine", seed=1, use_cache=False)
    assert len(vectors) < EXACT_BELOW and graph.key.endswith("-exact")
    assert (graph.indices[:, 0] == np.arange(len(vectors))).all() and (graph.distances[:, 0] == 0).all()
    assert graph.indices[7, 1] == 8 and graph.indices[8, 1] == 7
    distances, expected = (
        NearestNeighbors(n_neighbors=10, metric="cosine", algorithm="brute").fit(vectors).kneighbors(vectors)
    )
    same = [len(set(a) & set(b)) / 10 for a, b in zip(graph.indices, expected)]
    assert np.mean(same) > 0.99  # only ties may be ordered differently
    np.testing.assert_allclose(graph.distances[:, 1:], distances[:, 1:], atol=1e-6)
    assert (np.diff(graph.distances, axis=1) >= 0).all()


def test_the_reduction_cache_key_names_how_the_graph_was_searched(monkeypatch):
    """A reduction fitted on the approximate graph is never read back for the exact one (or back)."""
    from omegaconf import OmegaConf

    from visframe.reduce import cache as reduction_cache
    from visframe.reduce import knn

    cfg = OmegaConf.create({"_target_": "umap.UMAP", "n_neighbors": 10, "knn": {"shared": True}})
    exact = reduction_cache.reduction_key(cfg, "input", knn_method=knn.knn_method(100))
    approximate = reduction_cache.reduction_key(cfg, "input", knn_method=knn.knn_method(knn.EXACT_BELOW))
    assert exact != approximate


def test_a_threaded_search_is_cached_under_its_thread_count_and_repeats(monkeypatch):
    from visframe.reduce import knn

    monkeypatch.setattr(knn, "EXACT_BELOW", 0)  # the approximate search, on a small input
    vectors = np.random.default_rng(5).normal(size=(600, 16)).astype(np.float32)
    session = Session()
    serial = knn.knn_cached(vectors, "threads-test", 10, seed=3, use_cache=False, session=session)
    first = knn.knn_cached(vectors, "threads-test", 10, seed=3, use_cache=False, threads=2, session=session)
    remembered = knn.knn_cached(
        vectors, "threads-test", 10, seed=3, use_cache=False, threads=2, session=session
    )
    again = knn.knn_cached(
        vectors, "threads-test", 10, seed=3, use_cache=False, threads=2
    )  # no session: computed
    assert first.key.endswith("-threads2") and serial.key != first.key
    assert remembered.cache_hit and remembered.indices is first.indices and not again.cache_hit
    np.testing.assert_array_equal(first.indices, again.indices)


def test_the_map_fitted_on_its_starting_layout_equals_the_map_fitted_on_the_vectors(tmp_path, monkeypatch):
    """With the shared graph and a starting layout umap-learn needs the vectors only for their row
    count, so the map is fitted on the reduction instead (no copies of the vectors): same map."""
    import umap

    from visframe.reduce.reducer import Reducer, initial_layout

    vectors, _ = blobs(n=400)
    reduction = reduce_cached(OmegaConf.create(UMAP), vectors, "emb:ids", tmp_path, use_cache=False)
    fitted_on = []
    stand_in = Reducer._fit_input
    monkeypatch.setattr(Reducer, "_fit_input", lambda *a: fitted_on.append(stand_in(*a)) or fitted_on[-1])
    mapped = reduce_cached(
        OmegaConf.create({**MAP, "init_from_reduction": True}),
        vectors,
        "emb:ids",
        tmp_path,
        use_cache=False,
        init_from=reduction.coordinates,
    )
    assert fitted_on[0].shape == (len(vectors), 5)  # the reduction stood in for the 16-d vectors
    graph = knn_cached(vectors, "emb:ids", 10, seed=7, use_cache=False)
    options = {k: v for k, v in MAP.items() if k not in ("_target_", "knn")}
    direct = umap.UMAP(
        **options, precomputed_knn=graph.as_precomputed(), init=initial_layout(reduction.coordinates, 2)
    ).fit_transform(vectors)
    np.testing.assert_array_equal(mapped.coordinates, direct.astype(np.float32))


def test_a_machine_with_fewer_threads_than_asked_runs_what_it_has_and_says_so(monkeypatch, caplog):
    import numba

    from visframe.reduce import knn

    monkeypatch.setattr(numba.config, "NUMBA_NUM_THREADS", 1)
    session = Session()
    with caplog.at_level(logging.WARNING, logger="visframe.reduce.knn"):
        assert knn.resolved_threads(2, session) == 1
        assert knn.resolved_threads(2, session) == 1  # told once in a session
        assert knn.resolved_threads(-1, session) == 1
    assert len(caplog.records) == 1 and "reducer.knn.n_jobs=1" in caplog.text
    with caplog.at_level(logging.WARNING, logger="visframe.reduce.knn"):
        knn.resolved_threads(2, Session())  # another session (another process) is told again
    assert len(caplog.records) == 2


@pytest.mark.slow
def test_two_threads_give_the_same_graph_on_a_bigger_machine(tmp_path):
    """The default knn.n_jobs=2: the graph depends on the thread count, not on numba's pool (the cores)."""
    import subprocess
    import sys

    vectors = np.random.default_rng(8).normal(size=(3000, 32)).astype(np.float32)
    np.save(tmp_path / "vectors.npy", vectors)
    code = (
        "import sys, numpy as np; from visframe.reduce.knn import compute_knn; "
        "np.save(sys.argv[2], compute_knn(np.load(sys.argv[1]), 10, 'cosine', 3, threads=2)[0])"
    )
    graphs = []
    for pool in (2, 4):
        out = tmp_path / f"pool{pool}.npy"
        env = {**os.environ, "NUMBA_NUM_THREADS": str(pool)}
        subprocess.run(
            [sys.executable, "-c", code, str(tmp_path / "vectors.npy"), str(out)], env=env, check=True
        )
        graphs.append(np.load(out))
    np.testing.assert_array_equal(graphs[0], graphs[1])
