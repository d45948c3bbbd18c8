"""Instaloader's JSON sidecars → metadata rows (`metadata_format="instaloader"`).

Instaloader saves each post as
`<name>.jpg` (a carousel as `<name>_1.jpg`, `<name>_2.jpg`, …) next to `<name>.json` or
`<name>.json.xz` (LZMA, the default), a JSON object `{"node": {...}, "instaloader": {"version",
"node_type": "Post"}}` where `node` is Instagram's GraphQL post: `shortcode` → post_id,
`owner.username` (older files: `owner_username`) → account, `edge_media_to_caption.edges[0].node.text`
→ caption (hashtags extracted from it with Instaloader's own pattern), `edge_media_preview_like.count`
or `edge_liked_by.count` → likes, `taken_at_timestamp` (or `date`) → posted_at,
`accessibility_caption` → alt_text (per slide from `edge_sidecar_to_children.edges[i].node` when
present), the `_N` suffix → carousel_index (null for single-image posts). Any file name pattern works
(`{date_utc}_UTC` is Instaloader's default) because images are matched to the sidecar with the same
stem in the same folder. Profile and other non-post JSON files are ignored.

A bad sidecar costs its own post at most, never the folder: one that cannot be read, is not JSON,
decompresses to more than `MAX_SIDECAR_BYTES` (an `.xz` bomb), or has fields of the wrong shape is
skipped with a warning naming it; NUL bytes are removed and over-long captions cut as in metadata
tables (`metadata.MAX_CELL_CHARS`). A sidecar that is a symbolic link leading outside the folder is
not read (unless `dataset.follow_symlinks_outside=true`).
"""

from __future__ import annotations

import json
import lzma
import os
import re
from pathlib import Path
from typing import Any

from visframe import contracts as C
from visframe.data.metadata import MAX_CELL_CHARS, MetadataError, MetadataRecords, parse_text, parse_value

# Instaloader's caption hashtag pattern (Post.caption_hashtags), case preserved here.
HASHTAG_IN_TEXT = re.compile(r"#(\w(?:(?:\w|(?:\.(?!\.))){0,28}(?:\w))?)")
_IMAGE_SUFFIX = re.compile(r"^(?P<stem>.+?)(?:_(?P<index>\d+))?$")
# A post's sidecar is a few kB (a long carousel: ~200 kB); reading stops past this many bytes, so a
# small .json.xz that decompresses to gigabytes costs 16 MiB, not the machine's memory.
MAX_SIDECAR_BYTES = 16 * 1024 * 1024


class _BadSidecar(ValueError):
    """A sidecar that is skipped (the message says why)."""


def _load_sidecar(path: Path, warnings: list[str], rel_sidecar: str) -> Any:
    opener = lzma.open if path.name.endswith(".xz") else open
    with opener(path, "rb") as handle:
        data = handle.read(MAX_SIDECAR_BYTES + 1)
    if len(data) > MAX_SIDECAR_BYTES:
        raise _BadSidecar(
            f"it holds more than {MAX_SIDECAR_BYTES // 2**20} MiB of JSON (a decompression bomb?)"
        )
    if b"\x00" in data:
        warnings.append(f"{rel_sidecar}: {data.count(0)} NUL byte(s) removed (a damaged file?)")
        data = data.replace(b"\x00", b"")
    return json.loads(data.decode("utf-8-sig"))


def _capped(value: Any, where: str, column: str, warnings: list[str]) -> Any:
    if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
        warnings.append(
            f"{where}, {column}: {len(value):,} characters, more than the {MAX_CELL_CHARS:,} kept: "
            "cut to that length"
        )
        return value[:MAX_CELL_CHARS]
    return value


def _leads_outside(path: Path, real_directory: str) -> bool:
    real = os.path.realpath(path)
    return not (real == real_directory or real.startswith(real_directory.rstrip(os.sep) + os.sep))


def _dig(node: Any, *keys: Any) -> Any:
    for key in keys:
        if isinstance(node, dict):
            node = node.get(key)
        elif isinstance(node, list) and isinstance(key, int) and -len(node) <= key < len(node):
            node = node[key]
        else:
            return None
    return node


