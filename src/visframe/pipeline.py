"""One visframe job: validate → ingest → embed → reduce → cluster → evaluate → describe → report,
tracked as one MLflow run that opens when the job starts and ends FINISHED or FAILED.

Each stage is a function of its inputs and its config section returning a typed result; the
expensive ones (corpus generation, embedding, reduction) are cached under keys derived from exactly
those inputs, so a sweep over clusterer parameters costs only the clustering. This module is the
only one that calls every stage; stages never import a later one. File and column names come from
visframe.contracts.
"""

from __future__ import annotations

import json
import logging
import math
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

import visframe
from visframe import contracts as C
from visframe.cluster import ClusterResult
from visframe.embed.deferred import load_encoder
from visframe.errors import StageError, VisframeError
from visframe.evaluate import evaluate_run
from visframe.evaluate.registry import describe_metrics
from visframe.session import Session
from visframe.stages import StageContext
from visframe.utils.arrays import rows_of
from visframe.utils.hashing import hash_strings, stable_hash
from visframe.validation import validate_job_config

log = logging.getLogger("visframe")


class PipelineError(StageError):
    """A problem with the job's inputs that the user must fix (the message says how)."""


@dataclass
class JobResult:
    run_dir: Path
    metrics: dict[str, float]
    warnings: list[str] = field(default_factory=list)
    mlflow_run_id: str | None = None
    artifacts: list[Path] = field(default_factory=list)


@dataclass
class IngestResult:
    manifest: pd.DataFrame
    clean: pd.DataFrame  # status == ok rows, one per post image


@dataclass
class ReduceResult:
    points: pd.DataFrame  # the points clustered (one per post, or per unique image)
    point_of_row: np.ndarray  # for every clean row, the index of its point
    point_vectors: np.ndarray
    coordinates: np.ndarray  # the reduced space the clusterer sees
    map_coordinates: np.ndarray  # 2-D, for the map
    cache_hit: bool
    n_components: int
    sample_rows: np.ndarray | None = None  # scale=sample_fit: the rows the estimators were fitted on


class StageTimer:
    """Seconds per stage, for metrics.json and MLflow (`stage_seconds_<name>`)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = time.perf_counter() - started


# ---------------------------------------------------------------------------------------- stages


def prepare_manifest(dataset_cfg: DictConfig, cache_dir: str, show_progress: bool, inspector=None) -> pd.DataFrame:
    """Generate the corpus if the dataset has a generator, then ingest its folder (`inspector`:
    where the file checks run, see visframe.data.ingest.inspect_files)."""
    from visframe.data.ingest import ingest_folder

    root = Path(str(dataset_cfg.root)).expanduser()
    metadata = dataset_cfg.get("metadata")
    if dataset_cfg.get("generator"):
        log.info("Preparing the %s corpus in %s", dataset_cfg.name, root)
        metadata = instantiate(dataset_cfg.generator, out_dir=root)
    ingest_options = OmegaConf.to_container(dataset_cfg.get("ingest") or {}, resolve=True)
    return ingest_folder(
        root,
        metadata=metadata,
        metadata_format=dataset_cfg.get("metadata_format", "auto"),
        label_from_dirs=bool(dataset_cfg.get("label_from_dirs", False)),
        cache_dir=cache_dir,
        show_progress=show_progress,
        inspector=inspector,
        **ingest_options,
    )


def ingest_stage(cfg: DictConfig, run_dir: Path) -> IngestResult:
    from visframe.data.ingest import write_manifest
    from visframe.data.report import write_cleaning_report
    from visframe.scale import dask_inspector

    # scale=sample_fit: a large folder's file checks run on the same Dask cluster as the mapping.
    inspector = dask_inspector(cfg.get("scale"))
    manifest = prepare_manifest(cfg.dataset, str(cfg.paths.cache_dir), bool(cfg.show_progress), inspector)
    write_manifest(manifest, run_dir / C.MANIFEST_FILE)
    write_cleaning_report(manifest, run_dir / C.CLEANING_REPORT_FILE)
    clean = clean_rows(manifest)
    log.info("Ingested %d files: %d usable rows, %d distinct images", len(manifest), len(clean), clean[C.IMAGE_ID].nunique())
    return IngestResult(manifest, clean)


def clean_rows(manifest: pd.DataFrame) -> pd.DataFrame:
    clean = manifest[manifest[C.STATUS] == C.STATUS_OK].reset_index(drop=True)
    if clean.empty:
        counts = manifest[C.STATUS].value_counts().to_dict()
        raise PipelineError(
            f"No usable images: all {len(manifest)} files were rejected at ingest ({counts}).",
            fix=f"see the `{C.REASON}` column of {C.MANIFEST_FILE} (or {C.CLEANING_REPORT_FILE}) for each file",
        )
    return clean


def cluster_points(clean: pd.DataFrame, cluster_unit: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The points the clusterer sees, and for every clean row the index of its point.

    `post`: one point per clean row. `unique_image`: one point per image_id (first row wins).
    """
    if cluster_unit == "post":
        return clean[[C.IMAGE_ID]], np.arange(len(clean))
    if cluster_unit == "unique_image":
        points = clean[[C.IMAGE_ID]].drop_duplicates(C.IMAGE_ID).reset_index(drop=True)
        index = pd.Index(points[C.IMAGE_ID]).get_indexer(clean[C.IMAGE_ID])
        return points, index
    raise PipelineError(f"cluster_unit must be 'post' or 'unique_image', not {cluster_unit!r}", fix="cluster_unit=post")


