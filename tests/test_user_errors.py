"""Every bad input a new user tries ends in one clear message with the fix, exit code 2, before any
expensive stage (issue 10). Most cases call the pipeline directly and check that no model was
built; two go through the real `visframe` command to check the exit code and the absent traceback."""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PIL import Image

import job_config
from visframe import contracts as C
from visframe import pipeline
from visframe.errors import ConfigError, InputError, TrackingError, VisframeError


def make_cfg(tmp_path: Path, overrides: list[str]):
    return job_config.make_cfg(tmp_path, overrides, fast=[*job_config.FAST, "report.enabled=false"])


@pytest.fixture
def no_model(monkeypatch):
    """Fail the test if the pipeline gets as far as building the encoder (the first real work)."""

    def refuse(*args, **kwargs):
        raise AssertionError("the job started work before the bad input was found")

    monkeypatch.setattr(pipeline, "_run_stages", refuse)


@pytest.fixture
def image_folder(tmp_path):
    root = tmp_path / "images"
    root.mkdir()
    for i in range(3):
        Image.new("RGB", (64, 64), (40 * i, 90, 200)).save(root / f"img{i}.png")
    return root


def expect(error_type, match, tmp_path, overrides):
    cfg = make_cfg(tmp_path, overrides)
    with pytest.raises(error_type, match=match) as caught:
        pipeline.run(cfg, tmp_path / "run")
    return caught.value


def test_missing_input_folder(tmp_path, no_model):
    expect(InputError, "does not exist", tmp_path, ["dataset=folder", "dataset.root=/nonexistent/posts"])


def test_empty_input_folder(tmp_path, no_model):
    (tmp_path / "empty").mkdir()
    expect(InputError, "holds no files", tmp_path, ["dataset=folder", f"dataset.root={tmp_path / 'empty'}"])


def test_input_root_not_given(tmp_path, no_model):
    expect(InputError, "no input folder", tmp_path, ["dataset=folder"])


def test_metadata_file_missing(tmp_path, image_folder, no_model):
    error = expect(
        InputError,
        "does not exist",
        tmp_path,
        ["dataset=folder", f"dataset.root={image_folder}", f"dataset.metadata={tmp_path / 'nope.csv'}"],
    )
    assert "dataset.metadata" in str(error)


def test_metadata_csv_without_a_file_column(tmp_path, image_folder, no_model):
    csv = tmp_path / "posts.csv"
    csv.write_text("account,likes\nana,3\n")
    expect(
        InputError,
        "no file column",
        tmp_path,
        ["dataset=folder", f"dataset.root={image_folder}", f"dataset.metadata={csv}"],
    )


@pytest.mark.parametrize("remembered", [False, True], ids=["first-run", "after-a-run-with-them"])
def test_missing_weights_stop_the_job_before_ingest(tmp_path, monkeypatch, remembered):
    """The model may be loaded lazily (embed.deferred), but missing weights are still found first."""
    from visframe.embed import MissingWeightsError, embed_images, load_encoder

    weights = tmp_path / "lite0.pth"
    overrides = ["model=efficientnet_lite0", f"model.weights={weights}", "trainer.accelerator=cpu"]
    if remembered:  # a job with these weights recorded their key; then the file went away
        import torch

        from visframe.embed.encoders.efficientnet_lite import EfficientNetLite0Encoder

        torch.save(EfficientNetLite0Encoder(weights=None).net.state_dict(), weights)
        cfg = make_cfg(tmp_path, overrides)
        image = tmp_path / "one.png"
        Image.new("RGB", (64, 64), (1, 2, 3)).save(image)
        encoder = load_encoder(cfg.model, cfg.trainer, cfg.paths.cache_dir)
        embed_images(["one"], [str(image)], encoder, cfg.trainer, cfg.paths.cache_dir, show_progress=False)
        assert not load_encoder(cfg.model, cfg.trainer, cfg.paths.cache_dir).loaded
        weights.unlink()

    def refuse(*args, **kwargs):
        raise AssertionError("ingest ran before the missing weights were found")

    monkeypatch.setattr(pipeline.data_stage, "run", refuse)
    with pytest.raises(Exception) as caught:
        pipeline.run(make_cfg(tmp_path, overrides), tmp_path / "run")
    error = caught.value
    while not isinstance(error, MissingWeightsError) and error.__cause__ is not None:
        error = error.__cause__  # Hydra wraps the encoder's exception
    assert isinstance(error, MissingWeightsError) and "nothing exists there" in str(error)


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ("clusterer.min_cluster_size=0", "at least 2"),
        ("clusterer.min_cluster_size=-5", "at least 2"),
        ("clusterer.min_cluster_size=abc", "whole number"),
        ("reducer.n_components=0", "at least 1"),
        ("cluster_unit=images", "cluster_unit"),
        ("reducer.knn.n_jobs=0", "every core"),
        ("map_reducer.knn.n_jobs=two", "every core"),
        ("reducer.epoch_budget.min_epochs=0", "at least 1"),
        ("reducer.epoch_budget.point_epochs=many", "whole number"),
    ],
)
def test_parameters_out_of_range(tmp_path, override, match, no_model):
    error = expect(ConfigError, match, tmp_path, [override])
    assert override.split("=")[0] in str(error)


