"""`visframe-tune`: an Optuna search over visframe jobs, resumable, tracked in MLflow.

    visframe-tune tune.n_trials=20 tune.study_name=mcs 'clusterer.min_cluster_size=int(interval(10,200))'

The config is composed with Hydra's compose API from conf/ (+ conf/tune/default.yaml), so every
override a `visframe` run accepts works here. Overrides written as Hydra sweeps — interval(a,b),
int(interval(a,b)), tag(log,interval(a,b)), range(a,b,step=s), choice(x,y), x,y,z — become the
search space (Optuna distributions); the rest fix a parameter for every trial.

- Storage: Optuna RDB storage (SQLite by default, `tune.storage`). Killed and rerun with the same
  study name, the search resumes: trials left RUNNING by the killed process are marked FAIL and
  their parameters re-queued, and only the missing trials run, up to `tune.n_trials` finished
  (`recover_killed_trials` says how a killed trial is told from a running one). SIGTERM / SIGHUP
  end the search at once the same way, its current trial marked FAIL and re-queued for the resume.
- The study names its objectives (`study.set_metric_names`: "dbcv", not "Objective 0" in
  optuna-dashboard); every trial carries its job's MLflow run id (`mlflow_run_id`), its run
  directory, and, when an objective was undefined (no cluster at all, or one), why, and the worst
  value it was scored as (`objective_undefined`).
- MLflow: one parent run per study (its id is kept in the study's user attributes, so a resumed
  study logs under the same parent); every trial's job is a child run of it. The study runs its
  trials with one `visframe.session.Session(parent_run_id=parent)`: the parent reaches each job
  through it, not an environment variable, and the trials share its memos (metadata, cached
  vectors, the kNN graph, term matrices), as the jobs of a multirun in one process do.
  The parent gets the objective per trial (step = trial number), trials.csv, the optimisation
  history, the best trial, and the same summary tables as a multirun.
- Objective: `tune.objective`, a metrics.json name or a list of names (multi-objective).
"""

from __future__ import annotations

import datetime
import logging
import math
import os
import socket
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

log = logging.getLogger("visframe.tune")

from visframe import CONFIG_DIR
from visframe.errors import ConfigError, exit_on_user_error
from visframe.evaluate.registry import REGISTRY, direction_of, optimizable_metrics, worst_value
from visframe.run_dir import RunDir
from visframe.session import Session
from visframe.tracking.termination import Terminated, exit_on_signal, signals_end_the_job
from visframe.utils.csv_safe import to_csv_safe

# A trial's job: (config, run directory, the study's session) → its metrics. The pipeline by default.
RunTrial = Callable[[DictConfig, Path, Session], Mapping[str, float]]


# ------------------------------------------------------------------------------ search space


def parse_overrides(overrides: list[str]) -> tuple[list[str], dict[str, Any]]:
    """Split command-line overrides into fixed ones and the search space (name → distribution)."""
    import optuna.distributions as dist
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep

    fixed: list[str] = []
    space: dict[str, Any] = {}
    for override in OverridesParser.create().parse_overrides(overrides):
        if not override.is_sweep_override():
            fixed.append(override.input_line)
            continue
        key, value = override.get_key_element(), override.value()
        if isinstance(value, IntervalSweep):
            log_scale = "log" in value.tags
            if isinstance(value.start, int) and isinstance(value.end, int):
                space[key] = dist.IntDistribution(value.start, value.end, log=log_scale)
            else:
                space[key] = dist.FloatDistribution(float(value.start), float(value.end), log=log_scale)
        elif isinstance(value, RangeSweep):
            # Hydra's range is Python's: the stop value is excluded.
            values = list(override.sweep_iterator())
            if all(isinstance(v, int) for v in values):
                space[key] = dist.IntDistribution(int(values[0]), int(values[-1]), step=int(value.step))
            else:
                space[key] = dist.CategoricalDistribution(values)
        elif isinstance(value, ChoiceSweep):
            space[key] = dist.CategoricalDistribution(list(override.sweep_string_iterator()))
        else:
            raise ConfigError(
                f"{override.input_line}: this sweep form has no Optuna distribution",
                fix="use interval(a,b), int(interval(a,b)), range(a,b,step=s) or choice(...)",
            )
    return fixed, space


