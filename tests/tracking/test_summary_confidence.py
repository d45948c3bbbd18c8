"""Sweep summaries a reader can use (issue 16): confidence per job, any swept parameter, legible tables."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from omegaconf import OmegaConf

from visframe.tracking.summary import (
    collect_jobs,
    confidence_by_job,
    find_job_dirs,
    swept_keys,
    write_summary,
)
from visframe.tracking.summary_figures import column_format, header_lines
from visframe.tracking.sweep import sweep_parameters

THRESHOLD = 0.85


def make_job(sweep, number, model, overrides, seed, params=None, n=150):
    """A finished job as a multirun leaves it, with real-looking labels and probabilities."""
    rng = np.random.default_rng(seed)
    job = sweep / str(number)
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    config = {"model": {"name": model}, "clusterer": {"_target_": "x.PLSCAN", **(params or {})}}
    (job / "config.yaml").write_text(yaml.safe_dump(config))
    labels = rng.integers(-1, 3, n)
    probability = np.where(labels < 0, 0.0, rng.beta(3, 1, n))
    (job / "metrics.json").write_text(json.dumps({
        "n_clusters": 3.0, "silhouette": 0.4, "noise_fraction": float((labels < 0).mean()),
        "confident_fraction": float((probability[labels >= 0] >= THRESHOLD).mean()), "mean_probability": 0.7,
    }))  # fmt: skip
    pd.DataFrame({"path": [f"/c/{i}.jpg" for i in range(n)], "cluster": labels, "probability": probability}).to_parquet(
        job / "assignments.parquet"
    )
    return job, labels, probability


@pytest.fixture
def plscan_sweep(tmp_path):
    """A sweep over a parameter that is not min_cluster_size, for two models, plus a failed job."""
    made = {}
    number = 0
    for model in ("tiny_random", "=evil<script>"):
        for min_samples in (10, 3, 5):  # out of order on purpose
            overrides = [f"model={model}", f"clusterer.min_samples={min_samples}"]
            made[number] = make_job(tmp_path, number, model, overrides, seed=number, params={"min_samples": min_samples})
            number += 1
    failed = tmp_path / str(number)
    (failed / ".hydra").mkdir(parents=True)
    (failed / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(["model=tiny_random", "clusterer.min_samples=7"]))
    return tmp_path, made


def test_every_job_is_in_the_confidence_data_with_numpys_numbers(plscan_sweep):
    sweep_dir, made = plscan_sweep
    jobs = collect_jobs(find_job_dirs(sweep_dir))
    by_job = confidence_by_job(jobs, THRESHOLD)
    assert sorted(by_job["job"].astype(int)) == list(range(7))  # the failed job too, without numbers
    assert by_job.set_index("job").loc["6", "status"] == "failed"
    assert np.isnan(by_job.set_index("job").loc["6", "median"])
    ours = by_job[by_job["model"] == "tiny_random"].dropna(subset=["median"])
    assert list(ours["clusterer.min_samples"]) == [3, 5, 10]  # ordered by the swept parameter, as numbers
    for number, (_, labels, probability) in made.items():
        row = by_job.set_index("job").loc[str(number)]
        clustered = probability[labels >= 0]
        assert row["n_clustered"] == len(clustered) and row["n_points"] == len(labels)
        assert row["share_ge_threshold"] == pytest.approx((clustered >= THRESHOLD).mean())
        assert row["noise_share"] == pytest.approx((labels < 0).mean())
        assert row["median"] == pytest.approx(np.median(clustered))
        assert row["q05"] == pytest.approx(np.quantile(clustered, 0.05))
        assert row["q75"] == pytest.approx(np.quantile(clustered, 0.75))


def test_the_swept_parameter_is_read_from_the_overrides_not_assumed(plscan_sweep):
    sweep_dir, _ = plscan_sweep
    written = {p.name for p in write_summary(find_job_dirs(sweep_dir), sweep_dir / "summary", THRESHOLD)}
    assert {"min_samples.csv", "min_samples.png", "min_samples_plot.png"} <= written
    assert "min_cluster_size.csv" not in written
    assert {"confidence_by_job.csv", "confidence_by_job.png", "confidence_lines.png", "index.html"} <= written
    table = pd.read_csv(sweep_dir / "summary" / "min_samples.csv")
    assert list(table.columns[:2]) == ["model", "min_samples"]
    data = pd.read_csv(sweep_dir / "summary" / "confidence_by_job.csv")
    assert sorted(data["job"]) == list(range(7)) and "clusterer.min_samples" in data.columns


def test_exports_are_safe_and_the_page_is_self_contained(plscan_sweep):
    sweep_dir, _ = plscan_sweep
    write_summary(find_job_dirs(sweep_dir), sweep_dir / "summary", THRESHOLD)
    for name in ("jobs.csv", "confidence_by_job.csv", "model_comparison.csv"):
        with open(sweep_dir / "summary" / name, encoding="utf-8") as handle:
            cells = [cell for row in csv.reader(handle) for cell in row]
        assert "'=evil<script>" in cells and "=evil<script>" not in cells
    page = (sweep_dir / "summary" / "index.html").read_text(encoding="utf-8")
    assert "<script" not in page and "=evil&lt;script&gt;" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), "no external request"
    assert page.count('src="data:image/png;base64,') >= 4  # box plot, lines, parameter curves, agreement
    assert 'title="share of clustered points with membership probability &gt;= 0.85"' in page


def test_sweep_keys_come_from_the_multiruns_overrides_and_sweeper_params():
    assert swept_keys(["clusterer.min_cluster_size=20,40,60", "model=a,b", "seed=1", "+x.y=range(1,4)"]) == [
        "clusterer.min_cluster_size", "model", "x.y"
    ]  # fmt: skip
    config = OmegaConf.create({"hydra": {"overrides": {"task": ["model=a,b", "seed=3"]},
                                         "sweeper": {"params": {"clusterer.min_samples": "range(2,5)"}}}})  # fmt: skip
    assert sweep_parameters(config) == ["model", "clusterer.min_samples"]


def test_a_value_swept_once_is_still_named_by_the_sweep(tmp_path):
    for number, model in enumerate(("a", "b")):
        make_job(tmp_path, number, model, [f"model={model}", "clusterer.min_samples=4"], seed=number)
    jobs = collect_jobs(find_job_dirs(tmp_path), swept=["model", "clusterer.min_samples"])
    assert jobs.attrs["varying"] == ["override:model", "override:clusterer.min_samples"]
    assert jobs.loc[0, "label"] == "model=a min_samples=4"


def test_table_cells_have_fixed_decimals_and_short_header_lines():
    assert [column_format(pd.Series([0.5, 2.0, np.nan]))(v) for v in (0.5, 2.0, np.nan)] == ["0.500", "2.000", "–"]
    assert column_format(pd.Series([1234.56, 7.0]))(7.0) == "7.0"
    assert column_format(pd.Series([5, 20]))(20) == "20"
    assert column_format(pd.Series([1.0, 1.0], name="q75"))(1.0) == "1.000"  # a probability, not a count
    assert column_format(pd.Series([1.0, 3.0], name="n_clusters"))(3.0) == "3"
    assert header_lines("share_probability_ge_0.85") == ["share", "probability", "ge 0.85"]
    assert header_lines("clusterer.min_cluster_size") == ["min cluster", "size"]
    assert all(len(line) <= 12 for line in header_lines("a_very_long_metric_name_that_goes_on_and_on"))


def test_trials_without_a_model_name_or_most_metrics_still_get_every_figure(tmp_path):
    """What visframe-tune's trial directories can hold: overrides.yaml, a few metrics, no model."""
    for number, mcs in enumerate((20, 40, 30)):
        trial = tmp_path / f"trial_{number:04d}"
        trial.mkdir()
        (trial / "overrides.yaml").write_text(yaml.safe_dump([f"clusterer.min_cluster_size={mcs}"]))
        (trial / "metrics.json").write_text(json.dumps({"dbcv": 0.1 * number, "n_clusters": 3.0}))
        pd.DataFrame({"path": ["a", "b", "c", "d"], "cluster": [0, 0, 1, -1], "probability": [0.9, 0.5, 1.0, 0.0]}).to_parquet(
            trial / "assignments.parquet"
        )
    written = {p.name for p in write_summary(sorted(tmp_path.glob("trial_*")), tmp_path / "summary", THRESHOLD)}
    assert {"min_cluster_size_plot.png", "confidence_by_job.png", "confidence_lines.png", "index.html"} <= written
    data = pd.read_csv(tmp_path / "summary" / "confidence_by_job.csv")
    assert list(data["clusterer.min_cluster_size"]) == [20, 30, 40]
    assert np.allclose(data["share_ge_threshold"], 2 / 3)


