"""The report's tables: per-cluster file lists, confidence, and the cluster summary.

The summary reads describe's tables (clusters.parquet, cluster_terms.parquet): lift of a term in a
cluster = (share of the cluster's posts with the term) / (share of all posts with it), computed
there (visframe.describe.terms); the report only formats it: '#NiUnaMenos 12 (×2.4)'.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from visframe import contracts as C
from visframe.data.manifest_io import storable_frame
from visframe.describe import terms as T
from visframe.report.posts import NOISE, cluster_label, cluster_order
from visframe.utils.csv_safe import to_csv_safe


def write_table(frame: pd.DataFrame, base: Path, formats: list[str]) -> list[Path]:
    """Write `frame` as `<base>.<fmt>` for each of `formats` (parquet, csv); return the paths."""
    base.parent.mkdir(parents=True, exist_ok=True)
    frame = storable_frame(frame)  # Parquet and CSV are UTF-8: a non-UTF-8 file name is stored escaped
    written = []
    for fmt in formats:
        path = base.with_name(f"{base.name}.{fmt}")
        if fmt == "parquet":
            frame.to_parquet(path, index=False)
        elif fmt == "csv":
            to_csv_safe(csv_ready(frame), path)
        else:
            raise ValueError(f"report.formats: unknown table format {fmt!r}; use parquet and/or csv")
        written.append(path)
    return written


def csv_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Lists become space-separated text ('#a #b' for hashtags) so a spreadsheet shows them in one cell."""
    out = frame.copy()
    for column in out.columns:
        if (
            out[column].dtype == object
            and out[column].map(lambda v: isinstance(v, list | tuple | np.ndarray)).any()
        ):
            out[column] = out[column].map(partial(_join, prefix="#" if column == "hashtags" else ""))
    return out


def _join(value: object, prefix: str) -> object:
    if isinstance(value, list | tuple | np.ndarray):
        return " ".join(prefix + str(item) for item in value)
    return value


def cluster_file_lists(posts: pd.DataFrame, clusters: list[int], directory: Path) -> list[Path]:
    """`clusters/cluster_<k>.csv`: image_id, path, probability, most probable first."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for cluster in clusters:
        members = posts.loc[posts[C.CLUSTER] == cluster, [C.IMAGE_ID, C.PATH, C.PROBABILITY]]
        members = storable_frame(members)  # a CSV is UTF-8: a non-UTF-8 file name is written escaped
        members = members.sort_values([C.PROBABILITY, C.IMAGE_ID, C.PATH], ascending=[False, True, True])
        path = directory / f"cluster_{cluster}.csv"
        to_csv_safe(members, path)
        written.append(path)
    return written


def cluster_confidence(posts: pd.DataFrame) -> pd.DataFrame:
    """Per cluster: size and the distribution of membership probabilities (the study's Appendix 2)."""
    rows = []
    total = len(posts)
    for cluster in cluster_order(posts):
        members = posts[posts[C.CLUSTER] == cluster]
        p = members[C.PROBABILITY].to_numpy(dtype=float)
        rows.append(
            {
                C.CLUSTER: cluster,
                "n_posts": len(members),
                "n_unique_images": int(members[C.IMAGE_ID].nunique()),
                "share_of_posts": len(members) / total if total else np.nan,
                "probability_mean": float(np.nanmean(p)),
                "probability_min": float(np.nanmin(p)),
                "probability_q25": float(np.nanpercentile(p, 25)),
                "probability_median": float(np.nanmedian(p)),
                "probability_q75": float(np.nanpercentile(p, 75)),
                "probability_max": float(np.nanmax(p)),
                "outlier_score_mean": float(members[C.OUTLIER_SCORE].mean())
                if members[C.OUTLIER_SCORE].notna().any()
                else np.nan,
            }
        )
    return pd.DataFrame(rows)


def terms_of(terms: pd.DataFrame, kind: str, rename: str) -> pd.DataFrame:
    """One kind of describe's chosen-layer term table, as the study's per-cluster table of that kind."""
    rows = terms[terms[T.KIND] == kind].drop(columns=[T.KIND, C.LAYER])
    return rows.rename(columns={T.TERM: rename}).reset_index(drop=True)


def cluster_metadata(
    posts: pd.DataFrame,
    clusters: pd.DataFrame,
    terms: pd.DataFrame,
    top_n: int,
    dominant_share: float,
) -> pd.DataFrame:
    """One row per cluster (the study's Appendices 6–8): name, sizes, text share, top terms,
    hashtags and accounts with counts and lift, the dominant-account flag.

    `clusters` / `terms`: describe's rows of the chosen layer (empty frames when describe did not run).
    """
    by_cluster = clusters.set_index(C.CLUSTER) if not clusters.empty else None
    rows = []
    for cluster in cluster_order(posts):
        members = posts[posts[C.CLUSTER] == cluster]
        mine = terms[terms[C.CLUSTER] == cluster] if not terms.empty else terms
        described = by_cluster is not None and cluster in by_cluster.index
        tags = mine[mine[T.KIND] == T.KIND_HASHTAG].head(top_n) if len(mine) else mine
        accounts = mine[mine[T.KIND] == T.KIND_ACCOUNT] if len(mine) else mine
        words = mine[mine[T.KIND] == T.KIND_TERM].head(top_n) if len(mine) else mine
        row: dict[str, object] = {
            C.CLUSTER: cluster,
            C.NAME: cluster_label(cluster, {cluster: by_cluster.loc[cluster, C.NAME]} if described else None),
            "is_noise": cluster == NOISE,
            "n_posts": len(members),
            C.N_UNIQUE_IMAGES: int(members[C.IMAGE_ID].nunique()),
            C.TEXT_SHARE: float(by_cluster.loc[cluster, C.TEXT_SHARE]) if described else np.nan,
            C.TOP_TERMS: ", ".join(words[T.TERM].astype(str)) if len(words) else "",
            C.TOP_HASHTAGS: format_terms(tags),
            "n_accounts": int(members[C.ACCOUNT].nunique()) if len(accounts) else None,
            C.TOP_ACCOUNTS: format_terms(accounts.head(top_n), prefix="@"),
        }
        if len(accounts):
            lead = accounts.iloc[0]
            row.update(
                top_account=str(lead[T.TERM]),
                top_account_posts=int(lead[T.COUNT]),
                top_account_share=float(lead[T.SHARE]),
                dominant_account=bool(lead[T.SHARE] > dominant_share),
            )
        else:
            row.update(
                top_account=None, top_account_posts=None, top_account_share=None, dominant_account=None
            )
        rows.append(row)
    frame = pd.DataFrame(rows)
    for column, dtype in (
        ("n_accounts", "Int64"),
        ("top_account", "string"),
        ("top_account_posts", "Int64"),
        ("top_account_share", "Float64"),
        ("dominant_account", "boolean"),
    ):
        frame[column] = frame[column].astype(dtype)
    return frame


def format_terms(terms: pd.DataFrame, prefix: str = "") -> str:
    """'#niunamenos 12 (×2.4); #8m 9 (×1.1)': term, posts in the cluster, lift."""
    if terms is None or terms.empty:
        return ""
    return "; ".join(
        f"{prefix}{str(t).lstrip('@') if prefix else t} {int(c)} (×{lift:.1f})"
        for t, c, lift in zip(terms[T.TERM], terms[T.COUNT], terms[T.LIFT])
    )
