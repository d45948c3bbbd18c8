"""The text cache: Parquet shards of texts.parquet rows per backend key, checksummed.

Layout: `<cache_dir>/texts/<backend_key>/part-<ns>-<uuid>.parquet` and `backend.json` (the key's
content). A shard is written to a temporary name and renamed into place (`os.replace` is atomic),
so a run killed at any moment (kill -9 included) leaves only whole shards and at most one batch of
work lost. Each shard carries, in its Parquet key-value metadata, the SHA-256 of its rows; a reader
that cannot parse a shard or finds a different checksum renames it `corrupt-…` (kept for a look,
never read again), names it in one warning, and its images are read again. Shards may overlap (two
runs racing): the first shard in name order wins, as in the embedding cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from visframe.contracts import (
    IMAGE_ID,
    LANGUAGE,
    MEAN_CONFIDENCE,
    N_CHARS,
    TEXT,
    TEXT_AREA_SHARE,
    TEXT_REASON,
    TEXT_STATUS,
)

log = logging.getLogger(__name__)

SHARD_GLOB = "part-*.parquet"
BACKEND_FILE = "backend.json"
CHECKSUM_KEY = b"visframe.sha256"
_TMP_PREFIX = ".tmp-"
_STALE_TMP_SECONDS = 3600

SCHEMA = pa.schema(
    [
        (IMAGE_ID, pa.string()),
        (TEXT, pa.string()),
        (N_CHARS, pa.int64()),
        (TEXT_AREA_SHARE, pa.float64()),
        (MEAN_CONFIDENCE, pa.float64()),
        (LANGUAGE, pa.string()),
        (TEXT_STATUS, pa.string()),
        (TEXT_REASON, pa.string()),
    ]
)


def rows_checksum(rows: Sequence[dict]) -> str:
    """SHA-256 of the rows' content (NaN written as null, so it survives the round trip)."""
    clean = [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()} for row in rows
    ]
    return hashlib.sha256(json.dumps(clean, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def _atomic(target: Path, write) -> None:
    tmp = target.parent / f"{_TMP_PREFIX}{uuid.uuid4().hex}{target.suffix}"
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_shard(directory: Path, rows: Sequence[dict]) -> Path:
    """Write rows (dicts with the SCHEMA's keys) as one checksummed shard, atomically."""
    directory.mkdir(parents=True, exist_ok=True)
    rows = [{name: row[name] for name in SCHEMA.names} for row in rows]
    table = pa.Table.from_pylist(rows, schema=SCHEMA).replace_schema_metadata(
        {CHECKSUM_KEY: rows_checksum(rows).encode()}
    )
    target = directory / f"part-{time.time_ns():020d}-{uuid.uuid4().hex[:12]}.parquet"
    _atomic(target, lambda tmp: pq.write_table(table, tmp))
    return target


def write_backend_file(directory: Path, key: dict) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    text = json.dumps(key, indent=2, sort_keys=True, default=str)
    _atomic(directory / BACKEND_FILE, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def remove_stale_tmp_files(directory: Path, older_than_s: float = _STALE_TMP_SECONDS) -> None:
    now = time.time()
    for tmp in directory.glob(f"{_TMP_PREFIX}*"):
        try:
            if now - tmp.stat().st_mtime > older_than_s:
                tmp.unlink()
        except FileNotFoundError:
            pass


def _read_verified(shard: Path) -> pa.Table:
    table = pq.read_table(shard, schema=SCHEMA)
    expected = (pq.read_schema(shard).metadata or {}).get(CHECKSUM_KEY)
    if expected is None:
        raise ValueError("no checksum")
    if rows_checksum(table.to_pylist()) != expected.decode():
        raise ValueError("checksum mismatch")
    return table


def load_cached(directory: Path, wanted: Iterable[str] | None = None) -> pd.DataFrame:
    """Every verified cached row (first shard wins per image_id), optionally only `wanted` ids.
    Damaged shards are set aside as `corrupt-…` with one warning naming them."""
    shards = sorted(directory.glob(SHARD_GLOB)) if directory.is_dir() else []
    tables, damaged = [], []
    for shard in shards:
        try:
            tables.append(_read_verified(shard))
        except (pa.ArrowException, OSError, ValueError) as error:
            aside = shard.with_name(shard.name.replace("part-", "corrupt-", 1))
            os.replace(shard, aside)
            damaged.append(f"{shard.name} ({error})")
    if damaged:
        log.warning(
            "Text cache %s: %d damaged shard(s) set aside as corrupt-… and their images read again: %s",
            directory,
            len(damaged),
            "; ".join(damaged),
        )
    if not tables:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in SCHEMA.names})
    frame = pa.concat_tables(tables).to_pandas().drop_duplicates(IMAGE_ID, keep="first")
    if wanted is not None:
        frame = frame[frame[IMAGE_ID].isin(set(wanted))]
    return frame.reset_index(drop=True)