def test_each_jobs_named_clusters_are_listed_side_by_side(plscan_sweep):
    sweep, made = plscan_sweep
    for number, name in ((0, "marcha"), (1, "comunicado")):
        pd.DataFrame({"layer": [0, 0], "cluster": [0, 1], "is_chosen_layer": [True, True],
                      "name": [f"{name} a", f"{name} b"], "size": [5, 9], "n_unique_images": [5, 9]}
                     ).to_parquet(made[number][0] / "clusters.parquet")
    out = sweep / "summary"
    written = write_summary(find_job_dirs(sweep), out, THRESHOLD)
    names = pd.read_csv(out / "cluster_names.csv")
    assert out / "cluster_names.csv" in written
    assert names.loc[names.job == 1, "name"].tolist() == ["comunicado b", "comunicado a"]  # largest first
    assert set(names.job) == {0, 1}
    assert "comunicado b" in (out / "index.html").read_text()


def test_a_job_that_found_no_cluster_is_shown_labelled_not_dropped(tmp_path, monkeypatch):
    """min_cluster_size too large for the data: every image noise, its probability metrics undefined."""
    from matplotlib.figure import Figure
    from matplotlib.text import Text

    for number, mcs in enumerate((5, 10, 60)):
        job, _, _ = make_job(tmp_path, number, "tiny_random", [f"clusterer.min_cluster_size={mcs}"], seed=number)
        if mcs == 60:
            n = 150
            (job / "metrics.json").write_text(json.dumps({"n_clusters": 0.0, "noise_fraction": 1.0, "silhouette": None,
                                                          "confident_fraction": None, "dbcv": None}))
            pd.DataFrame({"path": [f"/c/{i}.jpg" for i in range(n)], "cluster": [-1] * n,
                          "probability": [0.0] * n}).to_parquet(job / "assignments.parquet")
    texts = {}  # figure file → every text drawn on it (labels, ticks, legend)
    savefig = Figure.savefig

    def recording(figure, path, *args, **kwargs):
        texts[Path(path).name] = [t.get_text() for t in figure.findobj(Text)]
        return savefig(figure, path, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", recording)
    write_summary(find_job_dirs(tmp_path), tmp_path / "summary", THRESHOLD)
    boxes = texts["confidence_by_job.png"]
    assert "no clusters" in boxes and {"5", "10", "60"} <= set(boxes)  # the empty job keeps its place
    assert "no clusters (all noise)" in texts["confidence_lines.png"]
    by_job = pd.read_csv(tmp_path / "summary" / "confidence_by_job.csv", keep_default_na=False)
    assert list(by_job["note"]) == ["", "", "no clusters"] and by_job["n_clustered"].iloc[2] == 0
    jobs = pd.read_csv(tmp_path / "summary" / "jobs.csv", keep_default_na=False)
    assert list(jobs["note"]) == ["", "", "no clusters"] and list(jobs["status"]) == ["ok"] * 3
    page = (tmp_path / "summary" / "index.html").read_text(encoding="utf-8")
    assert "3 jobs (0 failed, 1 with no clusters)" in page and page.count(">no clusters<") >= 2
