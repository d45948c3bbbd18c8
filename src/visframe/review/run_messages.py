"""A run's message topics and slogans as the review app sees them: topic pages and the filters by
message topic and by slogan.

The messages stage groups the images that carry text by what the text says (messages.parquet: each
such image's message text and topic, -1 = in no topic) and finds the texts that travel across designs
and accounts (slogans.parquet, with their images); describe names each topic
(message_topics.parquet). All three are read through `RunDir` on first use, so an app used only to
code clusters never reads them; a run without messages.parquet has no topic pages and no filters
(`available` is False).

The pages list the images to code (`ReviewRun.images`: every clustered image, or the report's
sample) that fall in a topic or carry a slogan, so a coder codes by message as by cluster; each
topic's and slogan's own counts (posts, images) are over the whole run.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from visframe import contracts as C
from visframe.review.run_data import ReviewRun, _clean_time, _missing

NO_TOPIC = "text in no topic"
NO_TEXT = -2  # an image to code whose image carries no text (in no row of messages.parquet)


@dataclass
class TopicSummary:
    """One message topic (message_topics.parquet), counted over the whole run."""

    topic: int
    name: str
    n_posts: int | None  # None when the run has no message_topics.parquet
    n_images: int
    top_terms: list[str] = field(default_factory=list)
    top_hashtags: list[str] = field(default_factory=list)
    top_accounts: list[str] = field(default_factory=list)
    medoid_image_id: str | None = None
    first_posted_at: str = ""
    last_posted_at: str = ""

    @property
    def number(self) -> str:
        return NO_TOPIC if self.topic == C.NOISE else f"topic {self.topic}"

    @property
    def title(self) -> str:
        """How pages name the topic: its automatic name, else 'topic N' (or 'text in no topic')."""
        if self.topic == C.NOISE:
            return NO_TOPIC
        return self.name or self.number


@dataclass
class SloganSummary:
    """One slogan (a row of slogans.parquet, most accounts first: its row number is its address)."""

    number: int
    text: str
    n_accounts: int
    n_designs: int
    n_images: int
    n_posts: int
    first_account: str
    first_posted_at: str
    last_posted_at: str
    topic: int
    image_ids: list[str]


@dataclass
class _Loaded:
    topics: list[TopicSummary]
    slogans: list[SloganSummary]
    text_of: dict[str, str]  # every image with text: its message text …
    topic_of: dict[str, int]  # … and its topic
    image_topic: np.ndarray  # per image to code (ReviewRun.images order): topic, NOISE, or NO_TEXT
    image_probability: np.ndarray  # its membership strength in the topic (0 without)


class RunMessages:
    """The message tables of one run, read on first need under a lock (one per app, on ReviewContext)."""

    def __init__(self, run: ReviewRun):
        self.run = run
        self.available = run.files.has(C.MESSAGES)
        # What the pages say when it is not: the file and the stage that writes it.
        self.absent_because = (
            f"{C.MESSAGES_FILE} is absent; it is written by the stage "
            f"{run.files.written_by(C.MESSAGES)} (messages=none, or a run made before it)"
        )
        self._lock = threading.Lock()
        self._loaded: _Loaded | None = None

    def _data(self) -> _Loaded:
        with self._lock:
            if self._loaded is None:
                self._loaded = self._load()
            return self._loaded

    def _load(self) -> _Loaded:
        files = self.run.files
        messages = files.read_optional(
            C.MESSAGES, [C.IMAGE_ID, C.MESSAGE_TEXT, C.MESSAGE_TOPIC, C.MESSAGE_PROBABILITY]
        )
        if messages is None:
            messages = pd.DataFrame(
                {C.IMAGE_ID: [], C.MESSAGE_TEXT: [], C.MESSAGE_TOPIC: [], C.MESSAGE_PROBABILITY: []}
            )
        ids = pd.Index(messages[C.IMAGE_ID].astype(str))
        rows = ids.get_indexer(self.run.images.index)
        topic = messages[C.MESSAGE_TOPIC].fillna(C.NOISE).astype("int64").to_numpy()
        probability = messages[C.MESSAGE_PROBABILITY].fillna(0.0).astype("float64").to_numpy()
        found = rows >= 0
        image_topic = np.where(found, topic[np.maximum(rows, 0)] if len(topic) else C.NOISE, NO_TEXT)
        image_probability = np.where(
            found, probability[np.maximum(rows, 0)] if len(probability) else 0.0, 0.0
        )
        texts = messages[C.MESSAGE_TEXT].astype(object).where(messages[C.MESSAGE_TEXT].notna(), "")
        return _Loaded(
            topics=self._topics(messages),
            slogans=self._slogans(),
            text_of=dict(zip(ids, texts)),
            topic_of=dict(zip(ids, topic.tolist())),
            image_topic=image_topic.astype(np.int64),
            image_probability=image_probability,
        )

    def _topics(self, messages: pd.DataFrame) -> list[TopicSummary]:
        table = self.run.files.read_optional(C.MESSAGE_TOPICS)
        if table is None:  # no describe: the topics the messages name, without names or terms
            counts = messages[C.MESSAGE_TOPIC].value_counts()
            found = [TopicSummary(int(k), "", None, int(n)) for k, n in counts.items()]
        else:
            found = [
                TopicSummary(
                    topic=int(row[C.MESSAGE_TOPIC]),
                    name=str(row.get(C.NAME) or ""),
                    n_posts=int(row[C.SIZE]),
                    n_images=int(row[C.N_UNIQUE_IMAGES]),
                    top_terms=_texts(row.get(C.TOP_TERMS)),
                    top_hashtags=_texts(row.get(C.TOP_HASHTAGS)),
                    top_accounts=_texts(row.get(C.TOP_ACCOUNTS)),
                    medoid_image_id=None
                    if _missing(row.get(C.MEDOID_IMAGE_ID))
                    else str(row[C.MEDOID_IMAGE_ID]),
                    first_posted_at=_clean_time(row.get(C.FIRST_POSTED_AT)),
                    last_posted_at=_clean_time(row.get(C.LAST_POSTED_AT)),
                )
                for row in table.to_dict("records")
            ]
        # Largest first, the text in no topic last (as clusters put noise last).
        return sorted(found, key=lambda t: (t.topic == C.NOISE, -(t.n_posts or t.n_images), t.topic))

    def _slogans(self) -> list[SloganSummary]:
        table = self.run.files.read_optional(C.SLOGANS)
        if table is None:
            return []
        return [
            SloganSummary(
                number=number,
                text=str(row[C.SLOGAN]),
                n_accounts=int(row[C.N_ACCOUNTS]),
                n_designs=int(row[C.N_DESIGNS]),
                n_images=int(row[C.N_UNIQUE_IMAGES]),
                n_posts=int(row[C.N_POSTS]),
                first_account="" if _missing(row.get(C.FIRST_ACCOUNT)) else str(row[C.FIRST_ACCOUNT]),
                first_posted_at=_clean_time(row.get(C.FIRST_POSTED_AT)),
                last_posted_at=_clean_time(row.get(C.LAST_POSTED_AT)),
                topic=C.NOISE if _missing(row.get(C.MESSAGE_TOPIC)) else int(row[C.MESSAGE_TOPIC]),
                image_ids=_texts(row.get(C.IMAGE_IDS)),
            )
            for number, row in enumerate(table.to_dict("records"))
        ]

    # -- what the pages ask --------------------------------------------------------------------------
    @property
    def topics(self) -> list[TopicSummary]:
        return self._data().topics if self.available else []

    def topic(self, number: int) -> TopicSummary | None:
        return next((t for t in self.topics if t.topic == number), None)

    def title(self, number: int) -> str:
        found = self.topic(number)
        return found.title if found is not None else (NO_TOPIC if number == C.NOISE else f"topic {number}")

    @property
    def slogans(self) -> list[SloganSummary]:
        return self._data().slogans if self.available else []

    def slogan(self, number: int) -> SloganSummary | None:
        found = self.slogans
        return found[number] if 0 <= number < len(found) else None

    def members(self, topic: int, within: pd.Index | None = None) -> pd.Index:
        """The images to code in `topic` (of `within`, if given), the topic's most typical first."""
        data = self._data()
        images = self.run.images.index
        keep = data.image_topic == topic
        if within is not None:
            keep &= images.isin(within)
        positions = np.flatnonzero(keep)
        order = np.argsort(-data.image_probability[positions], kind="stable")
        return images[positions[order]]

    def within(self, image_ids: pd.Index, topic: int) -> pd.Index:
        """`image_ids` (images to code, their order kept) whose image falls in `topic`."""
        data = self._data()
        position = self.run.images.index.get_indexer(image_ids)
        return image_ids[data.image_topic[position] == topic]

    def topic_counts(self, image_ids: pd.Index) -> list[tuple[int, int]]:
        """(topic, images) among `image_ids` (images to code), topics largest first, no topic last."""
        data = self._data()
        topics = data.image_topic[self.run.images.index.get_indexer(image_ids)]
        found, counts = np.unique(topics[topics != NO_TEXT], return_counts=True)
        pairs = [(int(t), int(n)) for t, n in zip(found, counts)]
        return sorted(pairs, key=lambda p: (p[0] == C.NOISE, -p[1], p[0]))

    def message_of(self, image_id: str) -> dict | None:
        """What a page shows of an image's message: its topic (number, title) and its message text."""
        data = self._data()
        text = data.text_of.get(image_id)
        if text is None:
            return None
        topic = data.topic_of.get(image_id, C.NOISE)
        return {"topic": topic, "title": self.title(topic), "text": text}


def _texts(value) -> list[str]:
    if value is None or isinstance(value, float | str):
        return []
    return [str(v) for v in value]


__all__ = ["NO_TOPIC", "RunMessages", "SloganSummary", "TopicSummary"]
