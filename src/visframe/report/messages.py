"""What the text says: the report's section on message topics and slogans.

The messages stage groups the text-bearing images by what their text says (message topics) and finds
the texts that travel across designs and accounts (slogans); describe names each topic like a
cluster. This module reads those tables through `RunDir` (message_topics.parquet, messages.parquet,
slogans.parquet) and each post's `message_topic` (the assignments' column; without it, the topic of
the post's image in messages.parquet), and writes under report/:

- `cluster_by_message_topic.{parquet,csv}`: visual clusters (rows, largest first, noise last) ×
  message topics (columns, largest first, then "text in no topic" and "no text"), posts. A giant
  cluster of text posters is opened by what its posters say.
- `cluster_by_message_topic.png`: the same as a heatmap, each row as shares of the cluster's posts
  whose image carries text (the posts without text would wash out every row of a run of photos).
- `slogans.{parquet,csv}`: every slogan with its topic's name (the page lists the top N by accounts).
- `medoids/topic_<k>.jpg`: each topic's most typical poster.

Without a topic besides -1 nothing is written: when the messages stage skipped, its reason reaches
the report's notes from the pipeline; when it found text but no topic, the report says so in a note.
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from visframe import contracts as C
from visframe.report.plots import DPI, _height, _save, _tick_font, plt
from visframe.report.posts import NOISE, cluster_label, cluster_order
from visframe.report.thumbnails import ThumbnailCache
from visframe.run_dir import RunDir

NO_TOPIC = "text in no topic"
NO_TEXT = "no text"
CROSSTAB = "cluster_by_message_topic"
SLOGANS = "slogans"
SAYS_CHARS = 280  # the medoid's text shown on a topic card
SLOGAN_COLUMNS = {  # slogans.parquet column -> the page's header
    C.SLOGAN: "slogan",
    C.N_ACCOUNTS: "accounts",
    C.N_DESIGNS: "designs",
    C.N_UNIQUE_IMAGES: "images",
    C.N_POSTS: "posts",
    C.FIRST_ACCOUNT: "first account",
    C.FIRST_POSTED_AT: "first posted",
    C.LAST_POSTED_AT: "last posted",
    "topic_name": "message topic",
}


@dataclass
class TopicCard:
    topic: int
    name: str
    n_posts: int
    n_unique_images: int
    medoid: Path | None = None
    medoid_image_id: str | None = None
    says: str = ""  # the medoid's message text, shortened
    top_terms: list[str] = field(default_factory=list)
    top_hashtags: list[str] = field(default_factory=list)
    top_accounts: list[str] = field(default_factory=list)
    first_posted_at: str | None = None
    last_posted_at: str | None = None
    clusters: list[str] = field(default_factory=list)  # the visual clusters it spans: '3 · name (12 posts)'


@dataclass
class MessageSection:
    """What the page shows under "What the text says" (the files are written by `message_section`)."""

    cards: list[TopicCard]  # largest topic first, "text in no topic" last
    crosstab: pd.DataFrame  # the written table: cluster, name, posts, one column per topic
    heatmap: Path | None
    slogans: pd.DataFrame  # the top slogans, the page's columns
    n_slogans: int
    facts: str


def message_section(
    run: RunDir,
    posts: pd.DataFrame,
    cluster_names: dict[int, str],
    thumbs: ThumbnailCache,
    out: Path,
    write_table: Callable[[pd.DataFrame, str], None],
    top_n: int,
    top_slogans: int,
    max_heatmap_clusters: int,
) -> tuple[MessageSection | None, list[Path], list[str]]:
    """The section, the files written besides the tables (`write_table` writes those), and notes."""
    messages = run.read_optional(C.MESSAGES, [C.IMAGE_ID, C.MESSAGE_TEXT, C.MESSAGE_TOPIC])
    topics, has_text = post_topics(posts, messages)
    if messages is None and not (topics != NOISE).any():
        return None, [], []  # the messages stage skipped: its reason is already among the report's notes
    if not (topics != NOISE).any():
        return None, [], [_why_none(messages)]
    notes: list[str] = []
    table = run.read_optional(C.MESSAGE_TOPICS)
    if table is None:
        notes.append(
            f"no {C.MESSAGE_TOPICS_FILE} (describe did not run): message topics have no names, "
            "terms or medoids; run the pipeline with describe.enabled=true"
        )
        table = _bare_topic_table(posts, topics)
    names = {int(k): str(n) for k, n in zip(table[C.MESSAGE_TOPIC], table[C.NAME])}
    label = {k: topic_label(k, names) for k in set(topics.tolist()) | set(names)}
    cells = np.where(
        topics != NOISE, pd.Series(topics).map(label).to_numpy(), np.where(has_text, NO_TOPIC, NO_TEXT)
    )
    counts = pd.crosstab(posts[C.CLUSTER].to_numpy(), cells)
    order = cluster_order(
        pd.DataFrame({C.MESSAGE_TOPIC: topics}), include_noise=False, column=C.MESSAGE_TOPIC
    )
    counts = counts.reindex(
        index=cluster_order(posts), columns=[label[k] for k in order] + [NO_TOPIC, NO_TEXT], fill_value=0
    )
    crosstab = counts.copy()
    crosstab.insert(0, "posts", counts.sum(axis=1))
    crosstab.insert(0, C.NAME, [cluster_label(k, cluster_names) for k in counts.index])
    crosstab = crosstab.rename_axis(C.CLUSTER).reset_index()
    crosstab.columns = [str(c) for c in crosstab.columns]
    write_table(crosstab, CROSSTAB)
    files: list[Path] = []
    heatmap = plot_message_heatmap(counts, cluster_names, out / f"{CROSSTAB}.png", max_heatmap_clusters)
    files.append(heatmap)
    text_of = (
        {} if messages is None else dict(zip(messages[C.IMAGE_ID].astype(str), messages[C.MESSAGE_TEXT]))
    )
    cards = _cards(table, posts, counts, label, cluster_names, text_of, thumbs, out, top_n)
    files += [card.medoid for card in cards if card.medoid is not None]
    slogans = run.read_optional(C.SLOGANS)
    page_slogans, n_slogans = pd.DataFrame(), 0
    if slogans is not None and len(slogans):
        slogans = slogans.assign(topic_name=[_slogan_topic(k, label) for k in slogans[C.MESSAGE_TOPIC]])
        write_table(slogans, SLOGANS)
        page_slogans, n_slogans = _page_slogans(slogans, top_slogans), len(slogans)
    with_text = int(has_text.sum())
    facts = (
        f"{with_text:,} of {len(posts):,} posts carry text "
        f"({int(posts.loc[has_text, C.IMAGE_ID].nunique()):,} "
        f"unique images); {int((topics != NOISE).sum()):,} of them fall in {len(order)} message topic"
        f"{'' if len(order) == 1 else 's'}; {n_slogans:,} slogan{'' if n_slogans == 1 else 's'}"
    )
    return MessageSection(cards, crosstab, heatmap, page_slogans, n_slogans, facts), files, notes


def post_topics(posts: pd.DataFrame, messages: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    """Each post's message topic (NOISE: none) and whether its image carries text (is in messages.parquet)."""
    ids = posts[C.IMAGE_ID].astype(str)
    topic_of = (
        {}
        if messages is None
        else dict(zip(messages[C.IMAGE_ID].astype(str), messages[C.MESSAGE_TOPIC].astype(int)))
    )
    if C.MESSAGE_TOPIC in posts:
        topics = posts[C.MESSAGE_TOPIC].fillna(NOISE).astype("int64").to_numpy()
    else:
        topics = ids.map(topic_of).fillna(NOISE).astype("int64").to_numpy()
    has_text = ids.isin(topic_of.keys()).to_numpy() if messages is not None else topics != NOISE
    return topics, has_text | (topics != NOISE)


