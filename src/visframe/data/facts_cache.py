"""Per-file ingest results cached in `<cache_dir>/ingest/file_facts.sqlite`.

Keyed by (absolute path as bytes, size, mtime_ns): a file that has not changed is not re-read,
re-hashed or re-decoded by the next run. Paths are stored as bytes (`os.fsencode`), so file names
that are not valid UTF-8 are cached like any other. SQLite gives atomic batched writes (a killed
ingest keeps what it had committed) and safe concurrent use by two runs.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Self

from visframe.data.cleaning import FileFacts
from visframe.utils.cache import cache_subdir

log = logging.getLogger(__name__)
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS facts (path BLOB PRIMARY KEY, size INTEGER NOT NULL, "
    "mtime_ns INTEGER NOT NULL, facts TEXT NOT NULL)"
)
_LOOKUP_CHUNK = 500


class FactsCache:
    """A dictionary-like store of `FileFacts`; degrades to "no cache" if the database is unusable."""

    def __init__(self, cache_dir: str | Path | None):
        self.path = cache_subdir(cache_dir, "ingest") / "file_facts.sqlite"
        self._db: sqlite3.Connection | None
        try:
            self._db = sqlite3.connect(self.path, timeout=60)
            self._db.execute(_SCHEMA)
            self._db.commit()
        except sqlite3.Error as error:
            log.warning(
                "ingest cache %s is unusable (%s): every file will be checked again", self.path, error
            )
            self._db = None

    def get_many(self, keys: list[tuple[bytes, int, int]]) -> dict[bytes, FileFacts]:
        """Cached facts for the keys whose size and mtime still match."""
        if self._db is None or not keys:
            return {}
        wanted = {path: (size, mtime) for path, size, mtime in keys}
        found: dict[bytes, FileFacts] = {}
        paths = list(wanted)
        try:
            for start in range(0, len(paths), _LOOKUP_CHUNK):
                chunk = paths[start : start + _LOOKUP_CHUNK]
                query = f"SELECT path, size, mtime_ns, facts FROM facts WHERE path IN ({','.join('?' * len(chunk))})"
                for path, size, mtime, text in self._db.execute(query, chunk):
                    if wanted.get(path) == (size, mtime):
                        found[path] = FileFacts.from_dict(json.loads(text))
        except (sqlite3.Error, ValueError, TypeError) as error:
            log.warning("ingest cache %s could not be read (%s): checking files again", self.path, error)
            return {}
        return found

    def put_many(self, items: Iterable[tuple[bytes, int, int, FileFacts]]) -> None:
        if self._db is None:
            return
        rows = [(path, size, mtime, json.dumps(facts.to_dict())) for path, size, mtime, facts in items]
        if not rows:
            return
        try:
            self._db.executemany("INSERT OR REPLACE INTO facts VALUES (?, ?, ?, ?)", rows)
            self._db.commit()
        except sqlite3.Error as error:
            log.warning("ingest cache %s could not be written (%s)", self.path, error)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
