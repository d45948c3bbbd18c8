"""The report's tables: per-cluster file lists, confidence, and hashtag/account metadata with lift.

Lift of a term in a cluster = (share of the cluster's posts with the term) / (share of all clustered
posts with the term); 1 means "as common as anywhere", 3 means "three times as common here".
All posts in the assignments (noise included) make the corpus.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from visframe.report.posts import NOISE, cluster_order, has_column


def write_table(frame: pd.DataFrame, base: Path, formats: list[str]) -> list[Path]:
    """Write `frame` as `<base>.<fmt>` for each of `formats` (parquet, csv); return the paths."""
    base.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        path = base.with_name(f"{base.name}.{fmt}")
        if fmt == "parquet":
            frame.to_parquet(path, index=False)
        elif fmt == "csv":
            csv_ready(frame).to_csv(path, index=False)
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
        members = posts.loc[posts["cluster"] == cluster, ["image_id", "path", "probability"]]
        members = members.sort_values(["probability", "image_id", "path"], ascending=[False, True, True])
        path = directory / f"cluster_{cluster}.csv"
        members.to_csv(path, index=False)
        written.append(path)
    return written


def cluster_confidence(posts: pd.DataFrame) -> pd.DataFrame:
    """Per cluster: size and the distribution of membership probabilities (the study's Appendix 2)."""
    rows = []
    total = len(posts)
    for cluster in cluster_order(posts):
        members = posts[posts["cluster"] == cluster]
        p = members["probability"].to_numpy(dtype=float)
        rows.append(
            {
                "cluster": cluster,
                "n_posts": len(members),
                "n_unique_images": int(members["image_id"].nunique()),
                "share_of_posts": len(members) / total if total else np.nan,
                "probability_mean": float(np.nanmean(p)),
                "probability_min": float(np.nanmin(p)),
                "probability_q25": float(np.nanpercentile(p, 25)),
                "probability_median": float(np.nanmedian(p)),
                "probability_q75": float(np.nanpercentile(p, 75)),
                "probability_max": float(np.nanmax(p)),
                "outlier_score_mean": float(members["outlier_score"].mean())
                if members["outlier_score"].notna().any()
                else np.nan,
            }
        )
    return pd.DataFrame(rows)


def term_lift(posts: pd.DataFrame, column: str, term_name: str) -> pd.DataFrame:
    """Long table (cluster, term, count, share, corpus_count, corpus_share, lift) for one metadata column.

    `count` is the number of the cluster's posts with the term (a post counts once per term);
    `share` = count / the cluster's posts; `corpus_share` = posts with the term / all posts.
    """
    columns = ["cluster", term_name, "count", "share", "corpus_count", "corpus_share", "lift"]
    if not has_column(posts, column):
        return pd.DataFrame(columns=columns)
    pairs = posts[["cluster", column]]
    if column == "hashtags":
        pairs = pairs.explode(column)
    pairs = pairs.dropna(subset=[column])
    pairs = pairs[pairs[column].astype(str) != ""]
    pairs = pairs.assign(**{column: pairs[column].astype(str)})
    n_posts = posts["cluster"].value_counts()
    corpus_count = pairs[column].value_counts()
    counts = pairs.groupby(["cluster", column]).size().rename("count").reset_index()
    counts["share"] = counts["count"] / counts["cluster"].map(n_posts).astype(float)
    counts["corpus_count"] = counts[column].map(corpus_count).astype("int64")
    counts["corpus_share"] = counts["corpus_count"] / float(len(posts))
    counts["lift"] = counts["share"] / counts["corpus_share"]
    order = {k: i for i, k in enumerate(cluster_order(posts))}
    counts = counts.assign(_order=counts["cluster"].map(order)).sort_values(
        ["_order", "count", column], ascending=[True, False, True]
    )
    return counts.drop(columns="_order").rename(columns={column: term_name})[columns].reset_index(drop=True)


def cluster_metadata(
    posts: pd.DataFrame,
    hashtags: pd.DataFrame,
    accounts: pd.DataFrame,
    top_n: int,
    dominant_share: float,
) -> pd.DataFrame:
    """One row per cluster (the study's Appendices 6–8): sizes, top hashtags/accounts, dominance flag."""
    has_accounts = not accounts.empty
    rows = []
    for cluster in cluster_order(posts):
        members = posts[posts["cluster"] == cluster]
        row: dict[str, object] = {
            "cluster": cluster,
            "is_noise": cluster == NOISE,
            "n_posts": len(members),
            "n_unique_images": int(members["image_id"].nunique()),
        }
        tags = hashtags[hashtags["cluster"] == cluster].head(top_n)
        accs = accounts[accounts["cluster"] == cluster] if has_accounts else accounts
        row["top_hashtags"] = _format_terms(tags, "hashtag", prefix="#")
        row["n_accounts"] = int(members["account"].nunique()) if has_accounts else None
        row["top_accounts"] = _format_terms(accs.head(top_n), "account", prefix="@")
        if has_accounts and not accs.empty:
            lead = accs.iloc[0]
            row["top_account"] = str(lead["account"])
            row["top_account_posts"] = int(lead["count"])
            row["top_account_share"] = float(lead["share"])
            row["dominant_account"] = bool(lead["share"] > dominant_share)
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


def _format_terms(terms: pd.DataFrame, column: str, prefix: str) -> str:
    """'#niunamenos 12 (×2.4); #8m 9 (×1.1)': term, posts in the cluster, lift."""
    return "; ".join(
        f"{prefix}{str(t).lstrip(prefix)} {int(c)} (×{lift:.1f})"
        for t, c, lift in zip(terms[column], terms["count"], terms["lift"])
    )
