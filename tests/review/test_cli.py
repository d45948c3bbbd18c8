"""`visframe-review`: run directory or MLflow run id, token rules, default store location."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from review_fixtures import Browser, make_run_dir

from visframe import contracts as C
from visframe.review import cli


@pytest.fixture
def served(monkeypatch):
    """Capture what main() would serve instead of blocking in uvicorn.run."""
    calls = {}

    def fake_run(app, host, port, **kwargs):
        calls.update(app=app, host=host, port=port)

    import uvicorn

    monkeypatch.setattr(uvicorn, "run", fake_run)
    return calls


def test_serves_a_run_directory_on_loopback_with_the_store_in_the_run(run_dir, served):
    assert cli.main([str(run_dir), "--port", "9911"]) == 0
    assert (served["host"], served["port"]) == ("127.0.0.1", 9911)
    assert (run_dir / "review.db").is_file()
    assert TestClient(served["app"], base_url="http://127.0.0.1").get("/").status_code == 200


def test_non_loopback_needs_a_token(run_dir, served, monkeypatch, capsys):
    monkeypatch.delenv(cli.TOKEN_ENV, raising=False)
    assert cli.main([str(run_dir), "--host", "0.0.0.0"]) == 2
    assert "token" in capsys.readouterr().err and not served
    monkeypatch.setenv(cli.TOKEN_ENV, "from-env-0123456789")
    assert cli.main([str(run_dir), "--host", "0.0.0.0", "--db", f"sqlite:///{run_dir / 'other.db'}"]) == 0
    client = TestClient(served["app"], base_url="http://192.0.2.1")
    assert client.get("/").status_code == 401
    assert client.get("/", headers={"X-Review-Token": "from-env-0123456789"}).status_code == 200
    assert (run_dir / "other.db").is_file()


def test_bad_run_arguments(tmp_path, served, capsys):
    with pytest.raises(SystemExit, match="neither a run directory nor an MLflow run id"):
        cli.main([str(tmp_path / "nope")])
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli.main([str(empty)]) == 1
    assert "manifest.parquet" in capsys.readouterr().err


@pytest.mark.timeout(120)
def test_an_mlflow_run_id_is_downloaded_served_and_codes_logged_back(tmp_path, served, monkeypatch):
    import mlflow
    import pandas as pd
    from mlflow import MlflowClient

    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=tracking_uri)
    experiment = client.create_experiment("review-cli", artifact_location=(tmp_path / "artifacts").as_uri())
    run_id = client.create_run(experiment).info.run_id
    run_dir = make_run_dir(tmp_path, sampling_sheet=True, messages=True)
    # As the pipeline logs them: contract files at the root, the report under report/.
    for name in (
        "manifest.parquet",
        "assignments.parquet",
        C.MESSAGES_FILE,
        C.MESSAGE_TOPICS_FILE,
        C.SLOGANS_FILE,
    ):
        client.log_artifact(run_id, str(run_dir / name))
    client.log_artifact(run_id, str(run_dir / "report" / "sampling_sheet.csv"), artifact_path="report")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    assert cli.main([run_id]) == 0
    app = served["app"]
    run = app.state.review.run
    assert run.mlflow_run_id == run_id and run.run_id == run_id and run.sampled and run.n_images == 20
    assert (run.run_dir / "review.db").is_file() and run.run_dir != run_dir
    assert TestClient(app, base_url="http://127.0.0.1").get("/").status_code == 200
    # The message topics and slogans came too: their pages list the sampled images.
    topics = TestClient(app, base_url="http://127.0.0.1").get("/topics").text
    assert 'id="topic-card-0"' in topics and 'href="/slogan/0"' in topics
    # Code two images, then log the codes back to the same MLflow run through the app (POST + CSRF).
    store = app.state.review.store
    code = store.add_code("protest")
    for image_id in run.images.index[:2]:
        store.save_coding(image_id, "ana", [code.id], "memo")
    page = Browser(app).post("/export/mlflow")
    assert page.status_code == 200 and "logged review/codes.csv" in page.text
    assert sorted(a.path for a in client.list_artifacts(run_id, "review")) == [
        "review/clusters.csv",
        "review/codes.csv",
        "review/codes.parquet",
    ]
    logged = mlflow.artifacts.download_artifacts(
        run_id=run_id,
        artifact_path="review/codes.parquet",
        dst_path=str(tmp_path / "dl"),
        tracking_uri=tracking_uri,
    )
    codes = pd.read_parquet(logged)
    assert len(codes) == 2 and set(codes.run_id) == {run_id} and set(codes.code) == {"protest"}


def test_tracking_uri_defaults(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    assert cli.default_tracking_uri(None) is None
    (tmp_path / "mlruns").mkdir()
    (tmp_path / "mlruns" / "mlflow.db").write_bytes(b"")
    assert cli.default_tracking_uri(None) == f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.example:5000")
    assert cli.default_tracking_uri(None) == "http://mlflow.example:5000"
    assert cli.default_tracking_uri("sqlite:///x.db") == "sqlite:///x.db"
