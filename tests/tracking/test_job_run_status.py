"""A job's MLflow run as MLflow users read it: who ran which code, every metric (the worst where
undefined), and a run stopped by a signal ends KILLED, not RUNNING forever (issue 25)."""

from __future__ import annotations

import getpass
import math
import os
import signal
import subprocess
import time
from pathlib import Path

import mlflow
import numpy as np
import pytest
from omegaconf import OmegaConf

from visframe import CONFIG_DIR
from visframe.evaluate.registry import METRICS
from visframe.evaluate.run import evaluate_run
from visframe.tracking import resolve_tracking_uri
from visframe.tracking.job import JobTracker, tracked_metrics
from visframe.tracking.termination import Terminated, exit_on_signal, signals_end_the_job

REPO = Path(__file__).resolve().parents[2]


def _tracking(tmp_path: Path) -> dict:
    return {"tracking_uri": None, "store_dir": str(tmp_path / "mlruns"), "experiment_name": "t"}


def _client(tmp_path: Path):
    return mlflow.tracking.MlflowClient(resolve_tracking_uri(_tracking(tmp_path)))


def _no_cluster_metrics() -> dict:
    """What the evaluate stage reports for a clustering that left every point noise (with ground truth)."""
    rng = np.random.default_rng(0)
    config = OmegaConf.load(f"{CONFIG_DIR}/evaluation/default.yaml")
    metrics, _ = evaluate_run(config, rng.normal(size=(60, 2)), rng.normal(size=(60, 8)), np.full(60, -1),
                              np.zeros(60), truth=np.array(["a", "b", "c"] * 20))
    return metrics


def test_a_job_with_no_clusters_logs_every_registry_metric_at_its_worst(tmp_path):
    metrics = _no_cluster_metrics()
    undefined = {name for name, value in metrics.items() if isinstance(value, float) and math.isnan(value)}
    assert {"silhouette", "dbcv", "confident_fraction"} <= undefined  # what made the sweep's best look empty
    tracker = JobTracker(_tracking(tmp_path), "all noise", {}, {})
    run_id = tracker.start()
    tracker.finish(metrics, [], tmp_path)
    run = _client(tmp_path).get_run(run_id)
    logged = run.data.metrics
    graded = {m.name: m.worst for m in METRICS if m.worst is not None and m.name in metrics}
    assert set(graded) <= set(logged)
    for name, worst in graded.items():
        expected = metrics[name] if name not in undefined else worst
        if math.isinf(expected):  # MLflow's SQL store keeps ±inf as ±max float64
            assert logged[name] == pytest.approx(math.copysign(np.finfo(np.float64).max, expected))
        else:
            assert logged[name] == pytest.approx(expected), name
    assert logged["dbcv"] == -1.0 and logged["silhouette"] == -1.0 and logged["noise_fraction"] == 1.0
    assert run.data.tags["visframe.no_clusters"] == "true"
    assert set(run.data.tags["visframe.undefined_metrics"].split(",")) == undefined & set(graded)


def test_defined_metrics_pass_unchanged_and_absent_ones_stay_absent():
    tracked, undefined = tracked_metrics({"ari": 0.5, "silhouette": float("nan"), "stage_seconds_x": float("nan"),
                                          "n_clusters": 1.0})
    assert tracked == {"ari": 0.5, "silhouette": -1.0, "n_clusters": 1.0}  # a timing's NaN is dropped, not graded
    assert undefined == ["silhouette"]  # no dbcv in the job's metrics (evaluation.dbcv=false): none invented


def test_runs_carry_who_ran_which_code_and_the_resolved_config(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text("seed: 3\n")
    tracker = JobTracker(_tracking(tmp_path), "job", {"seed": "3"}, {"visframe.run_dir": str(run_dir)})
    run_id = tracker.start()
    tracker.finish({}, [run_dir / "config.yaml"], run_dir)
    client = _client(tmp_path)
    tags = client.get_run(run_id).data.tags
    assert tags["mlflow.user"] == getpass.getuser() and tags["mlflow.source.type"] == "LOCAL"
    assert tags["mlflow.source.name"]
    import visframe

    assert tags["visframe.version"] == visframe.__version__
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(visframe.__file__).parent, capture_output=True,
                          text=True, check=False).stdout.strip()
    if head:  # the package runs from a git checkout (an editable install, as here)
        assert tags["mlflow.source.git.commit"] == head
    assert tags["visframe.config"] == "config.yaml"
    assert "config.yaml" in {a.path for a in client.list_artifacts(run_id)}


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_mid_job_ends_the_run_killed_with_the_outputs_so_far(tmp_path, signum):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text("seed: 3\n")
    (run_dir / "manifest.parquet").write_bytes(b"PAR1")
    before = signal.getsignal(signum)
    tracker = JobTracker(_tracking(tmp_path), "job", {}, {"visframe.run_dir": str(run_dir)})
    run_id = tracker.start()
    with pytest.raises(Terminated) as stopped, signals_end_the_job():
        try:  # what pipeline.run does around the stages
            os.kill(os.getpid(), signum)
            time.sleep(30)  # a stage at work: the signal interrupts it
            raise AssertionError("the signal did not stop the job")
        except BaseException:
            tracker.fail()
            raise
    assert stopped.value.exit_code == 128 + signum
    assert signal.getsignal(signum) == before  # the process's own handler is back
    client = _client(tmp_path)
    run = client.get_run(run_id)
    assert run.info.status == "KILLED" and run.info.end_time
    assert run.data.tags["visframe.ended_by"] == signal.Signals(signum).name
    assert {"config.yaml", "manifest.parquet"} <= {a.path for a in client.list_artifacts(run_id)}


def test_a_job_that_raises_ends_failed_and_exit_on_signal_exits_128_plus_the_signal(tmp_path):
    tracker = JobTracker(_tracking(tmp_path), "job", {}, {})
    run_id = tracker.start()
    try:
        raise ValueError("a stage broke")
    except ValueError:
        tracker.fail()
    assert _client(tmp_path).get_run(run_id).info.status == "FAILED"
    with pytest.raises(SystemExit) as exited, exit_on_signal():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)
    assert exited.value.code == 143
