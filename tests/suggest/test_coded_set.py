"""The coded set from a codes export: who saved what, positives, negatives, descriptions."""

from __future__ import annotations

import pandas as pd
import pytest

from visframe import contracts as C
from visframe.errors import InputError
from visframe.suggest.coded import coded_set, read_codebook, read_codes


def export(rows):
    return pd.DataFrame(rows, columns=[C.IMAGE_ID, C.CODER, C.CODE, C.CODE_DESCRIPTION])


def test_saved_without_a_code_is_a_negative_and_unsaved_images_are_unknown():
    coded = coded_set(
        export(
            [
                ("a", "ana", "march", "calls to march"),
                ("b", "ana", "", None),  # looked, applied nothing
                ("c", "ana", "state", "the state accused"),
            ]
        )
    )
    assert coded.image_ids == ("a", "b", "c")
    assert coded.label("march").tolist() == [True, False, False]
    assert coded.label("state").tolist() == [False, False, True]
    assert coded.descriptions == {"march": "calls to march", "state": "the state accused"}
    assert "d" not in coded.image_ids


def test_two_coders_disagreeing_count_as_a_positive_when_half_applied_it():
    coded = coded_set(
        export(
            [
                ("a", "ana", "march", ""),
                ("a", "ben", "", ""),  # one of two
                ("b", "ana", "march", ""),
                ("b", "ben", "", ""),
                ("b", "eva", "", ""),  # one of three
            ]
        )
    )
    assert coded.label("march").tolist() == [True, False]


def test_a_codebook_adds_codes_nobody_applied_yet(tmp_path):
    book = tmp_path / "codebook.csv"
    pd.DataFrame({C.CODE: ["march", "solidarity"], C.CODE_DESCRIPTION: ["", "support between women"]}).to_csv(
        book, index=False
    )
    coded = coded_set(export([("a", "ana", "march", "calls to march")]), read_codebook(book))
    assert coded.codes == ["march", "solidarity"]
    assert coded.descriptions["march"] == "calls to march"  # the export's, kept where the codebook has none
    assert coded.label("solidarity").tolist() == [False] and coded.positives("solidarity") == 0


def test_hex_ids_stay_text_and_a_wrong_file_is_named(tmp_path):
    path = tmp_path / "codes.csv"
    pd.DataFrame({C.IMAGE_ID: ["0123456789012345"], C.CODER: ["ana"], C.CODE: ["march"]}).to_csv(
        path, index=False
    )
    assert read_codes(path)[C.IMAGE_ID].tolist() == ["0123456789012345"]
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"x": [1]}).to_csv(bad, index=False)
    with pytest.raises(InputError, match="bad.csv lacks column"):
        read_codes(bad)
