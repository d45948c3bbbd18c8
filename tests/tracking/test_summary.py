"""The sweep summary tables, built from job directories as a multirun leaves them."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from visframe.tracking.summary import collect_jobs, find_job_dirs, write_summary

PATHS = [f"/corpus/img{i:03d}.jpg" for i in range(60)]


def make_job(sweep, number, model, mcs, labels, metrics, overrides):
    job = sweep / str(number)
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    config = {
        "model": {"name": model},
        "clusterer": {"_target_": "hdbscan.HDBSCAN", "min_cluster_size": mcs},
        "reducer": {"_target_": "umap.UMAP"},
    }
    (job / "config.yaml").write_text(yaml.safe_dump(config))
    (job / "metrics.json").write_text(json.dumps(metrics))
    pd.DataFrame({"image_id": [p[-7:-4] for p in PATHS], "path": PATHS, "cluster": labels}).to_parquet(
        job / "assignments.parquet"
    )
    return job


@pytest.fixture
def sweep(tmp_path):
    rng = np.random.default_rng(0)
    base = np.repeat([0, 1, 2], 20)
    jobs = []
    for number, (model, mcs) in enumerate([("tiny", 5), ("tiny", 20), ("effnet", 5), ("effnet", 20)]):
        labels = np.where(rng.random(60) < 0.2 * (number + 1) / 4, -1, base if number % 2 == 0 else base % 2)
        metrics = {
            "n_clusters": float(len(set(labels) - {-1})),
            "silhouette": 0.1 * number,
            "noise_fraction": float((labels < 0).mean()),
            "calinski_harabasz": 100.0 + number,
            "davies_bouldin": 1.0 - 0.1 * number,
            "dbcv": 0.2 * number,
            "confident_fraction": 0.5,
            "mean_probability": 0.7,
            "images_embedded": 0.0,
            "reduce_cache_hit": 1.0,
            "ari": None,
        }
        jobs.append(
            (
                labels,
                make_job(
                    tmp_path,
                    number,
                    model,
                    mcs,
                    labels,
                    metrics,
                    [f"model={model}", f"clusterer.min_cluster_size={mcs}"],
                ),
            )
        )
    (tmp_path / "4" / ".hydra").mkdir(parents=True)  # a job that failed before writing metrics
    (tmp_path / "4" / ".hydra" / "overrides.yaml").write_text(
        yaml.safe_dump(["model=broken", "clusterer.min_cluster_size=10"])
    )
    return tmp_path, jobs


def test_jobs_are_found_in_number_order_and_failed_ones_marked(sweep):
    sweep_dir, _ = sweep
    dirs = find_job_dirs(sweep_dir)
    assert [d.name for d in dirs] == ["0", "1", "2", "3", "4"]
    jobs = collect_jobs(dirs)
    assert list(jobs["status"]) == ["ok"] * 4 + ["failed"]
    assert jobs.loc[0, "label"] == "model=tiny min_cluster_size=5"
    assert np.isnan(jobs.loc[0, "ari"])  # null in metrics.json


def test_study_tables_have_the_papers_columns(sweep):
    sweep_dir, _ = sweep
    written = write_summary(find_job_dirs(sweep_dir), sweep_dir / "summary", confidence_threshold=0.85)
    names = {p.name for p in written}
    for table in ("min_cluster_size", "model_comparison", "confidence"):
        assert {f"{table}.csv", f"{table}.png"} <= names
    assert {
        "jobs.csv",
        "agreement_ari.csv",
        "agreement_nmi.csv",
        "agreement.png",
        "min_cluster_size_plot.png",
    } <= names
    mcs = pd.read_csv(sweep_dir / "summary" / "min_cluster_size.csv")
    assert list(mcs.columns) == [
        "model",
        "min_cluster_size",
        "n_clusters",
        "silhouette",
        "noise_share",
        "dbcv",
    ]
    assert list(zip(mcs["model"], mcs["min_cluster_size"], strict=True)) == [
        ("effnet", 5),
        ("effnet", 20),
        ("tiny", 5),
        ("tiny", 20),
    ]  # 5 < 20: sorted as numbers
    assert mcs.loc[0, "silhouette"] == pytest.approx(0.2)  # job 2
    models = pd.read_csv(sweep_dir / "summary" / "model_comparison.csv")
    assert list(models.columns[:5]) == [
        "model",
        "clusterer.min_cluster_size",
        "silhouette",
        "calinski_harabasz",
        "davies_bouldin",
    ]
    confidence = pd.read_csv(sweep_dir / "summary" / "confidence.csv")
    assert {"share_probability_ge_0.85", "mean_probability", "n_clusters"} <= set(confidence.columns)
    jobs = pd.read_csv(sweep_dir / "summary" / "jobs.csv")
    assert (jobs.loc[jobs["status"] == "ok", "reduce_cache_hit"] == 1).all()


def test_agreement_matrices_are_sklearns_ari_and_nmi_over_shared_images(sweep):
    sweep_dir, jobs = sweep
    write_summary(find_job_dirs(sweep_dir), sweep_dir / "summary")
    ari = pd.read_csv(sweep_dir / "summary" / "agreement_ari.csv", index_col="job")
    nmi = pd.read_csv(sweep_dir / "summary" / "agreement_nmi.csv", index_col="job")
    (labels_a, _), (labels_b, _) = jobs[0], jobs[3]
    a, b = "model=tiny min_cluster_size=5", "model=effnet min_cluster_size=20"
    assert ari.loc[a, b] == pytest.approx(adjusted_rand_score(labels_a, labels_b))
    assert nmi.loc[b, a] == pytest.approx(normalized_mutual_info_score(labels_a, labels_b))
    assert np.allclose(np.diag(ari.to_numpy()), 1.0)
    assert len(ari) == 4  # the failed job has no clustering to compare
