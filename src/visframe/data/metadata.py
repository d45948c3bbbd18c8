"""Post metadata: CSV / JSONL / JSON tables and Instaloader sidecars, parsed and validated.

Tables (`read_metadata`): one row per image file, joined to the folder by a file column.

- Format by extension with `metadata_format="auto"`: `.csv`/`.tsv`/`.txt` → CSV (delimiter `,` `;` tab
  or `|`, taken from the header line, so Excel's `;` exports work), `.jsonl`/`.ndjson` → one JSON
  object per line, `.json` → a JSON list of objects, a directory → Instaloader sidecars.
- Text is read as UTF-8 (a BOM is fine); a file that is not UTF-8 is read as Windows-1252 (Excel's
  usual encoding) with a warning. Emoji and accents are kept as written.
- The file column: `file`, `filename`, `file_name`, `path`, `filepath`, `image`, `image_path`. Its
  value is a path relative to the folder (`sub/a.jpg`), a bare file name (`a.jpg`, must be unique in
  the folder) or an absolute path inside the folder; Windows `\\` separators are accepted.
- Known columns (first matching alias wins; the others are kept as extra columns):
  `post_id` (post_id, shortcode, post), `account` (account, username, owner_username, user, author),
  `hashtags` (hashtags, hashtag, tags), `likes` (likes, like_count, likes_count), `caption`
  (caption, text, description), `alt_text` (alt_text, alt, accessibility_caption),
  `posted_at` (posted_at, date, datetime, timestamp, taken_at, created_at, date_utc),
  `carousel_index` (carousel_index, carousel_position, slide, position), `label`.
- Values: hashtags as a list (`["8M", "#NiUnaMenos"]`) or a string (`"#8M #NiUnaMenos"`,
  `"8M,NiUnaMenos"`) → list of tags without `#`; likes `"1,234"`, `"1.2k"` → int; `posted_at` as
  ISO 8601 (with or without offset; without one it is taken as UTC) or Unix seconds/milliseconds →
  UTC timestamp. A value that cannot be read becomes null with a warning naming file, line and
  column. Missing columns are null; extra columns are kept as they are (prefixed `meta_` when the
  name clashes with a manifest column). Two rows for the same file: the first is kept, with a warning.
- A bad row costs that row at most, never the file: each of these is a warning naming the file, the
  line and what was done (the cleaning report prints the warnings), and every other row is kept —
  a cell longer than `MAX_CELL_CHARS` (1,000,000 characters; Python's csv module stops at 131,072
  by default) is cut to that length; NUL bytes are removed; a line that is not UTF-8 in a UTF-8 file
  is read with its bad bytes replaced (a file with no UTF-8 text at all is read as Windows-1252); a
  CSV row whose quote is never closed (it would swallow the rows after it) is skipped and reading
  goes on at the next line; a JSON Lines line that is not an object is skipped. At most
  `MAX_NOTES_PER_KIND` warnings of one kind per file, then a count.
- A file that cannot be used at all (missing, unreadable, binary, no file column, no rows) raises
  `MetadataError` naming the file and the fix.

Instaloader's JSON sidecars are read by `visframe.data.instaloader.read_instaloader`.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from visframe import contracts as C
from visframe.data.metadata_values import (  # noqa: F401 - re-exported: the readers' public parsers
    _is_missing,
    parse_count,
    parse_hashtags,
    parse_text,
    parse_timestamp,
    parse_value,
)
from visframe.errors import InputError
from visframe.session import Memo

STANDARD_COLUMNS = (
    C.POST_ID,
    C.ACCOUNT,
    C.HASHTAGS,
    C.LIKES,
    C.CAPTION,
    C.ALT_TEXT,
    C.POSTED_AT,
    C.CAROUSEL_INDEX,
)
FILE_ALIASES = (
    "file",
    "filename",
    "file_name",
    "path",
    "filepath",
    "file_path",
    "image",
    "image_path",
    "image_file",
)
ALIASES: dict[str, tuple[str, ...]] = {
    "post_id": ("post_id", "postid", "shortcode", "post"),
    "account": ("account", "username", "owner_username", "user", "author"),
    "hashtags": ("hashtags", "hashtag", "tags"),
    "likes": ("likes", "like_count", "likes_count", "n_likes"),
    "caption": ("caption", "text", "description"),
    C.ALT_TEXT: (C.ALT_TEXT, "alt", "accessibility_caption", "alttext"),
    C.POSTED_AT: (C.POSTED_AT, "date", "datetime", "timestamp", "taken_at", "created_at", "date_utc"),
    C.CAROUSEL_INDEX: (C.CAROUSEL_INDEX, "carousel_position", "slide", "position"),
    "label": ("label",),
}
# The manifest's own columns, in order (visframe.contracts.MANIFEST; manifest_io writes this schema).
MANIFEST_COLUMNS = tuple(C.MANIFEST.names)
# An extra metadata column may not overwrite these (such columns get a `meta_` prefix).
RESERVED_COLUMNS = frozenset(MANIFEST_COLUMNS)
# The longest cell kept, in characters (an Instagram caption is at most 2,200); longer ones are cut to
# this with a warning. Python's csv module refuses cells over 131,072 characters by default, which
# made one long cell fail the whole file.
MAX_CELL_CHARS = 1_000_000
# Warnings of one kind (e.g. "NUL bytes removed") listed per file before the rest are only counted.
MAX_NOTES_PER_KIND = 20
# Files that are binary whatever their extension: (leading bytes, what the file probably is).
_BINARY_SIGNATURES = (
    (b"PK\x03\x04", "a ZIP archive: is it an Excel .xlsx?"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel .xls or other Office file"),
    (b"\xff\xfe", "UTF-16 text, as Excel's 'Unicode text' export writes"),
    (b"\xfe\xff", "UTF-16 text"),
    (b"\x1f\x8b", "gzip-compressed"),
    (b"%PDF", "a PDF document"),
    (b"SQLite format 3\x00", "an SQLite database"),
)


class MetadataError(InputError):
    """A metadata file that cannot be used at all; the message names the file and the fix."""


@dataclass
class MetadataRecords:
    """Parsed metadata rows, each with `_key` (the file as written) and `_where` (for messages)."""

    source: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    exact_keys: bool = False  # True when `_key` is already the exact relative path (Instaloader)


# ------------------------------------------------------------------------------------------ tables


def detect_format(path: Path, metadata_format: str = "auto") -> str:
    if metadata_format != "auto":
        if metadata_format not in ("csv", "jsonl", "json", "instaloader"):
            raise MetadataError(
                f"unknown metadata_format {metadata_format!r}: use auto, csv, jsonl, json or instaloader"
            )
        return metadata_format
    if path.is_dir():
        return "instaloader"
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        return "csv"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".json":
        return "json"
    raise MetadataError(
        f"cannot tell the format of metadata file {path} from its extension {suffix!r}: "
        "name it .csv or .jsonl, or set dataset.metadata_format to csv or jsonl"
    )


def read_metadata(
    path: str | Path, metadata_format: str = "auto", memo: Memo | None = None
) -> MetadataRecords:
    """Read a CSV / JSONL / JSON metadata table (see the module docstring for what is accepted).

    `memo` (a `Session.metadata_tables`) remembers the table by (path, size, mtime_ns, format):
    validation reads the metadata before any work, ingest reads it again, and a sweep's jobs in one
    process read it once each. An unchanged file (same size and mtime, the ingest fingerprint's
    test) is then parsed once per process; every caller gets its own copy."""
    path = Path(path)
    try:
        info = path.stat()
        key: tuple | None = (str(path.resolve()), info.st_size, info.st_mtime_ns, metadata_format)
    except OSError:
        key = None  # missing or unreadable: _parse_metadata says so
    if memo is None or key is None:
        return _parse_metadata(path, metadata_format)
    return copy.deepcopy(memo.get_or_make(key, lambda: _parse_metadata(path, metadata_format)))


def _parse_metadata(path: Path, metadata_format: str) -> MetadataRecords:
    if not path.exists():
        raise MetadataError(
            f"metadata file {path} does not exist: check dataset.metadata (or set it to null)"
        )
    fmt = detect_format(path, metadata_format)
    if fmt == "instaloader":
        raise MetadataError("Instaloader sidecars are read with read_instaloader(directory, ...)")
    if path.is_dir():
        raise MetadataError(
            f"metadata {path} is a directory; give a CSV/JSONL file, or metadata_format=instaloader"
        )
    records = MetadataRecords(source=path.name)
    text = _read_text(path, records.warnings)
    if fmt == "csv":
        raw_rows, columns = _csv_rows(path, text, records.warnings)
    else:
        raw_rows, columns = _json_rows(path, text, fmt, records.warnings)
    if not raw_rows:
        raise MetadataError(
            f"metadata file {path} has no data rows: add one row per image, or drop dataset.metadata"
        )
    _normalise_rows(path, raw_rows, columns, records)
    return records


class _Notes:
    """A file's row-level warnings: at most `MAX_NOTES_PER_KIND` of each kind, then a count."""

    def __init__(self, name: str, warnings: list[str]):
        self.name, self.warnings, self.counts = name, warnings, Counter()

    def add(self, kind: str, message: str) -> None:
        self.counts[kind] += 1
        if self.counts[kind] <= MAX_NOTES_PER_KIND:
            self.warnings.append(f"{self.name} {message}")

    def close(self) -> None:
        for kind, count in self.counts.items():
            if count > MAX_NOTES_PER_KIND:
                self.warnings.append(f"{self.name}: … and {count - MAX_NOTES_PER_KIND} more line(s) {kind}")


