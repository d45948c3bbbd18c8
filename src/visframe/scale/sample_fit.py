"""Fit on a sample, map the rest chunk by chunk as a Dask job: the parts the reduce and cluster
stages share.

A full UMAP + HDBSCAN fit holds every point's kNN graph and spanning tree in one process and runs
its seeded optimisation on one core. Past `scale.sample_size` points (50,000 by default) the reduce
stage fits the reducer (5-d) and the 2-D map on a seeded random sample (`sample_rows`) and places
every other point with umap-learn's `UMAP.transform` (visframe.reduce.sample_fit); the cluster stage
fits the clusterer on the sample's coordinates and predicts the rest with hdbscan's
`approximate_predict` / `approximate_predict_scores` (visframe.cluster.sample_fit).

`map_chunks` runs a task over the rest in chunks of `scale.chunk_size` rows as tasks of a
`dask.distributed` job: a `LocalCluster` (`scale.dask.n_workers` processes) unless
`scale.dask.address` names a scheduler. The fitted models are scattered to the workers once. The
result is deterministic for a given seed, sample size and chunk size (each transform is seeded by
the UMAP's `transform_seed`), whatever the worker count.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import numpy as np
from omegaconf import DictConfig

from visframe.scale.dask_jobs import dask_client


def uses_sample_fit(scale_cfg: DictConfig | dict | None, n_points: int) -> bool:
    """Whether `scale_cfg` asks for the sample-fit path at this size."""
    return bool(scale_cfg) and scale_cfg["mode"] == "sample_fit" and n_points > int(scale_cfg["sample_size"])


def sample_rows(n_points: int, sample_size: int, seed: int) -> np.ndarray:
    """The seeded random rows the estimators are fitted on, in ascending order."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_points, size=min(n_points, int(sample_size)), replace=False))


def rest_rows(n_points: int, fitted_rows: np.ndarray) -> np.ndarray:
    """Every row not in `fitted_rows` (ascending): the rows mapped after the fit."""
    return np.setdiff1d(np.arange(n_points), fitted_rows, assume_unique=True)


def chunks_of(rows: np.ndarray, chunk_size: int) -> list[np.ndarray]:
    return [rows[start : start + int(chunk_size)] for start in range(0, len(rows), int(chunk_size))]


def map_chunks(task: Callable, models, values: np.ndarray, rows: np.ndarray, scale_cfg: DictConfig | dict):
    """[(rows of the chunk, task(models, values[rows of the chunk]))], the chunks of `scale.chunk_size`
    rows run as tasks on a Dask cluster. `task` must be importable by the workers (a module-level
    function of visframe)."""
    if len(rows) == 0:
        return []
    chunks = chunks_of(rows, int(scale_cfg["chunk_size"]))
    with dask_client(scale_cfg["dask"]) as client:
        return _run_chunks(client, task, models, values, chunks, int(scale_cfg["dask"]["n_workers"]))


def _run_chunks(client, task: Callable, models, values, chunks, n_workers: int):
    from dask.distributed import as_completed

    in_flight = 2 * n_workers  # bounds the chunks held in memory at once
    results: dict[int, object] = {}
    token = uuid.uuid4().hex[:12]  # a shared scheduler must never hand back another run's chunk
    (shared,) = client.scatter([models], broadcast=True)
    pending = as_completed()
    for index, chunk in enumerate(chunks):
        future = client.submit(task, shared, values[chunk], key=f"visframe-map-{token}-{index}", retries=2)
        pending.add(future)
        while pending.count() >= in_flight:
            _collect(next(pending), results)
    for future in pending:
        _collect(future, results)
    return [(chunk, results[index]) for index, chunk in enumerate(chunks)]


def _collect(future, results: dict) -> None:
    results[int(future.key.rsplit("-", 1)[1])] = future.result()
