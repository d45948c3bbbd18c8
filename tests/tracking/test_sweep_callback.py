"""The Hydra callback makes a multirun one MLflow parent run with a child per job."""

import json
import os

import mlflow
import pandas as pd
import yaml
from omegaconf import OmegaConf

from visframe import contracts as C
from visframe.tracking import resolve_tracking_uri
from visframe.tracking.job import JobTracker
from visframe.tracking.sweep import MlflowSweepCallback, parent_run_of

PARENT_ENV = "VISFRAME_PARENT_RUN_ID"  # where the parent run travelled before the Session and the sweep file


def test_multirun_is_a_parent_run_with_children_and_summary(tmp_path, monkeypatch):
    monkeypatch.delenv(PARENT_ENV, raising=False)
    tracking = {
        "enabled": True,
        "tracking_uri": None,
        "store_dir": str(tmp_path / "mlruns"),
        "experiment_name": "sweep-test",
    }
    config = OmegaConf.create(
        {
            "tracking": tracking,
            "evaluation": {"confidence_threshold": 0.9},
            "hydra": {
                "sweep": {"dir": str(tmp_path / "multirun")},
                "overrides": {"task": ["clusterer.min_cluster_size=10,20"]},
            },
        }
    )
    callback = MlflowSweepCallback()
    callback.on_multirun_start(config)
    parent_id = parent_run_of(tmp_path / "multirun")  # what every job of the sweep reads (visframe.cli)
    assert parent_id and PARENT_ENV not in os.environ

    for number, mcs in enumerate((10, 20)):  # what each job does: the pipeline's JobTracker
        job = tmp_path / "multirun" / str(number)
        (job / ".hydra").mkdir(parents=True)
        (job / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump([f"clusterer.min_cluster_size={mcs}"]))
        (job / "config.yaml").write_text(
            yaml.safe_dump({"model": {"name": "m"}, "clusterer": {"min_cluster_size": mcs}})
        )
        metrics = {"n_clusters": 3.0, "silhouette": 0.5, "noise_fraction": 0.1, "confident_fraction": 0.8}
        (job / "metrics.json").write_text(json.dumps(metrics))
        pd.DataFrame({"path": ["a", "b", "c"], "cluster": [0, 1, mcs // 10]}).to_parquet(
            job / "assignments.parquet"
        )
        tracker = JobTracker(tracking, f"job{number}", {}, {}, parent_run_id=parent_id)
        tracker.start()
        tracker.finish(metrics, [job / "metrics.json"], job)

    callback.on_multirun_end(config)
    assert PARENT_ENV not in os.environ
    client = mlflow.tracking.MlflowClient(resolve_tracking_uri(tracking))
    parent = client.get_run(parent_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.metrics["n_jobs"] == 2
    children = client.search_runs([parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent_id}'")
    assert sorted(r.info.run_name for r in children) == ["job0", "job1"]
    artifacts = {a.path for a in client.list_artifacts(parent_id, "summary")}
    assert {
        "summary/min_cluster_size.csv",
        "summary/min_cluster_size.png",
        "summary/confidence.csv",
        "summary/model_comparison.csv",
        "summary/agreement_ari.csv",
    } <= artifacts
    confidence = pd.read_csv(tmp_path / "multirun" / "summary" / "confidence.csv")
    assert "share_probability_ge_0.9" in confidence.columns


def test_failed_sweep_still_closes_the_parent_with_what_finished(tmp_path, monkeypatch):
    monkeypatch.delenv(PARENT_ENV, raising=False)
    tracking = {
        "enabled": True,
        "tracking_uri": None,
        "store_dir": str(tmp_path / "mlruns"),
        "experiment_name": "x",
    }
    config = OmegaConf.create(
        {"tracking": tracking, "hydra": {"sweep": {"dir": str(tmp_path / "m")}, "overrides": {"task": []}}}
    )
    callback = MlflowSweepCallback()
    callback.on_multirun_start(config)
    parent_id = parent_run_of(tmp_path / "m")
    callback._finish("FAILED")  # what the atexit hook does when Hydra raised before on_multirun_end
    client = mlflow.tracking.MlflowClient(resolve_tracking_uri(tracking))
    assert client.get_run(parent_id).info.status == "FAILED"
    callback.on_multirun_end(config)  # a second finish is a no-op
    assert client.get_run(parent_id).info.status == "FAILED"


def test_tracking_disabled_writes_the_summary_without_mlflow(tmp_path, monkeypatch):
    monkeypatch.delenv(PARENT_ENV, raising=False)
    config = OmegaConf.create(
        {
            "tracking": {"enabled": False},
            "hydra": {"sweep": {"dir": str(tmp_path / "m")}, "overrides": {"task": []}},
        }
    )
    job = tmp_path / "m" / "0"
    job.mkdir(parents=True)
    (job / "metrics.json").write_text(
        json.dumps({"n_clusters": 2.0, "silhouette": 0.3, "noise_fraction": 0.0})
    )
    (tmp_path / "m" / C.MLFLOW_PARENT_RUN_ID_FILE).write_text("stale-run-of-an-earlier-sweep\n")
    callback = MlflowSweepCallback()
    callback.on_multirun_start(config)
    assert parent_run_of(tmp_path / "m") is None and PARENT_ENV not in os.environ
    callback.on_multirun_end(config)
    assert (tmp_path / "m" / "summary" / "min_cluster_size.csv").exists()
