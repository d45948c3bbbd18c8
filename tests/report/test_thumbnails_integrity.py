"""A damaged cached thumbnail is set aside and made again, identical; the report never breaks (issue 15)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from PIL import Image

from visframe.report.thumbnails import ThumbnailCache
from visframe.utils.integrity import check, sidecar_path


@pytest.fixture()
def sources(tmp_path):
    rng = np.random.default_rng(3)
    items = {}
    for i in range(3):
        path = tmp_path / "src" / f"photo_{i}.jpg"
        path.parent.mkdir(exist_ok=True)
        Image.fromarray((rng.random((120, 160, 3)) * 255).astype("uint8")).save(path, quality=90)
        items[f"{i:016x}"] = path
    return items


def truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])


def flip(path):
    data = bytearray(path.read_bytes())
    for i in range(len(data) // 2, len(data) // 2 + 8):
        data[i] ^= 0xA5
    path.write_bytes(bytes(data))


def pixels(cache, image_id, source):
    return np.asarray(cache.open(image_id, source))


@pytest.mark.parametrize("damage", [truncate, flip], ids=["truncated", "flipped-same-size"])
def test_damaged_thumbnail_is_set_aside_and_remade_identically(tmp_path, sources, caplog, damage):
    clean = ThumbnailCache(tmp_path / "clean", size=48)
    expected = {k: pixels(clean, k, v) for k, v in sources.items()}
    cache = ThumbnailCache(tmp_path / "cache", size=48)
    cache.ensure_many(sources.items())
    victim_id = next(iter(sources))
    victim = cache.path_for(victim_id)
    assert check(victim) == "ok"
    size = victim.stat().st_size
    damage(victim)
    assert damage is truncate or victim.stat().st_size == size
    with caplog.at_level(logging.WARNING):
        made = ThumbnailCache(tmp_path / "cache", size=48).ensure_many(sources.items())
    assert made[victim_id] == victim and check(victim) == "ok"
    for image_id, source in sources.items():
        assert np.array_equal(pixels(cache, image_id, source), expected[image_id])
    named = [r for r in caplog.records if r.levelno == logging.WARNING and str(victim) in r.getMessage()]
    assert len(named) == 1
    assert victim.with_name("corrupt-" + victim.name).exists()
    assert not cache.unreadable


def test_a_truncated_thumbnail_cached_before_checksums_is_caught_by_decoding(tmp_path, sources, caplog):
    cache = ThumbnailCache(tmp_path / "cache", size=48)
    image_id, source = next(iter(sources.items()))
    expected = pixels(cache, image_id, source)
    target = cache.path_for(image_id)
    sidecar_path(target).unlink()  # as written by an older visframe
    assert check(target) == "unverified"
    truncate(target)
    with caplog.at_level(logging.WARNING):
        assert np.array_equal(pixels(cache, image_id, source), expected)
    assert len([r for r in caplog.records if str(target) in r.getMessage()]) == 1
    assert check(target) == "ok"
