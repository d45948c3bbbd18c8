"""Fit a reducer once per (embedding key, ordered image set, reducer config); reuse it after.

A sweep over clusterer parameters must never re-reduce: the reduced coordinates are stored under a
key derived from exactly the inputs that determine them.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from visframe.utils.cache import cache_subdir
from visframe.utils.hashing import stable_hash

log = logging.getLogger(__name__)


@dataclass
class ReductionResult:
    coordinates: np.ndarray  # (N, n_components) float32, rows aligned with the input vectors
    cache_key: str
    cache_hit: bool
    seconds: float            # time to fit (0 when read from the cache)


def reduction_key(reducer_cfg: DictConfig | dict, input_key: str) -> str:
    """The cache key: the input's identity plus the fully resolved reducer config."""
    config = OmegaConf.to_container(reducer_cfg, resolve=True) if isinstance(reducer_cfg, DictConfig) else reducer_cfg
    return stable_hash({"input": input_key, "reducer": config}, digits=24)


def reduce_cached(
    reducer_cfg: DictConfig,
    vectors: np.ndarray,
    input_key: str,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
) -> ReductionResult:
    """Reduce `vectors` with the estimator `reducer_cfg` describes, through the reduction cache.

    `input_key` must identify the vectors exactly: the embedding key and the ordered image ids.
    """
    key = reduction_key(reducer_cfg, input_key)
    path = cache_subdir(cache_dir, "reductions") / f"{key}.npy"
    if use_cache and path.exists():
        coordinates = np.load(path)
        if coordinates.shape[0] == vectors.shape[0]:
            log.info("Reduction read from cache %s", path)
            return ReductionResult(coordinates, key, True, 0.0)
        log.warning("Ignoring cached reduction %s: %d rows, expected %d", path, coordinates.shape[0], vectors.shape[0])

    reducer = instantiate(reducer_cfg)
    started = time.perf_counter()
    with warnings.catch_warnings():
        # umap-learn warns on every seeded fit that it runs single-threaded: that is our documented
        # choice (reducer.random_state=null for the parallel path), not news to the user each run.
        warnings.filterwarnings("ignore", message="n_jobs value .* overridden", category=UserWarning)
        coordinates = np.asarray(reducer.fit_transform(vectors), dtype=np.float32)
    seconds = time.perf_counter() - started
    if use_cache:
        # Write then rename, so a killed run never leaves a half-written cache entry.
        tmp = path.with_suffix(f".tmp-{os.getpid()}.npy")
        np.save(tmp, coordinates)
        os.replace(tmp, path)
    return ReductionResult(coordinates, key, False, seconds)
