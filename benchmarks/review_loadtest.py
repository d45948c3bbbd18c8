"""Concurrent coders against a live server: do N coders writing M codes lose any?

    python benchmarks/review_loadtest.py RUN_DIR [--db URL] [--coders 8] [--codes 1000]

Starts the app with uvicorn on 127.0.0.1 (a free port) in a background thread, then N coder
threads each identify themselves, and save their share of the M codes one request at a time
(POST /code/<image_id> with the cumulative code set, as the coding panel does), all at once.
Afterwards it counts the rows in the store and compares them with what was sent. It writes into
a scratch run id (`loadtest-...`), and by default into a temporary SQLite file, so a real
run's codes are never touched. Prints: codes written, lost, seconds, requests/s, retries, and a
last line `RESULT coders=… codes=… lost=… failed=… requests_per_s=… retries=…`.
Measured on the 2-core dev machine (30-image fixture run, SQLite): 8 coders, 1,000 codes, 0 lost,
0 retries, 118 requests/s when idle; with the machine shared, 26–31 requests/s against 29–34 for
the pre-router app run alternately in the same minutes (400 codes each).
"""

from __future__ import annotations

import argparse
import math
import re
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from visframe.review.app import create_app
from visframe.review.run_data import ReviewRun, load_run
from visframe.review.server import serve_in_background
from visframe.review.store import ReviewStore, sqlite_url

_CSRF_VALUE = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def start_session(client: httpx.Client, coder: str) -> str:
    """Open a browser-like session as `coder`; returns the CSRF token."""
    page = client.get("/coder")
    page.raise_for_status()
    token = _CSRF_VALUE.search(page.text)
    if token is None:
        raise RuntimeError("no CSRF token on /coder")
    response = client.post("/coder", data={"name": coder, "csrf_token": token.group(1)})
    if response.status_code not in (200, 303):
        raise RuntimeError(f"could not set coder {coder!r}: {response.status_code} {response.text[:200]}")
    return token.group(1)


def plan_codes(
    image_ids: list[str], code_ids: list[int], coders: int, codes_total: int
) -> list[list[tuple[str, int]]]:
    """Each coder's (image_id, code_id) pairs: the first codes_total/coders slots of the image × code grid."""
    per_coder, extra = divmod(codes_total, coders)
    slots = [(i, c) for i in image_ids for c in code_ids]
    plans = []
    for k in range(coders):
        n = per_coder + (1 if k < extra else 0)
        if n > len(slots):
            raise ValueError(
                f"{n} codes per coder need more than {len(image_ids)} images × {len(code_ids)} codes"
            )
        plans.append(slots[:n])
    return plans


@dataclass
class LoadResult:
    coders: int
    codes_sent: int
    codes_stored: int
    requests: int
    failed_requests: int
    seconds: float
    retries: int

    @property
    def lost(self) -> int:
        return self.codes_sent - self.codes_stored

    def summary(self) -> str:
        return (
            f"{self.coders} concurrent coders: {self.codes_sent} codes sent in {self.requests} requests, "
            f"{self.codes_stored} stored, {self.lost} lost, {self.failed_requests} failed requests, "
            f"{self.seconds:.2f} s ({self.requests / self.seconds:.0f} requests/s), "
            f"{self.retries} transaction retries"
        )


def _code_as(
    base_url: str, coder: str, plan: list[tuple[str, int]], barrier: threading.Barrier, failures: list[str]
) -> int:
    requests = 0
    with httpx.Client(base_url=base_url, timeout=60) as client:
        token = start_session(client, coder)
        barrier.wait()
        current: dict[str, list[int]] = {}
        for image_id, code_id in plan:
            current.setdefault(image_id, []).append(code_id)
            response = client.post(
                f"/code/{image_id}",
                data={"codes": [str(c) for c in current[image_id]], "memo": f"{coder} on {image_id}"},
                headers={"X-CSRF-Token": token, "HX-Request": "true"},
            )
            requests += 1
            if response.status_code != 200:
                failures.append(f"{coder} {image_id}: {response.status_code} {response.text[:120]}")
    return requests


def run_load(
    run: ReviewRun, store: ReviewStore, coders: int = 8, codes_total: int = 1000, n_codes: int = 5
) -> LoadResult:
    """Hit a live server with `coders` threads writing `codes_total` codes; count what the store kept.

    Uses `n_codes` codes, or more when the run has too few images for each coder's share."""
    n_codes = max(n_codes, math.ceil(math.ceil(codes_total / coders) / max(run.n_images, 1)))
    codes = [store.add_code(f"load code {k}", "made by the load test").id for k in range(n_codes)]
    plans = plan_codes(list(run.images.index), codes, coders, codes_total)
    app = create_app(run, store)
    failures: list[str] = []
    barrier = threading.Barrier(coders + 1)
    counts: list[int] = [0] * coders
    with serve_in_background(app) as base_url:

        def work(k: int) -> None:
            counts[k] = _code_as(base_url, f"coder {k + 1}", plans[k], barrier, failures)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(coders)]
        for thread in threads:
            thread.start()
        barrier.wait()  # every coder has a session: start the clock
        started = time.perf_counter()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
    stored = store.codings_frame()
    expected = {(f"coder {k + 1}", i, c) for k, plan in enumerate(plans) for i, c in plan}
    got = set(zip(stored["coder"], stored["image_id"], stored["code_id"].astype(int)))
    return LoadResult(
        coders=coders,
        codes_sent=len(expected),
        codes_stored=len(expected & got),
        requests=sum(counts),
        failed_requests=len(failures),
        seconds=seconds,
        retries=store.retries_used,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/review_loadtest.py", description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--db", help="SQLAlchemy URL (default: a temporary SQLite file)")
    parser.add_argument("--coders", type=int, default=8)
    parser.add_argument("--codes", type=int, default=1000)
    args = parser.parse_args(argv)
    run = load_run(args.run_dir)
    run.run_id = f"loadtest-{uuid.uuid4().hex[:12]}"
    with tempfile.TemporaryDirectory() as tmp:
        store = ReviewStore(args.db or sqlite_url(Path(tmp) / "load.db"), run.run_id)
        result = run_load(run, store, args.coders, args.codes)
        store.dispose()
    print(result.summary())
    print(
        f"RESULT coders={result.coders} codes={result.codes_sent} lost={result.lost} "
        f"failed={result.failed_requests} requests_per_s={result.requests / result.seconds:.0f} "
        f"retries={result.retries}"
    )
    return 0 if result.lost == 0 and result.failed_requests == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
