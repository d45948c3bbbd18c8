"""The input of describe and report: each clustered post with its metadata, and its cluster layers.

`join_posts` is assignments ⋈ manifest on `path` (one row per post). A folder without metadata has
none of the metadata columns; every table that needs one checks `has_column` and says what it
skipped instead of failing. Hashtags are counted by key (`hashtag_keys`, from ingest; computed with
`visframe.utils.hashtags` for manifests older than that column).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from visframe import contracts as C
from visframe.contracts import NOISE
from visframe.data.manifest_io import merge_on_path, storable_path
from visframe.data.metadata import STANDARD_COLUMNS
from visframe.errors import StageError
from visframe.utils.hashtags import normalise_hashtags

METADATA_COLUMNS = [C.LABEL, *STANDARD_COLUMNS, C.HASHTAG_KEYS, C.RESHARE_GROUP]
_HASHTAG_IN_TEXT = re.compile(r"#?([^\s,;#]+)")


def join_posts(manifest: pd.DataFrame | None, assignments: pd.DataFrame) -> pd.DataFrame:
    """One row per assignment, with the manifest's metadata columns joined on `path`."""
    needed = [C.IMAGE_ID, C.PATH, C.CLUSTER, C.PROBABILITY]
    missing = [c for c in needed if c not in assignments.columns]
    if missing:
        raise StageError(
            f"assignments is missing column(s) {missing}",
            fix="pass the table the cluster stage wrote "
            f"({C.ASSIGNMENTS_FILE}: {', '.join(C.ASSIGNMENTS.names)})",
        )
    posts = assignments.copy()
    posts[C.CLUSTER] = posts[C.CLUSTER].astype("int64")
    posts[C.PROBABILITY] = posts[C.PROBABILITY].astype("float64")
    posts[C.OUTLIER_SCORE] = posts[C.OUTLIER_SCORE].astype("float64") if C.OUTLIER_SCORE in posts else np.nan
    for axis in (C.X, C.Y):
        if axis not in posts:
            posts[axis] = np.nan
    meta = (
        []
        if manifest is None
        else [c for c in METADATA_COLUMNS if c in manifest.columns and c not in posts.columns]
    )
    if meta:
        dup = manifest[C.PATH].duplicated()
        if dup.any():
            raise StageError(
                f"manifest has {int(dup.sum())} duplicated path(s), e.g. {manifest[C.PATH][dup].iloc[0]!r}",
                fix="each manifest row must be one file: re-run ingest",
            )
        posts = merge_on_path(posts, manifest[[C.PATH, *meta]], how="left", validate="many_to_one")
    if C.HASHTAGS in posts:
        if C.HASHTAG_KEYS in posts and not posts[C.HASHTAG_KEYS].isna().any():
            # Ingest normalised them (display forms aligned with keys): lists, not a second pass.
            posts[C.HASHTAGS] = [_tag_list(v) for v in posts[C.HASHTAGS]]
            posts[C.HASHTAG_KEYS] = [list(keys) for keys in posts[C.HASHTAG_KEYS]]
        else:  # a manifest older than hashtag_keys
            pairs = [normalise_hashtags(_tag_list(v)) for v in posts[C.HASHTAGS]]
            posts[C.HASHTAGS] = [display for display, _ in pairs]
            posts[C.HASHTAG_KEYS] = [keys for _, keys in pairs]
    return posts.reset_index(drop=True)


def _tag_list(value: object) -> list[str]:
    """A post's hashtags as a list (a list, an array, or a string like '#a #b, c'), None → []."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, str):
        return _HASHTAG_IN_TEXT.findall(value)
    if isinstance(value, Iterable):
        return [str(v) for v in value if v is not None]
    return []


def has_column(posts: pd.DataFrame, column: str) -> bool:
    """True when the column exists and holds at least one known value."""
    if column not in posts.columns:
        return False
    if column in (C.HASHTAGS, C.HASHTAG_KEYS):
        return any(len(tags) for tags in posts[column])
    return bool(posts[column].notna().any())


def cluster_order(posts: pd.DataFrame, include_noise: bool = True, column: str = C.CLUSTER) -> list[int]:
    """Cluster ids by size (largest first, ties by id), noise last."""
    sizes = posts[column].value_counts()
    clusters = sorted((int(k) for k in sizes.index if k != NOISE), key=lambda k: (-int(sizes[k]), k))
    if include_noise and NOISE in sizes.index:
        clusters.append(NOISE)
    return clusters


@dataclass(frozen=True)
class Layer:
    """One clustering of the posts: `index` 0 is the finest; `column` holds its labels."""

    index: int
    column: str
    chosen: bool


def cluster_layers(posts: pd.DataFrame, chosen_layer: int | None = None) -> list[Layer]:
    """The layers in `posts`, finest first; without layer columns, `cluster` is the one layer (0).

    The chosen layer is `chosen_layer` when given, else the layer column equal to `cluster`.
    """
    columns = C.layer_columns(posts.columns)
    if not columns:
        return [Layer(0, C.CLUSTER, True)]
    indices = [int(c[len(C.CLUSTER_LAYER_PREFIX) :]) for c in columns]
    if chosen_layer is None:
        same = [i for i, c in zip(indices, columns) if posts[c].astype("int64").equals(posts[C.CLUSTER])]
        if not same:
            raise StageError(
                f"none of the layer columns {columns} equals `{C.CLUSTER}` (the chosen layer)",
                fix="pass chosen_layer=, or write `cluster` as a copy of the chosen layer's column",
            )
        chosen_layer = same[0]
    if chosen_layer not in indices:
        raise StageError(f"chosen layer {chosen_layer} is not among the layer columns {columns}")
    return [Layer(i, c, i == chosen_layer) for i, c in zip(indices, columns)]


def rank_by_probability(members: pd.DataFrame, descending: bool = True) -> pd.DataFrame:
    """Members ordered by probability; ties (noise is all 0) broken by outlier score, then image_id.

    Among equal probabilities the less outlying point is the more typical one, so it ranks higher
    in the descending order and lower in the ascending one.
    """
    outlier = members[C.OUTLIER_SCORE].fillna(0.0)
    # The path breaks the last ties through its storable (UTF-8) form: sorting a column that holds a
    # non-UTF-8 name would make pandas 3 convert it to its Arrow string dtype, which refuses it.
    keyed = members.assign(
        _p=members[C.PROBABILITY].fillna(0.0), _o=outlier, _k=[storable_path(p) for p in members[C.PATH]]
    )
    by = ["_p", "_o", C.IMAGE_ID, "_k"]
    ascending = [False, True, True, True] if descending else [True, False, True, True]
    return keyed.sort_values(by, ascending=ascending).drop(columns=["_p", "_o", "_k"])
