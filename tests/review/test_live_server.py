"""Against a real uvicorn server on 127.0.0.1: 8 concurrent coders, raw (un-normalised) paths."""

from __future__ import annotations

import http.client
import importlib.util
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from visframe.review.app import create_app
from visframe.review.server import serve_in_background

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "review_loadtest.py"


def _load_benchmark():
    """benchmarks/review_loadtest.py (a script, not a package module): its run_load is the test."""
    spec = importlib.util.spec_from_file_location("review_loadtest", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_eight_concurrent_coders_writing_200_codes_lose_none(review_run, store):
    result = _load_benchmark().run_load(review_run, store, coders=8, codes_total=200)
    assert (result.failed_requests, result.lost, result.codes_stored, result.requests) == (0, 0, 200, 200)
    assert store.count_codings() == 200


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_eight_concurrent_coders_writing_1000_codes_lose_none(review_run, store, capsys):
    result = _load_benchmark().run_load(review_run, store, coders=8, codes_total=1000)
    with capsys.disabled():
        print(f"\n[review load test] {result.summary()}")
    assert result.failed_requests == 0
    assert result.codes_sent == 1000 and result.codes_stored == 1000 and result.lost == 0
    assert result.requests == 1000
    assert store.count_codings() == 1000
    assert len(store.reviews_frame()) == 8 * 25  # 125 codes each = 25 images × 5 codes


RAW_PATHS = [
    "/static/../../../../etc/passwd",
    "/image/../../../../etc/passwd",
    "/thumb/../manifest.parquet",
    "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/image/..\\..\\etc\\passwd",
    "//etc/passwd",
]


def test_raw_dot_dot_paths_are_refused_by_the_live_server(review_run, store):
    app = create_app(review_run, store)
    with serve_in_background(app) as base_url:
        parts = urlsplit(base_url)
        for raw in RAW_PATHS:
            # http.client sends the path exactly as given (no client-side normalisation).
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
            connection.request("GET", raw, headers={"Host": "127.0.0.1"})
            response = connection.getresponse()
            body = response.read()
            connection.close()
            assert response.status in (400, 404), (raw, response.status)
            assert b"root:" not in body and b"PAR1" not in body