def topic_label(topic: int, names: dict[int, str]) -> str:
    """'3 · name' (or 'topic 3'); -1 is the text in no topic."""
    if topic == NOISE:
        return NO_TOPIC
    name = names.get(int(topic))
    return f"{topic} · {name}" if name else f"topic {topic}"


def _why_none(messages: pd.DataFrame) -> str:
    return (
        f"no message topics: {len(messages):,} images carry text but none fell in a topic, so the report "
        'has no "What the text says" section; more text (text=ocr) or a smaller '
        "messages.clusterer.min_cluster_size may make some"
    )


def _bare_topic_table(posts: pd.DataFrame, topics: np.ndarray) -> pd.DataFrame:
    """Topic rows from the posts alone (a run without describe's message_topics.parquet)."""
    frame = pd.DataFrame({C.MESSAGE_TOPIC: topics, C.IMAGE_ID: posts[C.IMAGE_ID].to_numpy()})
    grouped = frame.groupby(C.MESSAGE_TOPIC)[C.IMAGE_ID].agg(["size", "nunique"]).reset_index()
    return pd.DataFrame(
        {
            C.MESSAGE_TOPIC: grouped[C.MESSAGE_TOPIC],
            C.NAME: "",
            C.SIZE: grouped["size"],
            C.N_UNIQUE_IMAGES: grouped["nunique"],
        }
    )


