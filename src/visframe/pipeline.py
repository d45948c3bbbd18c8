"""One visframe job: validate → ingest → embed → text → reduce → cluster → evaluate → describe →
report, tracked as one MLflow run that opens when the job starts and ends FINISHED or FAILED.

Every stage has the same shape (visframe.stages): `<stage>.stage.run(inputs, settings, context)`
returns a frozen result and writes no run file; this module hands each stage what earlier ones made
and writes every table through the job's `RunDir`. The expensive stages (corpus generation,
embedding, text, reduction) are cached under keys derived from exactly their inputs, so a sweep over
clusterer parameters costs only the clustering. This module is the only one that calls every stage;
stages never import a later one. File and column names come from visframe.contracts.
"""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf

import visframe
from visframe import contracts as C
from visframe.cluster import ClusterResult
from visframe.cluster import stage as cluster_stage
from visframe.data import stage as data_stage
from visframe.describe import stage as describe_stage
from visframe.embed import stage as embed_stage
from visframe.embed.deferred import load_encoder
from visframe.errors import StageError, VisframeError
from visframe.evaluate import stage as evaluate_stage
from visframe.evaluate.registry import describe_metrics
from visframe.messages import stage as messages_stage
from visframe.messages.fusion import fused_vectors
from visframe.reduce import stage as reduce_stage
from visframe.report import stage as report_stage
from visframe.run_dir import RunDir
from visframe.session import Session
from visframe.stages import StageContext
from visframe.text import stage as text_stage
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


@dataclass(frozen=True)
class Points:
    """What the clusterer sees: one point per post or per unique image (`cluster_unit`)."""

    image_ids: pd.DataFrame  # one row per point: its image_id
    point_of_row: np.ndarray  # for every clean row, the index of its point
    vectors: np.ndarray  # (n_points, d): each point's embedding
    input_key: str  # the vectors' identity: encoder key + hash of the ordered image ids


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


# -------------------------------------------------------------------------------------- the job


def run(cfg: DictConfig, run_dir: str | Path, session: Session | None = None) -> JobResult:
    """Run one job and write the output contract into `run_dir` (see visframe.contracts).

    `session`: what this process remembers between jobs (memos, a sweep's parent MLflow run); a
    fresh one when None."""
    run_files = RunDir(run_dir)
    session = session if session is not None else Session()
    validate_job_config(cfg, run_files.path, session)  # cheap checks first: a bad value fails before any work
    tracker = _tracker(cfg, run_files.path, session)
    if tracker is not None:
        run_files.write_mlflow_run_id(tracker.start())
    try:
        result = _run_stages(cfg, run_files, tracker, session)
    except BaseException:
        if tracker is not None:
            tracker.fail()
        raise
    if tracker is not None:
        tracker.finish(result.metrics, result.artifacts, run_files.path)
        result.mlflow_run_id = tracker.run_id
    return result


