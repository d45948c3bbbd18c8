"""The codes as a table (CSV for people, Parquet for pandas/DuckDB), and logged back to MLflow.

One row per applied code; an image a coder saved with no code is one row with an empty `code`, so
"looked and found nothing" survives the export, and so does an image a coder only placed in a
cluster by hand. Columns: contracts.CODES (run_id, image_id, coder, code, code_description, memo,
coded_at and saved_at in UTC, cluster, probability, human_cluster) plus the cluster's automatic
`name` and the coders' `human_name`. `human_cluster` is the coder's own cluster for the image
(empty when they placed none); `cluster` is always the algorithm's.
CSV cells that a spreadsheet would run as a formula are neutralised (visframe.utils.csv_safe).
"""

from __future__ import annotations

import io
import logging
import os
import tempfile
from pathlib import Path

import pandas as pd

from visframe import contracts as C
from visframe.review.run_data import ReviewRun
from visframe.review.store import ReviewStore
from visframe.utils.csv_safe import to_csv_safe

log = logging.getLogger(__name__)

CODES_COLUMNS = list(C.CODES.names)
CLUSTERS_COLUMNS = [C.RUN_ID, C.CLUSTER, C.NAME, C.HUMAN_NAME, C.SIZE, C.N_UNIQUE_IMAGES]
CSV_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
MLFLOW_ARTIFACT_DIR = "review"
_STORE_UPDATED_AT = "updated_at"  # the store's column for when a review was last saved


def codes_frame(run: ReviewRun, store: ReviewStore) -> pd.DataFrame:
    reviews = store.reviews_frame().rename(columns={_STORE_UPDATED_AT: C.SAVED_AT})
    codings = store.codings_frame()
    descriptions = {c.name: c.description for c in store.codebook()}
    merged = reviews.merge(
        codings[[C.IMAGE_ID, C.CODER, C.CODE, C.CODED_AT]], on=[C.IMAGE_ID, C.CODER], how="left"
    )
    merged = merged.merge(store.human_clusters(), on=[C.IMAGE_ID, C.CODER], how="outer")
    merged[C.RUN_ID] = run.run_id
    # A review without codes: its "coded_at" is when it was saved.
    merged[C.CODED_AT] = merged[C.CODED_AT].where(merged[C.CODED_AT].notna(), merged[C.SAVED_AT])
    merged[C.CODE_DESCRIPTION] = merged[C.CODE].map(descriptions)
    merged[C.CLUSTER] = merged[C.IMAGE_ID].map(run.images[C.CLUSTER]).astype("Int64")
    merged[C.PROBABILITY] = merged[C.IMAGE_ID].map(run.images[C.PROBABILITY]).astype("float64")
    merged[C.HUMAN_CLUSTER] = merged[C.HUMAN_CLUSTER].astype("Int64")
    names, human = {c.cluster: c.name for c in run.clusters if c.name}, store.cluster_names()
    merged[C.NAME] = merged[C.CLUSTER].map(lambda c: names.get(c) if pd.notna(c) else None)
    merged[C.HUMAN_NAME] = merged[C.CLUSTER].map(lambda c: human.get(c) if pd.notna(c) else None)
    for column in (C.RUN_ID, C.IMAGE_ID, C.CODER, C.CODE, C.CODE_DESCRIPTION, C.MEMO, C.NAME, C.HUMAN_NAME):
        merged[column] = merged[column].astype("string")
    merged = merged.sort_values([C.IMAGE_ID, C.CODER, C.CODE], kind="stable", na_position="first")
    return C.validate(C.CODES, merged[CODES_COLUMNS].reset_index(drop=True))


def clusters_frame(run: ReviewRun, store: ReviewStore) -> pd.DataFrame:
    """One row per cluster: its automatic name beside the coders' name, and its size."""
    human = store.cluster_names()
    rows = [
        (run.run_id, c.cluster, c.name or None, human.get(c.cluster), c.n_posts, c.n_images)
        for c in run.clusters
    ]
    frame = pd.DataFrame(rows, columns=CLUSTERS_COLUMNS)
    for column in (C.RUN_ID, C.NAME, C.HUMAN_NAME):
        frame[column] = frame[column].astype("string")
    return frame


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return to_csv_safe(frame, None, date_format=CSV_DATE_FORMAT).encode("utf-8")


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def write_codes(run: ReviewRun, store: ReviewStore, out_dir: str | Path) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    frame = codes_frame(run, store)
    csv_path, parquet_path = out_dir / C.CODES.file, out_dir / Path(C.CODES.file).with_suffix(".parquet")
    clusters_path = out_dir / "clusters.csv"
    csv_path.write_bytes(csv_bytes(frame))
    parquet_path.write_bytes(parquet_bytes(frame))
    clusters_path.write_bytes(csv_bytes(clusters_frame(run, store)))
    return [csv_path, parquet_path, clusters_path]


def log_codes_to_mlflow(run: ReviewRun, store: ReviewStore, tracking_uri: str | None = None) -> list[str]:
    """Log codes.csv, codes.parquet and clusters.csv under `review/` in the run's MLflow run."""
    if not run.mlflow_run_id:
        raise ValueError(
            f"{run.run_dir} has no {C.MLFLOW_RUN_ID_FILE}: this run was not tracked in MLflow, "
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
