"""Shared test setup: every test writes its caches into a temporary directory, never ~/.cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Matplotlib must never try to open a window in tests.
os.environ.setdefault("MPLBACKEND", "Agg")
# umap-learn / pynndescent compile numba code in every new process (~30 s); share one on-disk cache
# between the test process and the CLI subprocesses it starts. Set before numba is imported.
os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parents[1] / ".pytest_cache" / "numba"))
# …and cache umap-learn's and pynndescent's functions there as the `visframe` command does.
from visframe.utils.numba_cache import cache_library_code

cache_library_code()


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """A fresh VISFRAME_CACHE_DIR per test (numba's compiled code is shared across tests: slow to redo)."""
    cache = tmp_path_factory.mktemp("visframe-cache")
    monkeypatch.setenv("VISFRAME_CACHE_DIR", str(cache))
    # mlflow.set_tracking_uri exports MLFLOW_TRACKING_URI; without this a later test's subprocess
    # would log into an earlier test's store.
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return cache
