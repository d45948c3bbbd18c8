"""Real multiruns leave the sweep summary a reader can use (issue 16): `visframe -m` over a clusterer
parameter and over the model, the confidence plot and its data in <sweep>/summary/ and on the parent
MLflow run, every job in the confidence data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
# PCA to 2-d keeps each job quick (no UMAP compilation); the summary is the same for every reducer.
QUICK = ["dataset.preset=tiny", "reducer=pca", "reducer.n_components=2", "report.enabled=false",
         "show_progress=false", "trainer.num_workers=0"]  # fmt: skip
FIGURES = {
    "confidence_by_job.png",
    "confidence_lines.png",
    "model_comparison.png",
    "confidence.png",
    "index.html",
}


def multirun(tmp_path: Path, *overrides: str) -> Path:
    sweep = tmp_path / "sweep"
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")])
    command = [sys.executable, "-m", "visframe.cli", "-m", *QUICK,
               f"tracking.store_dir={tmp_path / 'mlruns'}", f"hydra.sweep.dir={sweep}",
               *overrides]  # fmt: skip
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return sweep


def parent_artifacts(tmp_path: Path) -> set[str]:
    client = mlflow.tracking.MlflowClient(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("visframe")
    (parent,) = client.search_runs([experiment.experiment_id], "tags.`visframe.kind` = 'sweep'")
    return {a.path for a in client.list_artifacts(parent.info.run_id, "summary")}


def check_summary(tmp_path: Path, sweep: Path, n_jobs: int) -> pd.DataFrame:
    summary = sweep / "summary"
    assert FIGURES <= {p.name for p in summary.iterdir()}
    data = pd.read_csv(summary / "confidence_by_job.csv")
    assert sorted(data["job"]) == list(range(n_jobs))  # every job is in the data behind the plot
    assert (data["status"] == "ok").all() and (data["n_clustered"] > 0).all()
    assert data["median"].between(0, 1).all() and data["share_ge_threshold"].between(0, 1).all()
    logged = parent_artifacts(tmp_path)
    assert {f"summary/{name}" for name in FIGURES | {"confidence_by_job.csv"}} <= logged
    return data


@pytest.mark.slow
def test_min_cluster_size_multirun_leaves_the_confidence_plot(tmp_path):
    sweep = multirun(tmp_path, "model=tiny_random", "clusterer.min_cluster_size=4,8,12")
    data = check_summary(tmp_path, sweep, 3)
    assert list(data["clusterer.min_cluster_size"]) == [4, 8, 12]
    assert (sweep / "summary" / "min_cluster_size_plot.png").exists()
    table = pd.read_csv(sweep / "summary" / "min_cluster_size.csv")
    assert list(table["min_cluster_size"]) == [4, 8, 12]


@pytest.mark.slow
def test_model_multirun_leaves_the_confidence_plot(tmp_path):
    sweep = multirun(tmp_path, "model=tiny_random,efficientnet_lite0", "clusterer.min_cluster_size=6")
    data = check_summary(tmp_path, sweep, 2)
    assert set(data["model"]) == {"tiny_random", "efficientnet_lite0"}
    models = pd.read_csv(sweep / "summary" / "model_comparison.csv")
    assert set(models["model"]) == {"tiny_random", "efficientnet_lite0"}
