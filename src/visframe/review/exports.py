"""The codes as a table (CSV for people, Parquet for pandas/DuckDB), and logged back to MLflow.

One row per applied code; an image a coder saved with no code is one row with an empty `code`, so
"looked and found nothing" survives the export. Columns:
run_id, image_id, coder, code, code_description, memo, coded_at (UTC), saved_at (UTC), cluster,
probability.
"""

from __future__ import annotations

import io
import logging
import os
import tempfile
from pathlib import Path

import pandas as pd

from visframe.review.run_data import ReviewRun
from visframe.review.store import ReviewStore

log = logging.getLogger(__name__)

CODES_COLUMNS = [
    "run_id", "image_id", "coder", "code", "code_description", "memo", "coded_at", "saved_at",
    "cluster", "probability",
]
MLFLOW_ARTIFACT_DIR = "review"


def codes_frame(run: ReviewRun, store: ReviewStore) -> pd.DataFrame:
    reviews = store.reviews_frame()
    codings = store.codings_frame()
    descriptions = {c.name: c.description for c in store.codebook()}
    merged = reviews.merge(
        codings[["image_id", "coder", "code", "coded_at"]], on=["image_id", "coder"], how="left"
    )
    merged = merged.rename(columns={"updated_at": "saved_at"})
    # A review without codes: its "coded_at" is when it was saved.
    merged["coded_at"] = merged["coded_at"].where(merged["coded_at"].notna(), merged["saved_at"])
    merged["code_description"] = merged["code"].map(descriptions)
    merged["cluster"] = merged["image_id"].map(run.images["cluster"]).astype("Int64")
    merged["probability"] = merged["image_id"].map(run.images["probability"]).astype("float64")
    for column in ("run_id", "image_id", "coder", "code", "code_description", "memo"):
        merged[column] = merged[column].astype("string")
    merged = merged.sort_values(["image_id", "coder", "code"], kind="stable", na_position="first")
    return merged[CODES_COLUMNS].reset_index(drop=True)


def codes_csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%S.%fZ").encode("utf-8")


def codes_parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def read_codes_csv(path_or_buffer) -> pd.DataFrame:
    """Read an exported CSV back with the same types as the Parquet file."""
    frame = pd.read_csv(path_or_buffer, dtype={"image_id": "string", "run_id": "string", "coder": "string",
                                               "code": "string", "code_description": "string",
                                               "memo": "string", "cluster": "Int64"},
                        keep_default_na=False, na_values={"code": [""], "code_description": [""]})
    for column in ("coded_at", "saved_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    frame["probability"] = frame["probability"].astype("float64")
    return frame


def write_codes(run: ReviewRun, store: ReviewStore, out_dir: str | Path) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    frame = codes_frame(run, store)
    csv_path, parquet_path = out_dir / "codes.csv", out_dir / "codes.parquet"
    csv_path.write_bytes(codes_csv_bytes(frame))
    parquet_path.write_bytes(codes_parquet_bytes(frame))
    return [csv_path, parquet_path]


def log_codes_to_mlflow(run: ReviewRun, store: ReviewStore, tracking_uri: str | None = None) -> list[str]:
    """Log codes.csv and codes.parquet under `review/` in the run's MLflow run; the artifact paths."""
    if not run.mlflow_run_id:
        raise ValueError(
            f"{run.run_dir} has no mlflow_run_id.txt: this run was not tracked in MLflow, "
            "so download the CSV/Parquet instead"
        )
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or None)
    with tempfile.TemporaryDirectory(prefix="visframe-review-") as tmp:
        paths = write_codes(run, store, tmp)
        for path in paths:
            client.log_artifact(run.mlflow_run_id, str(path), artifact_path=MLFLOW_ARTIFACT_DIR)
    log.info("review: logged %s to MLflow run %s", [p.name for p in paths], run.mlflow_run_id)
    return [f"{MLFLOW_ARTIFACT_DIR}/{p.name}" for p in paths]