def _read_text(path: Path, warnings: list[str]) -> str:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise MetadataError(
            f"cannot read metadata file {path}: {error.strerror or error}; check its permissions"
        ) from error
    what = _binary_kind(data[:4096])
    if what:
        raise MetadataError(
            f"metadata file {path} is binary, not text ({what}): save it as CSV UTF-8 or JSON Lines"
        )
    notes = _Notes(path.name, warnings)
    data = _without_nuls(data, notes)
    text = _decode(data, path.name, notes)
    notes.close()
    return text


def _binary_kind(head: bytes) -> str | None:
    """What a file's first bytes say when it is not a text table, else None.

    A stray NUL in text is not enough (it is removed later, costing nothing): binary means a known
    binary signature, NULs in more than a quarter of the bytes (UTF-16 without its BOM, or data), or
    more than 5% other control characters."""
    for signature, what in _BINARY_SIGNATURES:
        if head.startswith(signature):
            return what
    if not head:
        return None
    controls = sum(head.count(bytes([byte])) for byte in range(32) if byte not in (0, 9, 10, 12, 13))
    if head.count(0) > len(head) / 4 or controls > len(head) / 20:
        return "is it an Excel .xlsx?"
    return None


def _without_nuls(data: bytes, notes: _Notes) -> bytes:
    """`data` with its NUL bytes removed, each line that held one noted (its row is kept)."""
    if b"\x00" not in data:
        return data
    for number, line in enumerate(data.split(b"\n"), start=1):
        if b"\x00" in line:
            message = f"line {number} held {line.count(0)} NUL byte(s) (a damaged file?): removed"
            notes.add("held NUL bytes", message)
    return data.replace(b"\x00", b"")


