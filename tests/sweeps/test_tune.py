"""visframe-tune: search space from Hydra sweep syntax, objectives, and a study that survives kill -9."""

import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import mlflow
import optuna
import pandas as pd
import pytest
from omegaconf import OmegaConf
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from visframe.tune import objective_values, objectives_and_directions, parse_overrides

REPO = Path(__file__).resolve().parents[2]


def _clean_env() -> dict:
    # mlflow.set_tracking_uri (called by earlier in-process tests) exports MLFLOW_TRACKING_URI, which
    # the config's tracking_uri would pick up: the subprocess must use its own store_dir.
    return {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"} | {"PYTHONWARNINGS": "ignore"}


def test_sweep_overrides_become_the_search_space_and_the_rest_stay_fixed():
    fixed, space = parse_overrides([
        "model=tiny_random",
        "clusterer.min_cluster_size=int(interval(10,200))",
        "clusterer.cluster_selection_epsilon=interval(0.0,0.5)",
        "clusterer.min_samples=tag(log,int(interval(1,64)))",
        "clusterer.cluster_selection_method=choice(eom,leaf)",
        "reducer.n_components=range(2,12,step=4)",
        "seed=1,2",
    ])
    assert fixed == ["model=tiny_random"]
    assert space["clusterer.min_cluster_size"] == IntDistribution(10, 200)
    assert space["clusterer.cluster_selection_epsilon"] == FloatDistribution(0.0, 0.5)
    assert space["clusterer.min_samples"] == IntDistribution(1, 64, log=True)
    assert space["clusterer.cluster_selection_method"] == CategoricalDistribution(["eom", "leaf"])
    assert space["reducer.n_components"] == IntDistribution(2, 10, step=4)  # Hydra's range excludes the stop
    assert space["seed"] == CategoricalDistribution(["1", "2"])


def test_objectives_know_their_direction_and_undefined_metrics_count_as_worst():
    names, directions = objectives_and_directions(OmegaConf.create({"objective": ["silhouette", "noise_fraction"]}))
    assert directions == ["maximize", "minimize"]
    assert objective_values({"silhouette": float("nan"), "noise_fraction": 0.2}, names, directions) == [-1.0, 0.2]
    with pytest.raises(ValueError, match="tune.directions"):
        objectives_and_directions(OmegaConf.create({"objective": "my_metric"}))
    names, directions = objectives_and_directions(OmegaConf.create({"objective": "my_metric", "directions": ["minimize"]}))
    assert directions == ["minimize"]


def test_every_trial_gets_the_studys_one_session_carrying_its_parent_run(tmp_path, monkeypatch):
    """The parent run reaches the jobs through one Session (memos shared by the trials), not os.environ."""
    from visframe.run_dir import RunDir
    from visframe.tune import compose_config, run_study

    PARENT_ENV = "VISFRAME_PARENT_RUN_ID"  # where the parent run travelled before the Session

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv(PARENT_ENV, raising=False)
    fixed = ["tune.n_trials=3", "tune.study_name=session", f"tune.output_dir={tmp_path / 'tune'}",
             f"tracking.store_dir={tmp_path / 'mlruns'}"]
    _, space = parse_overrides(["clusterer.min_cluster_size=int(interval(10,200))"])
    seen = []

    def stand_in(cfg, run_dir, session):
        seen.append((session, os.environ.get(PARENT_ENV), RunDir(run_dir).read_overrides()))
        return {"dbcv": cfg.clusterer.min_cluster_size / 200}

    study = run_study(compose_config(fixed), space, lambda extra: compose_config([*fixed, *extra]), stand_in)
    parent = study.user_attrs["mlflow_parent_run_id"]
    assert len(seen) == 3 and len({id(session) for session, _, _ in seen}) == 1
    assert seen[0][0].parent_run_id == parent
    assert {env for _, env, _ in seen} == {None} and PARENT_ENV not in os.environ
    # Each trial's parameters are written beside its job, where the summary reads a job's overrides.
    key = "clusterer.min_cluster_size"
    assert [o for _, _, o in seen] == [[f"{key}={t.params[key]}"] for t in study.trials]


# A study whose trials stand in for the pipeline (sleep + a metric + an MLflow child run, as the
# pipeline's JobTracker makes), so kill-and-resume is tested in seconds. The slow test below runs the
# real pipeline.
FAKE_STUDY = textwrap.dedent(
    """
    import json, math, os, signal, sys, time
    import optuna
    from visframe.run_dir import RunDir
    from visframe.tracking.job import JobTracker
    from visframe.tracking.termination import exit_on_signal
    from visframe.tune import compose_config, parse_overrides, run_study

    overrides = sys.argv[1:]
    fixed, space = parse_overrides(overrides)
    base = compose_config(fixed)
    # What a test asks of this run: be killed (SIGKILL) right after Optuna creates trial N, before
    # the objective's first line; or receive SIGTERM in the middle of trial N's job.
    KILL_IN_GAP_AT = int(os.environ.get("KILL_IN_GAP_AT", "-1"))
    SIGTERM_AT = int(os.environ.get("SIGTERM_AT", "-1"))
    ask = optuna.Study.ask

    def ask_then_maybe_die(study, *args, **kwargs):
        trial = ask(study, *args, **kwargs)
        if trial.number == KILL_IN_GAP_AT:
            os.kill(os.getpid(), signal.SIGKILL)
        return trial

    optuna.Study.ask = ask_then_maybe_die

    def fake_trial(cfg, run_dir, session):
        # The study's parent run reaches the job through the session, never the environment.
        assert session.parent_run_id and "VISFRAME_PARENT_RUN_ID" not in os.environ
        files = RunDir(run_dir)
        tracker = JobTracker(cfg.tracking, cfg.tracking.run_name, params={}, tags=dict(cfg.tracking.tags),
                             parent_run_id=session.parent_run_id)
        files.write_mlflow_run_id(tracker.start())
        try:  # as pipeline.run does around the stages
            if int(cfg.tracking.tags.optuna_trial) == SIGTERM_AT:
                os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.3)
            mcs = cfg.clusterer.min_cluster_size
            if mcs > 150:  # too large for the data: every image noise
                metrics = {"dbcv": math.nan, "n_clusters": 0.0}
            else:
                metrics = {"dbcv": 1 - abs(mcs - 60) / 100, "n_clusters": 3.0}
            files.write_metrics(metrics)
            files.write_config(json.dumps({"clusterer": {"min_cluster_size": mcs}}))
        except BaseException:
            tracker.fail()
            raise
        tracker.finish(metrics, [files.file("metrics.json")], run_dir)
        return metrics

    with exit_on_signal():  # as visframe-tune's main does
        run_study(base, space, lambda extra: compose_config([*fixed, *extra]), run_trial=fake_trial)
    """
)


def _study_command(tmp_path: Path, script: Path, n_trials: int = 20) -> list[str]:
    return [sys.executable, str(script), f"tune.n_trials={n_trials}", "tune.study_name=resume",
            f"tune.output_dir={tmp_path / 'tune'}", f"tracking.store_dir={tmp_path / 'mlruns'}",
            "clusterer.min_cluster_size=int(interval(10,200))"]


def _kill_after(process: subprocess.Popen, trial_dirs: Path, finished: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the study ended before it was killed:\n{process.stdout.read()}")
        if len(list(trial_dirs.glob("trial_*/metrics.json"))) >= finished:
            process.send_signal(signal.SIGKILL)
            process.wait()
            return
        time.sleep(0.05)
    process.kill()
    raise AssertionError("no trials finished in time")


def _assert_resumed_study(tmp_path: Path, n_trials: int) -> None:
    study = optuna.load_study(study_name="resume", storage=f"sqlite:///{tmp_path / 'tune' / 'optuna.db'}")
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert len(complete) == n_trials
    assert not study.get_trials(states=(TrialState.RUNNING,))  # the killed trial was marked FAIL ...
    retried = {trial.user_attrs.get("retry_of"): trial.params for trial in complete}
    for failed in study.get_trials(states=(TrialState.FAIL,)):  # ... and its parameters ran again
        # (a trial killed before its objective suggested anything has none: its retry samples them)
        assert failed.params.items() <= retried[failed.number].items()
    parent_id = study.user_attrs["mlflow_parent_run_id"]
    client = mlflow.tracking.MlflowClient(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    parent = client.get_run(parent_id)
    assert parent.info.status == "FINISHED"
    children = client.search_runs([parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent_id}'", max_results=500)
    trial_tags = {int(run.data.tags["optuna_trial"]) for run in children if run.info.status == "FINISHED"}
    assert {trial.number for trial in complete} <= trial_tags
    # One parent for the whole study, across the kill.
    parents = client.search_runs([parent.info.experiment_id], "tags.`visframe.kind` = 'optuna'")
    assert [run.info.run_id for run in parents] == [parent_id]
    assert {"summary/trials.csv", "summary/min_cluster_size.csv"} <= {a.path for a in client.list_artifacts(parent_id, "summary")}
    # Every finished trial names its job's MLflow run, a child of the study's parent.
    for trial in complete:
        assert client.get_run(trial.user_attrs["mlflow_run_id"]).data.tags["mlflow.parentRunId"] == parent_id


def test_study_killed_mid_way_resumes_to_twenty_trials_under_one_parent(tmp_path):
    script = tmp_path / "study.py"
    script.write_text(FAKE_STUDY)
    env = _clean_env()
    first = subprocess.Popen(_study_command(tmp_path, script), cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    _kill_after(first, tmp_path / "tune", finished=6)
    study = optuna.load_study(study_name="resume", storage=f"sqlite:///{tmp_path / 'tune' / 'optuna.db'}")
    # metrics.json is written before the trial is stored COMPLETE: the 6th may have been killed mid-way.
    assert 5 <= len(study.get_trials(states=(TrialState.COMPLETE,))) < 20
    resumed = subprocess.run(_study_command(tmp_path, script), cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=300, check=False)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    _assert_resumed_study(tmp_path, 20)
    best = optuna.load_study(study_name="resume", storage=f"sqlite:///{tmp_path / 'tune' / 'optuna.db'}").best_value
    assert math.isfinite(best)


def _run_study(tmp_path: Path, script: Path, n_trials: int, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(_study_command(tmp_path, script, n_trials), cwd=tmp_path, env=_clean_env() | env,
                          capture_output=True, text=True, timeout=600, check=False)


def test_a_study_stopped_by_sigterm_or_killed_before_a_trial_was_marked_resumes_with_nothing_running(tmp_path):
    """SIGTERM mid-trial: exit 143, the trial FAIL and re-queued, its job's run and the parent KILLED.
    SIGKILL between Optuna creating a trial and the objective marking it with its worker (the gap
    that left trial 5 RUNNING forever in the slow test): the resume fails and re-queues it too."""
    script = tmp_path / "study.py"
    script.write_text(FAKE_STUDY)
    storage = f"sqlite:///{tmp_path / 'tune' / 'optuna.db'}"
    client = mlflow.tracking.MlflowClient(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")

    terminated = _run_study(tmp_path, script, 8, SIGTERM_AT="2")
    assert terminated.returncode == 143, terminated.stdout[-2000:] + terminated.stderr[-2000:]
    study = optuna.load_study(study_name="resume", storage=storage)
    stopped = study.trials[2]
    assert stopped.state == TrialState.FAIL
    assert [t.user_attrs["retry_of"] for t in study.get_trials(states=(TrialState.WAITING,))] == [2]
    assert client.get_run(stopped.user_attrs["mlflow_run_id"]).info.status == "KILLED"
    assert client.get_run(study.user_attrs["mlflow_parent_run_id"]).info.status == "KILLED"

    killed = _run_study(tmp_path, script, 8, KILL_IN_GAP_AT="5")
    assert killed.returncode == -signal.SIGKILL
    orphan = optuna.load_study(study_name="resume", storage=storage).trials[5]
    assert orphan.state == TrialState.RUNNING and "worker" not in orphan.user_attrs

    resumed = _run_study(tmp_path, script, 8)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    _assert_resumed_study(tmp_path, 8)


def test_the_study_names_its_metric_and_each_trial_its_run_and_why_it_scored_worst(tmp_path, monkeypatch):
    from visframe.run_dir import RunDir
    from visframe.tune import compose_config, run_study

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    fixed = ["tune.n_trials=4", "tune.study_name=names", f"tune.output_dir={tmp_path / 'tune'}",
             f"tracking.store_dir={tmp_path / 'mlruns'}"]
    _, space = parse_overrides(["clusterer.min_cluster_size=choice(20,300)"])

    def stand_in(cfg, run_dir, session):
        RunDir(run_dir).write_mlflow_run_id(f"run-{cfg.tracking.tags.optuna_trial}")
        if cfg.clusterer.min_cluster_size == 300:
            return {"dbcv": float("nan"), "n_clusters": 0.0}
        return {"dbcv": 0.4, "n_clusters": 3.0}

    study = run_study(compose_config(fixed), space, lambda extra: compose_config([*fixed, *extra]), stand_in)
    assert study.metric_names == ["dbcv"]  # optuna-dashboard shows "dbcv", not "Objective 0"
    for trial in study.trials:
        assert trial.user_attrs["mlflow_run_id"] == f"run-{trial.number}"
        if trial.params["clusterer.min_cluster_size"] == "300":
            assert trial.value == -1.0
            assert trial.user_attrs["objective_undefined"] == (
                "no clusters: every image is noise; dbcv scored as its worst value -1")
        else:
            assert "objective_undefined" not in trial.user_attrs
    assert {t.params["clusterer.min_cluster_size"] for t in study.trials} == {"20", "300"}
    trials = pd.read_csv(tmp_path / "tune" / "summary" / "trials.csv")
    assert "dbcv" in trials.columns and "user_attrs_objective_undefined" in trials.columns


@pytest.mark.slow
@pytest.mark.timeout(1800)  # two processes of 20 real jobs each: 11 minutes here under a shared load
def test_visframe_tune_on_the_tiny_corpus_killed_and_resumed(tmp_path):
    """The real pipeline per trial (tiny corpus, tiny_random encoder, PCA to keep it quick)."""
    command = [str(REPO / ".venv" / "bin" / "visframe-tune"), "dataset.preset=tiny", "model=tiny_random",
               "reducer=pca", "reducer.n_components=2", "show_progress=false", "tune.n_trials=20",
               "tune.study_name=resume", f"tune.output_dir={tmp_path / 'tune'}", f"tracking.store_dir={tmp_path / 'mlruns'}",
               "clusterer.min_cluster_size=int(interval(5,40))"]
    first = subprocess.Popen(command, cwd=tmp_path, env=_clean_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    _kill_after(first, tmp_path / "tune", finished=5, timeout=600)
    resumed = subprocess.run(command, cwd=tmp_path, env=_clean_env(), capture_output=True, text=True, timeout=900,
                             check=False)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    _assert_resumed_study(tmp_path, 20)