def suggest(trial, name: str, distribution) -> Any:
    """The public Optuna suggest call for a distribution parsed from an override."""
    import optuna.distributions as dist

    if isinstance(distribution, dist.IntDistribution):
        return trial.suggest_int(name, distribution.low, distribution.high, step=distribution.step, log=distribution.log)
    if isinstance(distribution, dist.FloatDistribution):
        return trial.suggest_float(name, distribution.low, distribution.high, step=distribution.step, log=distribution.log)
    return trial.suggest_categorical(name, distribution.choices)


def objectives_and_directions(tune_cfg: DictConfig) -> tuple[list[str], list[str]]:
    """Objective names and directions; directions come from the metric registry unless set."""
    objective = tune_cfg.objective
    names = [str(objective)] if isinstance(objective, str) else [str(o) for o in objective]
    if tune_cfg.get("directions"):
        directions = [str(d) for d in tune_cfg.directions]
    else:
        unknown = [n for n in names if n not in REGISTRY or REGISTRY[n].direction is None]
        if unknown:
            raise ConfigError(
                f"tune.objective: no known direction for {unknown}",
                fix="set tune.directions=[maximize|minimize,...], or optimise a registered metric: "
                + ", ".join(optimizable_metrics()),
            )
        directions = [direction_of(n) for n in names]
    if len(directions) != len(names):
        raise ConfigError(
            f"tune.directions has {len(directions)} entries for {len(names)} objectives",
            fix="give one direction (maximize|minimize) per objective, or leave tune.directions=null",
        )
    return names, directions


def objective_values(metrics: Mapping[str, float], names: list[str], directions: list[str]) -> list[float]:
    values = []
    for name, direction in zip(names, directions, strict=True):
        value = metrics.get(name)
        if value is None or not math.isfinite(float(value)):
            worst = worst_value(name) if name in REGISTRY else None
            if worst is None:
                raise ValueError(f"metric {name!r} is undefined for this trial and has no worst value")
            value = worst
        values.append(float(value))
    return values


def undefined_objective_reason(metrics: Mapping[str, float], names: list[str]) -> str | None:
    """Why a trial's objective was scored as its worst value (None when every objective is defined)."""
    undefined = [n for n in names if metrics.get(n) is None or not math.isfinite(float(metrics[n]))]
    if not undefined:
        return None
    clusters = metrics.get("n_clusters")
    if clusters == 0:
        why = "no clusters: every image is noise"
    elif clusters == 1:
        why = "one cluster: nothing to compare it with"
    else:
        why = "undefined for this trial"
    scored = ", ".join(f"{n} scored as its worst value {worst_value(n):g}" for n in undefined if n in REGISTRY)
    return f"{why}; {scored}" if scored else why


# ------------------------------------------------------------------------------ study + MLflow


def storage_url(tune_cfg: DictConfig) -> str:
    if tune_cfg.get("storage"):
        return str(tune_cfg.storage)
    output = Path(str(tune_cfg.output_dir)).expanduser().resolve()
    output.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{output / 'optuna.db'}"


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_alive(worker: str) -> bool:
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine's worker: not ours to judge
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# Optuna creates a trial RUNNING (study.ask) a few milliseconds before the objective's first line
# marks it with its worker. A process killed in between leaves a RUNNING trial with no worker, which
# a check for dead workers alone never fails (the slow kill-and-resume test hit this: trial 5 RUNNING
# forever). A trial still unmarked this long after it started has no live worker.
UNMARKED_GRACE_SECONDS = 5.0


def _age_seconds(trial) -> float:
    started = trial.datetime_start  # Optuna stores local time without a zone (datetime.now())
    return math.inf if started is None else (datetime.datetime.now() - started).total_seconds()