def read_instaloader(
    directory: str | Path,
    image_relpaths: list[str],
    root: str | Path | None = None,
    follow_symlinks_outside: bool = False,
) -> MetadataRecords:
    """Metadata rows from Instaloader's `<name>.json[.xz]` sidecars found under `directory`.

    `image_relpaths` are the folder's image files relative to `root` (posix). A sidecar in
    `directory/sub/` describes images in `root/sub/` with the same stem (`root` defaults to
    `directory`). A sidecar linked from outside `directory` is read only with
    `follow_symlinks_outside`.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise MetadataError(
            f"Instaloader metadata folder {directory} does not exist: point dataset.metadata at "
            "the folder Instaloader downloaded into (or leave it null to use the image folder)"
        )
    records = MetadataRecords(source=f"Instaloader sidecars in {directory}", exact_keys=True)
    images_by_stem: dict[tuple[str, str], list[tuple[str, int | None]]] = {}
    for relpath in image_relpaths:
        folder, _, name = relpath.rpartition("/")
        stem = name.rsplit(".", 1)[0] if "." in name else name
        images_by_stem.setdefault((folder, stem), []).append((relpath, None))
        match = _IMAGE_SUFFIX.match(stem)
        if match and match.group("index"):
            images_by_stem.setdefault((folder, match.group("stem")), []).append(
                (relpath, int(match.group("index")))
            )
    sidecars = sorted(
        p
        for p in directory.rglob("*")
        if p.is_file()
        and not p.name.startswith(".")
        and (p.name.endswith(".json") or p.name.endswith(".json.xz"))
    )
    found_posts = 0
    real_directory = os.path.realpath(directory)
    for sidecar in sidecars:
        rel_sidecar = sidecar.relative_to(directory).as_posix()
        if not follow_symlinks_outside and sidecar.is_symlink() and _leads_outside(sidecar, real_directory):
            records.warnings.append(
                f"{rel_sidecar}: a symbolic link leading outside {directory}: not read (its post has no "
                "metadata; dataset.follow_symlinks_outside=true reads it)"
            )
            continue
        try:
            document = _load_sidecar(sidecar, records.warnings, rel_sidecar)
        except (OSError, ValueError, lzma.LZMAError, EOFError, RecursionError) as error:
            records.warnings.append(
                f"{rel_sidecar}: cannot read this Instaloader sidecar ({error}); its post has no metadata"
            )
            continue
        node = document.get("node") if isinstance(document, dict) else None
        node_type = _dig(document, "instaloader", "node_type")
        if (
            not isinstance(node, dict)
            or node_type not in (None, "Post", "StoryItem")
            or not (node.get("shortcode") or node.get("code") or node.get("taken_at_timestamp"))
        ):
            continue  # a profile, hashtag or other non-post JSON
        found_posts += 1
        folder = sidecar.parent.relative_to(directory).as_posix()
        folder = "" if folder == "." else folder
        stem = (
            sidecar.name[: -len(".json.xz")]
            if sidecar.name.endswith(".xz")
            else sidecar.name[: -len(".json")]
        )
        kept = len(records.rows)
        try:
            _post_rows(node, rel_sidecar, folder, stem, images_by_stem.get((folder, stem), []), records)
        except (TypeError, AttributeError, ValueError, IndexError) as error:
            del records.rows[kept:]  # none of a malformed post's rows, never half of them
            records.warnings.append(
                f"{rel_sidecar}: this Instaloader sidecar has a field of an unexpected shape "
                f"({type(error).__name__}: {error}); its post has no metadata"
            )
    if not found_posts:
        raise MetadataError(
            f"no Instaloader post sidecars (*.json or *.json.xz with a 'node' object) under {directory}: "
            "run Instaloader with metadata saving on (its default), or use a CSV with metadata_format=csv"
        )
    return records


def _post_rows(
    node: dict,
    rel_sidecar: str,
    folder: str,
    stem: str,
    images: list[tuple[str, int | None]],
    records: MetadataRecords,
) -> None:
    where = f"{rel_sidecar} (Instaloader sidecar)"
    warnings = records.warnings
    caption = _dig(node, "edge_media_to_caption", "edges", 0, "node", "text")
    if caption is None and isinstance(node.get("caption"), str):
        caption = node["caption"]
    likes = _dig(node, "edge_media_preview_like", "count")
    if likes is None:
        likes = _dig(node, "edge_liked_by", "count")
    caption = _capped(caption, where, "caption", warnings)
    post = {
        "post_id": parse_text(node.get("shortcode") or node.get("code")),
        "account": parse_text(_dig(node, "owner", "username") or node.get("owner_username")),
        "hashtags": HASHTAG_IN_TEXT.findall(caption) if isinstance(caption, str) else None,
        "likes": parse_value("likes", likes, where, "edge_media_preview_like.count", warnings),
        "caption": parse_text(caption),
        C.POSTED_AT: parse_value(
            C.POSTED_AT,
            node.get("taken_at_timestamp", node.get("date")),
            where,
            "taken_at_timestamp",
            warnings,
        ),
    }
    children = _dig(node, "edge_sidecar_to_children", "edges") or []
    is_carousel = node.get("__typename") == "GraphSidecar" or bool(children)
    present: set[int | None] = set()
    for relpath, index in images:
        if (index is not None) != is_carousel:
            continue  # Instaloader names carousel slides <stem>_1, <stem>_2 … and single images <stem>
        present.add(index)
        child = _dig(children, index - 1, "node") if index else None
        alt = _dig(child, "accessibility_caption") if child else None
        alt = alt if alt is not None else node.get("accessibility_caption")
        alt = _capped(alt, where, "accessibility_caption", warnings)
        records.rows.append(
            {
                "_key": relpath,
                "_where": where,
                **post,
                C.ALT_TEXT: parse_text(alt),
                C.CAROUSEL_INDEX: index,
            }
        )
    # Images the sidecar promises but the folder lacks: keep their metadata (status metadata_only).
    expected: list[int | None] = (
        [i for i, edge in enumerate(children, start=1) if not _dig(edge, "node", "is_video")]
        if is_carousel
        else ([] if node.get("is_video") else [None])
    )
    for index in expected:
        if index not in present:
            name = f"{stem}_{index}.jpg" if index else f"{stem}.jpg"
            child = _dig(children, index - 1, "node") if index else None
            records.rows.append(
                {
                    "_key": f"{folder}/{name}" if folder else name,
                    "_where": where,
                    **post,
                    C.ALT_TEXT: parse_text(
                        _dig(child, "accessibility_caption") if child else node.get("accessibility_caption")
                    ),
                    C.CAROUSEL_INDEX: index,
                }
            )
