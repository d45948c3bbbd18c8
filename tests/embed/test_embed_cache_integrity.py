"""A damaged embedding shard is named, set aside and re-embedded, never a crash or a wrong vector
(issue 15)."""

from __future__ import annotations

import logging

import numpy as np
import pyarrow.parquet as pq
import pytest

from visframe.embed import embed_images
from visframe.embed.cache import cached_image_ids, load_embeddings, shard_paths, write_shard
from visframe.embed.encoders.tiny import TinyRandomEncoder
from visframe.utils.integrity import check, sidecar_path

FP32 = {"precision": "32", "num_workers": 0, "batch_size": 8, "shard_rows": 8, "enable_progress_bar": False}


@pytest.fixture(scope="module")
def tiny():
    return TinyRandomEncoder(dim=64, image_size=48)


def embedding_pages(shard):
    """(offset, length) of the `embedding` column's bytes in the shard's only row group."""
    column = pq.ParquetFile(shard).metadata.row_group(0).column(1)
    start = column.dictionary_page_offset or column.data_page_offset
    return start, column.total_compressed_size


def damage_embedding_pages(shard, mode: str) -> None:
    """Damage the vectors' data pages only: the image_id column and the footer still read."""
    data = bytearray(shard.read_bytes())
    start, length = embedding_pages(shard)
    middle = start + length // 2
    if mode == "flip":  # same size: bits flipped in the float data
        for i in range(middle, middle + 16):
            data[i] ^= 0x5A
    else:  # "zero": a run of the page replaced by zeros (a bad sector), same size
        data[start + 8 : start + length - 8] = bytes(length - 16)
    shard.write_bytes(bytes(data))


def warnings_naming(caplog, path):
    return [r for r in caplog.records if r.levelno == logging.WARNING and str(path) in r.getMessage()]


@pytest.mark.parametrize("damage", ["truncate", "flip", "zero"])
def test_damaged_shard_heals_to_identical_vectors(tiny, image_folder, tmp_path, caplog, damage):
    ids, paths = image_folder
    clean = embed_images(ids, paths, tiny, FP32, tmp_path / "clean", show_progress=False)
    first = embed_images(ids, paths, tiny, FP32, tmp_path / "cache", show_progress=False)
    np.testing.assert_array_equal(first.vectors, clean.vectors)
    victim = shard_paths(first.embeddings_dir)[1]
    lost = pq.read_table(victim, columns=["image_id"])["image_id"].to_pylist()
    size = victim.stat().st_size
    if damage == "truncate":
        victim.write_bytes(victim.read_bytes()[: size // 2])
    else:
        damage_embedding_pages(victim, damage)
        assert victim.stat().st_size == size
        # What a reader saw before checksums: the ids still read fine.
        assert pq.read_table(victim, columns=["image_id"])["image_id"].to_pylist() == lost
    with caplog.at_level(logging.WARNING):
        rerun = embed_images(ids, paths, tiny, FP32, tmp_path / "cache", show_progress=False)
    assert rerun.images_embedded == len(lost) and rerun.images_from_cache == len(ids) - len(lost)
    np.testing.assert_array_equal(rerun.vectors, clean.vectors)
    assert len(warnings_naming(caplog, victim)) == 1
    aside = victim.with_name("corrupt-" + victim.name)
    assert aside.exists() and not victim.exists()
    assert all(check(s) == "ok" for s in shard_paths(first.embeddings_dir))


def test_a_shard_without_checksum_and_damaged_pages_is_caught_when_its_ids_are_listed(tmp_path, caplog):
    """The issue's case: shards written before checksums; the ids read, the data pages don't."""
    directory = tmp_path / "emb"
    vectors = np.random.default_rng(0).normal(size=(40, 32)).astype(np.float32)
    ids = [f"{i:016x}" for i in range(40)]
    good = write_shard(directory, ids[:20], vectors[:20])
    bad = write_shard(directory, ids[20:], vectors[20:])
    sidecar_path(bad).unlink()
    damage_embedding_pages(bad, "zero")
    assert check(bad) == "unverified"
    with caplog.at_level(logging.WARNING):
        assert cached_image_ids(directory) == set(ids[:20])
    assert len(warnings_naming(caplog, bad)) == 1 and not bad.exists()
    np.testing.assert_array_equal(load_embeddings(directory, ids[:20], dim=32), vectors[:20])
    assert shard_paths(directory) == [good]


def test_shards_carry_a_checksum(tmp_path):
    shard = write_shard(tmp_path, ["a", "b"], np.ones((2, 4), dtype=np.float32))
    assert check(shard) == "ok" and sidecar_path(shard).exists()
    assert shard_paths(tmp_path) == [shard]
