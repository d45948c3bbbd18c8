"""One neighbour graph per (embedding key, image set, n_neighbors, metric, PCA), shared by every UMAP.

A run fits two UMAPs on the same vectors — the clustering reduction (5-d) and the 2-D map — and
umap-learn would compute the same approximate kNN graph (pynndescent) inside each fit. Here it is
computed once with umap-learn's own `nearest_neighbors` (the function UMAP calls internally, same
tree and iteration counts), cached on disk, and handed to each UMAP as
`precomputed_knn=(indices, distances)`. A sweep that re-reduces with other UMAP parameters
(min_dist, n_components, epochs) pays no kNN at all.

Optionally the vectors are first projected on their leading principal components
(`pca_components`, e.g. 50): the kNN search then runs in 50 dimensions instead of 512-1280.

Below 20,000 points (`EXACT_BELOW`) the graph is exact (umap-learn's own fit: below 4,096).

Determinism: with a `seed` the graph is computed with that seed on `knn.n_jobs` threads (2 by
default). pynndescent splits its work in as many blocks as threads, so the graph depends on that
count and not on the machine: 2 threads give the same graph from numba pools of 2, 4 or 8 threads
(checked at 30,000 × 512), and another graph than 1 thread does. The cache entry heals: written
atomically with a checksum, a damaged one is set aside and recomputed (see `integrity`).

What a process remembers lives in the `Session` it is given (`visframe.session`): the last graph
(`session.knn_graphs`, so the map's UMAP reuses the reduction's graph without a disk read) and the
thread-count warning already given (`session.tell_once`). Called without a session, nothing is
remembered: the graph is read from the disk cache again and the warning repeats.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from visframe.reduce.integrity import load_arrays, save_arrays
from visframe.session import Session
from visframe.utils.arrays import unit_rows
from visframe.utils.cache import cache_subdir
from visframe.utils.hashing import stable_hash

log = logging.getLogger(__name__)
KNN_SUBDIR = "knn"


@dataclass
class KnnGraph:
    indices: np.ndarray  # (N, k) int32, each row starts with the point itself
    distances: np.ndarray  # (N, k) float32
    key: str
    cache_hit: bool
    seconds: float  # time to compute (0 when read)

    def as_precomputed(self) -> tuple[np.ndarray, np.ndarray]:
        """The `precomputed_knn` umap.UMAP accepts (no search index, so no `transform` after)."""
        return self.indices, self.distances


def knn_key(
    input_key: str, n_neighbors: int, metric: str, pca_components: int | None, seed: int | None
) -> str:
    spec = {"input": input_key, "k": int(n_neighbors), "metric": metric, "pca": pca_components, "seed": seed}
    return stable_hash(spec, digits=24)


def pca_project(vectors: np.ndarray, n_components: int | None, seed: int | None) -> np.ndarray:
    """The vectors on their first `n_components` principal components (as they are when None)."""
    if not n_components or n_components >= vectors.shape[1]:
        return vectors
    from sklearn.decomposition import PCA

    solver = "randomized" if vectors.shape[0] > 5 * n_components else "full"
    pca = PCA(n_components=n_components, svd_solver=solver, random_state=0 if seed is None else seed)
    return pca.fit_transform(vectors).astype(np.float32)


def compute_knn(
    vectors: np.ndarray,
    n_neighbors: int,
    metric: str,
    seed: int | None,
    low_memory: bool = True,
    threads: int = 1,
):
    """umap-learn's own kNN: (indices, distances, search index), as UMAP would compute it.

    Seeded, the search runs on `threads` threads (-1 = every core; see `resolved_threads`): the same
    graph on every run and machine with the same thread count, another graph with another count
    (30,000 × 512 here: 3.8 s on one thread, 2.0 s on two). Unseeded it always uses every core."""
    from sklearn.utils import check_random_state
    from umap.umap_ import nearest_neighbors

    return nearest_neighbors(
        np.ascontiguousarray(vectors, dtype=np.float32),
        int(n_neighbors),
        metric,
        {},
        False,
        check_random_state(seed),
        low_memory=low_memory,
        use_pynndescent=True,
        n_jobs=resolved_threads(threads) if seed is not None else -1,
        verbose=False,
    )


# Below this many points the graph is exact (umap-learn's own fit is exact below 4,096): pynndescent's
# search is compiled in every new process (9-17 s here: numba cannot cache a function that is handed
# another jitted one), while exact neighbours take 0.7 / 1.9 / 4.2 s at 5,000 / 10,000 / 16,567 × 512
# (pynndescent once compiled: 1.0 s at 10,000, 1.8 s at 16,567), computed in row blocks (memory: a
# block × n distances, not n × n). So the study's 16,567 posts get the exact graph.
EXACT_BELOW = 20_000
# Rows per block. argpartition allocates a fresh block × n int64 array each block: at 2,048 rows
# (271 MB at 16,567 points) it took 5.0 of 6.1 s under the profiler on this VM, whose fresh memory is
# slow to touch;
# at 256 rows (34 MB) the whole graph takes 1.8 s, the same graph.
_EXACT_BLOCK = 256


def resolved_threads(threads: int, session: Session | None = None) -> int:
    """The thread count a kNN search runs on: `threads`, at most numba's pool (-1 = the whole pool,
    i.e. every core). pynndescent splits its work in that many blocks, so the count, not the machine,
    decides the graph; a machine with fewer cores than asked gets another graph, and is told so
    (once per `session`; every time without one)."""
    import numba

    available = int(numba.config.NUMBA_NUM_THREADS)
    if int(threads) <= 0:
        return available
    fewer = int(threads) > available
    if fewer and (session is None or session.tell_once(("knn-fewer-threads", int(threads)))):
        log.warning(
            "The kNN search asked for %d threads (reducer.knn.n_jobs) but numba has %d here: it runs on %d, "
            "which gives another neighbour graph than %d threads elsewhere. For the same graph on every "
            "machine set reducer.knn.n_jobs=1.",
            int(threads),
            available,
            available,
            int(threads),
        )
    return min(int(threads), available)


def knn_method(n_points: int) -> str:
    """How the shared graph of n points is searched: "exact" or "pynndescent" (part of cache keys)."""
    return "exact" if n_points < EXACT_BELOW else "pynndescent"


def exact_knn(vectors: np.ndarray, n_neighbors: int, metric: str):
    """Exact neighbours (indices, distances, None): every row starts with the point itself, then
    the nearest others by distance, ties in index order. None when scikit-learn lacks the metric."""
    from sklearn.metrics import pairwise_distances
    from sklearn.metrics.pairwise import PAIRWISE_DISTANCE_FUNCTIONS

    if metric not in PAIRWISE_DISTANCE_FUNCTIONS:
        return None
    points = np.asarray(vectors, dtype=np.float32)
    n, k = len(points), min(int(n_neighbors), len(points))
    indices, found = np.empty((n, k), dtype=np.int32), np.empty((n, k), dtype=np.float32)
    unit = unit_rows(points, np.float32) if metric == "cosine" else None
    buffer = np.empty((min(n, _EXACT_BLOCK), n), dtype=np.float32) if unit is not None else None
    for start in range(0, n, _EXACT_BLOCK):
        rows = np.arange(start, min(n, start + _EXACT_BLOCK))
        if unit is not None:
            block = _cosine_block(unit, rows, buffer[: len(rows)])
        else:
            block = pairwise_distances(points[rows], points, metric=metric).astype(np.float32)
        np.maximum(block, 0.0, out=block)  # float rounding can give -1e-7 for identical vectors
        block[np.arange(len(rows)), rows] = -1.0  # the point itself first, even beside exact duplicates
        nearest = (
            np.argpartition(block, k - 1, axis=1)[:, :k] if k < n else np.tile(np.arange(n), (len(rows), 1))
        )
        order = np.lexsort((nearest, np.take_along_axis(block, nearest, axis=1)), axis=1)
        indices[rows] = np.take_along_axis(nearest, order, axis=1)
        found[rows] = np.take_along_axis(block, indices[rows], axis=1)
    found[:, 0] = 0.0
    return indices, found, None


def _cosine_block(unit: np.ndarray, rows: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Cosine distances of `rows` to every point, into `out` (one buffer for every block): what
    scikit-learn's `cosine_distances` computes, without normalising every point again per block and
    without the fresh arrays of its array-api clip (16,567 × 512 here, 256-row blocks: 1.8-1.9 s
    instead of 3.1-3.6 s)."""
    np.matmul(unit[rows], unit.T, out=out)
    np.subtract(1.0, out, out=out)
    return np.minimum(out, 2.0, out=out)


