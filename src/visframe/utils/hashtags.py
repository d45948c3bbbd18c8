"""Hashtags, normalised once: a key to count and match by, and a form to show.

Instagram treats hashtags case-insensitively, so '#NiUnaMenos', '#niunamenos' and '#ＮｉＵｎａＭｅｎｏｓ'
are one tag. Ingest stores, per post, `hashtags` (the display form: the first spelling seen in
that post, without '#', NFC) and `hashtag_keys` (NFKC + casefold of the same, aligned). Every reader
(report, review app, map, describe) counts by key and shows `format_hashtag(display)`.
"""

from __future__ import annotations

import unicodedata
from typing import Iterable


def hashtag_key(tag: str) -> str:
    """The key two spellings of one tag share: no '#', NFKC-normalised, casefolded."""
    return unicodedata.normalize("NFKC", str(tag).strip().lstrip("#")).casefold()


def display_hashtag(tag: str) -> str:
    """The tag as written, without '#', NFC-normalised."""
    return unicodedata.normalize("NFC", str(tag).strip().lstrip("#"))


def normalise_hashtags(tags: Iterable[str] | None) -> tuple[list[str], list[str]]:
    """(display forms, keys) for one post: de-duplicated by key, the first spelling kept, order kept."""
    displays: list[str] = []
    keys: list[str] = []
    for tag in tags or ():
        if tag is None:
            continue
        key = hashtag_key(tag)
        if key and key not in keys:
            keys.append(key)
            displays.append(display_hashtag(tag))
    return displays, keys


def format_hashtag(tag: str) -> str:
    """How every page shows a tag: '#' + the display form."""
    return "#" + display_hashtag(tag)
