"""Column operations behind `load_run`: a run's posts as pyarrow columns, with no Python loop per row.

A per-value Python function (cleaning a text, splitting a hashtag string, a hashtag's key) runs once
per *distinct* value (`map_unique`), never once per post, so a million posts with a few thousand
accounts and hashtags cost what those few thousand cost. Posts are matched to their manifest row
with one `pyarrow.compute.index_in` over paths (the first manifest row of a path wins, as a
`drop_duplicates` would).

`post_tags` flattens every post's hashtags into aligned arrays (post number, key code, display form)
with the semantics of `visframe.utils.hashtags.normalise_hashtags` applied per post: de-duplicated
by key, the first spelling kept, empty tags dropped; the post's stored keys are used when they line
up one-to-one with its tags, else the keys are computed (older manifests).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from visframe.utils.hashtags import display_hashtag, hashtag_key

IMAGE_ID_REGEX = "^[0-9a-f]{16}$"
TEXT_TAGS = pa.list_(pa.string())


def combined(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def map_unique(column: pa.Array | pa.ChunkedArray, fn: Callable[[Any], Any], kind: pa.DataType) -> pa.Array:
    """`fn` applied to every value of `column` (nulls included, as None), called once per distinct value."""
    encoded = pc.dictionary_encode(combined(column), null_encoding="encode")
    values = pa.array([fn(v) for v in encoded.dictionary.to_pylist()], kind)
    return values.take(encoded.indices)


def valid_image_ids(ids: pa.Array) -> np.ndarray:
    """True where the value is an image_id (16 lower-case hex digits); False for nulls and anything else."""
    if not pa.types.is_string(ids.type) and not pa.types.is_large_string(ids.type):
        ids = ids.cast(pa.string())
    return pc.fill_null(pc.match_substring_regex(ids, IMAGE_ID_REGEX), False).to_numpy(zero_copy_only=False)


def text_column(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Text for display: nulls become "" (other types go through `str` once per distinct value)."""
    column = combined(column)
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return pc.fill_null(column.cast(pa.string()), "")
    return map_unique(
        column, lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v), pa.string()
    )


def tag_lists(
    column: pa.Array | pa.ChunkedArray | None, n: int, parse: Callable[[Any], list[str]]
) -> pa.ListArray:
    """Hashtags as list<string>: Parquet lists as they are, text ('#a #b' or a JSON list) through `parse`."""
    if column is None:
        return pa.array([[]] * n, TEXT_TAGS)
    column = combined(column)
    if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
        return column.cast(TEXT_TAGS)
    return map_unique(column, parse, TEXT_TAGS)


def _kept_tags(flat: pa.Array) -> np.ndarray:
    """Elements that are tags at all: not null and not only '#' characters (as `tag_list` keeps them)."""
    if len(flat) == 0:
        return np.zeros(0, dtype=bool)
    stripped = pc.utf8_trim(flat, characters="#")
    return pc.fill_null(pc.greater(pc.utf8_length(stripped), 0), False).to_numpy(zero_copy_only=False)


@dataclass
class PostTags:
    """Every post's hashtags, flattened: element k belongs to post `post[k]`, in the posts' order."""

    post: np.ndarray  # int64, non-decreasing
    key: np.ndarray  # int64 code into `keys`
    keys: list[str]  # the key of each code
    display: pa.Array  # string: the display form (as written, NFC, no '#')


def post_tags(tags: pa.ListArray, stored_keys: pa.ListArray) -> PostTags:
    """The normalised hashtags of every post (see the module docstring); `tags` and `stored_keys` aligned."""
    flat, parent = pc.list_flatten(tags), pc.list_parent_indices(tags).to_numpy().astype(np.int64)
    encoded = pc.dictionary_encode(flat)
    raw = encoded.dictionary.to_pylist()
    if not raw:
        return PostTags(np.zeros(0, np.int64), np.zeros(0, np.int64), [], pa.array([], pa.string()))
    raw_display = pa.array([display_hashtag(t) for t in raw], pa.string())
    key_names, key_of_raw = np.unique(np.array([hashtag_key(t) for t in raw], dtype=str), return_inverse=True)
    keys = [str(k) for k in key_names]
    index = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    code = np.where(index >= 0, key_of_raw[np.maximum(index, 0)], -1)
    # An empty key (a null, '#' or ' ') is no tag; then the first element of each (post, key) is kept.
    usable = (code >= 0) & (code != (keys.index("") if "" in keys else -1))
    positions = np.flatnonzero(usable)
    _, first = np.unique(parent[positions] * len(keys) + code[positions], return_index=True)
    positions = positions[np.sort(first)]
    post, code = parent[positions], code[positions]
    display = raw_display.take(pa.array(index[positions]))
    # The post's stored keys win where it has exactly as many (non-empty) stored keys as tags kept.
    stored_flat = pc.list_flatten(stored_keys)
    stored_ok = _kept_tags(stored_flat)
    n_stored = np.bincount(pc.list_parent_indices(stored_keys).to_numpy()[stored_ok], minlength=len(tags))
    n_kept = np.bincount(post, minlength=len(tags))
    aligned = (n_stored == n_kept)[post]
    if aligned.any():
        stored = stored_flat.filter(pa.array(stored_ok)).cast(pa.string())
        rank = np.arange(len(post)) - np.concatenate([[0], np.cumsum(n_kept)])[post]
        at = (np.concatenate([[0], np.cumsum(n_stored)])[post] + rank)[aligned]
        chosen = pc.dictionary_encode(stored.take(pa.array(at)))
        names = chosen.dictionary.to_pylist()
        keys += sorted(set(names) - set(keys))
        lookup = {k: i for i, k in enumerate(keys)}
        code[aligned] = np.array([lookup[k] for k in names], dtype=np.int64)[chosen.indices.to_numpy()]
    return PostTags(post=post, key=code, keys=keys, display=display)
