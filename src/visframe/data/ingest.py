"""Ingest: a folder of images (+ optional metadata) → the manifest, one row per file.

`ingest_folder(root, ...)` walks `root` recursively, checks every image file (see `cleaning` for
the status codes), joins the metadata (see `metadata`), groups reshares (see `reshares`), marks
placeholders, prints the warnings and the cleaning report, and returns the manifest as a DataFrame;
`write_manifest` writes it as Parquet with a fixed schema, `read_manifest` reads it back.

Which files get a row. A file gets a row when its extension is an image extension
(`images.IMAGE_EXTENSIONS`) or its content sniffs as an image (a JPEG saved as `.txt` is an image).
Other files — the metadata itself, Instaloader's `.json.xz`/`.txt` sidecars, videos — are skipped
silently and counted in `Ingested.skipped_files`. Hidden entries (names starting with '.',
e.g. macOS `._IMG_1.jpg` resource forks, `.git`) are skipped too. Symbolic links whose target lies
inside `root` are followed: a linked folder is listed (each real directory once, so loops end); a
linked file gets its own row under the link's path, with the target's bytes (so the same image_id as
the target). A link leading outside `root` is neither followed nor read: it gets a row of its own,
status `outside_root` (`follow_symlinks_outside=True` follows it; see `list_image_files`). Metadata
never makes ingest look outside `root` either (`metadata_join.OUTSIDE_KEY_REASON`).

Columns (docs/ARCHITECTURE.md): `image_id`, `path` (absolute; a symlink's own path), `status`,
`reason` ('' when ok), `label`, `width`, `height` (displayed size, EXIF rotation applied; null unless
decoded), `post_id`, `account`, `hashtags` (list), `likes`, `caption`, `alt_text`, `posted_at` (UTC),
`carousel_index`, then `reshare_group` (the image_id representing the row's exact/near-duplicate
group; the row's own image_id when it has no copies), `phash` (16 hex digits, null unless decoded),
`file_size` (bytes), then any extra metadata columns. `metadata_only` rows (a metadata row whose file
is missing) and `outside_root` rows have a null image_id.

Labels: with `label_from_dirs=True` the label is the name of the folder directly under `root` that
holds the file (`root/animals/birds/owl.png` → `animals`; files directly in `root` get no label);
otherwise a `label` metadata column is used when there is one.

File names that are not valid UTF-8 are kept exactly (see `manifest_io` for how they are stored).
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from visframe import contracts as C
from visframe.data import cleaning
from visframe.data.alt_text import alt_columns
from visframe.data.cleaning import FileFacts, classify, placeholder_reason
from visframe.data.facts_cache import FactsCache, ManifestSnapshots
from visframe.data.images import IMAGE_EXTENSIONS, SNIFF_BYTES, sniff
from visframe.data.instaloader import read_instaloader
from visframe.data.manifest_io import (
    INT_COLUMNS,
    MANIFEST_COLUMNS,
    MANIFEST_SCHEMA,
    STRING_COLUMNS,
    path_series,
    read_manifest,
    storable_path,
    write_manifest,
)
from visframe.data.metadata import (
    OUTSIDE_KEY_REASON,
    STANDARD_COLUMNS,
    MetadataError,
    MetadataRecords,
    detect_format,
    join_metadata,
    parse_text,
    read_metadata,
)
from visframe.data.reshares import reshare_groups
from visframe.errors import InputError
from visframe.session import Memo
from visframe.utils.cache import default_cache_dir
from visframe.utils.hashtags import normalise_hashtags

# Re-exported: the pipeline imports the manifest's I/O from here.
__all__ = [
    "MANIFEST_COLUMNS",
    "MANIFEST_SCHEMA",
    "IngestError",
    "Ingested",
    "ingest_folder",
    "read_manifest",
    "storable_path",
    "write_manifest",
]

log = logging.getLogger(__name__)
# Runs file checks elsewhere: (paths, max_pixels) -> their FileFacts, in order.
Inspector = Callable[[list[str], int], Iterable[FileFacts]]

DEFAULT_MAX_PIXELS = 89_478_485  # PIL's own default decompression-bomb limit
# Below this many files to check, worker processes cost more to start than they save.
PARALLEL_MIN_FILES = 400
MAX_PRINTED_WARNINGS = 25


class IngestError(InputError):
    """The folder cannot be ingested at all (no such folder, no image files)."""


@dataclass(frozen=True)
class Ingested:
    """What `ingest_folder` found: the manifest, and what it has to say about the folder."""

    manifest: pd.DataFrame
    warnings: tuple[str, ...] = ()  # logged, printed with the cleaning report, kept in the manifest file
    skipped_files: Mapping[str, int] = field(default_factory=dict)  # non-image files by extension
    root: str | None = None  # the folder, absolute


@dataclass
class _Candidate:
    path: str  # absolute, as str (os.fsdecode'd; may hold surrogate escapes)
    relpath: str  # relative to root, '/'-separated
    # Set for a symbolic link that leads outside the root and is not followed: the manifest's reason.
    outside_reason: str | None = None
    # True when the file was reached through such a link because dataset.follow_symlinks_outside is on.
    followed_outside: bool = False


# ------------------------------------------------------------------------------------------ listing

FOLLOW_SETTING = "dataset.follow_symlinks_outside"
OUTSIDE_LINK_KEY_REASON = (
    "its file name leads through a symbolic link outside dataset.root, so nothing was looked up"
)


def _folder_keys(folders) -> set[tuple[int, int]]:
    """(device, inode) of each folder that exists: how a folder is recognised when reached again."""
    keys = set()
    for folder in folders:
        try:
            info = os.stat(folder)
        except OSError:
            continue
        keys.add((info.st_dev, info.st_ino))
    return keys


def _unvisited_entries(directory: str, visited: set, skipped: Counter) -> list:
    """The entries of `directory`, or none when it was seen already (a link loop) or cannot be listed."""
    try:
        info = os.stat(directory)
        if (info.st_dev, info.st_ino) in visited:
            return []
        visited.add((info.st_dev, info.st_ino))
        return list(os.scandir(directory))
    except OSError as error:
        log.warning("ingest: cannot list %s (%s); its files are skipped", storable_path(directory), error)
        skipped["unlistable folder"] += 1
        return []


def list_image_files(
    root: str | Path, exclude: list[str | Path] | None = None, follow_symlinks_outside: bool = False
) -> tuple[list[_Candidate], Counter]:
    """Files under `root` that get a manifest row, sorted by path; and counts of skipped files.

    `exclude`: folders not to descend into (e.g. the cache, if it sits inside `root`).

    The folder is the boundary: a symbolic link (to a file or a folder) whose target resolves
    (`os.path.realpath`) outside `root` is neither followed nor opened; it gets a row of its own,
    `outside_reason` naming the link and its target. Only links need the check: a directory listed
    here resolves inside `root` (the root itself, or a link checked on the way in), so a plain entry
    of it does too. `follow_symlinks_outside=True` follows such links (each is marked
    `followed_outside`, and so is everything under a followed folder).
    """
    root_str = os.path.abspath(os.fsdecode(root))
    real_root = os.path.realpath(root_str)
    candidates: list[_Candidate] = []
    skipped: Counter = Counter()
    visited = _folder_keys(exclude or [])  # excluded folders count as seen: never entered
    prefix = root_str if root_str.endswith(os.sep) else root_str + os.sep
    stack: list[tuple[str, bool]] = [(root_str, False)]  # (folder, reached through a link leading outside)
    while stack:
        directory, outside = stack.pop()
        for entry in _unvisited_entries(directory, visited, skipped):
            if entry.name.startswith("."):
                skipped["hidden"] += 1
                continue
            # entry.path is `prefix` + the relative path (scandir joins); os.path.relpath cost ~12 µs a file
            relpath = entry.path[len(prefix) :].replace(os.sep, "/")
            leads_out = outside
            if _is_symlink(entry) and not _inside(os.path.realpath(entry.path), real_root):
                if not follow_symlinks_outside:
                    reason = _outside_reason(entry.path, relpath)
                    candidates.append(_Candidate(path=entry.path, relpath=relpath, outside_reason=reason))
                    continue
                leads_out = True
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
            except OSError:
                is_dir = False
            if is_dir:
                stack.append((entry.path, leads_out))
                continue
            extension = os.path.splitext(entry.name)[1].lower()
            if extension in IMAGE_EXTENSIONS or _sniffs_as_image(entry):
                candidates.append(_Candidate(path=entry.path, relpath=relpath, followed_outside=leads_out))
            else:
                skipped[extension or "(no extension)"] += 1
    candidates.sort(key=lambda candidate: os.fsencode(candidate.relpath))
    return candidates, skipped


def _is_symlink(entry: os.DirEntry) -> bool:
    try:
        return entry.is_symlink()
    except OSError:
        return False


def _inside(real_path: str, real_root: str) -> bool:
    """True when `real_path` (already `realpath`ed) is `real_root` or lies under it."""
    return real_path == real_root or real_path.startswith(real_root.rstrip(os.sep) + os.sep)


def _outside_reason(link: str, relpath: str) -> str:
    """The manifest reason of a link leading out of the folder: the link and where it points.

    The target is not looked at (whether it exists, is a file or a folder): a folder from an
    archive must not learn anything about the disk outside it."""
    try:
        written = os.readlink(link)
    except OSError:
        written = "?"
    target = os.path.realpath(link)
    shown = repr(storable_path(written)) + ("" if target == written else f", i.e. {storable_path(target)!r}")
    return (
        f"symbolic link {storable_path(relpath)!r} leads outside dataset.root (to {shown}): not followed, "
        f"not read; set {FOLLOW_SETTING}=true if you mean to include what it points to"
    )


def _sniffs_as_image(entry: os.DirEntry) -> bool:
    try:
        if not entry.is_file(follow_symlinks=True):  # never open pipes or devices
            return False
        with open(entry.path, "rb") as handle:
            return sniff(handle.read(SNIFF_BYTES)).is_image
    except OSError:
        return False


def _listing_notes(candidates: list[_Candidate], follow_symlinks_outside: bool) -> list[str]:
    """What the cleaning report says about links leading outside the folder when they are followed."""
    if not follow_symlinks_outside:
        return []
    followed = [c for c in candidates if c.followed_outside]
    examples = ", ".join(repr(storable_path(c.relpath)) for c in followed[:3])
    return [
        f"{FOLLOW_SETTING}=true: symbolic links leading outside dataset.root are followed; "
        + (f"{len(followed)} file(s) reached through them (e.g. {examples})" if followed else "none found")
    ]


# ---------------------------------------------------------------------------------- fingerprint

# Bumped when ingest's output changes for the same files (a new column, a new check).
SNAPSHOT_VERSION = 2  # 2: links leading outside the root get an `outside_root` row


def listing_fingerprint(
    root: Path, candidates: list[_Candidate], skipped: Counter, metadata_listing: list, options: list
) -> str:
    """A hash of what the manifest depends on: each candidate's relative path, size and mtime_ns,
    the skipped-file counts, the metadata files' listing, the options and the manifest's columns.
    Costs one stat per file (about 0.1 s for 20,000 files), not a read. A link leading outside the root
    counts by its reason (where it points), never by a stat of its target."""
    digest = hashlib.sha256()
    header = [
        SNAPSHOT_VERSION,
        str(root),
        list(MANIFEST_COLUMNS),
        sorted(skipped.items()),
        metadata_listing,
        options,
    ]
    digest.update(json.dumps(header, default=str).encode())
    for candidate in candidates:
        digest.update(os.fsencode(candidate.relpath))
        if candidate.outside_reason is not None:
            digest.update(os.fsencode(candidate.outside_reason))
        else:
            digest.update(repr(_stat_key(candidate.path)).encode())
    return digest.hexdigest()[:32]


def _metadata_listing(metadata: str | Path | None, metadata_format: str, root: Path) -> list:
    """(path, size, mtime_ns) of the metadata file, or of every file of a metadata folder."""
    if metadata is None and metadata_format != "instaloader":
        return []
    source = Path(os.fsdecode(metadata)).expanduser() if metadata is not None else root
    if source.is_file():
        return [[str(source), _stat_key(str(source))]]
    listing = []
    for folder, _, files in os.walk(source):
        for name in files:
            path = os.path.join(folder, name)
            listing.append([os.fsencode(path).hex(), _stat_key(path)])
    return sorted(listing)


# ----------------------------------------------------------------------------------- inspection


def _stat_key(path: str) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns


def inspect_files(
    paths: list[str],
    max_pixels: int,
    cache_dir: str | Path | None,
    show_progress: bool,
    workers: int | None = None,
    inspector: Inspector | None = None,
) -> list[FileFacts]:
    """FileFacts for each path: from the cache when the file is unchanged, else inspected now.

    `inspector` (paths, max_pixels) → FileFacts in order runs the checks elsewhere (scale=sample_fit:
    on the Dask cluster's workers); None = this machine's processes."""
    keys = [_stat_key(path) for path in paths]
    raw_paths = [os.fsencode(path) for path in paths]
    with FactsCache(cache_dir) as cache:
        cached = cache.get_many([(raw, *key) for raw, key in zip(raw_paths, keys) if key is not None])
        facts: list[FileFacts | None] = [None] * len(paths)
        todo = []
        for index, raw in enumerate(raw_paths):
            hit = cached.get(raw)
            if hit is not None and hit.cacheable_for(max_pixels):
                facts[index] = hit
            else:
                todo.append(index)
        progress = tqdm(
            total=len(todo), desc="Checking images", unit="file", disable=not show_progress or not todo
        )
        pending: list[tuple[bytes, int, int, FileFacts]] = []
        with progress:
            todo_paths = [paths[i] for i in todo]
            results = (
                run_inspections(todo_paths, max_pixels, workers)
                if inspector is None
                else inspector(todo_paths, max_pixels)
            )
            for index, result in zip(todo, results):
                facts[index] = result
                progress.update(1)
                if keys[index] is not None and result.cacheable_for(max_pixels):
                    pending.append((raw_paths[index], *keys[index], result))
                if len(pending) >= 256:
                    cache.put_many(pending)
                    pending = []
        cache.put_many(pending)
    log.info(
        "ingest: %d files, %d checked now, %d from the cache", len(paths), len(todo), len(paths) - len(todo)
    )
    return facts  # type: ignore[return-value]


def _inspect_candidates(
    candidates: list[_Candidate],
    max_pixels: int,
    cache_dir: str | Path | None,
    show_progress: bool,
    workers: int | None = None,
    inspector: Inspector | None = None,
) -> list[FileFacts]:
    """`inspect_files` for the candidates inside the folder; a link leading outside it is not opened:
    its facts are its `outside_root` status and reason."""
    inside = [index for index, candidate in enumerate(candidates) if candidate.outside_reason is None]
    paths = [candidates[i].path for i in inside]
    checked = inspect_files(paths, max_pixels, cache_dir, show_progress, workers, inspector)
    facts = [FileFacts(problem=cleaning.OUTSIDE_ROOT, detail=c.outside_reason or "") for c in candidates]
    for index, fact in zip(inside, checked):
        facts[index] = fact
    return facts


def run_inspections(paths: list[str], max_pixels: int, workers: int | None = None) -> Iterator[FileFacts]:
    """Check each file (`cleaning.inspect_file`) in this machine's processes, results in order."""
    workers = workers if workers is not None else min(8, os.cpu_count() or 1)
    if workers <= 1 or len(paths) < PARALLEL_MIN_FILES:
        for path in paths:
            yield cleaning.inspect_file(path, max_pixels)
        return
    # forkserver: workers never inherit the parent's threads (torch, tqdm's monitor) mid-lock.
    context = multiprocessing.get_context("forkserver")
    done = 0
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            for result in pool.map(
                cleaning.inspect_file_as_dict, [(path, max_pixels) for path in paths], chunksize=16
            ):
                yield FileFacts.from_dict(result)
                done += 1
    except BrokenProcessPool as error:
        # A worker died (out of memory, a crashing decoder): finish in this process, file by file.
        log.warning(
            "ingest: a worker process died (%s); checking the remaining %d files here",
            error,
            len(paths) - done,
        )
        for path in paths[done:]:
            yield cleaning.inspect_file(path, max_pixels)


# ---------------------------------------------------------------------------------------- ingest


def ingest_folder(
    root: str | Path,
    metadata: str | Path | None = None,
    metadata_format: str = "auto",
    label_from_dirs: bool = False,
    min_side: int = 32,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    placeholder_min_count: int = 3,
    near_duplicate_max_distance: int = 4,
    cache_dir: str | Path | None = None,
    show_progress: bool = True,
    workers: int | None = None,
    use_snapshot: bool = True,
    inspector: Inspector | None = None,
    metadata_memo: Memo | None = None,
    follow_symlinks_outside: bool = False,
) -> Ingested:
    """The manifest of the images under `root` (one row per file, every bad file with a reason).

    `metadata`: a CSV / JSONL / JSON table, or a folder of Instaloader sidecars; with
    `metadata_format="instaloader"` and no `metadata`, sidecars are looked for in `root` itself.
    `placeholder_min_count=0` turns placeholder detection off; `near_duplicate_max_distance=-1` groups
    exact copies only. `workers`: processes for checking files (default: the CPU count, at most 8);
    `inspector`: check them elsewhere instead (see `inspect_files`). `follow_symlinks_outside`: follow
    symbolic links that lead outside `root` instead of recording them as `outside_root` (see
    `list_image_files`; the cleaning report says so when it is on).
    Warnings are logged, returned in `Ingested.warnings`, and printed with the cleaning report when
    `show_progress` is on. `metadata_memo`: where the parsed metadata table is remembered between calls
    (a `Session.metadata_tables`); None parses it every time. `use_snapshot`: when the folder's listing
    fingerprint (every file's name, size and mtime, the metadata's, and these options) is unchanged, the
    manifest of the last ingest is read back from the cache instead of re-checking every file (see
    `facts_cache`).
    """
    root_path = Path(os.path.abspath(os.fsdecode(root)))
    if not root_path.exists():
        raise IngestError(
            f"image folder {root_path} does not exist: set dataset.root to the folder holding your images"
        )
    if not root_path.is_dir():
        raise IngestError(
            f"dataset.root {root_path} is a file, not a folder: point it at the folder holding the images"
        )
    # Never ingest our own cache (thumbnails are JPEGs) when it lives inside the image folder.
    candidates, skipped = list_image_files(
        root_path,
        exclude=[default_cache_dir() if cache_dir is None else cache_dir],
        follow_symlinks_outside=follow_symlinks_outside,
    )
    if not candidates:
        found = ", ".join(f"{count} {kind}" for kind, count in skipped.most_common(5)) or "nothing"
        raise IngestError(
            f"no image files under {root_path} (found {found}): put .jpg/.png/.webp/… files in it "
            "(sub-folders are searched too)"
        )
    # An unchanged folder (same files, sizes, mtimes, metadata and options): the manifest as before.
    snapshots = ManifestSnapshots(cache_dir) if use_snapshot else None
    fingerprint = listing_fingerprint(
        root_path,
        candidates,
        skipped,
        _metadata_listing(metadata, metadata_format, root_path),
        [
            metadata_format,
            label_from_dirs,
            min_side,
            max_pixels,
            placeholder_min_count,
            near_duplicate_max_distance,
            follow_symlinks_outside,
        ],
    )
    if snapshots is not None and (ingested := snapshots.get(fingerprint)) is not None:
        log.info(
            "ingest: folder unchanged (listing fingerprint %s): manifest read from the cache", fingerprint
        )
        _report(ingested, show_progress)
        return ingested
    # Metadata first: an unusable metadata file fails in a second, not after checking every image.
    relpaths = [c.relpath for c in candidates]
    records = _load_metadata(
        metadata, metadata_format, root_path, relpaths, metadata_memo, follow_symlinks_outside
    )
    facts = _inspect_candidates(candidates, max_pixels, cache_dir, show_progress, workers, inspector)
    warnings: list[str] = _listing_notes(candidates, follow_symlinks_outside)
    rows = [_file_row(candidate, fact, min_side, max_pixels) for candidate, fact in zip(candidates, facts)]
    extra_columns: list[str] = []
    if records is not None:
        warnings.extend(records.warnings)
        rows, extra_columns = _attach_metadata(
            rows, candidates, records, root_path, label_from_dirs, warnings, follow_symlinks_outside
        )
    if label_from_dirs:
        _labels_from_dirs(rows, candidates, warnings)
    _mark_reshares_and_placeholders(rows, facts, placeholder_min_count, near_duplicate_max_distance)
    manifest = _to_frame(rows, extra_columns)
    ingested = Ingested(manifest, tuple(warnings), dict(skipped), str(root_path))
    # A file that could not be read (permissions, an I/O error) may be readable next time without
    # its name, size or mtime changing: such a manifest is never reused whole. (A broken link or a
    # FIFO is in the listing itself, so it may stay.)
    transient = (manifest[C.STATUS] == cleaning.UNREADABLE) & manifest[C.REASON].str.startswith(
        "cannot read the file"
    )
    if snapshots is not None and not transient.any():
        snapshots.put(fingerprint, ingested)
    _report(ingested, show_progress)
    return ingested


def _report(ingested: Ingested, show_progress: bool) -> None:
    warnings = ingested.warnings
    for message in warnings[:MAX_PRINTED_WARNINGS]:
        log.warning("ingest: %s", message)
    if len(warnings) > MAX_PRINTED_WARNINGS:
        log.warning(
            "ingest: … and %d more warnings (the cleaning report lists them; the manifest file keeps them)",
            len(warnings) - MAX_PRINTED_WARNINGS,
        )
    if show_progress:
        from visframe.data.report import print_cleaning_report

        print_cleaning_report(ingested.manifest, warnings, ingested.skipped_files, ingested.root)


def _file_row(candidate: _Candidate, facts: FileFacts, min_side: int, max_pixels: int) -> dict[str, Any]:
    status, reason = classify(facts, min_side, max_pixels)
    decoded = facts.decoded and status != cleaning.TOO_MANY_PIXELS
    return {
        C.IMAGE_ID: facts.image_id,
        "path": candidate.path,
        "status": status,
        "reason": reason,
        "label": None,
        "width": facts.width if decoded else None,
        "height": facts.height if decoded else None,
        "phash": facts.phash if decoded else None,
        "file_size": facts.file_size,
    }


def _load_metadata(
    metadata: str | Path | None,
    metadata_format: str,
    root: Path,
    relpaths: list[str],
    memo: Memo | None = None,
    follow_symlinks_outside: bool = False,
) -> MetadataRecords | None:
    if metadata is None and metadata_format != "instaloader":
        return None
    source = Path(os.fsdecode(metadata)).expanduser() if metadata is not None else root
    fmt = detect_format(source, metadata_format) if source.exists() else metadata_format
    if fmt == "instaloader":
        return read_instaloader(source, relpaths, root, follow_symlinks_outside=follow_symlinks_outside)
    if fmt == "auto" and not source.exists():
        raise MetadataError(
            f"metadata file {source} does not exist: check dataset.metadata (or set it to null)"
        )
    return read_metadata(source, fmt, memo=memo)


def _attach_metadata(
    rows: list[dict],
    candidates: list[_Candidate],
    records: MetadataRecords,
    root: Path,
    label_from_dirs: bool,
    warnings: list[str],
    follow_symlinks_outside: bool = False,
) -> tuple[list[dict], list[str]]:
    joined = join_metadata([c.relpath for c in candidates], records, root)
    warnings.extend(joined.warnings)
    extra_columns = list(records.extra_columns)
    if label_from_dirs and any("label" in row for row in records.rows):
        extra_columns.append("meta_label")  # the folder decides the label; keep the metadata's too

    def fill(target: dict, meta: dict) -> None:
        for column in STANDARD_COLUMNS:
            target[column] = meta.get(column)
        for column in records.extra_columns:
            target[column] = meta.get(column)
        if "label" in meta:
            target["meta_label" if label_from_dirs else "label"] = parse_text(meta["label"])

    for row, meta in zip(rows, joined.per_file):
        if meta is not None:
            fill(row, meta)
    for meta, why in joined.unmatched:
        key = meta["_key"]
        path, why = _metadata_only_path(key, why, root, follow_symlinks_outside)
        row = {
            C.IMAGE_ID: None,
            "path": path,
            "status": cleaning.METADATA_ONLY,
            "reason": f"listed in {meta['_where']}, but {why}: {key!r} (its metadata is kept in this row)",
        }
        fill(row, meta)
        rows.append(row)
    missing = len(joined.unmatched)
    if missing:
        warnings.append(
            f"{missing} metadata row(s) name files that are not in the folder: kept as status "
            "'metadata_only' (see their reason)"
        )
    return rows, extra_columns


def _metadata_only_path(key: str, why: str, root: Path, follow_symlinks_outside: bool) -> tuple[str, str]:
    """(path, why) of a metadata row that matched no image file.

    A key naming something outside the folder is kept as written and never looked up. Inside the
    folder, the disk says whether the file exists but is not an image; a path through a link that
    leads outside the folder is not looked at either (one reason whether or not its target exists).
    """
    if why == OUTSIDE_KEY_REASON:
        return key, why
    path = key if os.path.isabs(key) else os.path.join(str(root), *key.split("/"))
    if not follow_symlinks_outside and not _inside(os.path.realpath(path), os.path.realpath(root)):
        return path, OUTSIDE_LINK_KEY_REASON
    if why == "no such file in the folder" and os.path.isfile(path):
        why = "that file is not an image (neither its extension nor its content), so it has no image row"
    return path, why


def _labels_from_dirs(rows: list[dict], candidates: list[_Candidate], warnings: list[str]) -> None:
    unlabelled = 0
    for row, candidate in zip(rows, candidates):
        folder = candidate.relpath.split("/")[0] if "/" in candidate.relpath else None
        row["label"] = folder
        unlabelled += folder is None
    if unlabelled:
        warnings.append(
            f"label_from_dirs: {unlabelled} file(s) sit directly in the root folder, not in a label "
            "sub-folder; their label is empty"
        )


def _mark_reshares_and_placeholders(
    rows: list[dict], facts: list[FileFacts], min_count: int, max_distance: int
) -> None:
    """reshare_group for every decoded row; placeholders = big groups of low-content pictures."""
    usable = [i for i, row in enumerate(rows[: len(facts)]) if row["status"] == cleaning.OK]
    groups = reshare_groups(
        [rows[i][C.IMAGE_ID] for i in usable],
        [rows[i]["phash"] for i in usable],
        max_distance,
        areas=[(rows[i]["width"] or 0) * (rows[i]["height"] or 0) for i in usable],
        thumbnails=[facts[i].thumb_bytes for i in usable],
    )
    members: dict[str, list[int]] = {}
    for index, group in zip(usable, groups):
        rows[index][C.RESHARE_GROUP] = group
        members.setdefault(group, []).append(index)
    if min_count and min_count > 0:
        for group, indices in members.items():
            low = sum(facts[i].low_content for i in indices)
            if len(indices) >= min_count and 2 * low > len(indices):
                representative_hash = next(rows[i]["phash"] for i in indices if rows[i][C.IMAGE_ID] == group)
                for i in indices:
                    rows[i]["status"] = cleaning.PLACEHOLDER
                    rows[i]["reason"] = placeholder_reason(len(indices), representative_hash)
    for row in rows:
        row.setdefault(C.RESHARE_GROUP, row[C.IMAGE_ID])


def _to_frame(rows: list[dict], extra_columns: list[str]) -> pd.DataFrame:
    columns = list(MANIFEST_COLUMNS) + [c for c in extra_columns if c not in MANIFEST_COLUMNS]
    data: dict[str, Any] = {}
    # The platform's automatic alt text, read once here: what it detected and the text it quotes.
    alt_objects, alt_says = alt_columns([row.get(C.ALT_TEXT) for row in rows])
    derived = {
        C.ALT_OBJECTS: pd.Series(alt_objects, dtype=object),
        C.ALT_SAYS: pd.Series(alt_says, dtype="str"),
    }
    for column in columns:
        values = [row.get(column) for row in rows]
        if column in derived:
            data[column] = derived[column]
        elif column in INT_COLUMNS:
            data[column] = pd.array(values, dtype="Int64")
        elif column == C.POSTED_AT:
            data[column] = pd.to_datetime(pd.Series(values, dtype=object), utc=True).astype(
                "datetime64[us, UTC]"
            )
        elif column == C.HASHTAGS:
            data[column] = pd.Series(values, dtype=object)
        elif column == C.HASHTAG_KEYS:
            # Normalised once here; every reader counts by these keys (visframe.utils.hashtags).
            tags = [row.get(C.HASHTAGS) for row in rows]
            data[column] = pd.Series(
                [None if t is None else normalise_hashtags(t)[1] for t in tags], dtype=object
            )
        elif column == "path":
            data[column] = path_series(values)
        elif column in STRING_COLUMNS:
            data[column] = pd.Series(values, dtype="str")
        else:
            data[column] = pd.Series(values)
    frame = pd.DataFrame(data, columns=columns)
    frame["reason"] = frame["reason"].fillna("")
    return frame