@pytest.mark.parametrize(("code", "words"), [(errno.EROFS, "read-only"), (errno.ENOSPC, "disk is full")])
def test_output_directory_read_only_or_full(tmp_path, monkeypatch, code, words, no_model):
    real_open = open

    def failing_open(file, mode="r", *args, **kwargs):
        if str(file).endswith(".visframe-write-probe") and "w" in mode:
            raise OSError(code, os.strerror(code), str(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", failing_open)
    expect(InputError, words, tmp_path, [])


def test_unknown_optimized_metric_is_refused_by_the_registry():
    from visframe.evaluate.registry import get_metric

    with pytest.raises(ConfigError, match="unknown metric") as caught:
        get_metric("silhoutte")
    assert "silhouette" in caught.value.fix


def _hold_exclusive_lock(db: Path, locked: threading.Event, release: threading.Event) -> None:
    connection = sqlite3.connect(db, timeout=1)
    connection.execute("BEGIN EXCLUSIVE")
    locked.set()
    release.wait(300)
    connection.rollback()
    connection.close()


@pytest.mark.slow
def test_mlflow_store_locked_at_the_end_keeps_outputs_and_says_how_to_log_them(tmp_path, monkeypatch):
    """Another process locks the SQLite store after the run opened: the outputs stay, a pending file
    says how to log them, the job fails with TrackingError (exit 2 from the CLI), the run is not FINISHED."""
    from visframe.tracking import job as job_module

    monkeypatch.setattr(job_module, "RETRY_SECONDS", ())  # one try: MLflow itself waits 20 s on the lock
    locked, release = threading.Event(), threading.Event()
    real_stages = pipeline._run_stages

    def stages_then_lock(cfg, run_dir, tracker, session):
        result = real_stages(cfg, run_dir, tracker, session)
        db = Path(tmp_path / "mlruns" / "mlflow.db")
        threading.Thread(target=_hold_exclusive_lock, args=(db, locked, release), daemon=True).start()
        assert locked.wait(10)
        return result

    monkeypatch.setattr(pipeline, "_run_stages", stages_then_lock)
    cfg = make_cfg(tmp_path, ["tracking.tags={}"])
    try:
        with pytest.raises(TrackingError, match="logging them to MLflow"):
            pipeline.run(cfg, tmp_path / "run")
    finally:
        release.set()
    run_dir = tmp_path / "run"
    assert (run_dir / C.ASSIGNMENTS_FILE).exists() and (run_dir / C.METRICS_FILE).exists()
    run_id = (run_dir / C.MLFLOW_RUN_ID_FILE).read_text().strip()
    pending = (run_dir / C.TRACKING_PENDING_FILE).read_text()
    assert run_id in pending and "log-artifacts" in pending


def test_failed_job_leaves_a_failed_mlflow_run(tmp_path, monkeypatch):
    """The run opens at the start: a job that breaks midway is FAILED in MLflow, not missing."""
    import mlflow

    def broken(cfg, run_dir, tracker, session):
        raise RuntimeError("a stage broke")

    monkeypatch.setattr(pipeline, "_run_stages", broken)
    cfg = make_cfg(tmp_path, [])
    with pytest.raises(RuntimeError, match="a stage broke"):
        pipeline.run(cfg, tmp_path / "run")
    run_id = (tmp_path / "run" / C.MLFLOW_RUN_ID_FILE).read_text().strip()
    client = mlflow.tracking.MlflowClient(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    assert client.get_run(run_id).info.status == "FAILED"


def test_cli_prints_one_message_and_exits_2_without_traceback(tmp_path):
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    env.pop("VISFRAME_DEBUG", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "visframe.cli",
            "dataset=folder",
            "dataset.root=/nonexistent/posts",
            f"hydra.run.dir={tmp_path / 'run'}",
            f"tracking.store_dir={tmp_path / 'mlruns'}",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 2, result.stderr
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert "does not exist" in output and "Fix:" in output
    assert len([line for line in output.splitlines() if line.strip()]) <= 3


def test_cli_bad_parameter_exits_2(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "visframe.cli",
            "clusterer.min_cluster_size=abc",
            "dataset.preset=tiny",
            f"hydra.run.dir={tmp_path / 'run'}",
            f"tracking.store_dir={tmp_path / 'mlruns'}",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "whole number" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_every_user_error_class_derives_from_visframe_error():
    from visframe.data.ingest import IngestError
    from visframe.data.metadata import MetadataError
    from visframe.data.stage import NoUsableImages
    from visframe.embed.embedding import EmbeddingError
    from visframe.embed.encoders.base import MissingWeightsError
    from visframe.run_dir import RunFileMissing

    for error_type in (
        IngestError,
        MetadataError,
        EmbeddingError,
        MissingWeightsError,
        pipeline.PipelineError,
        NoUsableImages,
        RunFileMissing,
    ):
        assert issubclass(error_type, VisframeError), error_type


def test_store_failing_at_the_end_keeps_outputs_and_exits_2_from_the_cli(tmp_path, monkeypatch):
    """Fast twin of the locked-store test: the store refuses the final logging (as a locked SQLite
    database does after MLflow's own 20 s wait); the CLI's handler turns it into exit code 2."""
    from visframe.errors import exit_on_user_error
    from visframe.tracking import job as job_module

    def locked(self, metrics):
        raise RuntimeError("(sqlite3.OperationalError) database is locked")

    monkeypatch.setattr(job_module, "RETRY_SECONDS", ())
    monkeypatch.setattr(job_module.JobTracker, "log_metrics", locked)
    cfg = make_cfg(tmp_path, [])
    with pytest.raises(SystemExit) as exited, exit_on_user_error():
        pipeline.run(cfg, tmp_path / "run")
    assert exited.value.code == 2
    run_dir = tmp_path / "run"
    assert (run_dir / C.ASSIGNMENTS_FILE).exists()
    assert "log-artifacts" in (run_dir / C.TRACKING_PENDING_FILE).read_text()


def test_a_reducer_asking_more_components_than_the_vectors_have_stops_with_one_message(tmp_path):
    """Issue 25: `reducer=pca reducer.n_components=500` on the tiny model's vectors ends in the project's
    error (exit 2 from the command), before the estimator runs, with nothing of the job lost."""
    fast = [o for o in job_config.FAST if not o.startswith("reducer.")] + ["report.enabled=false"]
    cfg = job_config.make_cfg(tmp_path, ["reducer=pca", "reducer.n_components=500"], fast=fast)
    with pytest.raises(ConfigError, match=r"n_components=500 is more than") as caught:
        pipeline.run(cfg, tmp_path / "run")
    assert "n_components ≤" in caught.value.fix
    assert (tmp_path / "run" / C.MANIFEST_FILE).exists()  # ingest's work is kept for the rerun
