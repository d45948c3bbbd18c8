"""MLflow helpers shared by the main job, sweeps and the Optuna search."""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

# MLflow limits: 100 params per batch call, 6,000 characters per param value (MLflow >= 2).
_PARAMS_PER_BATCH = 100
_MAX_PARAM_CHARS = 6000


def resolve_tracking_uri(tracking_cfg: DictConfig | Mapping) -> str:
    """The configured URI, else a SQLite store inside `<cwd>/<store_dir>` (MLflow 3's file store is refused)."""
    uri = tracking_cfg.get("tracking_uri")
    if uri:
        return str(uri)
    store = Path(tracking_cfg.get("store_dir") or "mlruns").expanduser().resolve()
    store.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{store / 'mlflow.db'}"


def _artifact_root(tracking_cfg: DictConfig | Mapping) -> str | None:
    uri = tracking_cfg.get("tracking_uri")
    if uri and not str(uri).startswith("sqlite"):
        return None  # a server decides where artifacts go
    store = Path(tracking_cfg.get("store_dir") or "mlruns").expanduser().resolve()
    return (store / "artifacts").as_uri()


def setup_experiment(tracking_cfg: DictConfig | Mapping) -> str:
    """Point MLflow at the store and return the experiment id (created on first use)."""
    import mlflow

    mlflow.set_tracking_uri(resolve_tracking_uri(tracking_cfg))
    name = tracking_cfg.get("experiment_name") or "visframe"
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    try:
        return mlflow.create_experiment(name, artifact_location=_artifact_root(tracking_cfg))
    except Exception:  # another process created it between our two calls
        experiment = mlflow.get_experiment_by_name(name)
        if experiment is None:
            raise
        return experiment.experiment_id


def flatten_config(config: DictConfig | Mapping, prefix: str = "") -> dict[str, str]:
    """`{"reducer.n_neighbors": "25", ...}`: the resolved config as MLflow params."""
    if isinstance(config, DictConfig):
        config = OmegaConf.to_container(config, resolve=True)
    flat: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_config(value, prefix=f"{name}."))
        else:
            flat[name] = str(value)[:_MAX_PARAM_CHARS]
    return flat


@contextlib.contextmanager
def job_run(
    tracking_cfg: DictConfig | Mapping,
    run_name: str,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    parent_run_id: str | None = None,
) -> Iterator[Any]:
    """An MLflow run for one job; a child of `parent_run_id` (or of $VISFRAME_PARENT_RUN_ID) when set."""
    import mlflow

    experiment_id = setup_experiment(tracking_cfg)
    parent_run_id = parent_run_id or os.environ.get("VISFRAME_PARENT_RUN_ID") or None
    all_tags = dict(tags or {})
    if parent_run_id:
        all_tags["mlflow.parentRunId"] = parent_run_id
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=all_tags) as run:
        if params:
            items = list(params.items())
            for start in range(0, len(items), _PARAMS_PER_BATCH):
                mlflow.log_params(dict(items[start : start + _PARAMS_PER_BATCH]))
        yield run


def log_job_outputs(metrics: Mapping[str, float], artifacts: list[Path], run_dir: Path) -> None:
    """Log finite metrics and each artifact under its path relative to the run directory."""
    import mlflow

    finite = {k: float(v) for k, v in metrics.items() if v is not None and math.isfinite(float(v))}
    if finite:
        mlflow.log_metrics(finite)
    for path in artifacts:
        path = Path(path)
        if not path.exists():
            continue
        relative_parent = path.parent.relative_to(run_dir) if path.is_relative_to(run_dir) else Path()
        artifact_path = None if str(relative_parent) in ("", ".") else str(relative_parent)
        if path.is_dir():
            mlflow.log_artifacts(str(path), artifact_path=str(path.relative_to(run_dir)))
        else:
            mlflow.log_artifact(str(path), artifact_path=artifact_path)
