"""The embedding cache: Parquet shards of (image_id, embedding) per encoder key.

Layout (docs/ARCHITECTURE.md): `<cache_dir>/embeddings/<encoder_key>/part-*.parquet`, each shard
with `image_id` (string) and `embedding` (fixed_size_list<float32>[dim]), plus `encoder.json`
describing what computed them.

Every shard is written to a temporary name in the same directory, fsynced and renamed into place
(`os.replace` is atomic), with a BLAKE2b checksum beside it (`part-….parquet.blake2b`,
`visframe.utils.integrity`), so a run killed at any moment leaves only whole shards; readers only
look at `part-*.parquet`. Every read verifies the checksum first: a shard damaged later (truncated,
or bytes flipped at the same size, which Parquet would otherwise decode into wrong vectors) is set
aside as `corrupt-part-….parquet` with one warning naming it, and its images count as not cached, so
`embed_images` embeds them again. A shard without a checksum (written before checksums) is decoded
whole, so damaged data pages are caught there instead of as an unnamed `OSError` later. Shards are
append-only and may overlap (two processes, DDP padding, a rerun racing another): readers dedupe by
`image_id`, first shard in name order wins. Shard names start with a nanosecond timestamp, then the
writer's rank and a random suffix, so ranks never collide and name order is write order.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from visframe.contracts import IMAGE_ID
from visframe.session import Memo
from visframe.utils.integrity import (
    TMP_PREFIX,
    CorruptEntry,
    atomic_write,
    atomic_write_bytes,
    read_verified,
    set_aside,
    sidecar_path,
)

log = logging.getLogger(__name__)

SHARD_GLOB = "part-*.parquet"
METADATA_FILE = "encoder.json"
_TMP_PREFIX = TMP_PREFIX
# Leftover temporary files of killed writers are removed once this old (a live writer renames its
# file within seconds).
_STALE_TMP_SECONDS = 3600


class EmbeddingCacheError(RuntimeError):
    """The cache is missing vectors asked for, or holds vectors of the wrong size."""


def shard_schema(dim: int) -> pa.Schema:
    return pa.schema([(IMAGE_ID, pa.string()), ("embedding", pa.list_(pa.float32(), int(dim)))])


def shard_paths(embeddings_dir: str | Path) -> list[Path]:
    directory = Path(embeddings_dir)
    return sorted(directory.glob(SHARD_GLOB)) if directory.is_dir() else []


def write_shard(
    embeddings_dir: str | Path, image_ids: Sequence[str], vectors: np.ndarray, rank: int = 0
) -> Path:
    """Write one shard atomically; returns its path."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or len(vectors) != len(image_ids):
        raise ValueError(f"{len(image_ids)} image_ids but vectors of shape {vectors.shape}")
    directory = Path(embeddings_dir)
    directory.mkdir(parents=True, exist_ok=True)
    dim = vectors.shape[1]
    table = pa.table(
        {
            IMAGE_ID: pa.array(list(image_ids), type=pa.string()),
            "embedding": pa.FixedSizeListArray.from_arrays(
                pa.array(vectors.reshape(-1), type=pa.float32()), dim
            ),
        },
        schema=shard_schema(dim),
    )
    target = directory / f"part-{time.time_ns():020d}-rank{int(rank)}-{uuid.uuid4().hex[:12]}.parquet"
    return atomic_write(target, lambda tmp: pq.write_table(table, tmp))


def write_metadata(embeddings_dir: str | Path, metadata: dict) -> None:
    directory = Path(embeddings_dir)
    directory.mkdir(parents=True, exist_ok=True)
    text = json.dumps(metadata, indent=2, sort_keys=True, default=str)
    atomic_write_bytes(directory / METADATA_FILE, text.encode())


def remove_stale_tmp_files(embeddings_dir: str | Path, older_than_s: float = _STALE_TMP_SECONDS) -> int:
    directory = Path(embeddings_dir)
    removed = 0
    now = time.time()
    for tmp in directory.glob(f"{_TMP_PREFIX}*"):
        try:
            if now - tmp.stat().st_mtime > older_than_s:
                tmp.unlink()
                removed += 1
        except FileNotFoundError:
            pass
    return removed