def _cards(
    table: pd.DataFrame,
    posts: pd.DataFrame,
    counts: pd.DataFrame,
    label: dict[int, str],
    cluster_names: dict[int, str],
    text_of: dict[str, str],
    thumbs: ThumbnailCache,
    out: Path,
    top_n: int,
) -> list[TopicCard]:
    path_of = posts.drop_duplicates(C.IMAGE_ID).set_index(C.IMAGE_ID)[C.PATH]
    rows = sorted(table.to_dict("records"), key=lambda r: (int(r[C.MESSAGE_TOPIC]) == NOISE, -int(r[C.SIZE])))
    cards = []
    for row in rows:
        topic = int(row[C.MESSAGE_TOPIC])
        name = NO_TOPIC if topic == NOISE else str(row.get(C.NAME) or label.get(topic, f"topic {topic}"))
        card = TopicCard(topic, name, int(row[C.SIZE]), int(row[C.N_UNIQUE_IMAGES]))
        card.top_terms = _as_list(row.get(C.TOP_TERMS))[:top_n]
        card.top_hashtags = _as_list(row.get(C.TOP_HASHTAGS))[:top_n]
        card.top_accounts = [f"@{a}" for a in _as_list(row.get(C.TOP_ACCOUNTS))[:top_n]]
        card.first_posted_at, card.last_posted_at = (
            _day(row.get(C.FIRST_POSTED_AT)),
            _day(row.get(C.LAST_POSTED_AT)),
        )
        column = label.get(topic, NO_TOPIC)
        if column in counts.columns:
            spread = counts[column][counts[column] > 0].sort_values(ascending=False, kind="stable").head(3)
            card.clusters = [f"{_numbered(k, cluster_names)} ({n:,} posts)" for k, n in spread.items()]
        medoid = row.get(C.MEDOID_IMAGE_ID)
        if isinstance(medoid, str) and medoid:
            card.medoid_image_id = medoid
            card.says = textwrap.shorten(
                " / ".join(str(text_of.get(medoid) or "").splitlines()), SAYS_CHARS, placeholder=" …"
            )
            if medoid in path_of.index:
                card.medoid = _medoid_file(thumbs, medoid, path_of[medoid], out, topic)
        cards.append(card)
    return cards


def _medoid_file(thumbs: ThumbnailCache, image_id: str, source: str, out: Path, topic: int) -> Path | None:
    made = thumbs.ensure(image_id, source)
    if made is None:
        return None
    target = out / "medoids" / f"topic_{topic}.jpg"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(made, target)
    return target