def _orphans(study, storage, grace: float) -> list:
    """The RUNNING trials no live process owns: a dead worker on this host, or never marked."""
    from optuna.trial import TrialState

    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    orphans = [t for t in running if t.user_attrs.get("worker") and not _pid_alive(t.user_attrs["worker"])]
    unmarked = [t for t in running if not t.user_attrs.get("worker")]
    if unmarked:
        wait = max(0.0, grace - min(_age_seconds(t) for t in unmarked))
        if wait:
            log.info("Study %s: %d running trial(s) without a worker yet; checking again in %.1f s",
                     study.study_name, len(unmarked), wait)
            time.sleep(wait)
        again = [storage.get_trial(t._trial_id) for t in unmarked]
        orphans += [t for t in again if t.state == TrialState.RUNNING and not t.user_attrs.get("worker")]
    return orphans


def _running_here(study) -> list:
    from optuna.trial import TrialState

    return [t for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            if t.user_attrs.get("worker") == _worker_id()]


def fail_and_requeue(study, storage, trials) -> int:
    """Mark `trials` FAIL and queue their parameters again (`retry_of` names the trial retried)."""
    from optuna.trial import TrialState

    requeued = 0
    for trial in trials:
        if storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL):
            study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number}, skip_if_exists=False)
            requeued += 1
    return requeued


def recover_killed_trials(study, storage, grace: float = UNMARKED_GRACE_SECONDS) -> int:
    """Trials left RUNNING by a killed process on this host → FAIL, their parameters re-queued.

    A trial's owner is the `worker` user attribute (host:pid) its objective sets first; a trial
    whose worker's pid is gone on this host was killed; one without a worker `grace` seconds after
    it started was killed between Optuna creating it and our objective marking it. A worker on
    another host is not ours to judge: its trials are left alone.
    """
    recovered = fail_and_requeue(study, storage, _orphans(study, storage, grace))
    if recovered:
        log.info("Resumed study %s: %d trial(s) killed mid-way re-queued", study.study_name, recovered)
    return recovered


def parent_run_for_study(study, tracking_cfg: DictConfig | None, tags: Mapping[str, str]) -> str | None:
    """The study's MLflow parent run: created once, found again in the study's user attributes."""
    if tracking_cfg is None or not tracking_cfg.get("enabled", True):
        return None
    from mlflow.tracking import MlflowClient

    from visframe.tracking.mlflow_tracking import resolve_tracking_uri
    from visframe.tracking.sweep import start_parent_run

    client = MlflowClient(resolve_tracking_uri(tracking_cfg))
    run_id = study.user_attrs.get("mlflow_parent_run_id")
    if run_id:
        try:
            client.update_run(run_id, status="RUNNING")
            return run_id
        except Exception:  # noqa: BLE001 - the MLflow store was reset: start a new parent
            log.warning("MLflow parent run %s of study %s not found: starting a new one", run_id, study.study_name)
    run_id = start_parent_run(tracking_cfg, f"optuna {study.study_name}", tags={"visframe.kind": "optuna", **tags})
    study.set_user_attr("mlflow_parent_run_id", run_id)
    return run_id


def pipeline_trial(cfg: DictConfig, run_dir: Path, session: Session) -> Mapping[str, float]:
    from visframe.pipeline import run

    return run(cfg, run_dir, session=session).metrics


