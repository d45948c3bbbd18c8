"""Serving the app with uvicorn: in the foreground (the CLI) or in a background thread (tests, load test).

uvicorn's access log writes each request line with its query string; `ScrubToken` replaces the
value of any `token=` parameter with `***` before the line is written, so a link opened with
`?token=…` never leaves the token in a log file.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn

ACCESS_LOGGER = "uvicorn.access"
_TOKEN_IN_URL = re.compile(r"(?i)([?&](?:token|access_token)=)[^&\s\"]*")


def scrub(text: str) -> str:
    """`text` with the value of every token= query parameter replaced by ***."""
    return _TOKEN_IN_URL.sub(r"\1***", text)


class ScrubToken(logging.Filter):
    """A logging filter that scrubs tokens from a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = scrub(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(scrub(a) if isinstance(a, str) else a for a in record.args)
        return True


def install_access_log_scrubber() -> None:
    """Add `ScrubToken` to uvicorn's access logger (once)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, ScrubToken) for f in logger.filters):
        logger.addFilter(ScrubToken())


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve_in_background(
    app, host: str = "127.0.0.1", port: int | None = None, log_level: str = "warning"
) -> Iterator[str]:
    """Run `app` under uvicorn in a daemon thread; yields the base URL; stops it on exit."""
    install_access_log_scrubber()
    port = port or free_port(host)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level=log_level, lifespan="off"))
    thread = threading.Thread(target=server.run, name="visframe-review-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the review server did not start on {host}:{port}")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