def _page_slogans(slogans: pd.DataFrame, top: int) -> pd.DataFrame:
    """The top slogans (slogans.parquet is ordered by accounts, then designs, then posts), as the page
    shows them."""
    shown = slogans.head(top).copy()
    for column in (C.FIRST_POSTED_AT, C.LAST_POSTED_AT):
        shown[column] = [_day(v) for v in shown[column]]
    shown = shown[list(SLOGAN_COLUMNS)].rename(columns=SLOGAN_COLUMNS)
    return shown.astype(object).where(shown.notna(), None)


def _slogan_topic(topic: object, label: dict[int, str]) -> str:
    topic = NOISE if topic is None or pd.isna(topic) else int(topic)
    return label.get(topic, topic_label(topic, {}))


def _numbered(cluster: int, names: dict[int, str]) -> str:
    """'3 · name' ('noise' for noise): a cluster as the report's gallery titles it."""
    name = names.get(int(cluster))
    return f"{cluster} · {name}" if name and cluster != NOISE else cluster_label(cluster, names)


def _as_list(value: object) -> list[str]:
    if value is None or isinstance(value, float | str):
        return []
    return [str(v) for v in value]


def _day(value: object) -> str | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


def plot_message_heatmap(
    counts: pd.DataFrame, cluster_names: dict[int, str], path: Path, max_clusters: int
) -> Path:
    """Rows: visual clusters (largest first, noise last; the largest `max_clusters`); columns: message
    topics and the text in no topic; a cell's colour is its share of the cluster's posts with text, its
    number the posts."""
    text_columns = [c for c in counts.columns if c != NO_TEXT]
    rows = list(counts.index)
    if len(rows) > max_clusters:
        rows = [k for k in rows if k != NOISE][:max_clusters] + ([NOISE] if NOISE in rows else [])
    values = counts.loc[rows, text_columns].to_numpy(dtype=float)
    with_text = values.sum(axis=1)
    shares = np.divide(values, with_text[:, None], out=np.zeros_like(values), where=with_text[:, None] > 0)
    width = max(7.0, 0.7 * len(text_columns) + 4.5)
    fig, ax = plt.subplots(figsize=(min(width, 40.0), _height(len(rows)) + 1.6), dpi=DPI)
    image = ax.imshow(shares, aspect="auto", cmap="Purples", vmin=0, vmax=1)
    ax.set_xticks(
        range(len(text_columns)),
        ["\n".join(textwrap.wrap(c, 22)[:3]) for c in text_columns],
        fontsize=7,
        rotation=40,
        ha="right",
        rotation_mode="anchor",
    )
    totals = counts.loc[rows].sum(axis=1).to_numpy()
    ylabels = [
        f"{textwrap.shorten(_numbered(k, cluster_names), 44, placeholder='…')} ({int(t):,}/{int(n):,})"
        for k, t, n in zip(rows, with_text, totals)
    ]
    ax.set_yticks(range(len(rows)), ylabels, fontsize=_tick_font(len(rows)))
    if len(rows) <= 40 and len(text_columns) <= 30:
        for (i, j), n in np.ndenumerate(values):
            if n > 0:
                ax.text(
                    j,
                    i,
                    f"{int(n):,}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if shares[i, j] > 0.6 else "black",
                )
    ax.set_xlabel("message topic (what the text says)")
    ax.set_ylabel("visual cluster (posts with text / posts)")
    ax.set_title("visual clusters × message topics: share of each cluster's posts with text")
    fig.colorbar(image, ax=ax, fraction=0.03, pad=0.02)
    return _save(fig, path)


__all__ = [
    "NO_TEXT",
    "NO_TOPIC",
    "MessageSection",
    "TopicCard",
    "message_section",
    "post_topics",
    "topic_label",
]
