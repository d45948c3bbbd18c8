"""The embedding cache is listed a constant number of times per `embed_images` call, whatever the
number of images.

Listing the cache (`shard_paths`) and reading every shard it names (`read_shard`, checksum first)
is the expensive step: once per image it made embedding O(images × shards), 5.7 minutes of a
9 min 44 s run at 19,075 images (issue 27). These tests count both with spies and compare two corpus
sizes: the counts must be the same for 8 and for 24 images, on a cold cache, on a resumed one and on
the all-cached path that never loads the model.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from visframe import CONFIG_DIR
from visframe.embed import cache as embed_cache
from visframe.embed import embed_images, embedding, load_encoder
from visframe.embed.encoders.tiny import TinyRandomEncoder
from visframe.session import Session

# Two images per shard: the number of shards grows with the number of images, as at scale.
TRAINER = {"accelerator": "cpu", "precision": "32", "num_workers": 0, "batch_size": 2, "shard_rows": 2,
           "enable_progress_bar": False}
SIZES = (8, 24)


class CacheSpy:
    """Counts whole-cache listings (`shard_paths`, wherever it is called from) and shard reads."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.listings = 0
        self.shard_reads = 0
        real_paths, real_read = embed_cache.shard_paths, embed_cache.read_shard

        def shard_paths(directory):
            self.listings += 1
            return real_paths(directory)

        def read_shard(*args, **kwargs):
            self.shard_reads += 1
            return real_read(*args, **kwargs)

        monkeypatch.setattr(embed_cache, "shard_paths", shard_paths)
        monkeypatch.setattr(embedding, "shard_paths", shard_paths)
        monkeypatch.setattr(embed_cache, "read_shard", read_shard)

    def reset(self) -> None:
        self.listings = self.shard_reads = 0

    def counts(self) -> tuple[int, int]:
        return self.listings, self.shard_reads


@pytest.fixture(scope="module")
def corpora(image_folder) -> dict[int, tuple[list[str], list[str]]]:
    ids, paths = image_folder  # 24 distinct JPEGs (conftest)
    return {n: (ids[:n], paths[:n]) for n in SIZES}


@pytest.fixture(scope="module")
def tiny() -> TinyRandomEncoder:
    return TinyRandomEncoder(dim=16, image_size=32, width=8)


def _shards(cache: Path, key: str) -> int:
    return len(list((cache / "embeddings" / key).glob(embed_cache.SHARD_GLOB)))


def test_a_cold_cache_is_listed_a_constant_number_of_times(tiny, corpora, tmp_path, monkeypatch):
    spy = CacheSpy(monkeypatch)
    seen = {}
    for n, (ids, paths) in corpora.items():
        spy.reset()
        result = embed_images(ids, paths, tiny, TRAINER, tmp_path / f"cold-{n}", show_progress=False)
        assert result.images_embedded == n
        shards = _shards(tmp_path / f"cold-{n}", result.encoder_key)
        assert shards == n // 2
        listings, reads = spy.counts()
        # Listed before the loop, after it, and once to load the vectors: each shard read at most twice
        # (after the loop and to load; the session-less checksum check is part of each read).
        assert listings <= 3, f"{n} images: the cache was listed {listings} times"
        assert reads <= 2 * shards, f"{n} images, {shards} shards: {reads} shard reads"
        seen[n] = (listings, reads / shards)
        # The loop's own rate is recorded beside the stage's (metrics.json, benchmarks/bench_paper.py).
        metrics = result.metrics()
        assert 0 < metrics["embed_loop_seconds"] and metrics["embed_loop_images_per_s"] == round(n / result.loop_seconds, 2)
        assert metrics["embed_forward_images_per_s"] >= metrics["embed_loop_images_per_s"]
    assert seen[SIZES[0]] == seen[SIZES[1]], f"listings and reads per shard grew with the images: {seen}"


def test_a_resumed_cache_is_listed_a_constant_number_of_times(tiny, corpora, tmp_path, monkeypatch):
    spy = CacheSpy(monkeypatch)
    seen = {}
    for n, (ids, paths) in corpora.items():
        cache = tmp_path / f"resume-{n}"
        embed_images(ids[: n // 2], paths[: n // 2], tiny, TRAINER, cache, show_progress=False)  # a killed run's part
        spy.reset()
        result = embed_images(ids, paths, tiny, TRAINER, cache, show_progress=False)
        assert (result.images_embedded, result.images_from_cache) == (n - n // 2, n // 2)
        seen[n] = spy.counts()[0]
    assert seen[SIZES[0]] == seen[SIZES[1]] <= 3, f"listings per call: {seen}"


def test_the_all_cached_path_lists_a_constant_number_of_times(corpora, tmp_path, monkeypatch):
    """A sweep job whose images are all cached: the remembered key, no model, one session."""
    model_cfg = OmegaConf.load(Path(CONFIG_DIR) / "model" / "tiny_random.yaml")
    seen = {}
    for n, (ids, paths) in corpora.items():
        cache = tmp_path / f"cached-{n}"
        embed_images(ids, paths, load_encoder(model_cfg, TRAINER, cache), TRAINER, cache, show_progress=False)
        encoder = load_encoder(model_cfg, TRAINER, cache)
        assert not encoder.loaded
        with monkeypatch.context() as patch:
            spy = CacheSpy(patch)
            result = embed_images(ids, paths, encoder, TRAINER, cache, show_progress=False, session=Session())
            assert (result.images_embedded, result.images_from_cache) == (0, n)
            seen[n] = spy.counts()[0]
    assert seen[SIZES[0]] == seen[SIZES[1]] <= 4, f"listings per call: {seen}"
