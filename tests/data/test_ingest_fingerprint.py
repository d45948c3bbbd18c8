"""Sweeps cost only what changes: an unchanged folder's manifest comes back from its listing
fingerprint; damaged ingest caches heal to identical results."""

from __future__ import annotations

import logging
import os
import sqlite3

import pandas as pd
import pytest
from data_corpus import build_messy_corpus, encode, rich_photo, write

from visframe.data import ingest
from visframe.data.facts_cache import FactsCache
from visframe.data.ingest import ingest_folder


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "images"
    build_messy_corpus(root)
    (root / "meta.csv").write_text("file,likes\ngood/photo.jpg,10\n", encoding="utf-8")
    return root


def run_ingest(root, cache, **options):
    return ingest_folder(root, metadata=root / "meta.csv", cache_dir=cache, show_progress=False, **options)


def forbid_checks(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("files were checked again")

    monkeypatch.setattr(ingest, "inspect_files", fail)


def assert_same(a, b):
    """Two Ingested: the same manifest, warnings and skipped files."""
    pd.testing.assert_frame_equal(
        a.manifest.reset_index(drop=True), b.manifest.reset_index(drop=True), check_dtype=False
    )
    assert a.warnings == b.warnings and a.skipped_files == b.skipped_files and a.root == b.root


def test_an_unchanged_folder_is_not_checked_again(folder, tmp_path, monkeypatch):
    first = run_ingest(folder, tmp_path / "cache")
    forbid_checks(monkeypatch)
    assert_same(first, run_ingest(folder, tmp_path / "cache"))


def test_a_changed_file_metadata_or_option_is_checked_again(folder, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first = run_ingest(folder, cache)
    calls = []
    real = ingest.inspect_files
    monkeypatch.setattr(
        ingest, "inspect_files", lambda paths, *a, **k: calls.append(len(paths)) or real(paths, *a, **k)
    )
    photo = folder / "good" / "photo.jpg"
    stat = photo.stat()
    os.utime(photo, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # touched: same bytes, new mtime
    assert_same(first, run_ingest(folder, cache))
    (folder / "meta.csv").write_text("file,likes\ngood/photo.jpg,11\n", encoding="utf-8")
    assert run_ingest(folder, cache).manifest.set_index("path").loc[str(photo), "likes"] == 11
    run_ingest(folder, cache, min_side=64)
    write(folder, "new/extra.png", encode(rich_photo(9), "PNG"))
    assert len(run_ingest(folder, cache).manifest) == len(first.manifest) + 1
    assert len(calls) == 4


def test_a_damaged_manifest_snapshot_heals(folder, tmp_path, caplog):
    cache = tmp_path / "cache"
    first = run_ingest(folder, cache)
    (snapshot,) = (cache / "ingest" / "manifests").glob("*.parquet")
    snapshot.write_bytes(snapshot.read_bytes()[:-40] + b"\0" * 40)
    with caplog.at_level(logging.WARNING):
        healed = run_ingest(folder, cache)
    assert_same(first, healed)
    assert any("damaged" in r.getMessage() for r in caplog.records)
    assert list((cache / "ingest" / "manifests").glob("corrupt-*.parquet"))


def test_damaged_facts_rows_are_checked_again_to_identical_facts(folder, tmp_path, caplog):
    cache = tmp_path / "cache"
    first = run_ingest(folder, cache, use_snapshot=False)
    db = sqlite3.connect(cache / "ingest" / "file_facts.sqlite")
    db.execute("UPDATE facts_checked SET facts = replace(facts, '\"decoded\": true', '\"decoded\": false')")
    db.commit()
    db.close()
    with caplog.at_level(logging.WARNING):
        healed = run_ingest(folder, cache, use_snapshot=False)
    assert_same(first, healed)
    assert len([r for r in caplog.records if "damaged entr" in r.getMessage()]) == 1


def test_a_facts_database_that_is_not_one_is_set_aside(folder, tmp_path, caplog):
    cache = tmp_path / "cache"
    first = run_ingest(folder, cache, use_snapshot=False)
    (cache / "ingest" / "file_facts.sqlite").write_bytes(b"this is not sqlite" * 100)
    with caplog.at_level(logging.WARNING):
        healed = run_ingest(folder, cache, use_snapshot=False)
    assert_same(first, healed)
    assert list((cache / "ingest").glob("corrupt-*file_facts.sqlite"))
    with FactsCache(cache) as store:
        assert store._db is not None
