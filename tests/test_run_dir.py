"""RunDir as the readers use it: the review app, the exports, sweep summaries and visframe-tune."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from visframe import contracts as C
from visframe.errors import InputError
from visframe.run_dir import RunDir, RunFileMissing


def _assignments(n: int = 4) -> pd.DataFrame:
    return pd.DataFrame(
        {
            C.IMAGE_ID: [f"{k:016x}" for k in range(n)],
            C.PATH: [f"/img/{k}.png" for k in range(n)],
            C.CLUSTER: [0, 1, -1, 0][:n],
            C.PROBABILITY: [0.9, 0.8, 0.0, 0.7][:n],
            C.OUTLIER_SCORE: [0.1] * n,
            C.X: [0.0, 1.0, 2.0, 3.0][:n],
            C.Y: [1.0] * n,
        }
    )


def test_read_arrow_optional_is_none_when_absent_or_unreadable_and_says_why(tmp_path, caplog):
    run = RunDir(tmp_path)
    assert run.read_arrow_optional(C.TEXTS) is None
    run.file(C.TEXTS_FILE).write_bytes(b"not parquet")
    assert run.read_arrow_optional(C.TEXTS, [C.IMAGE_ID, C.TEXT]) is None
    assert "cannot read" in caplog.text and C.TEXTS_FILE in caplog.text
    run.write(C.ASSIGNMENTS, _assignments())
    table = run.read_arrow_optional(C.ASSIGNMENTS, [C.X, C.CLUSTER])
    assert table.column_names == [C.X, C.CLUSTER] and table[C.CLUSTER].to_pylist() == [0, 1, -1, 0]


def test_require_columns_reads_the_schema_and_names_the_file_and_stage(tmp_path):
    run = RunDir(tmp_path)
    with pytest.raises(RunFileMissing, match=C.ASSIGNMENTS_FILE) as missing:
        run.require_columns(C.ASSIGNMENTS, [C.X])
    assert "clustering" in missing.value.fix
    run.write(C.ASSIGNMENTS, _assignments())
    assert C.NEAREST_CLUSTER not in run.require_columns(C.ASSIGNMENTS, [C.X, C.Y])
    with pytest.raises(InputError, match=rf"lacks column\(s\) \['{C.NEAREST_CLUSTER}'\]") as lacking:
        run.require_columns(C.ASSIGNMENTS, [C.X, C.NEAREST_CLUSTER])
    assert "re-run the clustering stage" in lacking.value.fix
    # read_required is require_columns + a read of the needed and the wanted columns it has.
    table = run.read_required(C.ASSIGNMENTS, [C.IMAGE_ID], wanted=[C.NEAREST_CLUSTER, C.PROBABILITY])
    assert table.column_names == [C.IMAGE_ID, C.PROBABILITY]


def test_the_sampling_sheet_is_read_as_text_and_without_one_is_none(tmp_path):
    run = RunDir(tmp_path)
    assert run.read_sampling_sheet() is None
    run.report_dir.mkdir()
    run.sampling_sheet_file.write_text(
        f"{C.IMAGE_ID},{C.LIKES},{C.CAPTION}\n1234567890123456,12,\n", encoding="utf-8"
    )
    sheet = run.read_sampling_sheet()
    # A hex image_id made only of digits stays text; an empty cell stays "" (not NaN).
    assert sheet.to_dict("records") == [{C.IMAGE_ID: "1234567890123456", C.LIKES: "12", C.CAPTION: ""}]
    run.sampling_sheet_file.write_text("cluster,band\n1,a\n", encoding="utf-8")
    with pytest.raises(InputError, match=f"no {C.IMAGE_ID} column") as broken:
        run.read_sampling_sheet()
    assert "report stage" in broken.value.fix


def test_cluster_names_by_layer_keep_the_chosen_layer_under_minus_one(tmp_path):
    run = RunDir(tmp_path)
    assert run.cluster_names() == {} and run.cluster_names_by_layer() == {}
    clusters = pd.DataFrame(
        {
            C.LAYER: [0, 0, 1, 1],
            C.CLUSTER: [0, 1, 0, 1],
            C.IS_CHOSEN_LAYER: [False, False, True, True],
            C.NAME: ["fine a", "fine b", " marchas ", ""],
            C.SIZE: [2, 2, 3, 1],
            C.N_UNIQUE_IMAGES: [2, 2, 3, 1],
        }
    )
    run.write(C.CLUSTERS, clusters)
    assert run.cluster_names() == {0: "marchas"}  # stripped; a blank name is no name
    assert run.cluster_names(0) == {0: "fine a", 1: "fine b"}
    assert run.cluster_names_by_layer() == {
        0: {0: "fine a", 1: "fine b"},
        1: {0: "marchas"},
        -1: {0: "marchas"},
    }


def test_small_files_a_summary_reads(tmp_path):
    run = RunDir(tmp_path)
    nothing = (run.read_metrics(), run.read_config(), run.read_overrides(), run.mlflow_run_id())
    assert nothing == (None, None, [], None)
    assert not run.is_job()
    run.write_metrics({"silhouette": float("nan"), "n_clusters": 3})
    assert json.loads(run.file(C.METRICS_FILE).read_text())["silhouette"] is None  # JSON has no NaN
    metrics = run.read_metrics()
    assert math.isnan(metrics["silhouette"]) and metrics["n_clusters"] == 3 and run.is_job()
    # A tune trial's overrides.yaml, unless Hydra's own record is there.
    run.write_overrides(["clusterer.min_cluster_size=25"])
    assert run.read_overrides() == ["clusterer.min_cluster_size=25"]
    run.write_text(f"{C.HYDRA_DIR}/{C.OVERRIDES_FILE}", "- model=clip\n")
    assert run.read_overrides() == ["model=clip"]
    # config.yaml, else Hydra's .hydra/config.yaml.
    run.write_text(f"{C.HYDRA_DIR}/{C.CONFIG_FILE}", "model:\n  name: hydra\n")
    assert run.read_config() == {"model": {"name": "hydra"}}
    run.write_config("model:\n  name: resolved\n")
    assert run.read_config() == {"model": {"name": "resolved"}}
    run.write_mlflow_run_id("0" * 32)
    assert run.mlflow_run_id() == "0" * 32


def test_inside_trusts_only_files_inside_the_run_directory(tmp_path):
    run = RunDir(tmp_path / "run")
    run.report_dir.mkdir(parents=True)
    (run.report_dir / "thumb.jpg").write_bytes(b"x")
    (tmp_path / "secret.txt").write_text("no")
    assert run.inside("thumb.jpg") == (run.report_dir / "thumb.jpg").resolve()
    assert run.inside("../../secret.txt") is None
    assert run.inside("") is None and run.inside("nope.jpg") is None
