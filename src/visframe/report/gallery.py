"""The cluster gallery the report opens on: one card per cluster of the chosen layer, largest first,
noise last — name, size, medoid, montage, top terms, hashtags and accounts (posts, lift), text
share, zero-shot labels and dates, all read from describe's tables."""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from visframe import contracts as C
from visframe.describe import terms as T
from visframe.report.inputs import Described
from visframe.report.posts import NOISE, cluster_label, cluster_order
from visframe.report.tables import format_terms
from visframe.report.thumbnails import ThumbnailCache


@dataclass
class GalleryCard:
    cluster: int
    name: str
    n_posts: int
    n_unique_images: int
    montage: Path
    posts: pd.DataFrame  # the montage's tiles with captions and hashtags
    medoid: Path | None = None
    medoid_image_id: str | None = None
    text_share: float | None = None
    top_terms: list[str] = field(default_factory=list)
    top_hashtags: list[str] = field(default_factory=list)  # '#NiUnaMenos 12 (×2.4)'
    top_accounts: list[str] = field(default_factory=list)
    zero_shot: list[str] = field(default_factory=list)
    first_posted_at: str | None = None
    last_posted_at: str | None = None


def gallery_cards(
    posts: pd.DataFrame,
    described: Described,
    montages: dict[int, tuple[Path, pd.DataFrame]],
    thumbs: ThumbnailCache,
    out: Path,
    top_n: int,
) -> list[GalleryCard]:
    """A card per cluster that has a montage; medoid thumbnails are copied to `out/medoids/`."""
    rows = described.clusters.set_index(C.CLUSTER) if len(described.clusters) else None
    path_of = posts.drop_duplicates(C.IMAGE_ID).set_index(C.IMAGE_ID)[C.PATH]
    cards = []
    for cluster in cluster_order(posts):
        if cluster not in montages:
            continue
        members = posts[posts[C.CLUSTER] == cluster]
        png, tiles = montages[cluster]
        card = GalleryCard(
            cluster=cluster,
            name=cluster_label(cluster, described.names),
            n_posts=len(members),
            n_unique_images=int(members[C.IMAGE_ID].nunique()),
            montage=png,
            posts=tiles,
        )
        if rows is not None and cluster in rows.index:
            _fill(card, rows.loc[cluster], described.terms, top_n)
            if card.medoid_image_id in path_of.index:
                card.medoid = _medoid_file(
                    thumbs, card.medoid_image_id, path_of[card.medoid_image_id], out, cluster
                )
        cards.append(card)
    return cards


def _fill(card: GalleryCard, row: pd.Series, terms: pd.DataFrame, top_n: int) -> None:
    mine = terms[terms[C.CLUSTER] == card.cluster]
    share = row.get(C.TEXT_SHARE)
    card.text_share = None if share is None or pd.isna(share) else float(share)
    card.top_terms = _as_list(row.get(C.TOP_TERMS))[:top_n]
    for kind, attribute, prefix in (
        (T.KIND_HASHTAG, C.TOP_HASHTAGS, ""),
        (T.KIND_ACCOUNT, C.TOP_ACCOUNTS, "@"),
    ):
        rows = mine[mine[T.KIND] == kind].head(top_n)
        text = format_terms(rows, prefix=prefix)
        setattr(card, attribute, text.split("; ") if text else [])
    card.zero_shot = _as_list(row.get(C.ZERO_SHOT_LABELS))
    medoid = row.get(C.MEDOID_IMAGE_ID)
    card.medoid_image_id = None if medoid is None or pd.isna(medoid) else str(medoid)
    for attribute, column in (("first_posted_at", C.FIRST_POSTED_AT), ("last_posted_at", C.LAST_POSTED_AT)):
        value = row.get(column)
        setattr(
            card,
            attribute,
            None if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d"),
        )


def _as_list(value: object) -> list[str]:
    if value is None or isinstance(value, float):
        return []
    return [str(v) for v in value]


def _medoid_file(thumbs: ThumbnailCache, image_id: str, source: str, out: Path, cluster: int) -> Path | None:
    made = thumbs.ensure(image_id, source)
    if made is None:
        return None
    target = out / "medoids" / f"cluster_{cluster}.jpg"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(made, target)
    return target


def zero_shot_summary(terms: pd.DataFrame, n: int = 3) -> pd.DataFrame | None:
    """Per cluster the `n` most frequent zero-shot top labels with their share, for the page."""
    labels = terms[terms[T.KIND] == T.KIND_ZERO_SHOT] if len(terms) else terms
    if labels.empty:
        return None
    rows = []
    for cluster, group in labels.groupby(C.CLUSTER, sort=False):
        best = group[group[T.COUNT] > 0].sort_values([T.SHARE, T.TERM], ascending=[False, True]).head(n)
        row = {C.CLUSTER: "noise" if cluster == NOISE else str(cluster)}
        for i in range(n):
            row[f"label {i + 1}"] = (
                f"{best[T.TERM].iloc[i]} ({best[T.SHARE].iloc[i]:.0%})" if i < len(best) else None
            )
        rows.append(row)
    return pd.DataFrame(rows)


def percent(value: float | None) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.0%}"