def embed_stage(cfg: DictConfig, clean: pd.DataFrame, encoder):
    from visframe.embed import embed_images

    unique = clean.drop_duplicates(C.IMAGE_ID)
    return embed_images(
        unique[C.IMAGE_ID].tolist(),
        unique[C.PATH].tolist(),
        encoder,
        cfg.trainer,
        str(cfg.paths.cache_dir),
        show_progress=bool(cfg.show_progress),
    )


def text_stage(cfg: DictConfig, clean: pd.DataFrame, run_dir: Path):
    """OCR every unique image (cached per image and backend); None when `text=none`."""
    from visframe.text import extract_texts, text_enabled

    if not text_enabled(cfg.text):
        return None
    unique = clean.drop_duplicates(C.IMAGE_ID)
    result = extract_texts(
        unique[C.IMAGE_ID].tolist(), unique[C.PATH].tolist(), cfg.text, str(cfg.paths.cache_dir), bool(cfg.show_progress)
    )
    result.write(run_dir)
    log.info("Read the text of %d images (%d from cache, %d failed)", len(result.table), result.texts_from_cache,
             result.texts_failed)
    return result


def reduce_stage(cfg: DictConfig, clean: pd.DataFrame, embedding, context: StageContext) -> ReduceResult:
    """The reduced space and the 2-D map (visframe.reduce.stage); with `scale=sample_fit` above its
    sample size, fitted on a sample (`sample_rows`) and the rest placed as a Dask job."""
    from visframe.reduce import stage as reduce

    points, point_of_row = cluster_points(clean, str(cfg.cluster_unit))
    rows = pd.Index(embedding.image_ids).get_indexer(points[C.IMAGE_ID])
    point_vectors = rows_of(embedding.vectors, rows)  # usually the embedding's rows in order: no copy
    input_key = f"{embedding.encoder_key}:{hash_strings(points[C.IMAGE_ID].tolist())}"
    reduction = reduce.run(reduce.ReduceInputs(point_vectors, input_key),
                           reduce.ReduceSettings(cfg.reducer, cfg.map_reducer, cfg.get("scale")), context)
    if reduction.sample_rows is not None:
        log.info("Fitted on %d of %d points, mapped the rest on Dask", len(reduction.sample_rows), len(point_vectors))
    return ReduceResult(points, point_of_row, point_vectors, reduction.coordinates, reduction.map_coordinates,
                        reduction.cache_hit, reduction.n_components, reduction.sample_rows)


