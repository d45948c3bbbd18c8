"""Ingest's caches: per-file facts (`file_facts.sqlite`) and whole-folder manifests (`manifests/`).

Per-file facts are keyed by (absolute path as bytes, size, mtime_ns): a file that has not changed
is not re-read, re-hashed or re-decoded by the next run. Paths are stored as bytes
(`os.fsencode`), so file names that are not valid UTF-8 are cached like any other. SQLite gives
atomic batched writes (a killed ingest keeps what it had committed) and safe concurrent use by two
runs. Every row carries the SHA-256 of its facts and is verified on read: a damaged row is dropped
(one warning) and its file checked again; a database SQLite cannot open is set aside as
`corrupt-file_facts.sqlite` and started afresh.

Whole-folder manifests (`ManifestSnapshots`) are keyed by the folder's listing fingerprint (every
candidate file's name, size and mtime, the metadata's, and the ingest options): a sweep's jobs on
an unchanged folder read one Parquet file instead of re-checking every file (20,000 files: about
8 s of lookups and decoding per job before, a fraction of a second after). Written atomically with a
checksum beside it, verified on read, set aside when damaged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Self

from visframe.data.cleaning import FileFacts
from visframe.utils.cache import cache_subdir
from visframe.utils.integrity import set_aside

if TYPE_CHECKING:
    from visframe.data.ingest import Ingested

log = logging.getLogger(__name__)
_TABLE = "facts_checked"  # v2: with a checksum per row (the v1 table `facts` had none)
_SCHEMA = (
    f"CREATE TABLE IF NOT EXISTS {_TABLE} (path BLOB PRIMARY KEY, size INTEGER NOT NULL, "
    "mtime_ns INTEGER NOT NULL, facts TEXT NOT NULL, sha256 TEXT NOT NULL)"
)
_LOOKUP_CHUNK = 500


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _set_aside(path: Path, reason: str) -> None:
    """A database that is not one: renamed `corrupt-<name>` (one warning) and built again."""
    set_aside(path, reason)


class FactsCache:
    """A dictionary-like store of `FileFacts`; degrades to "no cache" if the database is unusable."""

    def __init__(self, cache_dir: str | Path | None):
        self.path = cache_subdir(cache_dir, "ingest") / "file_facts.sqlite"
        self._db: sqlite3.Connection | None = None
        for attempt in range(2):
            try:
                self._db = sqlite3.connect(self.path, timeout=60)
                self._db.execute(_SCHEMA)
                self._db.commit()
                return
            except sqlite3.DatabaseError as error:
                self.close()
                if attempt == 0 and ("not a database" in str(error) or "malformed" in str(error)):
                    _set_aside(self.path, f"ingest cache {self.path} is damaged ({error})")
                    continue
                log.warning(
                    "ingest cache %s is unusable (%s): every file will be checked again", self.path, error
                )
                return

    def get_many(self, keys: list[tuple[bytes, int, int]]) -> dict[bytes, FileFacts]:
        """Cached facts for the keys whose size and mtime still match and whose checksum verifies."""
        if self._db is None or not keys:
            return {}
        wanted = {path: (size, mtime) for path, size, mtime in keys}
        found: dict[bytes, FileFacts] = {}
        damaged: list[bytes] = []
        paths = list(wanted)
        try:
            for start in range(0, len(paths), _LOOKUP_CHUNK):
                chunk = paths[start : start + _LOOKUP_CHUNK]
                query = (
                    f"SELECT path, size, mtime_ns, facts, sha256 FROM {_TABLE} "
                    f"WHERE path IN ({','.join('?' * len(chunk))})"
                )
                for path, size, mtime, text, checksum in self._db.execute(query, chunk):
                    if wanted.get(path) != (size, mtime):
                        continue
                    try:
                        if _digest(text) != checksum:
                            raise ValueError("checksum mismatch")
                        found[path] = FileFacts.from_dict(json.loads(text))
                    except (ValueError, TypeError):
                        damaged.append(path)
        except sqlite3.Error as error:
            log.warning("ingest cache %s could not be read (%s): checking files again", self.path, error)
            return {}
        if damaged:
            log.warning(
                "ingest cache %s: %d damaged entr%s dropped; those files are checked again",
                self.path,
                len(damaged),
                "y" if len(damaged) == 1 else "ies",
            )
            self._delete(damaged)
        return found

    def _delete(self, paths: list[bytes]) -> None:
        try:
            self._db.executemany(f"DELETE FROM {_TABLE} WHERE path = ?", [(p,) for p in paths])
            self._db.commit()
        except sqlite3.Error:
            pass

    def put_many(self, items: Iterable[tuple[bytes, int, int, FileFacts]]) -> None:
        if self._db is None:
            return
        rows = []
        for path, size, mtime, facts in items:
            text = json.dumps(facts.to_dict())
            rows.append((path, size, mtime, text, _digest(text)))
        if not rows:
            return
        try:
            self._db.executemany(f"INSERT OR REPLACE INTO {_TABLE} VALUES (?, ?, ?, ?, ?)", rows)
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


class ManifestSnapshots:
    """Manifests of whole folders, keyed by a listing fingerprint (see `listing_fingerprint` in ingest)."""

    def __init__(self, cache_dir: str | Path | None):
        self.folder = cache_subdir(cache_dir, "ingest", "manifests")

    def _paths(self, key: str) -> tuple[Path, Path, Path]:
        base = self.folder / key
        return base.with_suffix(".parquet"), base.with_suffix(".attrs.json"), base.with_suffix(".sha256")

    def get(self, key: str) -> Ingested | None:
        from visframe.data.ingest import Ingested
        from visframe.data.manifest_io import read_manifest, read_manifest_warnings

        data, attrs, checksum = self._paths(key)
        if not data.exists():
            return None
        try:
            expected = json.loads(checksum.read_text())
            if _file_digest(data) != expected["data"] or _file_digest(attrs) != expected["attrs"]:
                raise ValueError("its content does not match its checksum")
            extras = json.loads(attrs.read_text())
            return Ingested(
                read_manifest(data),
                tuple(read_manifest_warnings(data)),
                dict(extras.get("skipped_files") or {}),
                extras.get("root"),
            )
        except (OSError, ValueError, KeyError) as error:
            for path in (data, attrs, checksum):
                if path.exists():
                    _set_aside(path, f"cached manifest {path.name} is damaged ({error})")
            return None

    def put(self, key: str, ingested: Ingested) -> None:
        from visframe.data.manifest_io import write_manifest

        data, attrs, checksum = self._paths(key)
        try:
            write_manifest(
                ingested.manifest, data, warnings=ingested.warnings
            )  # atomic (.part, then renamed)
            _atomic_text(
                attrs, json.dumps({"skipped_files": dict(ingested.skipped_files), "root": ingested.root})
            )
            _atomic_text(checksum, json.dumps({"data": _file_digest(data), "attrs": _file_digest(attrs)}))
        except OSError as error:
            log.warning("ingest: could not cache the manifest in %s (%s)", self.folder, error)


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def _atomic_text(path: Path, text: str) -> None:
    partial = path.with_name(path.name + f".part-{os.getpid()}")
    partial.write_text(text)
    os.replace(partial, path)
