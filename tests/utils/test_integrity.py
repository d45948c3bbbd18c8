"""Cache entries that heal: atomic writes with a checksum, damaged entries set aside (issue 15)."""

from __future__ import annotations

import io
import logging
import os

import numpy as np
import pytest

from visframe.utils.integrity import (
    CORRUPT_PREFIX,
    CorruptEntry,
    atomic_write,
    atomic_write_bytes,
    check,
    load_or_heal,
    read_verified,
    set_aside,
    sidecar_path,
)


def flip_bytes(path, offset_from_end: int = 10, count: int = 4) -> None:
    """Damage a file without changing its size."""
    data = bytearray(path.read_bytes())
    start = max(0, len(data) - offset_from_end)
    for i in range(start, min(len(data), start + count)):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def truncate(path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def test_write_then_read_round_trips_and_leaves_no_temp_files(tmp_path):
    entry = atomic_write_bytes(tmp_path / "sub" / "entry.bin", b"hello" * 100)
    assert read_verified(entry) == b"hello" * 100
    assert check(entry) == "ok"
    assert sorted(p.name for p in entry.parent.iterdir()) == ["entry.bin", "entry.bin.blake2b"]


def test_atomic_write_keeps_the_suffix_for_writers_that_choose_by_it(tmp_path):
    vector = np.arange(12, dtype=np.float32)
    entry = atomic_write(tmp_path / "r.npy", lambda tmp: np.save(tmp, vector))
    assert entry.exists() and check(entry) == "ok"
    assert np.array_equal(np.load(io.BytesIO(read_verified(entry))), vector)


@pytest.mark.parametrize("damage", [truncate, flip_bytes], ids=["truncated", "flipped-same-size"])
def test_damage_is_detected(tmp_path, damage):
    entry = atomic_write_bytes(tmp_path / "e.bin", os.urandom(4096))
    size = entry.stat().st_size
    damage(entry)
    if damage is flip_bytes:
        assert entry.stat().st_size == size
    assert check(entry) == "corrupt"
    with pytest.raises(CorruptEntry, match="checksum mismatch"):
        read_verified(entry)


def test_a_failed_write_leaves_the_old_entry_and_no_temp_file(tmp_path):
    entry = atomic_write_bytes(tmp_path / "e.bin", b"old")

    def explode(tmp):
        tmp.write_bytes(b"half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        atomic_write(entry, explode)
    assert read_verified(entry) == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.bin", "e.bin.blake2b"]


def test_set_aside_renames_entry_and_sidecar_and_warns_once(tmp_path, caplog):
    entry = atomic_write_bytes(tmp_path / "e.bin", b"data")
    with caplog.at_level(logging.WARNING, logger="visframe.utils.integrity"):
        aside = set_aside(entry, "checksum mismatch")
        assert set_aside(entry, "again") is None  # already gone: no second warning
    assert aside.name == CORRUPT_PREFIX + "e.bin" and aside.read_bytes() == b"data"
    assert sidecar_path(aside).exists() and not sidecar_path(entry).exists() and not entry.exists()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and str(entry) in warnings[0].getMessage()
    assert aside.name in warnings[0].getMessage()


@pytest.mark.parametrize("damage", [truncate, flip_bytes], ids=["truncated", "flipped-same-size"])
def test_load_or_heal_recomputes_a_damaged_entry_to_the_same_value(tmp_path, damage, caplog):
    values = np.random.default_rng(0).normal(size=(50, 8)).astype(np.float32)
    entry = tmp_path / "red.npy"

    def load(data):
        return np.load(io.BytesIO(data))

    def get():
        value = load_or_heal(entry, load)
        if value is None:
            value = values.copy()  # "recompute"
            atomic_write(entry, lambda tmp: np.save(tmp, value))
        return value

    first = get()
    damage(entry)
    with caplog.at_level(logging.WARNING):
        healed = get()
    assert np.array_equal(healed, first)
    assert (tmp_path / (CORRUPT_PREFIX + "red.npy")).exists()
    assert check(entry) == "ok" and np.array_equal(get(), first)
    assert len([r for r in caplog.records if "red.npy" in r.getMessage()]) == 1


def test_an_entry_without_sidecar_is_unverified_and_decoding_errors_set_it_aside(tmp_path):
    legacy = tmp_path / "legacy.npy"
    np.save(legacy, np.ones(3))
    assert check(legacy) == "unverified"
    assert np.array_equal(load_or_heal(legacy, lambda d: np.load(io.BytesIO(d))), np.ones(3))
    with pytest.raises(CorruptEntry, match="no checksum"):
        read_verified(legacy, require_checksum=True)
    truncate(legacy)
    assert load_or_heal(legacy, lambda d: np.load(io.BytesIO(d))) is None
    assert not legacy.exists() and (tmp_path / "corrupt-legacy.npy").exists()


def test_a_damaged_sidecar_counts_as_damage(tmp_path):
    entry = atomic_write_bytes(tmp_path / "e.bin", b"data")
    sidecar_path(entry).write_text("garbage")
    assert check(entry) == "corrupt"
    assert load_or_heal(entry, bytes) is None and not entry.exists()


def test_missing_entry(tmp_path):
    assert check(tmp_path / "nope") == "missing"
    assert load_or_heal(tmp_path / "nope", bytes) is None
    with pytest.raises(FileNotFoundError):
        read_verified(tmp_path / "nope")