def _run_stages(cfg: DictConfig, run_files: RunDir, tracker, session: Session) -> JobResult:
    started, timer = time.perf_counter(), StageTimer()
    context = StageContext(str(cfg.paths.cache_dir), bool(cfg.show_progress), int(cfg.seed), session)
    resolved_yaml = OmegaConf.to_yaml(cfg, resolve=True)
    artifacts = [run_files.write_config(resolved_yaml)]

    # The encoder before anything else: missing weights must stop the job before any work. When its
    # embedding key is remembered (embed.deferred), the model is loaded only if there are images to
    # embed: a job that reads cached vectors never imports torch.
    with timer.stage("load_model"):
        encoder = load_encoder(cfg.model, cfg.trainer, context.cache_dir)
    with timer.stage("ingest"):
        ingest = data_stage.run(data_stage.IngestInputs(_inspector(cfg)), cfg.dataset, context)
    artifacts += [run_files.write_manifest(ingest.manifest, ingest.warnings),
                  run_files.write_cleaning_report(ingest.report)]
    if tracker is not None:
        tracker.log_dataset(ingest.manifest, run_files.file(C.MANIFEST_FILE), str(cfg.dataset.name), ingest.fingerprint)
    unique = ingest.clean.drop_duplicates(C.IMAGE_ID)
    ids, paths = unique[C.IMAGE_ID].tolist(), unique[C.PATH].tolist()
    with timer.stage("embed"):
        embedding = embed_stage.run(embed_stage.EmbedInputs(ids, paths, encoder), cfg.trainer, context)
    if embedding.global_rank != 0:
        # Launched by torchrun/srun with strategy=ddp, every rank runs the job: the other ranks
        # have written their embedding shards; rank 0 alone reduces, clusters, reports and tracks.
        return JobResult(run_files.path, {})
    with timer.stage("text"):
        texts = text_stage.run(text_stage.TextInputs(ids, paths), cfg.text, context)
    if texts.table is not None:
        artifacts.append(run_files.write(C.TEXTS, texts.table))
    # What the text says does not depend on the images' clusters: its topics come first, so the
    # image clustering may use its vectors too (`embedding=fused`).
    with timer.stage("messages"):
        messages = messages_stage.run(messages_stage.MessagesInputs(ingest.clean, texts.table),
                                      messages_stage.MessagesSettings(cfg.get("messages"), cfg.get("text_encoder")),
                                      context)
    if messages.table is not None:
        artifacts += [run_files.write(C.MESSAGES, messages.table), run_files.write(C.SLOGANS, messages.slogans)]
    if messages.vectors is not None:  # not an artifact: vectors, for the review app and suggestions
        run_files.write_message_vectors(messages.vectors.image_ids, messages.vectors.vectors,
                                        messages.vectors.encoder_key)

    points = points_of(ingest.clean, embedding, str(cfg.cluster_unit), messages, cfg.get("embedding"))
    with timer.stage("reduce"):
        reduced = reduce_stage.run(reduce_stage.ReduceInputs(points.vectors, points.input_key),
                                   reduce_stage.ReduceSettings(cfg.reducer, cfg.map_reducer, cfg.get("scale")), context)
    with timer.stage("clustering"):
        clusters = cluster_stage.run(cluster_stage.ClusterInputs(reduced.coordinates, points.vectors, reduced.sample_rows),
                                     cluster_stage.ClusterSettings(cfg.clusterer, cfg.get("scale")), context)
    log.info("Clustered %d points: %d clusters, %.1f%% noise", len(points.vectors), clusters.n_clusters,
             100 * (clusters.labels == C.NOISE).mean())
    post_clusters = clusters.take(points.point_of_row)
    assignments = assignments_table(ingest.clean, points, reduced, post_clusters, messages)
    artifacts += [run_files.write_assignments(assignments), run_files.write(C.CLUSTER_TREE, post_clusters.tree())]

    with timer.stage("evaluate"):
        evaluation = evaluate_stage.run(_evaluate_inputs(ingest.clean, points, reduced, clusters), cfg.evaluation,
                                        context)
    giant = post_clusters.giant_cluster_warnings(float(cfg.evaluation.warn_largest_cluster_share))
    warnings = [*evaluation.warnings, *giant]
    for warning in warnings:
        log.warning("%s", warning)
    metrics = {
        "n_images": float((ingest.manifest[C.STATUS] != C.STATUS_METADATA_ONLY).sum()),
        "n_clean": float(len(ingest.clean)),
        **evaluation.metrics,
        **clusters.metrics(),
        **embedding.metrics(),
        "reduce_cache_hit": float(reduced.cache_hit),
        "cluster_seconds": clusters.seconds,
        **texts.metrics(),
        **messages.metrics(),
    }

    with timer.stage("describe"):
        descriptions = describe_stage.run(
            describe_stage.DescribeInputs(ingest.manifest, assignments, texts.table, encoder, embedding.vectors,
                                          embedding.image_ids, messages=messages.table,
                                          message_vectors=messages.vectors),
            cfg.describe, context)
    if descriptions.described:
        artifacts += run_files.write_descriptions(descriptions)
        if tracker is not None:
            names = "; ".join(f"{c}: {n}" for c, n in sorted(descriptions.names().items()))
            tracker.set_tags({"visframe.cluster_names": names})
    if cfg.report.get("enabled", True):
        with timer.stage("report"):
            report = report_stage.run(
                report_stage.ReportInputs(run_files, ingest.manifest, assignments, metrics, warnings,
                                          _run_info(cfg, ingest, embedding, reduced, resolved_yaml),
                                          [*(n for n in (texts.skipped, messages.skipped) if n), *descriptions.notes]),
                cfg.report, context)
        for note in report.notes:
            log.info("Report: %s", note)
        artifacts.append(run_files.report_dir)  # one directory: a report of 100 clusters holds ~1,700 files
    metrics.update({f"stage_seconds_{name}": seconds for name, seconds in timer.seconds.items()})
    metrics["total_seconds"] = time.perf_counter() - started
    artifacts.append(run_files.write_metrics(metrics))
    return JobResult(run_files.path, metrics, warnings, artifacts=artifacts)


# ------------------------------------------------------------------------------ between the stages


