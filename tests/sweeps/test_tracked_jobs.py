"""Real `visframe` jobs as MLflow shows them (slow): a job stopped by SIGTERM ends KILLED, not RUNNING
forever; a sweep with a setting that clusters nothing logs every metric at its worst, tags the job,
and its summary shows it labelled "no clusters"; runs carry who ran which code (issue 25)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from visframe.evaluate.registry import METRICS

REPO = Path(__file__).resolve().parents[2]
VISFRAME = str(REPO / ".venv" / "bin" / "visframe")
QUICK = ["dataset.preset=tiny", "model=tiny_random", "reducer=pca", "reducer.n_components=2", "report.enabled=false",
         "show_progress=false"]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def _env() -> dict:
    return {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}


def _client(tmp_path: Path):
    return mlflow.tracking.MlflowClient(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")


@pytest.mark.parametrize("signum", [signal.SIGTERM])
def test_a_job_sent_sigterm_mid_way_ends_killed_with_its_outputs_so_far(tmp_path, signum):
    run_dir = tmp_path / "job"
    job = subprocess.Popen([VISFRAME, *QUICK, f"tracking.store_dir={tmp_path / 'mlruns'}", f"hydra.run.dir={run_dir}"],
                           cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 600
    # The run is open and the stages have begun (config.yaml is their first file): the job is at work.
    while not ((run_dir / "mlflow_run_id.txt").is_file() and (run_dir / "config.yaml").is_file()):
        assert job.poll() is None, job.stdout.read()[-3000:]
        assert time.monotonic() < deadline, "the job opened no MLflow run in 10 minutes"
        time.sleep(0.05)
    job.send_signal(signum)
    output, _ = job.communicate(timeout=300)
    assert job.returncode == 128 + signum, output[-3000:]
    assert not (run_dir / "metrics.json").exists()  # it was stopped mid-way, not at the end
    run_id = (run_dir / "mlflow_run_id.txt").read_text().strip()
    run = _client(tmp_path).get_run(run_id)
    assert run.info.status == "KILLED" and run.info.end_time is not None
    assert run.data.tags["visframe.ended_by"] == signal.Signals(signum).name
    kept = {p.name for p in run_dir.iterdir() if p.is_file()}
    assert "config.yaml" in kept  # the outputs so far stay, and are logged
    assert {"config.yaml"} <= {a.path for a in _client(tmp_path).list_artifacts(run_id)} <= kept


def test_a_sweep_setting_that_clusters_nothing_is_logged_at_its_worst_and_shown(tmp_path):
    sweep = tmp_path / "sweep"
    done = subprocess.run([VISFRAME, "-m", *QUICK, f"tracking.store_dir={tmp_path / 'mlruns'}",
                           f"hydra.sweep.dir={sweep}", "clusterer.min_cluster_size=5,10,60"],
                          cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=1500, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    metrics = [json.loads((sweep / str(n) / "metrics.json").read_text()) for n in range(3)]
    assert [m["n_clusters"] > 0 for m in metrics] == [True, True, False]  # 60 of ~140 posts: all noise
    empty = metrics[2]
    client = _client(tmp_path)
    run = client.get_run((sweep / "2" / "mlflow_run_id.txt").read_text().strip())
    graded = {m.name: m.worst for m in METRICS if m.worst is not None and m.name in empty}
    assert set(graded) <= set(run.data.metrics)  # every registry metric the job reports, none missing
    for name, worst in graded.items():
        if empty[name] is None:
            assert run.data.metrics[name] == pytest.approx(min(worst, 1.7976931348623157e308)), name
    assert run.data.metrics["dbcv"] == -1.0 and run.data.tags["visframe.no_clusters"] == "true"
    # Who ran which code: MLflow's own provenance tags, on the jobs and the sweep's parent.
    parent = client.get_run(run.data.tags["mlflow.parentRunId"])
    for tags in (run.data.tags, parent.data.tags):
        assert tags["mlflow.user"] and tags["mlflow.source.type"] == "LOCAL" and tags["mlflow.source.name"]
        assert tags["visframe.version"] and "mlflow.source.git.commit" in tags  # the checkout's commit
    assert "config.yaml" in {a.path for a in client.list_artifacts(run.info.run_id)}
    # The summary keeps the job, labelled.
    by_job = pd.read_csv(sweep / "summary" / "confidence_by_job.csv", keep_default_na=False)
    assert list(by_job["note"]) == ["", "", "no clusters"]
    page = (sweep / "summary" / "index.html").read_text(encoding="utf-8")
    assert "1 with no clusters" in page
