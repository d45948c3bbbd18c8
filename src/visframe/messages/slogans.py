"""Slogans: one text on different designs, posted by different accounts — how a message travels.

A slogan is a message unit (a sentence of an image's text, see texts.py) of at least
`min_words` words that appears, after normalisation (case, accents and punctuation ignored; digits
kept, so "8 de marzo" and "25 de noviembre" stay apart), on at least `min_designs` different designs:
images of different reshare groups, so a poster reshared byte for byte by a hundred accounts is
one design, not a slogan. For each slogan: its most common written form, the designs, images and
posts that carry it, the accounts that posted it, the first account to post it and the first and
last dates, and the message topic most of its images fall in.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence

import pandas as pd

from visframe import contracts as C

_NON_WORD = re.compile(r"[\W_]+")


def slogan_key(unit: str) -> str:
    folded = unicodedata.normalize("NFKD", unit.casefold())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return " ".join(_NON_WORD.sub(" ", folded).split())


def find_slogans(
    units: Mapping[str, Sequence[str]],
    posts: pd.DataFrame,
    topics: Mapping[str, int] | None = None,
    min_words: int = 3,
    min_designs: int = 2,
) -> pd.DataFrame:
    """contracts.SLOGANS for the images' message `units` (image id → units); `posts` has one row per
    post with image_id and, when known, reshare_group, account and posted_at."""
    rows = [(image_id, slogan_key(unit), unit) for image_id, found in units.items() for unit in found]
    rows = [r for r in rows if len(r[1].split()) >= int(min_words)]
    if not rows:
        return _empty()
    occurrences = pd.DataFrame(rows, columns=[C.IMAGE_ID, "key", C.SLOGAN]).drop_duplicates(
        [C.IMAGE_ID, "key"]
    )
    columns = [c for c in (C.IMAGE_ID, C.RESHARE_GROUP, C.ACCOUNT, C.POSTED_AT) if c in posts.columns]
    joined = occurrences.merge(posts[columns], on=C.IMAGE_ID, how="inner")
    if C.RESHARE_GROUP not in joined:
        joined[C.RESHARE_GROUP] = joined[C.IMAGE_ID]
    joined[C.RESHARE_GROUP] = joined[C.RESHARE_GROUP].fillna(joined[C.IMAGE_ID])
    designs = joined.groupby("key")[C.RESHARE_GROUP].nunique()
    keep = designs[designs >= int(min_designs)].index
    if not len(keep):
        return _empty()
    return _slogan_rows(joined[joined["key"].isin(keep)], topics or {})


def _slogan_rows(joined: pd.DataFrame, topics: Mapping[str, int]) -> pd.DataFrame:
    found = []
    for _, group in joined.groupby("key", sort=False):
        image_ids = list(dict.fromkeys(group[C.IMAGE_ID].astype(str)))
        dated = (
            group.dropna(subset=[C.POSTED_AT]).sort_values(C.POSTED_AT)
            if C.POSTED_AT in group
            else group.iloc[:0]
        )
        first = dated.iloc[0] if len(dated) else None
        image_topics = pd.Series([topics.get(i, C.NOISE) for i in image_ids])
        clustered = image_topics[image_topics != C.NOISE]
        found.append(
            {
                C.SLOGAN: group[C.SLOGAN].mode().iloc[0],
                C.N_DESIGNS: int(group[C.RESHARE_GROUP].nunique()),
                C.N_UNIQUE_IMAGES: len(image_ids),
                C.N_POSTS: len(group),
                C.N_ACCOUNTS: int(group[C.ACCOUNT].nunique()) if C.ACCOUNT in group else 0,
                C.FIRST_ACCOUNT: None if first is None or C.ACCOUNT not in group else first[C.ACCOUNT],
                C.FIRST_POSTED_AT: None if first is None else first[C.POSTED_AT],
                C.LAST_POSTED_AT: None if first is None else dated.iloc[-1][C.POSTED_AT],
                C.MESSAGE_TOPIC: int(clustered.mode().iloc[0]) if len(clustered) else C.NOISE,
                C.IMAGE_IDS: image_ids,
            }
        )
    frame = pd.DataFrame(found).sort_values(
        [C.N_ACCOUNTS, C.N_DESIGNS, C.N_POSTS], ascending=False, kind="stable"
    )
    return _typed(frame.reset_index(drop=True))


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.astype(
        {
            C.SLOGAN: "string",
            C.N_DESIGNS: "int64",
            C.N_UNIQUE_IMAGES: "int64",
            C.N_POSTS: "int64",
            C.N_ACCOUNTS: "int64",
            C.FIRST_ACCOUNT: "string",
            C.MESSAGE_TOPIC: "int64",
        }
    )
    for column in (C.FIRST_POSTED_AT, C.LAST_POSTED_AT):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame[C.SLOGANS.names]


def _empty() -> pd.DataFrame:
    return _typed(pd.DataFrame({name: pd.Series(dtype=object) for name in C.SLOGANS.names}))


__all__ = ["find_slogans", "slogan_key"]
