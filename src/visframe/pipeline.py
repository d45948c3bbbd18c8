"""One visframe job: ingest → embed → reduce → cluster → evaluate → report → MLflow run.

Each stage is a function of its inputs and its config section; the expensive ones (corpus
generation, embedding, reduction) are cached under keys derived from exactly those inputs, so a
sweep over clusterer parameters costs only the clustering. This module is the only one that calls
every stage; stages never import each other downstream.
"""

from __future__ import annotations

import json
import logging
import math
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

import visframe
from visframe.cluster import ClusterResult, fit_clusterer
from visframe.evaluate import describe_metrics, evaluate_run
from visframe.reduce import reduce_cached
from visframe.utils.hashing import hash_strings, stable_hash

log = logging.getLogger("visframe")


class PipelineError(RuntimeError):
    """A problem with the job's inputs that the user must fix (the message says how)."""


@dataclass
class JobResult:
    run_dir: Path
    metrics: dict[str, float]
    warnings: list[str] = field(default_factory=list)
    mlflow_run_id: str | None = None
    artifacts: list[Path] = field(default_factory=list)


# ---------------------------------------------------------------------------------------- stages


def prepare_manifest(dataset_cfg: DictConfig, cache_dir: str, show_progress: bool) -> pd.DataFrame:
    """Generate the corpus if the dataset has a generator, then ingest its folder."""
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
        **ingest_options,
    )


def clean_rows(manifest: pd.DataFrame) -> pd.DataFrame:
    clean = manifest[manifest["status"] == "ok"].reset_index(drop=True)
    if clean.empty:
        counts = manifest["status"].value_counts().to_dict()
        raise PipelineError(
            f"No usable images: all {len(manifest)} files were rejected at ingest ({counts}). "
            "See the `reason` column of manifest.parquet for each file."
        )
    return clean


