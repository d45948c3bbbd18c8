"""One job's MLflow run, as MLflow users expect to see it: opened when the job starts, ended FINISHED,
FAILED or KILLED, stage timings as metrics, the image set as a dataset input, who ran which code.

- Provenance: the run carries MLflow's own source tags ("Created by", "Source", the git commit of
  the code that ran: `mlflow_tracking.provenance_tags`) and `visframe.version`; the resolved config
  is `config.yaml` among the artifacts (tag `visframe.config`), beside the flattened params.
- Every registry metric for every job: a metric the job reports but cannot define (silhouette or
  DBCV with no cluster, NaN in metrics.json) is logged as the registry's worst value
  (visframe.evaluate.registry), so no chart draws a degenerate job as the best one (MLflow's
  parallel-coordinates plot puts a missing value above the best); the run is tagged
  `visframe.undefined_metrics` (which ones) and, with no cluster at all, `visframe.no_clusters`.
  metrics.json keeps them undefined (null): the worst value is only what a ranking counts them as.
- Stopped from outside (SIGTERM / SIGHUP through visframe.tracking.termination, or Ctrl-C), the run
  ends KILLED; on any failure the run directory's files so far are logged as artifacts (config.yaml
  first, within `OUTPUTS_ON_FAILURE_SECONDS`: a scheduler waits only so long before SIGKILL).

The run is created with the client API (never the fluent "active run"), so several jobs of a Hydra
multirun in one process, or a sweep's parent run, cannot leak into each other. Opening the run is the
reachability check: an unreachable or read-only store stops the job before any expensive stage. At
the end, a store locked by another process (SQLite's "database is locked") is retried for a few
seconds; if it stays locked the outputs are kept, `mlflow_pending.txt` says how to log them later,
and the job still fails (exit code 2), so nothing is silently untracked.
"""

from __future__ import annotations

import contextlib
import logging
import math
import sys
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from visframe import contracts as C
from visframe.errors import TrackingError
from visframe.evaluate.registry import METRICS
from visframe.run_dir import RunDir
from visframe.session import Memo
from visframe.tracking.mlflow_tracking import provenance_tags, resolve_tracking_uri, setup_experiment
from visframe.tracking.termination import Terminated, ended_by_user

log = logging.getLogger("visframe")

_PARAMS_PER_BATCH = 100
_METRICS_PER_BATCH = 1000
# Tells the MLflow 3 UI this experiment holds model-training runs (not GenAI traces), so it opens on
# the runs table instead of the GenAI overview.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"
# MLflow's SQLite store already waits 20 s on a lock in every call (PRAGMA busy_timeout), so one
# more try after a pause is "briefly": about 40 s before the job gives up and says how to log later.
RETRY_SECONDS = (1.0,)
# Where the job's outputs are (the pipeline sets it): a failed run logs what is there so far.
RUN_DIR_TAG = "visframe.run_dir"
CONFIG_TAG = "visframe.config"
NO_CLUSTERS_TAG = "visframe.no_clusters"
UNDEFINED_METRICS_TAG = "visframe.undefined_metrics"
ENDED_BY_TAG = "visframe.ended_by"
# Slurm waits 30 s between SIGTERM and SIGKILL by default, Docker 10 s: log what fits in that.
OUTPUTS_ON_FAILURE_SECONDS = 8.0