def cluster_stage(cfg: DictConfig, reduced: ReduceResult, context: StageContext) -> ClusterResult:
    """Fit the clusterer on the reduced space (or on the raw vectors, for an estimator that asks; on
    the reduction's sample with scale=sample_fit); the result has labels, layers coarse to fine, and
    the nearest cluster of every noise point."""
    from visframe.cluster import stage as cluster

    clusters = cluster.run(cluster.ClusterInputs(reduced.coordinates, reduced.point_vectors, reduced.sample_rows),
                           cluster.ClusterSettings(cfg.clusterer, cfg.get("scale")), context)
    noise = 100 * (clusters.labels == C.NOISE).mean()
    log.info("Clustered %d points: %d clusters, %.1f%% noise", len(reduced.points), clusters.n_clusters, noise)
    return clusters


def assignments_table(clean: pd.DataFrame, reduced: ReduceResult, posts: ClusterResult) -> pd.DataFrame:
    """One row per clean post (contracts.ASSIGNMENTS + the layer and soft-noise columns), in memory
    with the original (openable) paths. `posts` is the clustering taken at every post's point."""
    from visframe.data.manifest_io import path_series

    rows = reduced.point_of_row
    table = pd.DataFrame(
        {
            C.IMAGE_ID: clean[C.IMAGE_ID].astype("string"),
            # object dtype when a file name is not UTF-8: pandas' str dtype cannot hold surrogates.
            C.PATH: path_series(clean[C.PATH].tolist(), index=clean.index),
            C.CLUSTER: posts.labels.astype("int64"),
            C.PROBABILITY: posts.probabilities.astype("float64"),
            C.OUTLIER_SCORE: posts.outlier_scores.astype("float64"),
            C.X: reduced.map_coordinates[rows, 0].astype("float64"),
            C.Y: reduced.map_coordinates[rows, 1].astype("float64"),
            **posts.assignment_columns(),
        }
    )
    return C.validate(C.ASSIGNMENTS, table)


def write_assignments(assignments: pd.DataFrame, path: Path) -> None:
    """Parquet strings are UTF-8: a non-UTF-8 file name is stored escaped (as in manifest.parquet)."""
    from visframe.data.manifest_io import storable_path

    stored = assignments.assign(**{C.PATH: pd.array([storable_path(p) for p in assignments[C.PATH]], dtype="string")})
    stored.to_parquet(path, index=False)


def evaluate_stage(cfg: DictConfig, ingest: IngestResult, reduced: ReduceResult, clusters: ClusterResult):
    clean = ingest.clean
    rows = reduced.point_of_row
    truth = clean[C.LABEL].to_numpy(dtype=object) if C.LABEL in clean.columns and clean[C.LABEL].notna().any() else None
    metrics = {
        "n_images": float((ingest.manifest[C.STATUS] != C.STATUS_METADATA_ONLY).sum()),
        "n_clean": float(len(clean)),
    }
    run_metrics, warnings = evaluate_run(
        cfg.evaluation,
        reduced=reduced.coordinates[rows],
        vectors=rows_of(reduced.point_vectors, rows),  # one point per post: no copy
        labels=clusters.labels[rows],
        probabilities=clusters.probabilities[rows],
        truth=truth,
        seed=int(cfg.seed),
    )
    metrics.update(run_metrics)
    for warning in warnings:
        log.warning("%s", warning)
    return metrics, warnings


def describe_stage(cfg, run_dir, ingest, assignments, texts, embedding, encoder):
    """Name and describe every cluster (clusters.parquet …); the describe stage holds the encoder."""
    from visframe.describe import describe_run

    return describe_run(
        run_dir,
        cfg.describe,
        ingest.manifest,
        assignments,
        texts=texts,
        encoder=encoder,
        vectors=embedding.vectors,
        vector_ids=embedding.image_ids,
    )


def report_stage(cfg, run_dir, ingest, assignments, metrics, warnings, run_info, notes) -> list[Path]:
    """Plots, montages, tables and report.html, from the files the earlier stages wrote."""
    from visframe.report import build_report

    report_files = build_report(
        run_dir,
        cfg.report,
        manifest=ingest.manifest,
        assignments=assignments,
        metrics=metrics,
        warnings=warnings,
        run_info=run_info,
        cache_dir=str(cfg.paths.cache_dir),
        show_progress=bool(cfg.show_progress),
        notes=notes,
    )
    for note in getattr(report_files, "notes", []):
        log.info("Report: %s", note)
    # Logged as one directory: a report with 100 clusters holds ~1,700 files.
    return [run_dir / C.REPORT_DIR]


