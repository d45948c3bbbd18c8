"""extract_texts: one row per unique image, failures recorded, cache resumes and heals."""

from __future__ import annotations

import logging
import math

import pandas as pd
import pytest
from PIL import Image

from visframe.contracts import TEXTS, validate
from visframe.run_dir import RunDir
from visframe.text import TextBackend, TextLine, extract_texts, reading_order
from visframe.text.base import area_share
from visframe.text.extract import FLUSH_EVERY


class FakeBackend(TextBackend):
    """Reads the image's red channel value as text; fails on images whose value is in `fail_on`."""

    name = "fake"

    def __init__(self, fail_on=(), die_after=None):
        self.fail_on, self.die_after, self.calls = set(fail_on), die_after, 0

    @property
    def cache_key(self):
        return {"backend": self.name, "version": 1}

    def read(self, image):
        self.calls += 1
        if self.die_after is not None and self.calls > self.die_after:
            raise KeyboardInterrupt("killed")  # not an Exception: ends the run like a kill would
        value = image.getpixel((0, 0))[0]
        if value in self.fail_on:
            raise RuntimeError(f"backend crashed on value {value}")
        w, h = image.size
        return [
            TextLine(f"second {value}", (0, h / 2, w / 2, h / 2 + 10), 0.5),
            TextLine(f"first {value}", (0, 0, w / 4, 10), 1.0),
        ]


def make_images(folder, n):
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"{i}.png"
        Image.new("RGB", (40, 40), (i, 0, 0)).save(path)
        paths.append(str(path))
    return [f"id{i:03d}" for i in range(n)], paths


def test_one_row_per_unique_image_in_reading_order(tmp_path):
    ids, paths = make_images(tmp_path / "img", 3)
    # A reshared copy: same image_id twice (two posts), read once.
    result = extract_texts(
        ids + [ids[0]], paths + [paths[0]], FakeBackend(), tmp_path / "cache", show_progress=False
    )
    table = validate(TEXTS, result.table)
    assert list(table["image_id"]) == ids
    assert table.loc[1, "text"] == "first 1\nsecond 1"
    assert table.loc[1, "n_chars"] == len("first1second1")
    assert table.loc[1, "mean_confidence"] == pytest.approx(0.75)
    assert set(table["text_status"]) == {"ok"} and set(table["text_reason"]) == {""}
    assert result.texts_computed == 3 and result.texts_from_cache == 0


def test_a_failing_image_gets_a_reason_and_the_run_completes(tmp_path):
    ids, paths = make_images(tmp_path / "img", 4)
    paths[3] = str(tmp_path / "missing.png")  # the decoder fails too
    result = extract_texts(ids, paths, FakeBackend(fail_on={1}), tmp_path / "cache", show_progress=False)
    table = result.table.set_index("image_id")
    assert table.loc["id001", "text_status"] == "failed" and table.loc["id001", "text"] == ""
    assert "backend crashed on value 1" in table.loc["id001", "text_reason"]
    assert (
        table.loc["id003", "text_status"] == "failed" and "missing.png" in table.loc["id003", "text_reason"]
    )
    assert math.isnan(table.loc["id001", "mean_confidence"])
    assert list(table.loc[["id000", "id002"], "text_status"]) == ["ok", "ok"]
    assert result.texts_failed == 2
    # Failures are not cached: the next run tries them again, the others come from the cache.
    again = extract_texts(ids, paths, FakeBackend(), tmp_path / "cache", show_progress=False)
    assert again.texts_from_cache == 2 and again.texts_computed == 2
    assert again.table.set_index("image_id").loc["id001", "text_status"] == "ok"


def test_a_killed_run_resumes_with_only_the_missing_images(tmp_path):
    n = FLUSH_EVERY * 2 + 5
    ids, paths = make_images(tmp_path / "img", n)
    cache = tmp_path / "cache"
    with pytest.raises(KeyboardInterrupt):
        extract_texts(ids, paths, FakeBackend(die_after=FLUSH_EVERY + 3), cache, show_progress=False)
    resumed = FakeBackend()
    result = extract_texts(ids, paths, resumed, cache, show_progress=False)
    assert result.texts_from_cache == FLUSH_EVERY and resumed.calls == n - FLUSH_EVERY
    fresh = extract_texts(ids, paths, FakeBackend(), tmp_path / "other-cache", show_progress=False)
    pd.testing.assert_frame_equal(result.table, fresh.table)