def run_study(
    base_cfg: DictConfig,
    space: Mapping[str, Any],
    compose_trial: Callable[[list[str]], DictConfig],
    run_trial: RunTrial = pipeline_trial,
) -> Any:
    """Run (or resume) the study `base_cfg.tune` describes; return the Optuna study.

    `compose_trial(overrides)` gives a trial's config; `run_trial(cfg, run_dir, session)` runs the
    job and returns its metrics (the pipeline by default; tests pass a stand-in). Every trial gets
    the same Session, which carries the study's MLflow parent run.
    """
    import optuna
    from hydra.utils import instantiate
    from optuna.trial import TrialState

    from visframe.tracking.sweep import end_parent_run, log_parent_summary

    tune_cfg = base_cfg.tune
    if not space:
        raise ConfigError("empty search space", fix="give a sweep override, e.g. 'clusterer.min_cluster_size=int(interval(10,200))'")
    names, directions = objectives_and_directions(tune_cfg)
    output_dir = Path(str(tune_cfg.output_dir)).expanduser().resolve()
    output_dir.mkdir(parents=True, exist_ok=True)
    storage = optuna.storages.get_storage(storage_url(tune_cfg))
    study = optuna.create_study(
        study_name=str(tune_cfg.study_name), storage=storage, load_if_exists=True,
        directions=directions, sampler=instantiate(tune_cfg.sampler),
    )
    if study.metric_names != names:
        import warnings

        from optuna.exceptions import ExperimentalWarning

        with warnings.catch_warnings():  # experimental since Optuna 3.2, and what optuna-dashboard reads
            warnings.simplefilter("ignore", ExperimentalWarning)
            study.set_metric_names(names)  # the dashboard says "dbcv", not "Objective 0"
    recover_killed_trials(study, storage)
    tracking_cfg = base_cfg.get("tracking")
    tracking_cfg = tracking_cfg if tracking_cfg is not None and tracking_cfg.get("enabled", True) else None
    parent = parent_run_for_study(study, tracking_cfg, {"visframe.tune_dir": str(output_dir)})
    session = Session(parent_run_id=parent)
    finished_states = (TrialState.COMPLETE, TrialState.PRUNED)
    done = len(study.get_trials(deepcopy=False, states=finished_states))
    remaining = max(0, int(tune_cfg.n_trials) - done)
    log.info("Study %s: %d trial(s) finished, %d to run (objective %s, %s)", study.study_name, done, remaining,
             names, directions)

    def objective(trial):
        trial.set_user_attr("worker", _worker_id())
        params = {key: suggest(trial, key, distribution) for key, distribution in space.items()}
        run_dir = output_dir / f"trial_{trial.number:04d}"
        overrides = [f"{key}={value}" for key, value in params.items()] + [
            f"++tracking.tags.optuna_trial={trial.number}",
            f"++tracking.tags.optuna_study={study.study_name}",
            f"tracking.run_name={study.study_name}-trial{trial.number}",
        ]
        cfg = compose_trial(overrides)
        # The summary tables key rows by the overrides that differ between jobs (as in a multirun).
        RunDir(run_dir).write_overrides([f"{k}={v}" for k, v in params.items()])
        trial.set_user_attr("run_dir", str(run_dir))
        try:
            metrics = run_trial(cfg, run_dir, session)
        finally:  # a failed or killed trial still points to its MLflow run
            run_id = RunDir(run_dir).mlflow_run_id()
            if run_id:
                trial.set_user_attr("mlflow_run_id", run_id)
        values = objective_values(metrics, names, directions)
        for name in ("n_clusters", "noise_fraction", "silhouette", "dbcv"):
            if metrics.get(name) is not None and math.isfinite(float(metrics[name])):
                trial.set_user_attr(name, float(metrics[name]))
        reason = undefined_objective_reason(metrics, names)
        if reason:
            trial.set_user_attr("objective_undefined", reason)
        if parent:
            # The parent shows the search's progress: each objective per trial (step = trial number).
            from mlflow.tracking import MlflowClient

            from visframe.tracking.mlflow_tracking import resolve_tracking_uri

            client = MlflowClient(resolve_tracking_uri(tracking_cfg))
            for name, value in zip(names, values, strict=True):
                client.log_metric(parent, f"trial_{name}", value, step=trial.number)
        return values if len(values) > 1 else values[0]

    status = "FAILED"
    with signals_end_the_job():  # a second signal while the study closes is ignored
        try:
            if remaining:
                study.optimize(objective, n_trials=remaining, catch=(Exception,), gc_after_trial=False)
            status = "FINISHED"
        except (Terminated, KeyboardInterrupt):
            # A signal leaves the trial Optuna was running RUNNING: fail and re-queue it now, as a resume would.
            status = "KILLED"
            fail_and_requeue(study, storage, _running_here(study))
            raise
        finally:
            files = write_study_summary(study, output_dir, names)
            threshold = float(OmegaConf.select(base_cfg, "evaluation.confidence_threshold", default=0.85))
            job_files = summarise_sweep_dirs(output_dir, threshold)
            if parent:
                log_parent_summary(tracking_cfg, parent, files + job_files)
                end_parent_run(tracking_cfg, parent, status)
    return study


