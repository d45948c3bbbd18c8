"""Shared test setup: every test writes its caches into a temporary directory, never ~/.cache."""

from __future__ import annotations

import os

import pytest

# Matplotlib must never try to open a window in tests.
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """A fresh VISFRAME_CACHE_DIR per test (numba's compiled code is shared across tests: slow to redo)."""
    cache = tmp_path_factory.mktemp("visframe-cache")
    monkeypatch.setenv("VISFRAME_CACHE_DIR", str(cache))
    return cache
