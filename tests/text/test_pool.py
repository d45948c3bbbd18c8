"""The text stage reads in a pool of processes (or on Dask): the same rows, in order, and a dying
worker costs no image."""

from __future__ import annotations

import logging
import os

import pandas as pd
import pytest
from PIL import Image

from visframe.errors import ConfigError
from visframe.text import TextBackend, TextLine, extract_texts, text_config
from visframe.text.extract import FLUSH_EVERY, backend_key, build_backend, worker_count
from visframe.text.pool import (
    MAX_AUTO_WORKERS,
    POOL_MIN_IMAGES,
    DaskReader,
    dask_reader,
    resolve_workers,
    usable_cores,
)


class WhereBackend(TextBackend):
    """Reads the image's red value, and which process read it (pickled into the pool's workers).
    With `exit_on`, a worker process (never the one that built it) dies on that value, as a crashing
    decoder would."""

    name = "where"

    def __init__(self, exit_on=None):
        self.exit_on, self.parent = exit_on, os.getpid()

    @property
    def cache_key(self):
        return {"backend": self.name, "version": 1}

    def read(self, image):
        value = image.getpixel((0, 0))[0]
        if value == self.exit_on and os.getpid() != self.parent:
            os._exit(3)
        return [
            TextLine(f"value {value}", (0, 0, 20, 10), 1.0),
            TextLine(f"pid {os.getpid()}", (0, 20, 20, 30), 1.0),
        ]


def make_images(folder, n):
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"{i}.png"
        Image.new("RGB", (24, 24), (i, 0, 0)).save(path)
        paths.append(str(path))
    return [f"id{i:03d}" for i in range(n)], paths


def values_and_pids(table: pd.DataFrame) -> tuple[list[str], set[int]]:
    lines = [text.split("\n") for text in table["text"]]
    return [line[0] for line in lines], {int(line[1].split()[1]) for line in lines}


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return make_images(tmp_path_factory.mktemp("img"), POOL_MIN_IMAGES + 21)


def test_a_pool_reads_every_image_in_other_processes_in_order(images, tmp_path):
    ids, paths = images
    pooled = extract_texts(ids, paths, WhereBackend(), tmp_path / "a", show_progress=False, workers=2)
    alone = extract_texts(ids, paths, WhereBackend(), tmp_path / "b", show_progress=False, workers=1)
    assert list(pooled.table["image_id"]) == ids and set(pooled.table["text_status"]) == {"ok"}
    values, pids = values_and_pids(pooled.table)
    assert values == [f"value {i}" for i in range(len(ids))]
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    assert values_and_pids(alone.table) == (values, {os.getpid()})
    # The parent flushed whole shards as the rows came back.
    shards = list((tmp_path / "a").glob("texts/*/part-*.parquet"))
    assert len(shards) == -(-len(ids) // FLUSH_EVERY)


def test_a_worker_that_dies_costs_no_image(images, tmp_path, caplog):
    ids, paths = images
    with caplog.at_level(logging.WARNING):
        result = extract_texts(ids, paths, WhereBackend(exit_on=30), tmp_path, show_progress=False, workers=2)
    assert list(result.table["image_id"]) == ids and set(result.table["text_status"]) == {"ok"}
    values, pids = values_and_pids(result.table)
    assert values == [f"value {i}" for i in range(len(ids))]
    assert os.getpid() in pids, "the images after the crash were read in this process"
    assert any("worker process died" in r.getMessage() for r in caplog.records)


def test_few_images_are_read_in_this_process(images, tmp_path):
    ids, paths = images
    result = extract_texts(ids[:5], paths[:5], WhereBackend(), tmp_path, show_progress=False, workers=2)
    assert values_and_pids(result.table)[1] == {os.getpid()}


def test_workers_setting():
    assert resolve_workers("auto") == resolve_workers(None) == min(MAX_AUTO_WORKERS, usable_cores())
    assert resolve_workers(3) == resolve_workers("3") == 3
    for bad in (0, -1, "many", 1.5):
        with pytest.raises(ConfigError, match="text.workers"):
            resolve_workers(bad)
    assert worker_count(build_backend(text_config("ocr"))) == resolve_workers("auto")
    assert worker_count(build_backend(text_config("ocr", workers=1))) == 1
    assert worker_count(build_backend(text_config("tesseract", workers=2))) == 2
    assert worker_count(WhereBackend()) == 1  # the base class's default
    with pytest.raises(ConfigError, match="text.workers"):
        build_backend(text_config("ocr", workers=0))
    # How many processes read is not what they read: the cache key does not change.
    assert backend_key(build_backend(text_config("ocr", workers=1))) == backend_key(
        build_backend(text_config("ocr"))
    )


def test_the_dask_reader_is_chosen_by_the_scale_config():
    assert dask_reader(None) is None and dask_reader({"mode": "full"}) is None
    reader = dask_reader({"mode": "sample_fit", "dask": {"address": None, "text_min_images": 10}})
    assert isinstance(reader, DaskReader) and reader.min_images == 10


def test_a_small_collection_is_not_sent_to_dask(images, tmp_path):
    ids, paths = images
    reader = DaskReader({"address": "tcp://nowhere.invalid:1", "text_min_images": len(ids) + 1})
    result = extract_texts(
        ids, paths, WhereBackend(), tmp_path, show_progress=False, workers=1, reader=reader
    )
    assert values_and_pids(result.table)[1] == {os.getpid()}


@pytest.mark.slow  # a 2-worker LocalCluster: ~10-20 s here
def test_a_large_collection_is_read_on_the_dask_cluster(images, tmp_path):
    pytest.importorskip("distributed")
    ids, paths = images
    reader = DaskReader(
        {
            "address": None,
            "n_workers": 2,
            "threads_per_worker": 1,
            "memory_limit": "auto",
            "text_min_images": 10,
            "text_batch_size": 16,
        }
    )
    result = extract_texts(ids, paths, WhereBackend(), tmp_path, show_progress=False, reader=reader)
    values, pids = values_and_pids(result.table)
    assert list(result.table["image_id"]) == ids and values == [f"value {i}" for i in range(len(ids))]
    assert os.getpid() not in pids