def tracked_metrics(metrics: Mapping[str, Any]) -> tuple[dict[str, float], list[str]]:
    """The metrics as MLflow gets them, and the registry metrics that were undefined.

    A registry metric with a worst value that the job reports as undefined (NaN or None) is logged
    as that worst value; a metric the job did not compute at all (no ground truth: no `ari`;
    `evaluation.dbcv=false`) stays absent, as in every other job of its config. Infinite values
    (Davies-Bouldin's worst) go to MLflow as they are; its SQL store keeps them as ±1.8e308.
    """
    def defined(value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(float(value))

    tracked = {key: float(value) for key, value in metrics.items() if defined(value)}
    worst = {m.name: m.worst for m in METRICS if m.worst is not None}
    undefined = [name for name in worst if name in metrics and name not in tracked]
    tracked.update({name: float(worst[name]) for name in undefined})
    return tracked, undefined


def _client(tracking_cfg: Mapping):
    from mlflow.tracking import MlflowClient

    return MlflowClient(resolve_tracking_uri(tracking_cfg))


def _is_transient(error: Exception) -> bool:
    text = str(error).lower()
    return "locked" in text or "busy" in text or "timeout" in text or "temporarily" in text


def _retry(action, what: str):
    """Run `action`, retrying briefly when the store is locked or busy."""
    for delay in (*RETRY_SECONDS, None):
        try:
            return action()
        except Exception as error:
            if delay is None or not _is_transient(error):
                raise
            log.warning("MLflow store busy while %s (%s); retrying in %.1f s", what, str(error).splitlines()[0], delay)
            time.sleep(delay)
    raise AssertionError("unreachable")


class JobTracker:
    """The MLflow run of one job. `start()` before any work; `finish()` or `fail()` at the end."""

    def __init__(self, tracking_cfg: Mapping, run_name: str, params: Mapping[str, Any], tags: Mapping[str, str],
                 parent_run_id: str | None = None, dataset_profiles: Memo | None = None):
        self.tracking_cfg = tracking_cfg
        self.parent_run_id = parent_run_id  # a sweep's or study's parent run (Session.parent_run_id)
        # (digest, columns, rows) → the (schema, profile) MLflow inferred for that image set: every job
        # of a sweep logs the same manifest, and inferring them again took 0.1 s a job at 20,000 posts.
        self.dataset_profiles = dataset_profiles if dataset_profiles is not None else Memo(1)
        self.run_name = run_name
        self.params = dict(params)
        self.tags = dict(tags)
        self.run_id: str | None = None
        self._client_obj = None

    @property
    def uri(self) -> str:
        return resolve_tracking_uri(self.tracking_cfg)

    def start(self) -> str:
        """Create the run (status RUNNING) and log its params; a TrackingError names the store and the fix."""
        try:
            experiment_id = setup_experiment(self.tracking_cfg)
            client = self._client_obj = _client(self.tracking_cfg)
            client.set_experiment_tag(experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
            tags = {**provenance_tags(), CONFIG_TAG: C.CONFIG_FILE, **self.tags}
            if self.parent_run_id:
                tags["mlflow.parentRunId"] = self.parent_run_id
            run = _retry(lambda: client.create_run(experiment_id, run_name=self.run_name, tags=tags), "creating the run")
            self.run_id = run.info.run_id
            self._log_params()
        except TrackingError:
            raise
        except Exception as error:
            raise TrackingError(
                f"cannot open an MLflow run in {self.uri}: {str(error).splitlines()[0]}",
                fix="check that the store is reachable and writable (MLFLOW_TRACKING_URI / tracking.tracking_uri), "
                "or run without tracking: tracking.enabled=false",
            ) from error
        return self.run_id

    def _log_params(self) -> None:
        from mlflow.entities import Param

        items = [Param(k, str(v)) for k, v in self.params.items()]
        for begin in range(0, len(items), _PARAMS_PER_BATCH):
            batch = items[begin : begin + _PARAMS_PER_BATCH]
            _retry(lambda batch=batch: self._client_obj.log_batch(self.run_id, params=batch), "logging params")

    def log_metrics(self, metrics: Mapping[str, float]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        numbers = [  # NaN dropped (undefined); ±inf kept (a registry's worst)
            Metric(k, float(v), now, 0)
            for k, v in metrics.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isnan(float(v))
        ]
        for begin in range(0, len(numbers), _METRICS_PER_BATCH):
            batch = numbers[begin : begin + _METRICS_PER_BATCH]
            _retry(lambda batch=batch: self._client_obj.log_batch(self.run_id, metrics=batch), "logging metrics")

    def set_tags(self, tags: Mapping[str, str]) -> None:
        for key, value in tags.items():
            # MLflow keeps tag values up to 5,000 characters on every backend.
            _retry(lambda k=key, v=value: self._client_obj.set_tag(self.run_id, k, str(v)[:5000]), f"tagging {key}")

    def log_dataset(self, manifest: pd.DataFrame, manifest_path: Path, name: str, digest: str) -> None:
        """The image set as an MLflow dataset input (fills the runs table's Dataset column)."""
        import mlflow.data
        from mlflow.entities import Dataset, DatasetInput, InputTag
        from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

        # The schema and profile MLflow records come from the frame: a few light columns suffice.
        light = manifest[[c for c in (C.IMAGE_ID, C.STATUS, C.LABEL) if c in manifest.columns]].astype("string")
        key = (digest[:36], tuple(light.columns), len(light))
        facts = self.dataset_profiles.get(key)
        with warnings.catch_warnings():
            # A local path matches two of MLflow's equivalent local sources; it picks one and says so.
            warnings.filterwarnings("ignore", message="The specified dataset source can be interpreted")
            dataset = mlflow.data.from_pandas(light if facts is None else light.head(0),
                                              source=str(manifest_path.resolve()), name=name, digest=digest[:36])
        described = dataset.to_dict()
        if facts is None:
            facts = (described.get("schema"), described.get("profile"))
            self.dataset_profiles.put(key, facts)
        entity = DatasetInput(
            Dataset(name=described["name"], digest=described["digest"], source_type=described["source_type"],
                    source=described["source"], schema=facts[0], profile=facts[1]),
            tags=[InputTag(MLFLOW_DATASET_CONTEXT, "training")],
        )
        _retry(lambda: self._client_obj.log_inputs(self.run_id, datasets=[entity]), "logging the dataset")

    def finish(self, metrics: Mapping[str, float], artifacts: list[Path], run_dir: Path) -> None:
        """Log metrics and artifacts, end FINISHED. If the store stays locked: pending file + TrackingError."""
        tracked, undefined = tracked_metrics(metrics)
        try:
            self.log_metrics(tracked)
            self._tag_undefined(metrics, undefined)
            for path in artifacts:
                self._log_artifact(Path(path), run_dir)
            _retry(lambda: self._client_obj.set_terminated(self.run_id, "FINISHED"), "ending the run")
        except Exception as error:
            pending = RunDir(run_dir).write_text(
                C.TRACKING_PENDING_FILE,
                f"MLflow run {self.run_id} in {self.uri} could not be completed: {str(error).splitlines()[0]}\n"
                f"All outputs are in {run_dir.resolve()}. To log them later, run:\n"
                f"  mlflow artifacts log-artifacts --local-dir {run_dir.resolve()} --run-id {self.run_id}\n"
            )
            with contextlib.suppress(Exception):  # the store is the problem; nothing more to do
                self._client_obj.set_terminated(self.run_id, "FAILED")
            raise TrackingError(
                f"the job's outputs are complete in {run_dir}, but logging them to MLflow ({self.uri}) failed: "
                f"{str(error).splitlines()[0]}",
                fix=f"see {pending} for the command that logs them once the store is free",
            ) from error

    def _log_artifact(self, path: Path, run_dir: Path) -> None:
        if not path.exists():
            return
        relative = path.relative_to(run_dir) if path.is_relative_to(run_dir) else Path(path.name)
        if path.is_dir():
            _retry(lambda: self._client_obj.log_artifacts(self.run_id, str(path), str(relative)), f"logging {relative}")
        else:
            parent = None if str(relative.parent) in ("", ".") else str(relative.parent)
            _retry(lambda: self._client_obj.log_artifact(self.run_id, str(path), parent), f"logging {relative}")

    def _tag_undefined(self, metrics: Mapping[str, Any], undefined: list[str]) -> None:
        tags = {}
        if undefined:
            tags[UNDEFINED_METRICS_TAG] = ",".join(undefined)
        clusters = metrics.get("n_clusters")
        if isinstance(clusters, (int, float)) and clusters == 0:
            tags[NO_CLUSTERS_TAG] = "true"
        self.set_tags(tags)

    def fail(self, status: str | None = None) -> None:
        """End the run (the job raised): KILLED when stopped from outside (the exception being handled
        is a signal's or Ctrl-C's), else FAILED, after logging the outputs so far. Never raises."""
        if self.run_id is None or self._client_obj is None:
            return
        error = sys.exc_info()[1]
        status = status or ("KILLED" if ended_by_user(error) else "FAILED")
        try:
            if isinstance(error, Terminated):
                self._client_obj.set_tag(self.run_id, ENDED_BY_TAG, error.signal_name)
            elif isinstance(error, KeyboardInterrupt):
                self._client_obj.set_tag(self.run_id, ENDED_BY_TAG, "SIGINT")
            self._log_outputs_so_far()
        except BaseException as logging_error:  # noqa: BLE001 - a second signal, a locked store: end the run anyway
            log.warning("MLflow run %s: could not log the outputs so far: %s", self.run_id, logging_error)
        try:
            self._client_obj.set_terminated(self.run_id, status)
        except Exception as error:  # noqa: BLE001 - keep the job's own error in front
            log.warning("could not mark MLflow run %s as %s: %s", self.run_id, status, error)

    def _log_outputs_so_far(self) -> None:
        """The run directory's files (not folders) as artifacts, config.yaml first, within the time
        a scheduler leaves between SIGTERM and SIGKILL; one try each (no retries on the way out)."""
        where = self.tags.get(RUN_DIR_TAG)
        run_dir = Path(where) if where else None
        if run_dir is None or not run_dir.is_dir():
            return
        files = sorted((p for p in run_dir.iterdir() if p.is_file() and not p.name.startswith(".")),
                       key=lambda p: (p.name != C.CONFIG_FILE, p.stat().st_size, p.name))
        deadline = time.monotonic() + OUTPUTS_ON_FAILURE_SECONDS
        for path in files:
            if time.monotonic() > deadline:
                log.warning("MLflow run %s: the rest of the outputs stay in %s only", self.run_id, run_dir)
                return
            self._client_obj.log_artifact(self.run_id, str(path))
