"""Post metadata values: hashtags, counts, dates and text parsed from what scrapers write.

Each parser takes one raw cell and returns the typed value or None; `parse_value` turns a bad
value into None plus a warning naming the row and column, so one bad cell never loses a post.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pandas as pd

from visframe import contracts as C
from visframe.utils.hashtags import normalise_hashtags


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def parse_hashtags(value: Any) -> list[str] | None:
    """A list of tags without '#', from a list or from a string like "#8M #NiUnaMenos" or "8M,NiUnaMenos"."""
    if _is_missing(value):
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
            if isinstance(parsed, list):
                return parse_hashtags(parsed)
            text = text.strip("[]")
        items = re.split(r"[\s,;|#]+", text.replace("'", " ").replace('"', " "))
    elif isinstance(value, (list, tuple)):
        items = []
        for item in value:
            if isinstance(item, (dict, list, tuple)):
                raise TypeError(f"a hashtag list item is not text: {item!r}")
            items.extend(re.split(r"[\s#]+", str(item)))
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        items = [str(int(value)) if float(value).is_integer() else str(value)]
    else:
        raise TypeError(f"hashtags must be a list or a string, got {type(value).__name__}")
    # One tag per key (case-insensitive, as Instagram counts them): the first spelling is shown.
    displays, _ = normalise_hashtags(item for item in items if item.strip())
    return displays


_THOUSANDS = re.compile(r"^\d{1,3}([.,\u00a0 ]\d{3})+$")
_SUFFIXED = re.compile(r"^(\d+(?:[.,]\d+)?)\s*([kKmM])$")


def parse_count(value: Any) -> int | None:
    """A non-negative integer from 12, 12.0, "1,234", "1.234", "1 234", "1.2k", "3M"."""
    if _is_missing(value):
        return None
    if isinstance(value, bool):
        raise TypeError("a true/false value is not a count")
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = str(value).strip().replace("_", "")
        suffixed = _SUFFIXED.match(text)
        if _THOUSANDS.match(text):
            number = float(re.sub(r"[.,\u00a0 ]", "", text))
        elif suffixed:
            number = float(suffixed.group(1).replace(",", ".")) * (
                1_000 if suffixed.group(2) in "kK" else 1_000_000
            )
        else:
            try:
                number = float(text)
            except ValueError:
                raise ValueError("not a number") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError("not a non-negative number")
    if not number.is_integer():
        raise ValueError("not a whole number")
    return int(number)


def parse_timestamp(value: Any) -> pd.Timestamp | None:
    """A UTC timestamp from ISO 8601 text (no offset = UTC) or Unix seconds / milliseconds."""
    if _is_missing(value):
        return None
    if isinstance(value, bool):
        raise TypeError("a true/false value is not a date")
    number: float | None = None
    if (
        isinstance(value, (int, float))
        or isinstance(value, str)
        and re.fullmatch(r"\s*\d{9,}(\.\d+)?\s*", value)
    ):
        number = float(value)
    if number is not None:
        unit = "ms" if number > 1e11 else "s"  # 1e11 s is the year 5138; ms timestamps are ~1.6e12
        return pd.Timestamp(number, unit=unit, tz="UTC")
    try:
        stamp = pd.Timestamp(str(value).strip())
    except (ValueError, OverflowError, TypeError) as error:
        raise ValueError(str(error).split("\n")[0] or "not a date") from None
    if pd.isna(stamp):
        raise ValueError("not a date")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def parse_text(value: Any) -> str | None:
    if _is_missing(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


_PARSERS = {
    "hashtags": parse_hashtags,
    "likes": parse_count,
    C.CAROUSEL_INDEX: parse_count,
    C.POSTED_AT: parse_timestamp,
}
_WHAT = {
    "hashtags": "hashtags",
    "likes": "a count",
    C.CAROUSEL_INDEX: "a carousel position",
    C.POSTED_AT: "a date",
}


def parse_value(column: str, value: Any, where: str, source_column: str, warnings: list[str]) -> Any:
    """Parse one standard column's value; a bad value becomes None with a warning."""
    parser = _PARSERS.get(column, parse_text)
    try:
        return parser(value)
    except (ValueError, TypeError) as error:
        shown = value if not isinstance(value, str) or len(value) < 60 else value[:57] + "..."
        warnings.append(
            f"{where}, column '{source_column}': cannot read {shown!r} as {_WHAT.get(column, 'text')} "
            f"({error}); {column} left empty"
        )
        return None
