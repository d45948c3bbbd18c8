"""MLflow helpers shared by the main job, sweeps and the Optuna search: where the store is, the
experiment, the config as params. A job's run itself is `visframe.tracking.job.JobTracker`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

# MLflow's limit: 6,000 characters per param value (MLflow >= 2).
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
