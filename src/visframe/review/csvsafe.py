"""CSV cells that a spreadsheet will not run as a formula (OWASP CSV injection guidance).

A cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is read by Excel, LibreOffice
and Google Sheets as a formula (`=HYPERLINK(...)`, `@SUM(...)`): a caption or memo could run one on
the coder's machine. `neutralise` prefixes such a cell with a single quote, which the spreadsheet
shows as text; pandas reads the quote back as part of the value. Only text columns are touched:
numbers (a negative probability, say) stay numbers.
(TODO: another engineer may add visframe/utils/csv_safe.py; this module can then use it.)
"""

from __future__ import annotations

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """`value` with a leading ' when it is text that a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` with every text cell neutralised."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_string_dtype(out[column].dtype) or out[column].dtype == object:
            out[column] = out[column].map(neutralise, na_action="ignore")
    return out
