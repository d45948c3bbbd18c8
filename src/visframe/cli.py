"""The `visframe` command: one Hydra app composing dataset × model × reducer × clusterer.

    visframe                                   # synthetic corpus, EfficientNet-Lite0, UMAP, HDBSCAN
    visframe dataset=folder dataset.root=DIR   # your own folder
    visframe -m clusterer.min_cluster_size=20,40,80

A problem you can fix (a missing folder, a value out of range, missing weights, a locked MLflow
store) prints one message with the fix and exits with code 2; `HYDRA_FULL_ERROR=1` (or
`VISFRAME_DEBUG=1`) shows the traceback too. SIGTERM or SIGHUP (`kill`, `timeout`, a scheduler, a
closed terminal) ends the job like Ctrl-C: its MLflow run ends KILLED with the outputs so far, and
the command exits with 128 + the signal number (visframe.tracking.termination).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from visframe import CONFIG_DIR
from visframe.errors import exit_on_user_error
from visframe.session import Session
from visframe.tracking.termination import exit_on_signal

log = logging.getLogger("visframe")
# What this process remembers between jobs: Hydra's basic launcher runs every job of a multirun in
# this process, and each reads the same metadata, vectors and kNN graph. The entry point owns the
# one Session; everything below takes it as a parameter.
_PROCESS_SESSION = Session()


def _use_persistent_numba_cache(cache_dir: str) -> None:
    # umap-learn / pynndescent / fast_hdbscan compile numba code in every new process (10-35 s);
    # with a cache directory of ours the second process loads it from disk. Must be set before
    # numba is first imported, which happens lazily when the reducer is built; and most of
    # umap-learn's and pynndescent's functions are cached only once utils.numba_cache says so (as
    # they are imported: a job that fits no UMAP imports neither).
    from visframe.utils.numba_cache import cache_library_code

    os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(cache_dir).expanduser() / "numba"))
    cache_library_code()


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="config")
def main(cfg: DictConfig) -> float | None:
    _use_persistent_numba_cache(str(cfg.paths.cache_dir))
    with exit_on_user_error(log), exit_on_signal(log):
        return _job(cfg)


def _job_session(hydra_cfg) -> Session:
    """The process's Session, with the multirun's MLflow parent run when this job is one of a sweep
    (the sweep callback wrote it into the sweep folder; any launcher's jobs find it there)."""
    from hydra.types import RunMode

    from visframe.tracking.sweep import parent_run_of

    parent = parent_run_of(str(hydra_cfg.sweep.dir)) if hydra_cfg.mode == RunMode.MULTIRUN else None
    return dataclasses.replace(_PROCESS_SESSION, parent_run_id=parent)  # the same memos, this job's parent


def _job(cfg: DictConfig) -> float | None:
    from visframe.evaluate.registry import SUMMARY_METRICS, get_metric
    from visframe.pipeline import run

    objective_name = str(cfg.optimized_metric)
    get_metric(objective_name)  # an unknown name fails now, not after the job
    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    result = run(cfg, run_dir, _job_session(hydra_cfg))
    metrics = result.metrics
    summary = ", ".join(f"{name}={metrics[name]:.3f}" for name in SUMMARY_METRICS if metrics.get(name) is not None)
    log.info("Done: %s", summary)
    log.info("Results: %s", run_dir.resolve())
    if result.mlflow_run_id:
        log.info("MLflow run %s (browse with `make ui`)", result.mlflow_run_id)
    # The return value lets Hydra sweepers optimise `optimized_metric` (lightning-hydra-template style).
    objective = metrics.get(objective_name)
    return None if objective is None else float(objective)


if __name__ == "__main__":
    main()
