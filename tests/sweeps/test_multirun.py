"""End to end on the tiny corpus: a min_cluster_size multirun after one run costs only the
clustering (nothing embedded, nothing reduced), is one MLflow parent with a child per job, and
leaves the Appendix 1 table; the same seed and config give identical labels."""

import json
import os
import subprocess
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
VISFRAME = str(REPO / ".venv" / "bin" / "visframe")


def _env() -> dict:
    # mlflow.set_tracking_uri in earlier in-process tests exports MLFLOW_TRACKING_URI: not for these jobs.
    return {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}


# PCA to 2-d keeps the job quick (no UMAP compilation); the caching is the same for every reducer.
QUICK = [
    "dataset.preset=tiny",
    "model=tiny_random",
    "reducer=pca",
    "reducer.n_components=2",
    "report.enabled=false",
    "show_progress=false",
]


def _visframe(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    flags = [a for a in args if a.startswith("-")]  # Hydra's argparse wants -m before the overrides
    overrides = [a for a in args if not a.startswith("-")]
    command = [VISFRAME, *flags, *QUICK, f"tracking.store_dir={tmp_path / 'mlruns'}", *overrides]
    done = subprocess.run(
        command, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.mark.slow
def test_min_cluster_size_multirun_after_a_first_run_reuses_every_cache(tmp_path):
    _visframe(tmp_path, f"hydra.run.dir={tmp_path / 'first'}")
    first = json.loads((tmp_path / "first" / "metrics.json").read_text())
    assert first["images_embedded"] > 0 and first["reduce_cache_hit"] == 0

    sizes = [5, 10, 15, 20]
    _visframe(
        tmp_path,
        "-m",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        "clusterer.min_cluster_size=" + ",".join(map(str, sizes)),
    )
    jobs = [json.loads((tmp_path / "sweep" / str(n) / "metrics.json").read_text()) for n in range(len(sizes))]
    assert [job["images_embedded"] for job in jobs] == [0] * len(sizes)
    assert [job["reduce_cache_hit"] for job in jobs] == [1] * len(sizes)

    table = pd.read_csv(tmp_path / "sweep" / "summary" / "min_cluster_size.csv")
    assert list(table["min_cluster_size"]) == sizes
    assert list(table["n_clusters"]) == [job["n_clusters"] for job in jobs]
    assert {"silhouette", "noise_share"} <= set(table.columns)

    client = mlflow.tracking.MlflowClient(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("visframe")
    parents = client.search_runs([experiment.experiment_id], "tags.`visframe.kind` = 'sweep'")
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    children = client.search_runs(
        [experiment.experiment_id], f"tags.mlflow.parentRunId = '{parents[0].info.run_id}'"
    )
    assert len(children) == len(sizes)
    assert "summary/min_cluster_size.png" in {
        a.path for a in client.list_artifacts(parents[0].info.run_id, "summary")
    }

    # The same job again (same seed and config): identical labels, probabilities and outlier scores.
    _visframe(tmp_path, f"hydra.run.dir={tmp_path / 'again'}", "clusterer.min_cluster_size=10")
    again = pd.read_parquet(tmp_path / "again" / "assignments.parquet")
    swept = pd.read_parquet(tmp_path / "sweep" / "1" / "assignments.parquet")
    pd.testing.assert_frame_equal(again, swept)


@pytest.mark.slow
def test_same_seed_and_config_give_identical_umap_and_labels_without_caches(tmp_path):
    """The default UMAP reducer and clusterer, fitted from scratch twice (separate caches)."""
    runs = []
    for name in ("a", "b"):
        done = subprocess.run(
            [
                VISFRAME,
                "dataset.preset=tiny",
                "model=tiny_random",
                "report.enabled=false",
                "tracking.enabled=false",
                "show_progress=false",
                f"paths.cache_dir={tmp_path / ('cache-' + name)}",
                f"hydra.run.dir={tmp_path / name}",
            ],
            cwd=tmp_path,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        # The corpus lives in each cache dir, so paths differ: compare everything else.
        runs.append(pd.read_parquet(tmp_path / name / "assignments.parquet").drop(columns="path"))
        assert json.loads((tmp_path / name / "metrics.json").read_text())["reduce_cache_hit"] == 0
    pd.testing.assert_frame_equal(runs[0], runs[1])
    assert np.unique(runs[0]["cluster"]).size >= 2
