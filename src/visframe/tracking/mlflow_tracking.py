"""MLflow helpers shared by the main job, sweeps and the Optuna search: where the store is, the
experiment, the config as params, who ran what (provenance tags). A job's run itself is
`visframe.tracking.job.JobTracker`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

import visframe

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


VERSION_TAG = "visframe.version"


def provenance_tags() -> dict[str, str]:
    """The tags MLflow's UI shows as "Created by" and "Source", and the code that ran.

    MLflow's fluent `start_run` sets `mlflow.user`, `mlflow.source.name` and `mlflow.source.type`
    from its context providers; the client API we use (visframe.tracking.job) does not, so we ask
    the same providers (`mlflow.tracking.context.registry.resolve_tags`). The git commit comes from
    the visframe package's own folder, not the command's path: the code that ran, present when it
    runs from a git checkout (an editable install), absent for an installed wheel.
    """
    from mlflow.tracking.context.registry import resolve_tags
    from mlflow.utils import git_utils
    from mlflow.utils.mlflow_tags import MLFLOW_GIT_BRANCH, MLFLOW_GIT_COMMIT, MLFLOW_GIT_REPO_URL

    tags = {k: str(v) for k, v in resolve_tags({}).items()}
    # MLflow's git provider looks at the command's file (a console script in a venv): drop its
    # answer and ask where the package lives.
    for key in (MLFLOW_GIT_COMMIT, MLFLOW_GIT_BRANCH, MLFLOW_GIT_REPO_URL):
        tags.pop(key, None)
    package = str(Path(visframe.__file__).resolve().parent)
    commit = git_utils.get_git_commit(package)
    if commit:
        tags[MLFLOW_GIT_COMMIT] = commit
        for key, value in ((MLFLOW_GIT_BRANCH, git_utils.get_git_branch(package)),
                           (MLFLOW_GIT_REPO_URL, git_utils.get_git_repo_url(package))):
            if value:
                tags[key] = str(value)
    tags[VERSION_TAG] = visframe.__version__
    return tags


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