def knn_cached(
    vectors: np.ndarray,
    input_key: str,
    n_neighbors: int,
    metric: str = "cosine",
    seed: int | None = 42,
    pca_components: int | None = None,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    threads: int = 1,
    session: Session | None = None,
) -> KnnGraph:
    """The kNN graph of `vectors`: from the `session`'s memo, the disk cache, or computed (and stored)."""
    exact = knn_method(len(vectors)) == "exact"
    key = knn_key(input_key, n_neighbors, metric, pca_components, seed) + ("-exact" if exact else "")
    threads = threads if exact or seed is None else resolved_threads(threads, session)
    if not exact and seed is not None and threads != 1:
        key += f"-threads{threads}"  # another thread count gives another graph
    remembered = session.knn_graphs.get(key) if session is not None else None
    if remembered is not None:
        return KnnGraph(*remembered, key, True, 0.0)
    path = cache_subdir(cache_dir, "reductions", KNN_SUBDIR) / f"{key}.npz"
    if use_cache:
        stored = load_arrays(path, "cached kNN graph")
        if stored is not None and stored["indices"].shape == (len(vectors), n_neighbors):
            _remember(session, key, stored["indices"], stored["distances"])
            log.info("kNN graph read from cache %s", path)
            return KnnGraph(stored["indices"], stored["distances"], key, True, 0.0)
    started = time.perf_counter()
    points = pca_project(vectors, pca_components, seed)
    graph = exact_knn(points, n_neighbors, metric) if exact else None
    indices, distances, _ = (
        graph if graph is not None else compute_knn(points, n_neighbors, metric, seed, threads=threads)
    )
    indices, distances = indices.astype(np.int32), distances.astype(np.float32)
    seconds = time.perf_counter() - started
    if use_cache:
        save_arrays(path, indices=indices, distances=distances)
    _remember(session, key, indices, distances)
    return KnnGraph(indices, distances, key, False, seconds)


def _remember(session: Session | None, key: str, indices: np.ndarray, distances: np.ndarray) -> None:
    if session is not None:
        session.knn_graphs.put(key, (indices, distances))
