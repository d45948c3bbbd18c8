"""Exports: codes as CSV and Parquet that read back to the store's content.

(Logging to MLflow is tested with the MLflow run-id download in test_cli.py: one MLflow store per test
is slow.)
"""

from __future__ import annotations

import io

import pandas as pd
import pytest
from review_fixtures import Browser

from visframe.review.exports import CODES_COLUMNS, log_codes_to_mlflow

TEXT_COLUMNS = ["image_id", "run_id", "coder", "code", "code_description", "memo", "name", "human_name"]


def read_codes_csv(buffer) -> pd.DataFrame:
    """Read an exported CSV back with the Parquet file's types (as a pandas user would)."""
    frame = pd.read_csv(
        buffer,
        dtype={**{c: "string" for c in TEXT_COLUMNS}, "cluster": "Int64", "human_cluster": "Int64"},
        keep_default_na=False,
        na_values={c: [""] for c in [*TEXT_COLUMNS[3:5], *TEXT_COLUMNS[6:]]},
    )
    for column in ("coded_at", "saved_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    frame["probability"] = frame["probability"].astype("float64")
    return frame


def _code_some(store, run):
    protest, text = store.add_code("protest", "a march"), store.add_code('text, "quoted"', "commas; quotes")
    images = list(run.images.index)
    store.save_coding(images[0], "ana", [protest.id, text.id], "memo with, comma\nand a newline")
    store.save_coding(images[0], "bea", [protest.id], "")
    store.save_coding(images[1], "ana", [], "nothing here")  # saved with no code
    store.save_coding(images[2], "bea", [text.id], "ñandú <b>")
    return images


def test_csv_and_parquet_round_trip(app, store, review_run):
    images = _code_some(store, review_run)
    browser = Browser(app)
    parquet = pd.read_parquet(io.BytesIO(browser.get("/export/codes.parquet").content))
    csv = read_codes_csv(io.BytesIO(browser.get("/export/codes.csv").content))
    assert list(parquet.columns) == CODES_COLUMNS
    pd.testing.assert_frame_equal(csv, parquet, check_dtype=False, check_exact=False, atol=1e-6)
    assert len(parquet) == 5  # 4 applied codes + 1 review with no code
    applied = parquet.dropna(subset=["code"])
    codings = store.codings_frame()
    assert set(zip(applied.image_id, applied.coder, applied.code)) == set(
        zip(codings.image_id, codings.coder, codings.code)
    )
    assert (parquet.run_id == review_run.run_id).all()
    assert str(parquet.coded_at.dt.tz) == "UTC" and parquet.coded_at.notna().all()
    empty = parquet[parquet.code.isna()].iloc[0]
    assert (empty.image_id, empty.coder, empty.memo) == (images[1], "ana", "nothing here")
    first = parquet[(parquet.image_id == images[0]) & (parquet.coder == "ana")]
    assert set(first.memo) == {"memo with, comma\nand a newline"}
    assert set(first.cluster) == {int(review_run.images.at[images[0], "cluster"])}
    assert parquet.loc[parquet.code == "protest", "code_description"].eq("a march").all()


def test_no_mlflow_run_id_is_a_clear_error(store, review_run):
    with pytest.raises(ValueError, match="mlflow_run_id.txt"):
        log_codes_to_mlflow(review_run, store)
