"""The Label Studio round trip against a real Label Studio (slow: a second venv, a Django server).

Label Studio is not a dependency of visframe; it lives in a venv of its own, which this test starts
as a server (a fresh data folder: its first start runs the database migrations, 2 to 10 minutes on
a shared 2-core machine). Create the venv once (`VISFRAME_LABEL_STUDIO_VENV` points elsewhere):

    python3 -m venv ../venvs/labelstudio     # beside the checkout: <checkout>/../venvs/labelstudio
    ../venvs/labelstudio/bin/pip install label-studio 'sentry-sdk<3'

(`sentry-sdk` 3 stops Label Studio 1.23 at start-up.) To reuse a Label Studio already running, set
`VISFRAME_LABEL_STUDIO_URL` and `VISFRAME_LABEL_STUDIO_TOKEN` (a legacy API token; Label Studio 1.23
accepts them only when started with `--enable-legacy-api-token`).

Through Label Studio's REST API: a project from visframe's labeling config for a run with an empty
codebook (refused before: an empty `<Choices>`), the tasks with the cluster as a prediction, three
annotations (new codes typed, a memo, one image moved to another cluster), then its JSON and
JSON_MIN exports imported into the review store.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
import requests
from review_fixtures import make_run_dir

from visframe.review.labelstudio import import_annotations, labelstudio_config, labelstudio_tasks, parse_users
from visframe.review.run_data import load_run
from visframe.review.store import ReviewStore, sqlite_url

REPO = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("VISFRAME_LABEL_STUDIO_VENV", REPO.parent / "venvs" / "labelstudio"))
COMMAND = VENV / "bin" / "label-studio"
RUNNING_URL = os.environ.get("VISFRAME_LABEL_STUDIO_URL")
ADMIN = "admin@example.org"
TOKEN = os.environ.get("VISFRAME_LABEL_STUDIO_TOKEN", "0123456789abcdef0123456789abcdef01234567")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not COMMAND.exists() and not RUNNING_URL,
        reason=f"needs Label Studio in {VENV} (pip install label-studio 'sentry-sdk<3'; see this "
        "module's docstring) or VISFRAME_LABEL_STUDIO_URL/_TOKEN for a running one",
    ),
    pytest.mark.timeout(1800),
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def label_studio(tmp_path_factory):
    """(base URL, an authorised requests session) of a Label Studio with one admin user."""
    session = requests.Session()
    session.headers["Authorization"] = f"Token {TOKEN}"
    if RUNNING_URL:
        yield RUNNING_URL.rstrip("/"), session
        return
    data, port = tmp_path_factory.mktemp("labelstudio"), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env |= {"LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true", "SENTRY_DSN": ""}
    log = open(data / "server.log", "wb")  # noqa: SIM115 - open for the server's whole life
    server = subprocess.Popen(
        [
            str(COMMAND),
            "start",
            "--no-browser",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(data),
            "--username",
            ADMIN,
            "--password",
            "visframe-test-password",
            "--user-token",
            TOKEN,
            "--enable-legacy-api-token",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 1200
    try:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                pytest.fail(f"Label Studio stopped at start-up:\n{(data / 'server.log').read_text()[-3000:]}")
            try:
                if session.get(f"{url}/api/users/", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(3)
        else:
            pytest.fail(
                f"Label Studio did not answer in 20 minutes:\n{(data / 'server.log').read_text()[-3000:]}"
            )
        yield url, session
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _ok(response: requests.Response) -> dict | list:
    assert response.status_code < 300, f"{response.request.method} {response.url}: {response.text[:2000]}"
    return response.json()


def test_the_round_trip_through_a_real_label_studio(label_studio, tmp_path):
    url, api = label_studio
    run = load_run(make_run_dir(tmp_path))
    store = ReviewStore(sqlite_url(tmp_path / "review.db"), run.run_id)
    assert store.codebook() == []  # a fresh run: no codes yet

    # 1. A project from the run's config: Label Studio accepted none with an empty codebook before.
    project = _ok(
        api.post(
            f"{url}/api/projects",
            json={"title": "visframe round trip", "label_config": labelstudio_config(run, [])},
        )
    )
    tasks = labelstudio_tasks(run, lambda image_id: f"http://127.0.0.1:8765/image/{image_id}")
    _ok(api.post(f"{url}/api/projects/{project['id']}/import", json=tasks))
    stored = _ok(
        api.get(f"{url}/api/tasks", params={"project": project["id"], "page_size": 1000, "fields": "all"})
    )
    stored = stored["tasks"] if isinstance(stored, dict) else stored
    assert len(stored) == run.n_images
    by_image = {task["data"]["image_id"]: task for task in stored}
    assert all(task.get("total_predictions", 1) == 1 for task in stored)  # the cluster came as a prediction

    # 2. Three annotations: codes typed (no codebook yet), a memo, one image moved to another cluster.
    moved, kept, memo_only = list(run.images.index[:3])
    run_cluster = int(run.images.at[moved, "cluster"])
    target = next(c for c in run.cluster_ids() if c not in (run_cluster, -1))

    def annotate(image_id: str, cluster: int, codes: str, memo: str) -> dict:
        result = [
            {
                "from_name": "cluster_choice",
                "to_name": "image",
                "type": "choices",
                "value": {"choices": ["noise" if cluster == -1 else f"cluster {cluster}"]},
            },
            {"from_name": "memo", "to_name": "image", "type": "textarea", "value": {"text": [memo]}},
        ]
        if codes:
            result.append(
                {"from_name": "new_codes", "to_name": "image", "type": "textarea", "value": {"text": [codes]}}
            )
        return _ok(
            api.post(
                f"{url}/api/tasks/{by_image[image_id]['id']}/annotations/",
                json={"result": result, "project": project["id"]},
            )
        )

    annotate(moved, target, "protesta\nmarcha", "moved")
    annotate(kept, int(run.images.at[kept, "cluster"]), "protesta", "kept")
    annotate(memo_only, int(run.images.at[memo_only, "cluster"]), "", "just a memo")

    # 3. Label Studio's exports, and its users (the annotator's id → e-mail).
    exported = api.get(f"{url}/api/projects/{project['id']}/export", params={"exportType": "JSON"})
    minimal = api.get(f"{url}/api/projects/{project['id']}/export", params={"exportType": "JSON_MIN"})
    users = parse_users(api.get(f"{url}/api/users/").content)
    assert ADMIN in users.values()
    full = json.loads(exported.content)
    annotation_time = {
        task["data"]["image_id"]: task["annotations"][0]["updated_at"]
        for task in full
        if task.get("annotations")
    }
    assert isinstance(full[0]["annotations"][0]["completed_by"], int) if full[0].get("annotations") else True

    summary = import_annotations(run, store, exported.content, users=users)
    assert (summary.saved, summary.clusters_changed, sorted(summary.new_codes)) == (
        3,
        1,
        ["marcha", "protesta"],
    )
    codings = store.codings_frame()
    assert set(codings.coder) == {ADMIN}  # not labelstudio-user-1
    assert set(zip(codings.image_id, codings.code)) == {
        (moved, "protesta"),
        (moved, "marcha"),
        (kept, "protesta"),
    }
    for image_id, code_time in zip(codings.image_id, codings.coded_at, strict=True):  # the annotation's time
        assert code_time == pd.Timestamp(datetime.fromisoformat(annotation_time[image_id]))
    reviews = store.reviews_frame().set_index(["image_id", "coder"])
    assert reviews.loc[(memo_only, ADMIN), "memo"] == "just a memo"
    human = store.human_clusters().set_index("image_id")["human_cluster"].to_dict()
    assert human == {moved: target}  # the moved image only; the others kept the pre-annotation

    # 4. JSON_MIN of the same project: the same codes, no duplicates, and data.cluster is the run's again.
    rows = json.loads(minimal.content)
    moved_row = next(row for row in rows if row.get("image_id") == moved)
    assert moved_row["cluster"] == run_cluster and moved_row["cluster_choice"] == f"cluster {target}"
    before = (
        store.codings_frame()[["image_id", "coder", "code"]].sort_values(["image_id", "code"]).values.tolist()
    )
    again = import_annotations(run, store, minimal.content, users=users)
    assert again.saved == 3 and again.new_codes == []
    after = (
        store.codings_frame()[["image_id", "coder", "code"]].sort_values(["image_id", "code"]).values.tolist()
    )
    assert (
        before == after and store.human_clusters().set_index("image_id")["human_cluster"].to_dict() == human
    )
    store.dispose()