def read_shard(
    shard: Path, columns: Sequence[str] | None = None, verified: Memo | None = None
) -> pa.Table | None:
    """The shard's table (or `columns` of it) after its checksum is verified; None if it is damaged
    (then set aside, one warning) or gone. A shard without a checksum is decoded whole.

    `verified` (a `Session.verified_shards`) remembers the shards whose checksum passed, by path →
    (size, mtime_ns): embed_images lists the cached ids and then loads the vectors, and a sweep's
    jobs in one process read the same shards again, so each shard is hashed once per session
    (0.41 s for the 90 MB of 16,567 × 1280 vectors), not at every read."""
    try:
        stat = shard.stat()
    except FileNotFoundError:
        return None
    stamp = (stat.st_size, stat.st_mtime_ns)
    checked = sidecar_path(shard).exists()
    try:
        if checked and verified is not None and verified.get(str(shard)) == stamp:
            table = pq.read_table(shard, columns=list(columns) if columns else None)
        else:
            data = read_verified(shard)
            wanted = list(columns) if columns and checked else None  # unchecked: decode every column
            table = pq.read_table(pa.BufferReader(data), columns=wanted)
            if not set(wanted or (IMAGE_ID, "embedding")) <= set(table.column_names):
                raise CorruptEntry(shard, f"columns {table.column_names}, not image_id + embedding")
            if not checked:  # no checksum: decoding and validating every column is the next best check
                table.validate(full=True)
            elif verified is not None:
                verified.put(str(shard), stamp)
    except FileNotFoundError:
        return None
    except (pa.ArrowException, OSError, ValueError) as error:  # CorruptEntry is an OSError
        if verified is not None:
            verified.put(str(shard), None)
        set_aside(shard, error)
        return None
    return table.select(list(columns)) if columns else table


def cached_image_ids(embeddings_dir: str | Path, verified: Memo | None = None) -> set[str]:
    """The image_ids with a vector in the cache; damaged shards are set aside and not counted."""
    found: set[str] = set()
    for shard in shard_paths(embeddings_dir):
        table = read_shard(shard, columns=[IMAGE_ID], verified=verified)
        if table is not None:
            found.update(table.column(IMAGE_ID).to_pylist())
    return found


def _shard_vectors(table: pa.Table, dim: int | None, shard: Path) -> np.ndarray:
    column = table.column("embedding").combine_chunks()
    size = column.type.list_size
    if dim is not None and size != dim:
        raise EmbeddingCacheError(f"{shard} holds {size}-d vectors but {dim}-d were expected")
    return column.values.to_numpy(zero_copy_only=False).reshape(-1, size)


def load_embeddings(
    embeddings_dir: str | Path, image_ids: Sequence[str], dim: int | None = None, verified: Memo | None = None
) -> np.ndarray:
    """The cached vectors of `image_ids`, float32 (N, D), row i for image_ids[i].

    Reads shard by shard into one preallocated array (memory: the result plus one shard and its
    bytes). Raises `EmbeddingCacheError` naming the missing ids if any has no vector (a shard found
    damaged here is set aside first; `embed_images` checks `cached_image_ids` before, so it embeds
    such images again instead).
    """
    position: dict[str, list[int]] = {}
    for i, image_id in enumerate(image_ids):
        position.setdefault(str(image_id), []).append(i)
    out: np.ndarray | None = np.empty((len(image_ids), dim), dtype=np.float32) if dim is not None else None
    filled: set[str] = set()
    for shard in shard_paths(embeddings_dir):
        table = read_shard(shard, verified=verified)
        if table is None:
            continue
        ids = table.column(IMAGE_ID).to_pylist()
        rows, targets = [], []
        for row, image_id in enumerate(ids):
            if image_id in position and image_id not in filled:
                filled.add(image_id)
                for target in position[image_id]:
                    rows.append(row)
                    targets.append(target)
        if not rows:
            continue
        vectors = _shard_vectors(table, dim, shard)
        if out is None:
            dim = vectors.shape[1]
            out = np.empty((len(image_ids), dim), dtype=np.float32)
        out[targets] = vectors[rows]
    missing = [i for i in dict.fromkeys(map(str, image_ids)) if i not in filled]
    if missing:
        raise EmbeddingCacheError(
            f"{len(missing)} of {len(position)} images have no vector in {embeddings_dir} "
            f"(e.g. {missing[:3]})"
        )
    if out is None:
        out = np.empty((0, dim or 0), dtype=np.float32)
    return out


def iter_cache(embeddings_dir: str | Path) -> Iterable[tuple[list[str], np.ndarray]]:
    """Every shard's (image_ids, vectors), deduplicated across shards (first wins)."""
    seen: set[str] = set()
    for shard in shard_paths(embeddings_dir):
        table = read_shard(shard)
        if table is None:
            continue
        ids = table.column(IMAGE_ID).to_pylist()
        keep = []
        for row, image_id in enumerate(ids):
            if image_id not in seen:
                seen.add(image_id)
                keep.append(row)
        if keep:
            yield [ids[row] for row in keep], _shard_vectors(table, None, shard)[keep]