def points_of(clean: pd.DataFrame, embedding, cluster_unit: str, messages=None, space=None) -> Points:
    """The points the clusterer sees, their vectors, and for every clean row the index of its point.

    `post`: one point per clean row. `unique_image`: one point per image_id (first row wins).
    `space` (the `embedding` config: image | text | fused): what a point's vector is (fusion.py).
    """
    if cluster_unit == "post":
        image_ids, point_of_row = clean[[C.IMAGE_ID]], np.arange(len(clean))
    elif cluster_unit == "unique_image":
        image_ids = clean[[C.IMAGE_ID]].drop_duplicates(C.IMAGE_ID).reset_index(drop=True)
        point_of_row = pd.Index(image_ids[C.IMAGE_ID]).get_indexer(clean[C.IMAGE_ID])
    else:
        raise PipelineError(f"cluster_unit must be 'post' or 'unique_image', not {cluster_unit!r}",
                            fix="cluster_unit=post")
    rows = pd.Index(embedding.image_ids).get_indexer(image_ids[C.IMAGE_ID])
    vectors = rows_of(embedding.vectors, rows)  # usually the embedding's rows in order: no copy
    key = embedding.encoder_key
    if space is not None and space.get("kind", "image") != "image":
        vectors, key = fused_vectors(vectors, image_ids[C.IMAGE_ID].astype(str).tolist(),
                                     None if messages is None else messages.vectors, space, key)
    input_key = f"{key}:{hash_strings(image_ids[C.IMAGE_ID].tolist())}"
    return Points(image_ids, point_of_row, vectors, input_key)


def assignments_table(clean: pd.DataFrame, points: Points, reduced: reduce_stage.ReduceResult, posts: ClusterResult,
                      messages: messages_stage.Messages | None = None) -> pd.DataFrame:
    """One row per clean post (contracts.ASSIGNMENTS + the layer and soft-noise columns, and the message
    topic of the post's image when the messages stage made topics), in memory with the original
    (openable) paths. `posts` is the clustering taken at every post's point."""
    from visframe.data.manifest_io import path_series

    rows = points.point_of_row
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
    if messages is not None and messages.table is not None:
        topic_of = messages.topic_of()
        table[C.MESSAGE_TOPIC] = [topic_of.get(i, C.NOISE) for i in clean[C.IMAGE_ID].astype(str)]
        table[C.MESSAGE_TOPIC] = table[C.MESSAGE_TOPIC].astype("int64")
    return C.validate(C.ASSIGNMENTS, table)


def _evaluate_inputs(clean: pd.DataFrame, points: Points, reduced: reduce_stage.ReduceResult, clusters: ClusterResult):
    """One row per post: metrics count posts, whichever unit was clustered."""
    rows = points.point_of_row
    truth = clean[C.LABEL].to_numpy(dtype=object) if C.LABEL in clean.columns and clean[C.LABEL].notna().any() else None
    return evaluate_stage.EvaluateInputs(
        reduced=reduced.coordinates[rows],
        vectors=rows_of(points.vectors, rows),  # one point per post: no copy
        labels=clusters.labels[rows],
        probabilities=clusters.probabilities[rows],
        truth=truth,
    )


def _inspector(cfg: DictConfig):
    """Where ingest's file checks run: with scale=sample_fit, on the same Dask cluster as the mapping."""
    from visframe.scale import dask_inspector

    return dask_inspector(cfg.get("scale"))


# ----------------------------------------------------------------------------------- tracking


def _run_info(cfg: DictConfig, ingest, embedding, reduced: reduce_stage.ReduceResult, resolved_yaml: str) -> report_stage.RunInfo:
    return report_stage.RunInfo(
        model=str(cfg.model.get("name", "")),
        config_hash=stable_hash(OmegaConf.to_container(cfg, resolve=True)),
        dataset_fingerprint=ingest.fingerprint,
        code_version=_code_version(),
        encoder_key=embedding.encoder_key,
        config_yaml=resolved_yaml,
        metric_spaces=describe_metrics(reduced.n_components),
    )


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


def _tracker(cfg: DictConfig, run_dir: Path, session: Session) -> Any:
    if not cfg.tracking.get("enabled", True):
        return None
    from visframe.tracking import flatten_config
    from visframe.tracking.job import JobTracker

    tags = {str(k): str(v) for k, v in (cfg.tracking.get("tags") or {}).items()}
    tags["visframe.run_dir"] = str(run_dir.resolve())
    run_name = cfg.tracking.get("run_name") or default_run_name(cfg)
    return JobTracker(cfg.tracking, run_name, params=flatten_config(cfg), tags=tags,
                      parent_run_id=session.parent_run_id, dataset_profiles=session.dataset_profiles)


__all__ = ["JobResult", "PipelineError", "Points", "VisframeError", "points_of", "run"]
