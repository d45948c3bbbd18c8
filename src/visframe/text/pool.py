"""Reading many images at once: a process pool of OCR engines here, or a Dask cluster's workers.

    rows = read_in_processes(backend, [(image_id, path), ...], workers=2)   # texts rows, in order
    reader = dask_reader(cfg.scale)       # scale=sample_fit: a DaskReader, else None
    rows = reader(backend, items, workers)

Each worker process gets a pickled copy of the backend once (RapidOCR's onnxruntime sessions do not
pickle: each worker builds its own engine on its first image, ~1 s) and reads chunks of `CHUNK`
images; rows come back in the order of `items`, so the caller flushes its cache shards as before
and a killed run loses at most a shard plus the chunks in flight. A worker that dies (out of memory,
a crashing decoder) breaks the pool: the images not yet returned are then read in this process, one
by one, with a warning, as ingest does. An exception inside one image's read is that image's failed
row (`read_one`), never the pool's.

Measured here (2 cores, one onnxruntime thread per process): two processes read 200 images of the
small corpus 1.83x as fast as one at a quiet moment (issue 23); while other jobs held both cores the
pool gained nothing (`pool_speedup` 1.01 in bench_text.py's RESULT line at load 3-4): the pool only
pays where a core is idle.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from visframe.contracts import (
    IMAGE_ID,
    LANGUAGE,
    MEAN_CONFIDENCE,
    N_CHARS,
    TEXT,
    TEXT_AREA_SHARE,
    TEXT_FAILED,
    TEXT_OK,
    TEXT_REASON,
    TEXT_STATUS,
)
from visframe.data.images import load_rgb
from visframe.errors import ConfigError
from visframe.text.base import TextBackend, summarise

log = logging.getLogger(__name__)

MAX_PIXELS = 40_000_000  # larger images are refused (recorded as failed), as ingest does
MAX_AUTO_WORKERS = 8  # `workers: auto` = the usable cores, at most this many
CHUNK = 8  # images per pool task: small enough to balance the workers, large enough to be cheap to send
# Below this many images one process reads them: starting a worker (importing visframe and building
# the onnxruntime sessions) costs ~2-4 s here, about 20 images' reading.
POOL_MIN_IMAGES = 48

Item = tuple[str, str]  # (image_id, path)
# Reads `items` with `backend` somewhere (in this machine's processes, on a cluster) and yields their
# texts rows in the order of `items`; `workers` is the text config's process count for local reading.
Reader = Callable[[TextBackend, Sequence[Item], int], Iterable[dict]]


def read_one(backend: TextBackend, image_id: str, path: str) -> dict:
    """One texts.parquet row; a failure becomes an empty, failed row with the reason."""
    try:
        image = load_rgb(path, max_pixels=MAX_PIXELS)
        found = summarise(backend.read(image), image.width, image.height)
        return {
            IMAGE_ID: image_id,
            TEXT: found.text,
            N_CHARS: found.n_chars,
            TEXT_AREA_SHARE: found.text_area_share,
            MEAN_CONFIDENCE: found.mean_confidence,
            LANGUAGE: backend.language if found.text else None,
            TEXT_STATUS: TEXT_OK,
            TEXT_REASON: "",
        }
    except Exception as error:  # noqa: BLE001 - any backend/decoder error is recorded, the run goes on
        reason = f"{type(error).__name__}: {error}".strip()
        return {
            IMAGE_ID: image_id,
            TEXT: "",
            N_CHARS: 0,
            TEXT_AREA_SHARE: 0.0,
            MEAN_CONFIDENCE: math.nan,
            LANGUAGE: None,
            TEXT_STATUS: TEXT_FAILED,
            TEXT_REASON: reason[:500],
        }


def read_batch(backend: TextBackend, items: Sequence[Item]) -> list[dict]:
    """The rows of a batch of images, read in this process (a Dask task, or the fallback)."""
    return [read_one(backend, image_id, path) for image_id, path in items]


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS says, else the CPU count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def resolve_workers(value: Any) -> int:
    """`workers` of the text config: "auto"/None = the usable cores, at most MAX_AUTO_WORKERS; else a
    count >= 1."""
    if value is None or value == "auto":
        return max(1, min(MAX_AUTO_WORKERS, usable_cores()))
    try:
        count = int(value)
    except (TypeError, ValueError):
        count = 0
    if count < 1 or str(value).strip() != str(count):
        raise ConfigError(
            f"text.workers={value!r} is not 'auto' or a whole number of processes >= 1",
            fix="use text.workers=auto (the cores, at most 8) or e.g. text.workers=2",
        )
    return count


# The backend of a pool worker process: set once by the pool's initializer in that process (it lives
# as long as the pool); never set in the parent.
_worker_backend: TextBackend | None = None


def _start_worker(backend: TextBackend) -> None:
    global _worker_backend
    _worker_backend = backend


def _read_chunk(items: Sequence[Item]) -> list[dict]:
    return read_batch(_worker_backend, items)


def read_in_processes(backend: TextBackend, items: Sequence[Item], workers: int) -> Iterator[dict]:
    """The rows of `items` in order, read by `workers` processes (in this one below POOL_MIN_IMAGES)."""
    if workers <= 1 or len(items) < POOL_MIN_IMAGES:
        for image_id, path in items:
            yield read_one(backend, image_id, path)
        return
    done = 0
    try:
        for row in _pooled(backend, items, workers):
            yield row
            done += 1
    except BrokenProcessPool as error:
        log.warning(
            "text: an OCR worker process died (%s); reading the remaining %d images in this process",
            error or "no reason given",
            len(items) - done,
        )
        for image_id, path in items[done:]:
            yield read_one(backend, image_id, path)


def _pooled(backend: TextBackend, items: Sequence[Item], workers: int) -> Iterator[dict]:
    # forkserver: workers never inherit the parent's threads (torch, tqdm's monitor) mid-lock.
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("forkserver"),
        initializer=_start_worker,
        initargs=(backend,),
    )
    pending: deque = deque()
    in_flight = 3 * workers  # chunks submitted ahead: the workers never wait, memory stays bounded
    try:
        for start in range(0, len(items), CHUNK):
            pending.append(pool.submit(_read_chunk, list(items[start : start + CHUNK])))
            if len(pending) >= in_flight:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()
    finally:
        # Stopped early (an error, the caller closed us): drop what has not started, wait for the rest.
        pool.shutdown(wait=True, cancel_futures=True)


def read_on_dask(client, backend: TextBackend, items: Sequence[Item], batch_size: int) -> Iterator[dict]:
    """The rows of `items` in order, read as Dask tasks of `batch_size` images (retried twice)."""
    token = uuid.uuid4().hex[:12]
    in_flight = 4 * max(1, len(client.scheduler_info().get("workers", {})))
    remote = client.scatter(backend, broadcast=True)  # sent once per worker, not once per task
    pending: deque = deque()
    for start in range(0, len(items), batch_size):
        batch = list(items[start : start + batch_size])
        pending.append(
            client.submit(read_batch, remote, batch, key=f"visframe-text-{token}-{start}", retries=2)
        )
        if len(pending) >= in_flight:
            yield from pending.popleft().result()  # in order; later batches keep running meanwhile
    while pending:
        yield from pending.popleft().result()


class DaskReader:
    """A `Reader` on the job's Dask cluster (scale=sample_fit): the OCR of at least `text_min_images`
    images runs as tasks of `text_batch_size` images on its workers (the backend is sent to each worker
    once and builds its engine there on its first image); fewer are read in this machine's processes,
    where starting a cluster would cost more than it saves."""

    def __init__(self, dask_cfg):
        self.dask_cfg = dask_cfg
        self.min_images = int(dask_cfg.get("text_min_images", 5000))
        self.batch_size = int(dask_cfg.get("text_batch_size", 200))

    def __call__(self, backend: TextBackend, items: Sequence[Item], workers: int) -> Iterator[dict]:
        if len(items) < self.min_images:
            yield from read_in_processes(backend, items, workers)
            return
        from visframe.scale.dask_jobs import dask_client

        log.info("text: reading %d images on Dask in batches of %d", len(items), self.batch_size)
        with dask_client(self.dask_cfg) as client:
            yield from read_on_dask(client, backend, items, self.batch_size)


def dask_reader(scale_cfg) -> DaskReader | None:
    """The text stage's reader for this job's scale config: on Dask with scale=sample_fit, else None."""
    if not scale_cfg or scale_cfg.get("mode") != "sample_fit":
        return None
    return DaskReader(scale_cfg["dask"])
