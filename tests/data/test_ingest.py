"""ingest_folder plumbing: Parquet schema and round trip, the per-file cache, worker processes."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from data_corpus import NON_UTF8_NAME, build_messy_corpus, encode, rich_photo, write

from visframe.data import cleaning, ingest
from visframe.data.ingest import MANIFEST_COLUMNS, ingest_folder, read_manifest, write_manifest
from visframe.data.manifest_io import read_manifest_warnings


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    build_messy_corpus(root)
    (root / "meta.csv").write_text(
        "file,hashtags,likes,posted_at,source\ngood/photo.jpg,#8M #25N,10,"
        "2020-03-08T10:00:00Z,scraper 💜\nlost.jpg,#8M,1,,\n",
        encoding="utf-8",
    )
    return root


def test_manifest_columns_follow_the_contract(corpus, tmp_path):
    manifest = ingest_folder(
        corpus, metadata=corpus / "meta.csv", cache_dir=tmp_path, show_progress=False
    ).manifest
    assert tuple(manifest.columns) == (*MANIFEST_COLUMNS, "source")
    assert MANIFEST_COLUMNS[:7] == ("image_id", "path", "status", "reason", "label", "width", "height")
    assert all(os.path.isabs(path) for path in manifest.path)
    assert manifest.status.isin(cleaning.STATUSES).all()
    ok = manifest[manifest.status == "ok"]
    assert ok.reshare_group.notna().all() and ok.phash.notna().all() and ok.width.notna().all()
    singles = ok[ok.image_id.map(ok.image_id.value_counts()) == 1]
    assert (singles.reshare_group.isin(ok.image_id)).all()


def test_parquet_round_trip_with_fixed_schema(corpus, tmp_path):
    ingested = ingest_folder(corpus, metadata=corpus / "meta.csv", cache_dir=tmp_path, show_progress=False)
    manifest = ingested.manifest
    path = write_manifest(manifest, tmp_path / "run" / "manifest.parquet", warnings=ingested.warnings)
    schema = pq.read_schema(path)
    expected_types = {
        "image_id": pa.string(),
        "path": pa.string(),
        "status": pa.string(),
        "reason": pa.string(),
        "label": pa.string(),
        "width": pa.int64(),
        "height": pa.int64(),
        "post_id": pa.string(),
        "hashtags": pa.list_(pa.string()),
        "likes": pa.int64(),
        "posted_at": pa.timestamp("us", tz="UTC"),
        "carousel_index": pa.int64(),
        "reshare_group": pa.string(),
        "phash": pa.string(),
        "file_size": pa.int64(),
        "source": pa.string(),
    }
    assert {name: schema.field(name).type for name in expected_types} == expected_types
    # Plain pandas can read it (non-UTF-8 names appear escaped there) ...
    plain = pd.read_parquet(path)
    assert any("\\xff\\xfe" in p for p in plain.path)
    # ... and read_manifest restores everything, the undecodable file name included.
    back = read_manifest(path)
    assert list(back.columns) == list(manifest.columns)
    assert [os.fsencode(p) for p in back.path] == [os.fsencode(p) for p in manifest.path]
    assert any(os.fsencode(p).endswith(NON_UTF8_NAME) for p in back.path)
    pd.testing.assert_frame_equal(
        back.drop(columns=["path", "hashtags"]),
        manifest.drop(columns=["path", "hashtags"]),
        check_dtype=False,
    )
    photo = back[back.path.str.endswith("good/photo.jpg")].iloc[0]
    assert photo.hashtags == ["8M", "25N"] and photo.source == "scraper 💜"
    assert read_manifest_warnings(path) == list(ingested.warnings) and ingested.warnings
    assert str(back.likes.dtype) == "Int64" and str(back.posted_at.dtype) == "datetime64[us, UTC]"


def test_unchanged_files_come_from_the_cache(tmp_path, monkeypatch):
    root = tmp_path / "imgs"
    for i in range(5):
        write(root, f"{i}.jpg", encode(rich_photo(i), "JPEG"))
    first = ingest_folder(root, cache_dir=tmp_path / "cache", show_progress=False).manifest
    assert (tmp_path / "cache" / "ingest" / "file_facts.sqlite").exists()
    checked = []
    real_inspect = cleaning.inspect_file
    monkeypatch.setattr(
        cleaning, "inspect_file", lambda path, *a: checked.append(path) or real_inspect(path, *a)
    )
    again = ingest_folder(root, cache_dir=tmp_path / "cache", show_progress=False).manifest
    assert checked == []
    pd.testing.assert_frame_equal(first, again)
    # A changed file (new bytes, new mtime) is checked again, and only that one.
    write(root, "3.jpg", encode(rich_photo(99), "JPEG"))
    os.utime(root / "3.jpg", ns=(1, 1))
    changed = ingest_folder(root, cache_dir=tmp_path / "cache", show_progress=False).manifest
    assert checked == [str(root / "3.jpg")]
    assert (
        changed.image_id[3] != first.image_id[3]
        and (changed.image_id.drop(3) == first.image_id.drop(3)).all()
    )


def test_worker_processes_give_the_same_manifest(corpus, tmp_path, monkeypatch):
    serial = ingest_folder(corpus, cache_dir=tmp_path / "serial", show_progress=False, workers=1).manifest
    monkeypatch.setattr(ingest, "PARALLEL_MIN_FILES", 1)
    parallel = ingest_folder(corpus, cache_dir=tmp_path / "parallel", show_progress=False, workers=2).manifest
    pd.testing.assert_frame_equal(serial, parallel)


def test_ingest_prints_the_cleaning_report(corpus, tmp_path, capsys):
    ingest_folder(corpus, cache_dir=tmp_path, show_progress=True)
    printed = capsys.readouterr().err
    for fragment in ("Cleaning report", "zero_byte", "placeholder", "too_many_pixels", "broken/zero.jpg"):
        assert fragment in printed


def test_a_cache_inside_the_image_folder_is_not_ingested(tmp_path):
    root = tmp_path / "imgs"
    write(root, "a.jpg", encode(rich_photo(1), "JPEG"))
    write(root, "cache/thumbnails/0123_256.jpg", encode(rich_photo(2), "JPEG"))
    manifest = ingest_folder(root, cache_dir=root / "cache", show_progress=False).manifest
    assert [os.path.basename(p) for p in manifest.path] == ["a.jpg"]
