"""Cache entries that heal: atomic writes with a content checksum, verified reads, set-aside.

Every cache entry (an embedding shard, a reduction, an ingest-facts file, a thumbnail) is a file
written by one process and read by many later runs. Two things go wrong in practice: a run killed
mid-write leaves a truncated file, and a disk or copy damages bytes of a file that still has the
right size. Before this module, the first showed up as ``OSError: Unexpected end of stream`` with no
file named, and the second loaded silently as wrong numbers. The cure is the same for every kind:

* **write** to a temporary name in the same directory, ``fsync`` it, then ``os.replace`` it into
  place (atomic on POSIX and Windows), and write beside it a *sidecar* ``<name>.blake2b`` holding
  the BLAKE2b-256 digest of the entry's bytes (written the same atomic way, entry first);
* **verify** on read: the bytes are hashed and compared with the sidecar before they are parsed;
* **set aside** a damaged entry: it is renamed ``corrupt-<name>`` in the same directory (kept for a
  post-mortem, never deleted, and no longer matched by the cache's own names), ONE warning line
  names it, and the caller recomputes the entry as if it had never existed.

Cost, measured on these busy shared CPUs (benchmarks/bench_integrity.py, medians of 3): hashing
runs at about 0.2-0.3 GB/s; the 90 MB of shards holding 16,567 × 1280 float32 vectors verify in
0.39 s, 24 % of a first `load_embeddings` (1.62 s; 1.21 s once verified in the process), and
writing them with fsync + checksum took 3.6-4.4 s against 3.3 s for the old rename-only writer:
small beside embedding them (minutes).

An entry without a sidecar (written before this module, or by a run killed between the entry's
rename and its sidecar's) is *unverified*: `check` says so and `read_verified` returns its bytes
(``require_checksum=False``, the default) — callers that can decode the whole entry should then do
so inside `try` and `set_aside` it on any error.

API (stable; other stages' caches use it)::

    atomic_write_bytes(path, data) -> Path        # entry + sidecar, atomically
    atomic_write(path, write, digest=None) -> Path  # write(tmp_path) fills a temp file; then as above
    check(path) -> "ok" | "missing" | "corrupt" | "unverified"
    read_verified(path, require_checksum=False) -> bytes   # raises CorruptEntry (and FileNotFoundError)
    set_aside(path, reason) -> Path | None        # corrupt-<name>, one warning; None if already gone
    load_or_heal(path, load) -> value | None      # load(bytes) verified; damaged → set aside, None
    sidecar_path(path) -> Path;  digest_bytes(data) -> str;  file_digest(path) -> str
    CorruptEntry (an OSError: catch it where you already catch read errors)
    CHECKSUM_SUFFIX = ".blake2b";  CORRUPT_PREFIX = "corrupt-";  TMP_PREFIX = ".tmp-"

Typical use (a cache reader)::

    value = load_or_heal(entry, lambda data: np.load(io.BytesIO(data)))
    if value is None:                 # missing or damaged (and now set aside): recompute
        value = compute()
        atomic_write(entry, lambda tmp: np.save(tmp, value))
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Literal, TypeVar

log = logging.getLogger(__name__)

CHECKSUM_SUFFIX = ".blake2b"
CORRUPT_PREFIX = "corrupt-"
TMP_PREFIX = ".tmp-"
_ALGORITHM = "blake2b-256"
_CHUNK = 1 << 20

T = TypeVar("T")
Status = Literal["ok", "missing", "corrupt", "unverified"]


class CorruptEntry(OSError):
    """A cache entry whose bytes do not match its checksum (or could not be decoded)."""

    def __init__(self, path: str | Path, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def _hasher():
    return hashlib.blake2b(digest_size=32)


def digest_bytes(data: bytes | bytearray | memoryview) -> str:
    """The hex BLAKE2b-256 digest of `data`."""
    hasher = _hasher()
    hasher.update(data)
    return hasher.hexdigest()


def file_digest(path: str | Path) -> str:
    """The hex BLAKE2b-256 digest of the file at `path`, read in 1 MB chunks."""
    hasher = _hasher()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def sidecar_path(path: str | Path) -> Path:
    """Where the checksum of the entry `path` is kept: `<name>.blake2b` beside it."""
    path = Path(path)
    return path.with_name(path.name + CHECKSUM_SUFFIX)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # Windows cannot open a directory; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _replace_atomically(target: Path, write: Callable[[Path], None]) -> None:
    tmp = target.parent / f"{TMP_PREFIX}{uuid.uuid4().hex}-{target.name}"
    try:
        write(tmp)
        _fsync_file(tmp)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def _sidecar_text(digest: str) -> str:
    return f"{_ALGORITHM} {digest}\n"


def atomic_write(path: str | Path, write: Callable[[Path], None], digest: str | None = None) -> Path:
    """Make the entry `path` with `write(tmp)` (which fills a temp file), atomically, + its checksum.

    `write` gets a temporary path in the same directory (keep the suffix-free name: it ends with
    the entry's name, so writers that pick a format by suffix still do). `digest`, when the caller
    already knows it, saves reading the file back. Returns `path`.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    digests: list[str] = [digest] if digest else []

    def write_and_hash(tmp: Path) -> None:
        write(tmp)
        if not digests:
            digests.append(file_digest(tmp))

    _replace_atomically(target, write_and_hash)
    _replace_atomically(sidecar_path(target), lambda tmp: tmp.write_text(_sidecar_text(digests[0])))
    _fsync_dir(target.parent)
    return target


def atomic_write_bytes(path: str | Path, data: bytes | bytearray | memoryview) -> Path:
    """Write `data` to `path` atomically with its checksum sidecar. Returns `path`."""
    data = bytes(data)
    return atomic_write(path, lambda tmp: tmp.write_bytes(data), digest=digest_bytes(data))


def _expected_digest(path: Path) -> str | None:
    """The digest the sidecar records; None without a sidecar; raises CorruptEntry if unreadable."""
    sidecar = sidecar_path(path)
    try:
        text = sidecar.read_text(encoding="ascii").split()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise CorruptEntry(path, f"its checksum file {sidecar.name} is unreadable ({error})") from error
    if len(text) != 2 or text[0] != _ALGORITHM or len(text[1]) != 64:
        raise CorruptEntry(path, f"its checksum file {sidecar.name} is damaged")
    return text[1]


def read_verified(path: str | Path, require_checksum: bool = False) -> bytes:
    """The bytes of the entry `path`, checked against its sidecar checksum.

    Raises `FileNotFoundError` if the entry is missing, `CorruptEntry` if the bytes do not match
    (or the sidecar is damaged, or missing while `require_checksum`).
    """
    path = Path(path)
    data = path.read_bytes()
    expected = _expected_digest(path)
    if expected is None:
        if require_checksum:
            raise CorruptEntry(path, f"it has no checksum file {sidecar_path(path).name}")
        return data
    actual = digest_bytes(data)
    if actual != expected:
        raise CorruptEntry(
            path, f"checksum mismatch ({len(data)} bytes, blake2b {actual[:12]}… ≠ {expected[:12]}…)"
        )
    return data


def check(path: str | Path) -> Status:
    """ "ok" (checksum matches), "missing", "corrupt" (mismatch or damaged sidecar), or "unverified"."""
    path = Path(path)
    if not path.exists():
        return "missing"
    try:
        expected = _expected_digest(path)
        if expected is None:
            return "unverified"
        return "ok" if file_digest(path) == expected else "corrupt"
    except FileNotFoundError:
        return "missing"
    except CorruptEntry:
        return "corrupt"


def set_aside(path: str | Path, reason: str | BaseException = "damaged") -> Path | None:
    """Rename a damaged entry (and its sidecar) to `corrupt-<name>`; log one warning naming it.

    Returns the new path, or None if the entry was already gone (another process set it aside
    first: no second warning). A caller then recomputes the entry.
    """
    path = Path(path)
    aside = path.with_name(CORRUPT_PREFIX + path.name)
    try:
        os.replace(path, aside)
    except FileNotFoundError:
        return None
    sidecar = sidecar_path(path)
    try:
        os.replace(sidecar, sidecar_path(aside))
    except FileNotFoundError:
        pass
    if isinstance(reason, BaseException):
        reason = reason.reason if isinstance(reason, CorruptEntry) else f"{type(reason).__name__}: {reason}"
    log.warning(
        "Damaged cache entry %s (%s): set aside as %s, it will be recomputed", path, reason, aside.name
    )
    return aside


def load_or_heal(path: str | Path, load: Callable[[bytes], T], require_checksum: bool = False) -> T | None:
    """`load(bytes)` of the verified entry; None if it is missing or damaged (then set aside).

    Any exception `load` raises on the bytes (a truncated file that has no sidecar, say) counts as
    damage too, so the entry is set aside and the caller recomputes it.
    """
    path = Path(path)
    try:
        data = read_verified(path, require_checksum=require_checksum)
    except FileNotFoundError:
        return None
    except CorruptEntry as error:
        set_aside(path, error)
        return None
    try:
        return load(data)
    except Exception as error:  # noqa: BLE001 - any decoder error means the entry is damaged
        set_aside(path, error)
        return None
