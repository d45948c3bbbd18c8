"""Reading a run directory's files for the review app, by the names in visframe.contracts.

Required: contracts.MANIFEST_FILE (the only source of file paths: images are served by `image_id`
looked up there, never by a path from a request) and contracts.ASSIGNMENTS_FILE (cluster and
probability per clean manifest row). Optional, each read when present and skipped with one log
line when broken: the report's sampling sheet (the images to code), contracts.CLUSTERS_FILE (the
describe stage's cluster names), contracts.TEXTS_FILE (OCR text, searched by /search) and
contracts.MLFLOW_RUN_ID_FILE (the MLflow run to log exports back to).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from visframe import contracts as C

log = logging.getLogger(__name__)

SAMPLING_SHEET_FILE = C.SAMPLING_SHEET_FILE
BAND = C.BAND
THUMBNAIL_COLUMNS = ("thumbnail_path", "thumbnail")  # relative to report/ or the run directory


def read_required(run_dir: Path, table: C.Table, needed: tuple[str, ...], wanted: tuple[str, ...] = ()) -> pa.Table:
    """The `needed` columns of a required Parquet table and those of `wanted` it has (only those are
    read), with a clear error naming the file or the missing columns."""
    path = run_dir / table.file
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: the review app needs the run directory's {table.file} "
            "(run the pipeline first, or pass the run directory / MLflow run id that has it)"
        )
    names = pq.read_schema(path).names
    missing = [c for c in needed if c not in names]
    if missing:
        raise ValueError(f"{path} lacks column(s) {missing} (see visframe/contracts.py)")
    return pq.read_table(path, columns=list(dict.fromkeys([*needed, *(c for c in wanted if c in names)])))


def _read_optional(path: Path, what: str) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        return pd.read_parquet(path)
    except Exception as error:  # noqa: BLE001 - optional input: say why and go on without it
        log.warning("review: cannot read %s (%s); going on without %s", path, error, what)
        return None


def sampling_sheet_path(run_dir: Path) -> Path:
    return run_dir / C.REPORT_DIR / SAMPLING_SHEET_FILE


def read_sampling_sheet(path: Path) -> pd.DataFrame:
    # Everything as text first: a hex image_id like "1234567890123456" must not become a number.
    sheet = pd.read_csv(path, dtype=str, keep_default_na=False)
    if C.IMAGE_ID not in sheet.columns:
        raise ValueError(f"{path} has no {C.IMAGE_ID} column; re-run the report stage to rebuild it")
    return sheet


def read_cluster_names(run_dir: Path) -> dict[int, str]:
    """cluster -> the describe stage's automatic name, for the chosen layer ({} without the file)."""
    table = _read_optional(run_dir / C.CLUSTERS_FILE, "cluster names")
    if table is None or C.CLUSTER not in table.columns or C.NAME not in table.columns:
        return {}
    if C.IS_CHOSEN_LAYER in table.columns:
        table = table[table[C.IS_CHOSEN_LAYER].fillna(False).astype(bool)]
    return {int(c): str(n) for c, n in zip(table[C.CLUSTER], table[C.NAME]) if isinstance(n, str) and n.strip()}


def read_texts(run_dir: Path) -> dict[str, str]:
    """image_id -> the text stage's OCR text, for images that have some ({} without the file)."""
    path = run_dir / C.TEXTS_FILE
    try:
        table = pq.read_table(path, columns=[C.IMAGE_ID, C.TEXT]) if path.is_file() else None
    except Exception as error:  # noqa: BLE001 - optional input: say why and go on without it
        log.warning("review: cannot read %s (%s); going on without %s", path, error, "image text")
        table = None
    kind = table.schema.field(C.TEXT).type if table is not None else None
    if kind is None or not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return {}
    table = table.filter(pc.greater(pc.utf8_length(pc.fill_null(table[C.TEXT], "")), 0))
    return dict(zip(table[C.IMAGE_ID].cast(pa.string()).to_pylist(), table[C.TEXT].to_pylist()))


def read_mlflow_run_id(run_dir: Path) -> str | None:
    path = run_dir / C.MLFLOW_RUN_ID_FILE
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8").strip()
    return text or None


def thumbnail_inside_run(run_dir: Path, value: str) -> Path | None:
    """A report thumbnail only if it is a file inside the run directory (the sheet is data, not trusted)."""
    if not value:
        return None
    root = run_dir.resolve()
    for base in (root / C.REPORT_DIR, root):
        candidate = (base / value).resolve()
        if candidate.is_relative_to(root) and candidate.is_file():
            return candidate
    return None
