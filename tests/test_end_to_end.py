"""End to end: the main job on a tiny synthetic corpus and on a folder, through Hydra's config."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from job_config import FAST
from job_config import make_cfg as _make_cfg
from visframe.pipeline import run


def make_cfg(tmp_path, overrides):
    return _make_cfg(tmp_path, overrides, fast=[])  # these tests spell out every override they use


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("shared-cache")


def test_synthetic_run_writes_the_output_contract_and_tracks_it(tmp_path, shared_cache, monkeypatch):
    monkeypatch.setenv("VISFRAME_CACHE_DIR", str(shared_cache))
    cfg = make_cfg(tmp_path, FAST)
    result = run(cfg, tmp_path / "run")
    run_dir = tmp_path / "run"

    manifest = pd.read_parquet(run_dir / "manifest.parquet")
    assignments = pd.read_parquet(run_dir / "assignments.parquet")
    metrics = json.loads((run_dir / "metrics.json").read_text())

    assert {"image_id", "path", "status", "reason", "label", "account", "hashtags"} <= set(manifest.columns)
    assert list(assignments.columns)[:7] == [
        "image_id",
        "path",
        "cluster",
        "probability",
        "outlier_score",
        "x",
        "y",
    ]
    assert (manifest["status"] != "ok").any(), "the synthetic corpus has broken downloads"
    assert manifest.loc[manifest["status"] != "ok", "reason"].str.len().gt(0).all()
    assert len(assignments) == (manifest["status"] == "ok").sum() == metrics["n_clean"]
    assert assignments["probability"].between(0, 1).all()
    assert (assignments.loc[assignments["cluster"] == -1, "probability"] == 0).all()

    # ARI/NMI recomputed from the written files, as a user would.
    joined = assignments.merge(manifest[["path", "label"]], on="path")
    assert metrics["ari"] == pytest.approx(adjusted_rand_score(joined["label"], joined["cluster"]))
    assert metrics["nmi"] == pytest.approx(normalized_mutual_info_score(joined["label"], joined["cluster"]))
    for name in (
        "n_images",
        "n_clean",
        "n_clusters",
        "noise_fraction",
        "silhouette",
        "calinski_harabasz",
        "davies_bouldin",
        "confident_fraction",
        "mean_confident_probability",
    ):
        assert name in metrics
    assert metrics["images_embedded"] == manifest.loc[manifest["status"] == "ok", "image_id"].nunique()

    client = mlflow.tracking.MlflowClient(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    logged = client.get_run(result.mlflow_run_id)
    assert logged.data.params["clusterer.min_cluster_size"] == "5"
    assert logged.data.metrics["n_clean"] == metrics["n_clean"]
    names = {a.path for a in client.list_artifacts(result.mlflow_run_id)}
    assert {"manifest.parquet", "assignments.parquet", "metrics.json", "config.yaml"} <= names
    assert (run_dir / "mlflow_run_id.txt").read_text().strip() == result.mlflow_run_id


def test_rerun_embeds_and_reduces_nothing_and_gives_identical_clusters(tmp_path, shared_cache, monkeypatch):
    monkeypatch.setenv("VISFRAME_CACHE_DIR", str(shared_cache))
    first = run(make_cfg(tmp_path, FAST), tmp_path / "a")
    second = run(make_cfg(tmp_path, [*FAST, "clusterer.min_cluster_size=5"]), tmp_path / "b")
    assert second.metrics["images_embedded"] == 0
    assert (
        second.metrics["images_from_cache"]
        == first.metrics["images_from_cache"] + first.metrics["images_embedded"]
    )
    assert second.metrics["reduce_cache_hit"] == 1
    a = pd.read_parquet(tmp_path / "a" / "assignments.parquet")
    b = pd.read_parquet(tmp_path / "b" / "assignments.parquet")
    np.testing.assert_array_equal(a["cluster"], b["cluster"])


def test_unique_image_clustering_maps_every_post_back(tmp_path, shared_cache, monkeypatch):
    monkeypatch.setenv("VISFRAME_CACHE_DIR", str(shared_cache))
    run(make_cfg(tmp_path, [*FAST, "cluster_unit=unique_image", "report.enabled=false"]), tmp_path / "u")
    manifest = pd.read_parquet(tmp_path / "u" / "manifest.parquet")
    assignments = pd.read_parquet(tmp_path / "u" / "assignments.parquet")
    assert len(assignments) == (manifest["status"] == "ok").sum()
    # Reshared copies (same image_id) get the same cluster and probability.
    per_image = assignments.groupby("image_id")[["cluster", "probability"]].nunique()
    assert (per_image == 1).all().all()
    assert assignments["image_id"].duplicated().any(), "the corpus has reshares"


def _write_folder(root: Path) -> None:
    rng = np.random.default_rng(0)
    for theme, colour in (("red", (200, 30, 30)), ("blue", (30, 30, 200))):
        (root / theme).mkdir(parents=True)
        for i in range(12):
            pixels = np.clip(rng.normal(0, 25, size=(48, 48, 3)) + colour, 0, 255).astype("uint8")
            Image.fromarray(pixels).save(root / theme / f"{theme}_{i}.png")
    (root / "red" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")


def test_cli_on_a_folder_with_a_corrupt_file_completes(tmp_path):
    root = tmp_path / "images"
    _write_folder(root)
    run_dir = tmp_path / "run"
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "visframe.cli",
            "dataset=folder",
            f"dataset.root={root}",
            "dataset.label_from_dirs=true",
            "model=tiny_random",
            "reducer=pca",
            "map_reducer=pca_2d",
            "clusterer.min_cluster_size=4",
            "report.enabled=false",
            "show_progress=false",
            "trainer.num_workers=0",
            f"hydra.run.dir={run_dir}",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    manifest = pd.read_parquet(run_dir / "manifest.parquet")
    broken = manifest[manifest["path"].str.endswith("broken.jpg")]
    assert len(broken) == 1 and broken["status"].iloc[0] != "ok" and broken["reason"].iloc[0]
    assert (manifest["status"] == "ok").sum() == 24
    assert set(manifest.loc[manifest["status"] == "ok", "label"]) == {"red", "blue"}
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["n_images"] == 25 and metrics["n_clean"] == 24
    assert "ari" in metrics and "nmi" in metrics