def cluster_points(clean: pd.DataFrame, cluster_unit: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The points HDBSCAN sees, and for every clean row the index of its point.

    `post`: one point per clean row. `unique_image`: one point per image_id (first row wins).
    """
    if cluster_unit == "post":
        return clean[["image_id"]], np.arange(len(clean))
    if cluster_unit == "unique_image":
        points = clean[["image_id"]].drop_duplicates("image_id").reset_index(drop=True)
        index = pd.Index(points["image_id"]).get_indexer(clean["image_id"])
        return points, index
    raise PipelineError(f"cluster_unit must be 'post' or 'unique_image', not {cluster_unit!r}")


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


def default_run_name(cfg: DictConfig) -> str:
    clusterer = cfg.clusterer
    return f"{cfg.dataset.name}-{cfg.model.get('name', 'model')}-mcs{clusterer.get('min_cluster_size', '')}"


# -------------------------------------------------------------------------------------- the job


def run(cfg: DictConfig, run_dir: str | Path) -> JobResult:
    """Run one job and write the output contract into `run_dir` (see docs/ARCHITECTURE.md)."""
    from visframe.data.ingest import storable_path, write_manifest
    from visframe.data.report import write_cleaning_report
    from visframe.embed import embed_images

    started = time.perf_counter()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    cache_dir = str(cfg.paths.cache_dir)
    show_progress = bool(cfg.get("show_progress", True))
    resolved_yaml = OmegaConf.to_yaml(cfg, resolve=True)
    (run_dir / "config.yaml").write_text(resolved_yaml)

    # Build the encoder before anything else: missing weights must stop the job before any work.
    encoder = instantiate(cfg.model)

    manifest = prepare_manifest(cfg.dataset, cache_dir, show_progress)
    write_manifest(manifest, run_dir / "manifest.parquet")
    write_cleaning_report(manifest, run_dir / "cleaning_report.csv")
    clean = clean_rows(manifest)
    log.info("Ingested %d files: %d usable rows, %d distinct images", len(manifest), len(clean), clean["image_id"].nunique())

    unique = clean.drop_duplicates("image_id")
    embedding = embed_images(
        unique["image_id"].tolist(), unique["path"].tolist(), encoder, cfg.trainer, cache_dir, show_progress=show_progress
    )
    if getattr(embedding, "global_rank", 0) != 0:
        # Launched by torchrun/srun with strategy=ddp, every rank runs the job: the other ranks
        # have written their embedding shards; rank 0 alone reduces, clusters, reports and tracks.
        return JobResult(run_dir, {})
    vectors_by_id = pd.Index(embedding.image_ids)

    points, point_of_row = cluster_points(clean, str(cfg.get("cluster_unit", "post")))
    point_vectors = embedding.vectors[vectors_by_id.get_indexer(points["image_id"])]
    input_key = f"{embedding.encoder_key}:{hash_strings(points['image_id'].tolist())}"

    reduction = reduce_cached(cfg.reducer, point_vectors, input_key, cache_dir)
    log.info("Reduced %s → %s (%s)", point_vectors.shape, reduction.coordinates.shape, "cache" if reduction.cache_hit else f"{reduction.seconds:.1f}s")
    if reduction.coordinates.shape[1] == 2:
        map_coordinates = reduction.coordinates
    else:
        map_coordinates = reduce_cached(cfg.map_reducer, point_vectors, input_key, cache_dir).coordinates

    clusters = fit_clusterer(instantiate(cfg.clusterer), reduction.coordinates)
    log.info("Clustered %d points: %d clusters, %.1f%% noise", len(points), clusters.n_clusters, 100 * (clusters.labels < 0).mean())

    point_clusters = ClusterResult(
        clusters.labels[point_of_row], clusters.probabilities[point_of_row], clusters.outlier_scores[point_of_row], clusters.seconds
    )
    assignments = pd.DataFrame(
        {
            "image_id": clean["image_id"].astype("string"),
            "path": clean["path"].to_numpy(dtype=object),
            "cluster": point_clusters.labels.astype("int64"),
            "probability": point_clusters.probabilities.astype("float64"),
            "outlier_score": point_clusters.outlier_scores.astype("float64"),
            "x": map_coordinates[point_of_row, 0].astype("float64"),
            "y": map_coordinates[point_of_row, 1].astype("float64"),
        }
    )
    # Parquet strings are UTF-8: a non-UTF-8 file name is stored escaped (as in manifest.parquet);
    # in memory the original path is kept, so later stages can still open the file.
    assignments.assign(path=pd.array([storable_path(p) for p in clean["path"]], dtype="string")).to_parquet(
        run_dir / "assignments.parquet", index=False
    )

    truth = clean["label"].to_numpy(dtype=object) if "label" in clean.columns and clean["label"].notna().any() else None
    metrics = {
        "n_images": float((manifest["status"] != "metadata_only").sum()),
        "n_clean": float(len(clean)),
    }
    run_metrics, warnings = evaluate_run(
        cfg.evaluation,
        reduced=reduction.coordinates[point_of_row],
        vectors=point_vectors[point_of_row],
        labels=point_clusters.labels,
        probabilities=point_clusters.probabilities,
        truth=truth,
        seed=int(cfg.seed),
    )
    metrics.update(run_metrics)
    metrics.update(
        {
            "images_embedded": float(embedding.images_embedded),
            "images_from_cache": float(embedding.images_from_cache),
            "reduce_cache_hit": float(reduction.cache_hit),
            "cluster_seconds": clusters.seconds,
        }
    )
    for warning in warnings:
        log.warning("%s", warning)

    artifacts = [run_dir / "config.yaml", run_dir / "manifest.parquet", run_dir / "cleaning_report.csv", run_dir / "assignments.parquet"]
    run_info = {
        "config_hash": stable_hash(OmegaConf.to_container(cfg, resolve=True)),
        "dataset_fingerprint": hash_strings(sorted(manifest["image_id"].dropna().astype(str).tolist())),
        "code_version": _code_version(),
        "model": str(cfg.model.get("name", "")),
        "encoder_key": embedding.encoder_key,
        "config_yaml": resolved_yaml,
        "metric_spaces": describe_metrics(reduction.coordinates.shape[1]),
    }
    if cfg.report.get("enabled", True):
        from visframe.report import build_report

        report_files = build_report(
            run_dir,
            cfg.report,
            manifest=manifest,
            assignments=assignments,
            metrics=metrics,
            warnings=warnings,
            vectors=embedding.vectors,
            vector_ids=embedding.image_ids,
            encoder=encoder,
            run_info=run_info,
            cache_dir=cache_dir,
            show_progress=show_progress,
        )
        # Logged as one directory: a report with 100 clusters holds ~1,700 files.
        artifacts.append(run_dir / "report")
        for note in getattr(report_files, "notes", []):
            log.info("Report: %s", note)
    metrics["total_seconds"] = time.perf_counter() - started
    _write_json(run_dir / "metrics.json", metrics)
    artifacts.append(run_dir / "metrics.json")

    result = JobResult(run_dir, metrics, warnings, artifacts=artifacts)
    if cfg.tracking.get("enabled", True):
        result.mlflow_run_id = track(cfg, result)
    return result


def track(cfg: DictConfig, result: JobResult) -> str:
    """Log the job as an MLflow run: flattened config, metrics, the contract files and report."""
    from visframe.tracking import flatten_config, job_run, log_job_outputs

    tags = {str(k): str(v) for k, v in (cfg.tracking.get("tags") or {}).items()}
    tags["visframe.run_dir"] = str(result.run_dir.resolve())
    run_name = cfg.tracking.get("run_name") or default_run_name(cfg)
    with job_run(cfg.tracking, run_name, params=flatten_config(cfg), tags=tags) as mlflow_run:
        log_job_outputs(result.metrics, result.artifacts, result.run_dir)
        run_id = mlflow_run.info.run_id
    (result.run_dir / "mlflow_run_id.txt").write_text(run_id + "\n")
    return run_id
