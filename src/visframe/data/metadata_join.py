"""Joining metadata rows to the files of a folder: by relative path, bare file name or absolute path.

A metadata key is a name inside the folder. A key that is not — one with a `..` component, an
absolute path outside the folder, or a URL (`file:`, `http://` …) — matches nothing, is never looked
up on disk, and gets one reason (`OUTSIDE_KEY_REASON`), whether or not what it names exists: a
metadata file must not be able to probe the disk outside the folder.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from visframe.data.metadata import MetadataRecords

OUTSIDE_KEY_REASON = (
    "its file name is not a name inside the image folder (it holds '..', is an absolute path outside "
    "the folder, or is a URL), so nothing was looked up"
)
# A URL scheme: `http:/…` (normalise_key folds '//' into '/'), or a scheme that needs no slash. One
# letter before ':' is a Windows drive (`C:/…`), matched by suffix inside the folder like any path.
_URL_KEY = re.compile(
    r"^[A-Za-z][A-Za-z0-9+.\-]+:/|^(file|data|javascript|mailto|about|blob):", re.IGNORECASE
)


def leaves_the_folder(key: str) -> bool:
    """True for a normalised key that names something outside the folder (or a URL), by its text alone."""
    return ".." in key.split("/") or bool(_URL_KEY.match(key))


def normalise_key(value: str) -> str:
    """A file reference as written in metadata → NFC, forward slashes, no leading './'."""
    key = unicodedata.normalize("NFC", value.strip()).replace("\\", "/")
    while key.startswith("./"):
        key = key[2:]
    return re.sub(r"/+", "/", key)


# --------------------------------------------------------------------------------------------- join


@dataclass
class JoinResult:
    per_file: list[dict[str, Any] | None]  # aligned with the folder's files
    unmatched: list[tuple[dict[str, Any], str]]  # (row, why) for metadata_only rows
    warnings: list[str]


def join_metadata(relpaths: list[str], records: MetadataRecords, root: str | Path) -> JoinResult:
    """Attach each metadata row to the folder's file it names (see `normalise_key` for the rules)."""
    root_variants = {os.path.abspath(root), os.path.realpath(root)}
    exact = {unicodedata.normalize("NFC", relpath): index for index, relpath in enumerate(relpaths)}
    by_suffix: dict[str, list[int]] = {}
    for relpath, index in exact.items():
        parts = relpath.split("/")
        for start in range(len(parts)):
            by_suffix.setdefault("/".join(parts[start:]), []).append(index)
    result = JoinResult(per_file=[None] * len(relpaths), unmatched=[], warnings=[])
    claimed_by: dict[int, str] = {}
    for row in records.rows:
        key = row["_key"]
        index, why = _resolve(key, exact, by_suffix, root_variants, records.exact_keys)
        if index is None:
            result.unmatched.append((row, why))
            continue
        if index in claimed_by:
            result.warnings.append(
                f"{row['_where']} and {claimed_by[index]} describe the same file "
                f"{relpaths[index]!r}: kept {claimed_by[index]}"
            )
            continue
        claimed_by[index] = row["_where"]
        result.per_file[index] = row
    return result


def _resolve(
    key: str, exact: dict[str, int], by_suffix: dict[str, list[int]], roots: set[str], exact_only: bool
) -> tuple[int | None, str]:
    if leaves_the_folder(key):
        return None, OUTSIDE_KEY_REASON
    if os.path.isabs(key):
        for root in roots:
            if key.startswith(root.rstrip("/") + "/"):
                key = key[len(root.rstrip("/")) + 1 :]
                break
        else:
            return None, OUTSIDE_KEY_REASON
    if key in exact:
        return exact[key], ""
    if exact_only:
        return None, "no such file in the folder"
    parts = key.split("/")
    for start in range(len(parts)):  # "export/2020/a.jpg" also matches "2020/a.jpg" and "a.jpg"
        candidates = by_suffix.get("/".join(parts[start:]))
        if candidates and len(candidates) == 1:
            return candidates[0], ""
        if candidates:
            return None, (
                f"the name matches {len(candidates)} files in different sub-folders: give the path "
                "relative to the folder"
            )
    return None, "no such file in the folder"
