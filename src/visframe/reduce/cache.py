"""The reduction cache: an estimator's `fit_transform` of some vectors, stored under a key.

A sweep over clusterer parameters must never re-reduce: the reduced coordinates are stored under a
key derived from exactly the inputs that determine them (`reduction_key`: the vectors' identity, the
fully resolved reducer config, the starting layout if any, how the shared kNN graph is searched).
`fit_transform_cached(estimator, vectors, key)` reads the entry or fits and stores it; it knows
nothing of UMAP (`visframe.reduce.reducer` fits that).

Entries heal: written atomically with a checksum; a damaged one is set aside (`corrupt-…`) with
one warning and computed again, giving the same coordinates (same seed).
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from visframe.reduce.integrity import load_arrays, save_arrays
from visframe.reduce.reducer import as_dict
from visframe.utils.cache import cache_subdir
from visframe.utils.hashing import stable_hash

log = logging.getLogger(__name__)
REDUCTIONS_SUBDIR = "reductions"


@dataclass(frozen=True)
class CachedFit:
    coordinates: np.ndarray  # (N, n_components) float32, rows aligned with the input vectors
    key: str
    cache_hit: bool
    seconds: float  # time to fit (0 when read from the cache)


def reduction_key(
    reducer_cfg: DictConfig | dict,
    input_key: str,
    init_from: np.ndarray | None = None,
    knn_method: str | None = None,
) -> str:
    """The cache key: the input's identity, the fully resolved reducer config (and the init, if any,
    and how the shared kNN graph is searched: exact below knn.EXACT_BELOW points, approximate above)."""
    spec = {"input": input_key, "reducer": as_dict(reducer_cfg)}
    if init_from is not None:
        spec["init_from"] = hashlib.sha256(np.ascontiguousarray(init_from).tobytes()).hexdigest()
    if knn_method is not None:
        spec["knn_method"] = knn_method
    return stable_hash(spec, digits=24)


def reduction_path(key: str, cache_dir: str | Path | None = None) -> Path:
    return cache_subdir(cache_dir, REDUCTIONS_SUBDIR) / f"{key}.npz"


def fit_transform_cached(
    estimator, vectors: np.ndarray, key: str, cache_dir: str | Path | None = None, use_cache: bool = True
) -> CachedFit:
    """`estimator.fit_transform(vectors)` as float32, read from the cache entry `key` when it is there
    (then `estimator` is left unfitted), else fitted and stored. `key` must identify everything the
    coordinates depend on (`reduction_key`)."""
    path = reduction_path(key, cache_dir)
    if use_cache:
        stored = load_arrays(path, "cached reduction")
        if stored is not None and stored["coordinates"].shape[0] == vectors.shape[0]:
            log.info("Reduction read from cache %s", path)
            return CachedFit(stored["coordinates"], key, True, 0.0)
        if stored is not None:
            log.warning(
                "Ignoring cached reduction %s: %d rows, expected %d",
                path,
                len(stored["coordinates"]),
                len(vectors),
            )
    started = time.perf_counter()
    coordinates = np.asarray(estimator.fit_transform(vectors), dtype=np.float32)
    seconds = time.perf_counter() - started
    if use_cache:
        save_arrays(path, coordinates=coordinates)
    return CachedFit(coordinates, key, False, seconds)
