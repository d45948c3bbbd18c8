"""Fixtures for the review app tests (the material itself is in review_fixtures.py).

The store is a SQLite file per test; set VISFRAME_REVIEW_TEST_DB to a database URL (e.g.
postgresql+psycopg://user@localhost/visframe_test) to run the same tests against that database
(each test then gets its own run_id, so tests never see each other's codes).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from review_fixtures import EXTERNAL_DB, make_run_dir, store_url

from visframe.review.run_data import load_run
from visframe.review.store import ReviewStore


@pytest.fixture
def run_dir(tmp_path) -> Path:
    return make_run_dir(tmp_path)


@pytest.fixture
def review_run(run_dir):
    run = load_run(run_dir)
    if EXTERNAL_DB:
        run.run_id = f"{run.run_id}-{uuid.uuid4().hex[:8]}"
    return run


@pytest.fixture
def store(review_run, tmp_path):
    store = ReviewStore(store_url(tmp_path), review_run.run_id)
    yield store
    store.dispose()


@pytest.fixture
def app(review_run, store):
    from visframe.review.app import create_app

    return create_app(review_run, store)
