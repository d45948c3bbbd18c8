import json

import mlflow
from omegaconf import OmegaConf

from visframe.tracking import flatten_config, resolve_tracking_uri
from visframe.tracking.job import JobTracker


def test_flatten_config_resolves_and_prefixes():
    cfg = OmegaConf.create({"seed": 3, "reducer": {"n_neighbors": 25, "random_state": "${seed}"}})
    assert flatten_config(cfg) == {"seed": "3", "reducer.n_neighbors": "25", "reducer.random_state": "3"}


def test_default_store_is_sqlite_inside_store_dir(tmp_path):
    uri = resolve_tracking_uri({"tracking_uri": None, "store_dir": str(tmp_path / "mlruns")})
    assert uri == f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"


def test_job_tracker_logs_params_metrics_artifacts_and_parent(tmp_path):
    tracking = {"tracking_uri": None, "store_dir": str(tmp_path / "mlruns"), "experiment_name": "t"}
    run_dir = tmp_path / "run"
    (run_dir / "report").mkdir(parents=True)
    (run_dir / "metrics.json").write_text(json.dumps({"ari": 0.5}))
    (run_dir / "report" / "map.png").write_bytes(b"png")
    params = {f"p{i}": str(i) for i in range(150)}  # more than one MLflow batch
    parent = JobTracker(tracking, "parent", {}, {})
    parent_id = parent.start()
    parent.finish({}, [], run_dir)
    child = JobTracker(tracking, "child", params, {}, parent_run_id=parent_id)
    run_id = child.start()
    child.finish({"ari": 0.5, "silhouette": float("nan")}, [run_dir / "metrics.json", run_dir / "report" / "map.png"],
                 run_dir)
    client = mlflow.tracking.MlflowClient(resolve_tracking_uri(tracking))
    logged = client.get_run(run_id)
    assert logged.info.status == "FINISHED"
    assert logged.data.params == params
    # An undefined registry metric is logged as its worst value (visframe.evaluate.registry) and named.
    assert logged.data.metrics == {"ari": 0.5, "silhouette": -1.0}
    assert logged.data.tags["visframe.undefined_metrics"] == "silhouette"
    assert logged.data.tags["mlflow.parentRunId"] == parent_id
    artifacts = {a.path for a in client.list_artifacts(run_id)} | {a.path for a in client.list_artifacts(run_id, "report")}
    assert {"metrics.json", "report/map.png"} <= artifacts
    assert (tmp_path / "mlruns" / "artifacts").is_dir()


def test_every_job_of_a_sweep_logs_the_image_set_with_its_schema_and_row_count(tmp_path):
    """The second job reuses the first's inferred schema/profile; MLflow shows both runs alike."""
    import pandas as pd

    from visframe import contracts as C
    from visframe.session import Session
    from visframe.tracking import job as job_module

    tracking = {"tracking_uri": None, "store_dir": str(tmp_path / "mlruns"), "experiment_name": "t"}
    manifest = pd.DataFrame({C.IMAGE_ID: [f"id{i}" for i in range(7)], C.STATUS: ["ok"] * 6 + ["corrupt"],
                             C.PATH: [f"p{i}.jpg" for i in range(7)]})
    profiles = Session().dataset_profiles  # one process's sweep
    logged = []
    for number in range(2):
        tracker = job_module.JobTracker(tracking, f"job{number}", {}, {}, dataset_profiles=profiles)
        tracker.start()
        tracker.log_dataset(manifest, tmp_path / f"job{number}" / "manifest.parquet", "corpus", "d" * 64)
        tracker.finish({}, [], tmp_path)
        logged.append(tracker._client_obj.get_run(tracker.run_id).inputs.dataset_inputs[0].dataset)
    assert len(profiles) == 1
    first, second = logged
    assert json.loads(first.profile)["num_rows"] == 7 and first.profile == second.profile
    assert first.schema == second.schema and "image_id" in first.schema
    assert first.digest == second.digest == "d" * 36
    # MLflow keeps one dataset per (name, digest) in an experiment: the second run links the first's.
    assert "job0" in first.source
