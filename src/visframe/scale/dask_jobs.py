"""The Dask cluster a job's large steps run on, and the ingest file checks as Dask tasks.

`dask_client` opens a client on `scale.dask.address` (any scheduler whose workers have visframe
installed) or on a LocalCluster of `scale.dask.n_workers` processes started for the step, with
patient timeouts (a worker deep in a numba-compiled transform answers late on a busy machine).

`dask_inspector(scale_cfg)`: with scale=sample_fit, ingest's per-file checks (decode, size, blank,
perceptual hash: visframe.data.cleaning) of a folder with at least `scale.dask.ingest_min_files`
files still to check run as tasks of `ingest_batch_size` files on that cluster, results in file
order; smaller folders are checked in this machine's processes as before (starting a cluster costs
seconds). A worker that fails a batch is retried (`retries`); the facts are the same either way.
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

# Patient timeouts: on a busy machine a worker deep in a numba-compiled transform answers late, and
# Dask's defaults (10 s connect, 30 s comm) dropped it mid-run here (1,000,000 points, 2 cores).
PATIENT = {
    "distributed.comm.timeouts.connect": "300s",
    "distributed.comm.timeouts.tcp": "900s",
    "distributed.scheduler.allowed-failures": 6,
    "distributed.scheduler.worker-ttl": None,
}


@contextmanager
def dask_client(dask_cfg):
    """A `distributed.Client` on the configured scheduler, or on a LocalCluster closed afterwards."""
    import dask
    import distributed  # noqa: F401  (its config defaults must be loaded before dask.config.set)
    from dask.distributed import Client, LocalCluster

    with dask.config.set(PATIENT):
        cluster = None
        if dask_cfg["address"] is None:
            cluster = LocalCluster(
                n_workers=int(dask_cfg["n_workers"]),
                threads_per_worker=int(dask_cfg["threads_per_worker"]),
                memory_limit=dask_cfg["memory_limit"],
                processes=True,
                dashboard_address=None,
            )
        try:
            with Client(cluster if cluster is not None else dask_cfg["address"]) as client:
                yield client
        finally:
            if cluster is not None:
                cluster.close()


def inspect_batch(paths: list[str], max_pixels: int) -> list[dict]:
    """One Dask task: the facts of a batch of files (plain dicts: cheap to send back)."""
    from visframe.data.cleaning import inspect_file_as_dict

    return [inspect_file_as_dict((path, max_pixels)) for path in paths]


class DaskInspector:
    """`visframe.data.ingest.Inspector` on a Dask cluster (see the module docstring)."""

    def __init__(self, dask_cfg):
        self.dask_cfg = dask_cfg
        self.min_files = int(dask_cfg.get("ingest_min_files", 50_000))
        self.batch_size = int(dask_cfg.get("ingest_batch_size", 500))

    def __call__(self, paths: list[str], max_pixels: int) -> Iterator:
        from visframe.data.cleaning import FileFacts
        from visframe.data.ingest import run_inspections

        if len(paths) < self.min_files:
            yield from run_inspections(paths, max_pixels)
            return
        log.info("ingest: checking %d files on Dask in batches of %d", len(paths), self.batch_size)
        with dask_client(self.dask_cfg) as client:
            for batch in self._batches(client, paths, max_pixels):
                yield from (FileFacts.from_dict(found) for found in batch)

    def _batches(self, client, paths: list[str], max_pixels: int) -> Iterator[list[dict]]:
        token = uuid.uuid4().hex[:12]
        in_flight = 4 * max(1, len(client.scheduler_info().get("workers", {})))
        pending: deque = deque()
        for start in range(0, len(paths), self.batch_size):
            batch = paths[start : start + self.batch_size]
            pending.append(
                client.submit(
                    inspect_batch, batch, max_pixels, key=f"visframe-ingest-{token}-{start}", retries=2
                )
            )
            if len(pending) >= in_flight:
                yield pending.popleft().result()  # in file order; later batches keep running meanwhile
        while pending:
            yield pending.popleft().result()


def dask_inspector(scale_cfg) -> DaskInspector | None:
    """The ingest inspector for this job's scale config: on Dask with scale=sample_fit, else None."""
    if not scale_cfg or scale_cfg.get("mode") != "sample_fit":
        return None
    return DaskInspector(scale_cfg["dask"])
