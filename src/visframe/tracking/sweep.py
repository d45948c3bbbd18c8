"""MLflow parent runs for sweeps: one parent per Hydra multirun (or Optuna study), one child per job.

The parent is created with the client API, not `mlflow.start_run`, so it is never the active run:
jobs start their own (child) runs with `visframe.tracking.job.JobTracker`. The parent's id is
written into the sweep folder (contracts.MLFLOW_PARENT_RUN_ID_FILE), where every job finds it
(`parent_run_of`; visframe.cli puts it in the job's Session) whichever launcher runs it, in this
process or another. When the sweep ends, the parent gets the summary (visframe.tracking.summary: CSV
tables, their PNGs, the confidence plot per job and `index.html`) as artifacts under `summary/`;
the swept parameters are read from the multirun's overrides (and the Optuna sweeper's `params`),
not assumed.

Registered for every multirun in conf/hydra/default.yaml:

    callbacks:
      mlflow_sweep:
        _target_: visframe.tracking.sweep.MlflowSweepCallback
"""

from __future__ import annotations

import atexit
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from visframe import contracts as C
from visframe.run_dir import RunDir
from visframe.tracking.mlflow_tracking import provenance_tags, resolve_tracking_uri, setup_experiment

# visframe.tracking.summary (pandas, scikit-learn, matplotlib) is imported when a sweep ends: Hydra
# builds this callback for every run, single runs included, which never need it.

log = logging.getLogger("visframe")



def parent_run_of(sweep_dir: str | Path) -> str | None:
    """The MLflow parent run of the multirun in `sweep_dir` (None when it was not tracked)."""
    return RunDir(sweep_dir).mlflow_run_id_in(C.MLFLOW_PARENT_RUN_ID_FILE)


def start_parent_run(
    tracking_cfg: DictConfig | Mapping, run_name: str, tags: Mapping[str, str] | None = None,
    params: Mapping[str, Any] | None = None,
) -> str:
    """Create (not activate) the parent run; return its id."""
    from mlflow.tracking import MlflowClient

    experiment_id = setup_experiment(tracking_cfg)
    client = MlflowClient(resolve_tracking_uri(tracking_cfg))
    all_tags = {**provenance_tags(), "mlflow.runName": run_name, "visframe.kind": "sweep", **dict(tags or {})}
    run = client.create_run(experiment_id, run_name=run_name, tags=all_tags)
    for key, value in (params or {}).items():
        client.log_param(run.info.run_id, key, str(value)[:6000])
    return run.info.run_id


def log_parent_summary(tracking_cfg: DictConfig | Mapping, run_id: str, files: list[Path], metrics: Mapping[str, float] | None = None) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(resolve_tracking_uri(tracking_cfg))
    for path in files:
        client.log_artifact(run_id, str(path), artifact_path="summary")
    for key, value in (metrics or {}).items():
        client.log_metric(run_id, key, float(value))


def end_parent_run(tracking_cfg: DictConfig | Mapping, run_id: str, status: str = "FINISHED") -> None:
    from mlflow.tracking import MlflowClient

    MlflowClient(resolve_tracking_uri(tracking_cfg)).set_terminated(run_id, status=status)


def summarise_sweep(sweep_dir: str | Path, tracking_cfg: DictConfig | Mapping | None, run_id: str | None,
                    confidence_threshold: float = 0.85, swept: list[str] | tuple[str, ...] = ()) -> list[Path]:
    """Write `<sweep_dir>/summary/` from the job dirs and, with a parent run, log it there.

    `swept`: the keys the sweep varies (`sweep_parameters(config)`); the jobs' own overrides are
    read either way, so a summary made later from the directory alone finds them too.
    """
    from visframe.tracking.summary import find_job_dirs, write_summary

    job_dirs = find_job_dirs(sweep_dir)
    files = write_summary(job_dirs, Path(sweep_dir) / "summary", confidence_threshold, swept)
    if run_id and tracking_cfg is not None and files:
        import pandas as pd

        jobs = pd.read_csv(Path(sweep_dir) / "summary" / "jobs.csv")
        counts = {"n_jobs": len(jobs), "n_failed": int((jobs["status"] != "ok").sum())}
        log_parent_summary(tracking_cfg, run_id, files, counts)
    return files


def sweep_parameters(config: DictConfig) -> list[str]:
    """The keys a multirun sweeps: its sweep overrides (`a=1,2`, `b=range(…)`, `c=choice(…)`) and the
    sweeper's own `params` (the Optuna sweeper's search space), in that order, without repeats."""
    from visframe.tracking.summary import swept_keys

    task = OmegaConf.select(config, "hydra.overrides.task", default=None)
    keys = swept_keys([str(o) for o in OmegaConf.to_container(task, resolve=False)] if task is not None else [])
    params = OmegaConf.select(config, "hydra.sweeper.params", default=None)
    if isinstance(params, DictConfig):
        keys += [str(k) for k in params]
    return list(dict.fromkeys(keys))


class MlflowSweepCallback(Callback):
    """Parent MLflow run + summary tables for a Hydra multirun (no-op for single runs)."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._run_id: str | None = None
        self._config: DictConfig | None = None
        self._finished = False

    def _tracking(self, config: DictConfig) -> DictConfig | None:
        tracking = config.get("tracking")
        return tracking if tracking is not None and tracking.get("enabled", True) else None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if not self.enabled:
            return
        self._config = config
        self._finished = False
        tracking = self._tracking(config)
        sweep_dir = Path(str(config.hydra.sweep.dir))
        if tracking is None:
            RunDir(sweep_dir).remove(C.MLFLOW_PARENT_RUN_ID_FILE)  # a stale parent of an earlier sweep here
            return
        overrides = [str(o) for o in OmegaConf.to_container(config.hydra.overrides.task, resolve=False)]
        run_name = f"sweep {sweep_dir.name}" if sweep_dir.name else "sweep"
        self._run_id = start_parent_run(
            tracking, run_name,
            tags={"visframe.sweep_dir": str(sweep_dir.resolve()), "visframe.overrides": " ".join(overrides)[:5000]},
            params={"sweep.overrides": " ".join(overrides)},
        )
        RunDir(sweep_dir).write_text(C.MLFLOW_PARENT_RUN_ID_FILE, self._run_id + "\n")
        # If a job fails, Hydra raises before on_multirun_end: still summarise what finished and
        # close the parent as FAILED, rather than leave it RUNNING forever.
        atexit.register(self._finish, "FAILED")
        log.info("MLflow parent run %s for this sweep (%s)", self._run_id, sweep_dir)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if self.enabled:
            self._config = config
            self._finish("FINISHED")

    def _finish(self, status: str) -> None:
        if self._finished or self._config is None:
            return
        self._finished = True
        config = self._config
        sweep_dir = Path(str(config.hydra.sweep.dir))
        threshold = float(OmegaConf.select(config, "evaluation.confidence_threshold", default=0.85))
        tracking = self._tracking(config)
        try:
            files = summarise_sweep(sweep_dir, tracking, self._run_id, threshold, sweep_parameters(config))
            if files:
                log.info("Sweep summary: %s", sweep_dir / "summary")
        finally:
            if self._run_id and tracking is not None:
                end_parent_run(tracking, self._run_id, status)
