"""CSV that a spreadsheet opens as data, never as formulas.

A caption such as `=HYPERLINK("http://evil", "click")` or `@SUM(A1)` becomes a live formula when a
co-author opens the CSV in Excel or LibreOffice (CSV injection, OWASP). Every text cell that starts
with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading apostrophe, which spreadsheets
show as text. Numbers (a noise cluster of -1, a probability) are left as numbers.
"""

from __future__ import annotations

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def list_to_text(value: object) -> object:
    """A list cell (hashtags) as one space-separated text cell."""
    if isinstance(value, (list, tuple)) or hasattr(value, "tolist") and not isinstance(value, str):
        items = value.tolist() if hasattr(value, "tolist") else value
        return " ".join(str(v) for v in items if v is not None)
    return value


def safe_csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV of `frame` with list cells joined and formula-like text cells neutralised."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_datetime64_any_dtype(series.dtype):
            continue
        out[column] = series.map(lambda v: neutralise(list_to_text(v)), na_action="ignore")
    return out.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%SZ").encode("utf-8")