# ----------------------------------------------------------------------------------- helpers


def _code_version() -> str:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"visframe {visframe.__version__}" + (f" ({commit})" if commit else "")


def _write_json(path: Path, values: dict) -> None:
    # JSON has no NaN: undefined metrics (e.g. silhouette with one cluster) are written as null.
    clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in values.items()}
    path.write_text(json.dumps(clean, indent=2, sort_keys=True) + "\n")


# Clusterer keys that are settings of the estimator's machinery, not of the clustering itself.
_NOT_RUN_NAME_KEYS = {"_target_", "metric", "core_dist_n_jobs", "n_jobs", "verbose", "reproducible", "gen_min_span_tree",
                      "prediction_data", "algorithm", "leaf_size", "memory", "output_type", "handle"}


def clusterer_label(clusterer_cfg: DictConfig | dict) -> str:
    """The clusterer's own name and set parameters, e.g. 'HDBSCAN(min_cluster_size=50,min_samples=null)'."""
    values = OmegaConf.to_container(clusterer_cfg, resolve=True) if isinstance(clusterer_cfg, DictConfig) else dict(clusterer_cfg)
    target = str(values.get("_target_", "clusterer")).rsplit(".", 1)[-1]
    shown = [f"{k}={'null' if v is None else v}" for k, v in values.items()
             if k not in _NOT_RUN_NAME_KEYS and not isinstance(v, (dict, list))][:3]
    return f"{target}({','.join(shown)})"


def default_run_name(cfg: DictConfig) -> str:
    return f"{cfg.dataset.name}-{cfg.model.get('name', 'model')}-{clusterer_label(cfg.clusterer)}"


def _tracker(cfg: DictConfig, run_dir: Path, session: Session):
    if not cfg.tracking.get("enabled", True):
        return None
    from visframe.tracking import flatten_config
    from visframe.tracking.job import JobTracker

    tags = {str(k): str(v) for k, v in (cfg.tracking.get("tags") or {}).items()}
    tags["visframe.run_dir"] = str(run_dir.resolve())
    run_name = cfg.tracking.get("run_name") or default_run_name(cfg)
    return JobTracker(cfg.tracking, run_name, params=flatten_config(cfg), tags=tags, parent_run_id=session.parent_run_id)


# -------------------------------------------------------------------------------------- the job


def run(cfg: DictConfig, run_dir: str | Path, session: Session | None = None) -> JobResult:
    """Run one job and write the output contract into `run_dir` (see visframe.contracts).

    `session`: what this process remembers between jobs (memos, a sweep's parent MLflow run); a
    fresh one when None."""
    run_dir = Path(run_dir)
    session = session if session is not None else Session()
    validate_job_config(cfg, run_dir)  # cheap checks first: a bad value fails before any work
    tracker = _tracker(cfg, run_dir, session)
    if tracker is not None:
        (run_dir / C.MLFLOW_RUN_ID_FILE).write_text(tracker.start() + "\n")
    try:
        result = _run_stages(cfg, run_dir, tracker, session)
    except BaseException:
        if tracker is not None:
            tracker.fail()
        raise
    if tracker is not None:
        tracker.finish(result.metrics, result.artifacts, run_dir)
        result.mlflow_run_id = tracker.run_id
    return result