def _decode(data: bytes, name: str, notes: _Notes) -> str:
    """UTF-8 (a BOM is fine); a UTF-8 file with a few bad lines loses only their bad bytes; a file
    with no UTF-8 text at all is Windows-1252 (Excel's usual encoding)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        first_bad_line = data[: error.start].count(b"\n") + 1
    lines = data.split(b"\n")
    bad: dict[int, UnicodeDecodeError] = {}
    utf8_text = False
    for index, line in enumerate(lines):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as error:
            bad[index] = error
            continue
        utf8_text = utf8_text or not line.isascii()
    if not utf8_text:
        notes.warnings.append(
            f"{name} is not UTF-8 (first bad byte on line {first_bad_line}); read it as Windows-1252. "
            "Check accents, or re-save it as 'CSV UTF-8'"
        )
        return data.decode("cp1252", errors="replace")
    for index, error in bad.items():
        byte = error.object[error.start]
        notes.add(
            "not valid UTF-8",
            f"line {index + 1} is not valid UTF-8 (byte 0x{byte:02X} at position {error.start + 1}): "
            "read with the bad bytes replaced by '\ufffd'; check that row",
        )
    text = "\n".join(line.decode("utf-8", errors="replace") for line in lines)
    return text.removeprefix("\ufeff")


def _csv_rows(path: Path, text: str, warnings: list[str]) -> tuple[list[tuple[int, dict]], list[str]]:
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if path.suffix.lower() == ".tsv" else max(",;\t|", key=first_line.count)
    if first_line.count(delimiter) == 0:
        delimiter = ","
    notes = _Notes(path.name, warnings)
    records = _csv_records(io.StringIO(text, newline="").readlines(), delimiter, notes)
    previous_limit = csv.field_size_limit()
    # No cell is longer than the text: the csv module's own limit never fires; `_cap_cells` cuts.
    csv.field_size_limit(max(previous_limit, len(text) + 1))
    try:
        try:
            _, header = next(records)
        except StopIteration:
            raise MetadataError(
                f"metadata file {path} is empty: add a header line (e.g. file,account,hashtags)"
            ) from None
        columns = _unique_header([name.strip() for name in header], path, warnings)
        rows: list[tuple[int, dict]] = []
        for start, values in records:
            if not any(value.strip() for value in values):
                continue
            if len(values) > len(columns):
                warnings.append(
                    f"{path.name} line {start} has {len(values)} fields but the header has {len(columns)}: "
                    "the extra values are ignored (a delimiter inside an unquoted value?)"
                )
            # An empty cell is a missing value (CSV cannot tell "" from null).
            rows.append(
                (
                    start,
                    {
                        column: values[i] if i < len(values) and values[i] != "" else None
                        for i, column in enumerate(columns)
                    },
                )
            )
    finally:
        csv.field_size_limit(previous_limit)
        notes.close()
    return rows, columns


def _csv_records(lines: list[str], delimiter: str, notes: _Notes) -> Iterator[tuple[int, list[str]]]:
    """(first line number, values) of each CSV record of `lines` (the first is the header); a bad
    record costs itself only.

    A quote that is never closed swallows every row up to the next quote into one cell. Such a
    record spans several lines and has the wrong number of fields, and the lines it swallowed read,
    on their own, as rows of the right width: it is skipped and reading restarts on the line after
    its first. (A multi-line caption of the wrong width is kept: its continuation lines are not
    rows.) A record the csv module refuses is skipped too."""
    expected: int | None = None
    index = 0  # where the current reader started (0-based line index)
    while index < len(lines):
        reader = csv.reader((lines[i] for i in range(index, len(lines))), delimiter=delimiter)
        consumed = 0  # lines this reader has read
        restart = None
        while restart is None:
            first = index + consumed + 1
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                consumed = reader.line_num
                notes.add("skipped (not valid CSV)", f"line {first} is not valid CSV ({error}): row skipped")
                continue
            last, consumed = index + reader.line_num, reader.line_num
            if expected is None:
                expected = len(values)
            elif (
                last > first
                and len(values) != expected
                and _rows_of_width(lines[first:last], delimiter, expected)
            ):
                notes.add(
                    "skipped (a quote never closed)",
                    f"line {first}: a quote opened on this line is never closed (it swallowed "
                    f"{_line_span(first + 1, last)}): this row is skipped, the lines after it are read as "
                    "rows",
                )
                restart = first  # the 0-based index of the line after `first`
                continue
            yield first, values
        index = restart


def _line_span(first: int, last: int) -> str:
    return f"line {first}" if first == last else f"lines {first}–{last}"


def _rows_of_width(lines: list[str], delimiter: str, width: int) -> bool:
    """True when `lines`, parsed on their own, are CSV rows of `width` fields (blank lines aside)."""
    try:
        rows = csv.reader(lines, delimiter=delimiter)
        widths = {len(values) for values in rows if any(value.strip() for value in values)}
    except csv.Error:
        return False
    return widths == {width}


def _unique_header(names: list[str], path: Path, warnings: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    unique = []
    for position, name in enumerate(names, start=1):
        name = name or f"column_{position}"
        if name in seen:
            seen[name] += 1
            warnings.append(
                f"{path.name}: column name {name!r} appears twice; the second is read as {name}_{seen[name]}"
            )
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 1
        unique.append(name)
    return unique


def _json_rows(
    path: Path, text: str, fmt: str, warnings: list[str]
) -> tuple[list[tuple[int, dict]], list[str]]:
    rows: list[tuple[int, dict]] = []
    if fmt == "json":
        try:
            document = json.loads(text)
        except (ValueError, RecursionError) as error:
            raise MetadataError(
                f"metadata file {path} is not valid JSON ({error}); for one object per line name it .jsonl"
            ) from error
        objects = isinstance(document, list) and (not document or any(isinstance(i, dict) for i in document))
        if not objects:
            raise MetadataError(
                f"metadata file {path} must be a JSON list of objects (one per image), "
                "or JSON Lines named .jsonl"
            )
        notes = _Notes(path.name, warnings)
        for index, item in enumerate(document, start=1):
            if isinstance(item, dict):
                rows.append((index, item))
            else:
                notes.add("skipped (not an object)", f"item {index} is not a JSON object: skipped")
        notes.close()
    else:
        bad = 0
        # Lines end at '\n' only: str.splitlines would also cut at U+2028 and friends, which JSON
        # strings (a caption) may hold.
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except (ValueError, RecursionError) as error:  # RecursionError: nested thousands deep
                bad += 1
                warnings.append(
                    f"{path.name} line {number} is not valid JSON ({str(error).split(':')[0]}); row skipped"
                )
                continue
            if not isinstance(item, dict):
                bad += 1
                warnings.append(f"{path.name} line {number} is not a JSON object; row skipped")
                continue
            rows.append((number, item))
        if bad and not rows:
            raise MetadataError(
                f"metadata file {path}: none of its {bad} lines is a JSON object; "
                "JSON Lines needs one {{...}} object per line"
            )
    columns: list[str] = []
    for _, item in rows:
        columns.extend(key for key in item if key not in columns)
    return rows, columns


def _match_columns(columns: list[str]) -> tuple[str | None, dict[str, str]]:
    normalised = {column: re.sub(r"[\s\-]+", "_", column.strip().lower()) for column in columns}

    def find(aliases: tuple[str, ...]) -> str | None:
        for alias in aliases:
            for column in columns:
                if normalised[column] == alias:
                    return column
        return None

    file_column = find(FILE_ALIASES)
    mapping = {
        target: source
        for target, aliases in ALIASES.items()
        if (source := find(aliases)) is not None and source != file_column
    }
    return file_column, mapping


def _normalise_rows(
    path: Path, raw_rows: list[tuple[int, dict]], columns: list[str], records: MetadataRecords
) -> None:
    file_column, mapping = _match_columns(columns)
    if file_column is None:
        raise MetadataError(
            f"metadata file {path} has no file column (found: {', '.join(columns[:12])}): add a column named "
            "'file' holding each image's file name, relative to the folder or bare"
        )
    used = {file_column, *mapping.values()}
    extras = [column for column in columns if column not in used]
    extra_names = {column: (f"meta_{column}" if column in RESERVED_COLUMNS else column) for column in extras}
    records.extra_columns = list(extra_names.values())
    first_line_of: dict[str, int] = {}
    notes = _Notes(path.name, records.warnings)
    for line, raw in raw_rows:
        _cap_cells(raw, line, notes)
        where = f"{path.name} line {line}"
        key = raw.get(file_column)
        if _is_missing(key) or not isinstance(key, str):
            records.warnings.append(f"{where}, column '{file_column}': no file name; row skipped")
            continue
        key = normalise_key(key)
        if key in first_line_of:
            records.warnings.append(
                f"{path.name} lines {first_line_of[key]} and {line} describe the same file "
                f"{key!r}: kept line {first_line_of[key]}"
            )
            continue
        first_line_of[key] = line
        row: dict[str, Any] = {"_key": key, "_where": where}
        for target, source in mapping.items():
            row[target] = parse_value(target, raw.get(source), where, source, records.warnings)
        for column, name in extra_names.items():
            row[name] = raw.get(column)
        records.rows.append(row)
    notes.close()


def _cap_cells(raw: dict[str, Any], line: int, notes: _Notes) -> None:
    """Cut text cells longer than `MAX_CELL_CHARS` (the row and the rest of the cell's text are kept)."""
    for column, value in raw.items():
        if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
            raw[column] = value[:MAX_CELL_CHARS]
            notes.add(
                "with a cell cut",
                f"line {line}, column {column!r}: {len(value):,} characters, more than the "
                f"{MAX_CELL_CHARS:,} kept: cut to that length",
            )


# Re-exported: the parsers and the join live in their own modules.
from visframe.data.metadata_join import (  # noqa: F401
    OUTSIDE_KEY_REASON,
    JoinResult,
    join_metadata,
    normalise_key,
)