@pytest.mark.parametrize("damage", ["truncate", "rewrite"])
def test_a_damaged_shard_is_set_aside_named_and_recomputed(tmp_path, caplog, damage):
    ids, paths = make_images(tmp_path / "img", FLUSH_EVERY + 4)
    cache = tmp_path / "cache"
    first = extract_texts(ids, paths, FakeBackend(), cache, show_progress=False)
    shards = sorted(cache.glob("texts/*/part-*.parquet"))
    assert len(shards) == 2
    victim = shards[0]
    if damage == "truncate":
        victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    else:  # readable Parquet, altered content, stale checksum: a bit flip the format did not catch
        import pyarrow.parquet as pq

        table = pq.read_table(victim)
        altered = table.set_column(1, "text", [["tampered"] * len(table)])
        pq.write_table(altered.replace_schema_metadata(table.schema.metadata), victim)
    backend = FakeBackend()
    with caplog.at_level(logging.WARNING):
        healed = extract_texts(ids, paths, backend, cache, show_progress=False)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and victim.name in warnings[0]
    assert (victim.parent / victim.name.replace("part-", "corrupt-", 1)).exists() and not victim.exists()
    assert backend.calls == FLUSH_EVERY and healed.texts_computed == FLUSH_EVERY
    pd.testing.assert_frame_equal(healed.table, first.table)


def test_reading_order_and_area_share():
    lines = [
        TextLine("b", (60, 2, 90, 12), 1),
        TextLine("c", (0, 30, 50, 40), 1),
        TextLine("a", (0, 0, 50, 10), 1),
    ]
    assert [l.text for l in reading_order(lines)] == ["a", "b", "c"]
    # Overlapping boxes count once: 10x10 + 10x10 overlapping by 5x10 on a 100x100 image.
    assert area_share([(0, 0, 10, 10), (5, 0, 15, 10)], 100, 100) == pytest.approx(0.015)
    assert area_share([], 100, 100) == 0.0


KILLED_SCRIPT = """
import sys, time
sys.path.insert(0, {tests!r})
from test_extract import FakeBackend, make_images
from pathlib import Path
from visframe.text import extract_texts

class Slow(FakeBackend):
    def read(self, image):
        time.sleep(0.02)
        return super().read(image)

ids, paths = make_images(Path({images!r}), {n})
extract_texts(ids, paths, Slow(), {cache!r}, show_progress=False)
time.sleep(60)  # never reached in the test: killed before
"""


@pytest.mark.slow  # a subprocess importing pandas + visframe: ~5-12 s here
def test_kill_9_leaves_whole_shards_and_the_rerun_reads_only_what_is_missing(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    n = FLUSH_EVERY * 6
    cache = tmp_path / "cache"
    script = KILLED_SCRIPT.format(
        tests=str(Path(__file__).parent), images=str(tmp_path / "img"), n=n, cache=str(cache)
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and len(list(cache.glob("texts/*/part-*.parquet"))) < 2:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    shards = len(list(cache.glob("texts/*/part-*.parquet")))
    assert 2 <= shards < 6, "killed mid-run"
    ids, paths = make_images(tmp_path / "img", n)
    backend = FakeBackend()
    result = extract_texts(ids, paths, backend, cache, show_progress=False)
    assert result.texts_from_cache == shards * FLUSH_EVERY and backend.calls == n - shards * FLUSH_EVERY
    assert list(result.table["image_id"]) == ids and set(result.table["text_status"]) == {"ok"}


def test_the_table_round_trips_through_texts_parquet(tmp_path):
    ids, paths = make_images(tmp_path / "img", 3)
    result = extract_texts(ids, paths, FakeBackend(fail_on={2}), tmp_path / "cache", show_progress=False)
    written = RunDir(tmp_path).write(TEXTS, result.table)
    assert written.name == TEXTS.file
    back = validate(TEXTS, pd.read_parquet(written))
    assert list(back["text"]) == list(result.table["text"]) and back["language"].isna().all()
    assert back["n_chars"].dtype == "int64"


def test_lone_characters_from_shapes_are_dropped():
    from visframe.text.base import drop_specks

    lines = [
        TextLine("8", (0, 0, 50, 50), 1),
        TextLine("心", (0, 0, 9, 9), 1),
        TextLine("#8M", (0, 0, 30, 10), 1),
        TextLine("¿Y?", (0, 0, 30, 10), 1),
    ]
    assert [l.text for l in drop_specks(lines, 2)] == ["#8M"]