def _run_stages(cfg: DictConfig, run_dir: Path, tracker, session: Session) -> JobResult:
    started = time.perf_counter()
    timer = StageTimer()
    context = StageContext(cache_dir=str(cfg.paths.cache_dir), show_progress=bool(cfg.show_progress), seed=int(cfg.seed),
                           session=session)
    resolved_yaml = OmegaConf.to_yaml(cfg, resolve=True)
    (run_dir / C.CONFIG_FILE).write_text(resolved_yaml)

    # The encoder before anything else: missing weights must stop the job before any work. When its
    # embedding key is remembered (embed.deferred), the model is loaded only if there are images to
    # embed: a job that reads cached vectors never imports torch.
    with timer.stage("load_model"):
        encoder = load_encoder(cfg.model, cfg.trainer, str(cfg.paths.cache_dir))
    with timer.stage("ingest"):
        ingest = ingest_stage(cfg, run_dir)
    fingerprint = hash_strings(sorted(ingest.manifest[C.IMAGE_ID].dropna().astype(str).tolist()))
    if tracker is not None:
        tracker.log_dataset(ingest.manifest, run_dir / C.MANIFEST_FILE, str(cfg.dataset.name), fingerprint)
    with timer.stage("embed"):
        embedding = embed_stage(cfg, ingest.clean, encoder)
    if getattr(embedding, "global_rank", 0) != 0:
        # Launched by torchrun/srun with strategy=ddp, every rank runs the job: the other ranks
        # have written their embedding shards; rank 0 alone reduces, clusters, reports and tracks.
        return JobResult(run_dir, {})
    with timer.stage("text"):
        text_result = text_stage(cfg, ingest.clean, run_dir)
    texts = None if text_result is None else text_result.table
    with timer.stage("reduce"):
        reduced = reduce_stage(cfg, ingest.clean, embedding, context)
    with timer.stage("clustering"):
        clusters = cluster_stage(cfg, reduced, context)
    post_clusters = clusters.take(reduced.point_of_row)
    assignments = assignments_table(ingest.clean, reduced, post_clusters)
    write_assignments(assignments, run_dir / C.ASSIGNMENTS_FILE)
    C.validate(C.CLUSTER_TREE, post_clusters.tree()).to_parquet(run_dir / C.CLUSTER_TREE_FILE, index=False)
    with timer.stage("evaluate"):
        metrics, warnings = evaluate_stage(cfg, ingest, reduced, clusters)
    metrics.update(clusters.metrics())
    giant = post_clusters.giant_cluster_warnings(float(cfg.evaluation.warn_largest_cluster_share))
    for warning in giant:
        log.warning("%s", warning)
    warnings += giant
    metrics.update(
        {
            "images_embedded": float(embedding.images_embedded),
            "images_from_cache": float(embedding.images_from_cache),
            "reduce_cache_hit": float(reduced.cache_hit),
            "cluster_seconds": clusters.seconds,
        }
    )
    if text_result is not None:
        metrics.update(text_result.metrics())
    artifacts = [run_dir / name for name in
                 (C.CONFIG_FILE, C.MANIFEST_FILE, C.CLEANING_REPORT_FILE, C.ASSIGNMENTS_FILE, C.CLUSTER_TREE_FILE)]
    if text_result is not None:
        artifacts.append(run_dir / C.TEXTS_FILE)
    run_info: dict[str, Any] = {
        "config_hash": stable_hash(OmegaConf.to_container(cfg, resolve=True)),
        "dataset_fingerprint": fingerprint,
        "code_version": _code_version(),
        "model": str(cfg.model.get("name", "")),
        "encoder_key": embedding.encoder_key,
        "config_yaml": resolved_yaml,
        "metric_spaces": describe_metrics(reduced.n_components),
    }
    with timer.stage("describe"):
        descriptions = describe_stage(cfg, run_dir, ingest, assignments, texts, embedding, encoder)
    artifacts += descriptions.files
    if tracker is not None and descriptions.files:
        names = descriptions.names()
        tracker.set_tags({"visframe.cluster_names": "; ".join(f"{c}: {n}" for c, n in sorted(names.items()))})
    if cfg.report.get("enabled", True):
        with timer.stage("report"):
            artifacts += report_stage(cfg, run_dir, ingest, assignments, metrics, warnings, run_info, descriptions.notes)
    metrics.update({f"stage_seconds_{name}": seconds for name, seconds in timer.seconds.items()})
    metrics["total_seconds"] = time.perf_counter() - started
    _write_json(run_dir / C.METRICS_FILE, metrics)
    artifacts.append(run_dir / C.METRICS_FILE)
    return JobResult(run_dir, metrics, warnings, artifacts=artifacts)


__all__ = ["JobResult", "PipelineError", "VisframeError", "run"]
