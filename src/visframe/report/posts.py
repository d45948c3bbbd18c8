"""The report's one input table: each clustered post with its metadata (assignments ⋈ manifest on path).

A folder without metadata has none of the metadata columns; every table that needs one checks
`has_column` and says what it skipped instead of failing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from visframe.data.metadata import STANDARD_COLUMNS

NOISE = -1
ASSIGNMENT_COLUMNS = ["image_id", "path", "cluster", "probability", "outlier_score", "x", "y"]
METADATA_COLUMNS = ["label", *STANDARD_COLUMNS, "reshare_group"]
_HASHTAG_IN_TEXT = re.compile(r"#?([^\s,;#]+)")


def join_posts(manifest: pd.DataFrame | None, assignments: pd.DataFrame) -> pd.DataFrame:
    """One row per assignment, with the manifest's metadata columns joined on `path`."""
    missing = [c for c in ("image_id", "path", "cluster", "probability") if c not in assignments.columns]
    if missing:
        raise ValueError(
            f"assignments is missing column(s) {missing}; the report needs the columns of "
            f"assignments.parquet described in docs/ARCHITECTURE.md ({', '.join(ASSIGNMENT_COLUMNS)})"
        )
    posts = assignments.copy()
    posts["cluster"] = posts["cluster"].astype("int64")
    posts["probability"] = posts["probability"].astype("float64")
    posts["outlier_score"] = posts["outlier_score"].astype("float64") if "outlier_score" in posts else np.nan
    for axis in ("x", "y"):
        if axis not in posts:
            posts[axis] = np.nan
    meta = (
        []
        if manifest is None
        else [c for c in METADATA_COLUMNS if c in manifest.columns and c not in posts.columns]
    )
    if meta:
        if "path" not in manifest.columns:
            raise ValueError("manifest has no `path` column; the report joins assignments to it on `path`")
        dup = manifest["path"].duplicated()
        if dup.any():
            raise ValueError(
                f"manifest has {int(dup.sum())} duplicated path(s), e.g. {manifest['path'][dup].iloc[0]!r};"
                " each manifest row must be one file (re-run ingest)"
            )
        posts = posts.merge(manifest[["path", *meta]], on="path", how="left", validate="many_to_one")
    if "hashtags" in posts:
        posts["hashtags"] = [normalise_hashtags(v) for v in posts["hashtags"]]
    return posts.reset_index(drop=True)


def has_column(posts: pd.DataFrame, column: str) -> bool:
    """True when the column exists and holds at least one known value."""
    if column not in posts.columns:
        return False
    if column == "hashtags":
        return any(len(tags) for tags in posts[column])
    return bool(posts[column].notna().any())


def normalise_hashtags(value: object) -> list[str]:
    """A post's hashtags as a de-duplicated list of lower-case tags without '#'.

    Instagram treats hashtags case-insensitively, so '#NiUnaMenos' and '#niunamenos' are one tag;
    a tag repeated in one post counts once for that post.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, str):
        items: Iterable[object] = _HASHTAG_IN_TEXT.findall(value)
    elif isinstance(value, Iterable):
        items = value
    else:
        return []
    seen: dict[str, None] = {}
    for item in items:
        if item is None:
            continue
        tag = str(item).strip().lstrip("#").casefold()
        if tag:
            seen.setdefault(tag, None)
    return list(seen)


def cluster_order(posts: pd.DataFrame, include_noise: bool = True) -> list[int]:
    """Cluster ids by size (largest first, ties by id), noise last."""
    sizes = posts["cluster"].value_counts()
    clusters = sorted((int(k) for k in sizes.index if k != NOISE), key=lambda k: (-int(sizes[k]), k))
    if include_noise and NOISE in sizes.index:
        clusters.append(NOISE)
    return clusters


def cluster_name(cluster: int) -> str:
    return "noise" if cluster == NOISE else f"cluster {cluster}"


def rank_by_probability(members: pd.DataFrame, descending: bool = True) -> pd.DataFrame:
    """Members ordered by probability; ties (noise is all 0) broken by outlier score, then image_id.

    Among equal probabilities the less outlying point is the more typical one, so it ranks higher
    in the descending order and lower in the ascending one.
    """
    outlier = members["outlier_score"].fillna(0.0)
    keyed = members.assign(_p=members["probability"].fillna(0.0), _o=outlier)
    if descending:
        keyed = keyed.sort_values(["_p", "_o", "image_id", "path"], ascending=[False, True, True, True])
    else:
        keyed = keyed.sort_values(["_p", "_o", "image_id", "path"], ascending=[True, False, True, True])
    return keyed.drop(columns=["_p", "_o"])
