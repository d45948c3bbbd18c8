"""The store: codebook, save semantics, timestamps, and no lost writes under concurrent coders."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import func, select

from conftest import store_url
from visframe.review.store import ReviewStore, StoreError
from visframe.review.store_schema import map_selections_table


def test_save_replaces_the_coders_codes_and_keeps_a_no_code_review(store, review_run):
    a = store.add_code("protest", "a march or crowd")
    b = store.add_code("text", "mostly text")
    image = review_run.images.index[0]
    store.save_coding(image, "ana", [a.id, b.id], "first look")
    store.save_coding(image, "ana", [b.id], "changed my mind")
    codes, memo, saved = store.coding_for(image, "ana")
    assert codes == {b.id} and memo == "changed my mind" and saved
    store.save_coding(image, "ana", [], "")
    codes, memo, saved = store.coding_for(image, "ana")
    assert codes == set() and saved  # looked and applied nothing: still a review
    assert store.coding_for(image, "bea") == (set(), "", False)


def test_code_rows_record_coder_time_run_image_and_code(store, review_run):
    code = store.add_code("memorial")
    image = review_run.images.index[3]
    before = datetime.now(UTC)
    store.save_coding(image, "ana", [code.id], "candles")
    frame = store.codings_frame()
    assert len(frame) == 1
    row = frame.iloc[0]
    assert (row.run_id, row.image_id, row.coder, row.code) == (review_run.run_id, image, "ana", "memorial")
    assert (
        row.coded_at.tzinfo is not None
        and before.timestamp() - 1 <= row.coded_at.timestamp() <= before.timestamp() + 60
    )
    assert store.reviews_frame().iloc[0].memo == "candles"


def test_codebook_names_are_unique_and_editable(store, review_run):
    first = store.add_code("  protest   march ", "x")
    assert first.name == "protest march"
    assert store.add_code("protest march").id == first.id
    other = store.add_code("text")
    with pytest.raises(StoreError, match="already called"):
        store.edit_code(other.id, "protest march", "")
    store.save_coding(review_run.images.index[0], "ana", [first.id])
    store.edit_code(first.id, "march", "renamed")
    assert store.codings_frame()["code"].tolist() == ["march"]  # renaming follows the applied codes
    with pytest.raises(StoreError):
        store.add_code("   ")


def test_unknown_codes_and_bad_coder_names_are_refused(store, review_run):
    image = review_run.images.index[0]
    with pytest.raises(StoreError, match="not in this run's codebook"):
        store.save_coding(image, "ana", [999])
    with pytest.raises(StoreError):
        store.save_coding(image, "", [])
    with pytest.raises(StoreError):
        store.save_coding(image, "a\x00b", [])
    assert store.count_codings() == 0 and store.reviews_frame().empty


def test_runs_share_a_database_without_mixing(tmp_path, review_run):
    url = store_url(tmp_path)
    one, two = ReviewStore(url, review_run.run_id + "-one"), ReviewStore(url, review_run.run_id + "-two")
    image = review_run.images.index[0]
    one.save_coding(image, "ana", [one.add_code("x").id])
    assert two.codebook() == [] and two.count_codings() == 0 and one.count_codings() == 1
    one.dispose(), two.dispose()


def test_sqlite_store_uses_wal(store):
    if not store.is_sqlite:
        pytest.skip("SQLite-only pragmas")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000


def test_eight_threads_through_the_store_lose_no_code(tmp_path, review_run):
    """The app's write path (save_coding) from 8 threads, each its own coder: 1,000 codes, none lost."""
    store = ReviewStore(store_url(tmp_path), review_run.run_id)
    codes = [store.add_code(f"c{k}").id for k in range(5)]
    images = list(review_run.images.index)
    slots = [(i, c) for i in images for c in codes][:125]
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def coder(k: int) -> None:
        barrier.wait()
        current: dict[str, list[int]] = {}
        try:
            for image, code in slots:
                current.setdefault(image, []).append(code)
                store.save_coding(image, f"coder{k}", current[image], f"memo {k}")
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=coder, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    frame = store.codings_frame()
    assert len(frame) == 1000
    assert set(zip(frame.coder, frame.image_id, frame.code_id)) == {
        (f"coder{k}", i, c) for k in range(8) for i, c in slots
    }
    store.dispose()


def test_a_locked_database_is_retried_not_lost(store):
    import sqlite3

    from sqlalchemy.exc import OperationalError

    calls = []

    def flaky(conn):
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError("INSERT ...", {}, sqlite3.OperationalError("database is locked"))
        return "written"

    assert store._write(flaky) == "written"
    assert len(calls) == 3 and store.retries_used == 2

    def broken(conn):
        raise OperationalError("INSERT ...", {}, sqlite3.OperationalError("no such table: nope"))

    with pytest.raises(OperationalError):
        store._write(broken)  # not a lock: fails at once
    assert store.retries_used == 2


def test_a_map_selection_is_stored_compactly_and_read_back_exactly(store):
    rng = np.random.default_rng(5)
    points = rng.choice(1_000_000, 25_000, replace=False)  # unsorted, as a caller may hand them
    sid = store.save_selection(points, 1_000_000)
    found, n_points = store.selection(sid)
    np.testing.assert_array_equal(found, np.sort(points))
    assert (
        n_points == 1_000_000 and store.save_selection(np.sort(points), 1_000_000) == sid
    )  # same points, same id
    with store.engine.connect() as conn:
        size = conn.execute(select(func.length(map_selections_table.c.points))).scalar()
    assert size < 40_000  # 25,000 numbers in < 1.6 bytes each
    assert store.selection("0" * 16) is None and store.selection("../../etc") is None