def summarise_sweep_dirs(output_dir: Path, threshold: float) -> list[Path]:
    from visframe.tracking.summary import write_summary

    trial_dirs = sorted(d for d in output_dir.glob("trial_*") if d.is_dir())
    return write_summary(trial_dirs, output_dir / "summary", threshold)


def write_study_summary(study, output_dir: Path, names: list[str]) -> list[Path]:
    """trials.csv (every trial: state, parameters, objective values) and the optimisation history."""
    summary = output_dir / "summary"
    summary.mkdir(parents=True, exist_ok=True)
    frame = study.trials_dataframe()
    if frame.empty:
        return []
    # Optuna names the objective columns value / values_<i>, or value_<name> / values_<name> once the
    # study has metric names (older studies may not): the CSV says just the metric's name.
    renamed = {"value": names[0], f"value_{names[0]}": names[0]} if len(names) == 1 else {}
    for i, name in enumerate(names):
        renamed.update({f"values_{i}": name, f"values_{name}": name})
    frame = frame.rename(columns=renamed)
    paths = [summary / "trials.csv"]
    to_csv_safe(frame, paths[0])
    try:
        import warnings

        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from optuna.exceptions import ExperimentalWarning
        from optuna.visualization import matplotlib as optuna_plots

        warnings.filterwarnings("ignore", category=ExperimentalWarning)

        if len(names) == 1:
            axis = optuna_plots.plot_optimization_history(study, target_name=names[0])
            paths.append(summary / "optimization_history.png")
        else:
            axis = optuna_plots.plot_pareto_front(study, target_names=names)
            paths.append(summary / "pareto_front.png")
        axis.figure.savefig(paths[-1], dpi=120, bbox_inches="tight")
        plt.close(axis.figure)
    except Exception as error:  # noqa: BLE001 - a plot must never lose the study's results
        log.warning("No study plot: %s", error)
    return paths


# ------------------------------------------------------------------------------ entry point


def compose_config(overrides: list[str]) -> DictConfig:
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3", job_name="visframe-tune"):
        return compose(config_name="config", overrides=["+tune=default", *overrides])


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__)
        return
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")
    with exit_on_user_error(log), exit_on_signal(log):
        _search(argv)


def _search(argv: list[str]) -> None:
    fixed, space = parse_overrides(argv)
    base_cfg = compose_config(fixed)
    if not space:
        _, space = parse_overrides([f"{k}={v}" for k, v in (base_cfg.tune.get("search_space") or {}).items()])
    if not base_cfg.tune.get("report", False):
        fixed = [*fixed, "report.enabled=false"]
    from visframe.cli import _use_persistent_numba_cache

    _use_persistent_numba_cache(str(base_cfg.paths.cache_dir))
    study = run_study(base_cfg, space, lambda trial_overrides: compose_config([*fixed, *trial_overrides]))
    names, _ = objectives_and_directions(base_cfg.tune)
    if len(names) == 1:
        best = study.best_trial
        log.info("Best trial %d: %s = %.4f with %s (%s)", best.number, names[0], best.value, best.params,
                 best.user_attrs.get("run_dir", ""))
    else:
        for trial in study.best_trials:
            log.info("Pareto trial %d: %s with %s", trial.number, dict(zip(names, trial.values, strict=True)), trial.params)
    log.info("Study summary: %s", Path(str(base_cfg.tune.output_dir)).resolve() / "summary")


if __name__ == "__main__":
    main()
