"""visframe-export: the Embedding Atlas Parquet and the FiftyOne dataset, checked against each tool's
documented input (neither tool is in the project's venv: Embedding Atlas needs WebGPU, FiftyOne brings
MongoDB; test_fiftyone_real.py imports the FiftyOne export with FiftyOne itself, in the slow suite).
What each check follows is named in the module docstrings of visframe/export/embedding_atlas.py and
fiftyone_export.py.
"""

from __future__ import annotations

import io
import json
import shlex
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).parents[1] / "review"))
from review_fixtures import XSS_CAPTION, make_run_dir

from visframe.export.cli import main


@pytest.fixture
def run_dir(tmp_path):
    run_dir = make_run_dir(tmp_path)
    pd.DataFrame({"layer": [0, 0], "cluster": [0, 1], "is_chosen_layer": [True, True], "name": ["marcha", "texto"],
                  "size": [8, 9], "n_unique_images": [8, 8]}).to_parquet(run_dir / "clusters.parquet")
    assignments = pd.read_parquet(run_dir / "assignments.parquet")
    pd.DataFrame({"image_id": [assignments.image_id[2]], "text": ["JUSTICIA"]}).to_parquet(run_dir / "texts.parquet")
    return run_dir


def test_embedding_atlas_parquet_has_coordinates_text_and_images_as_bytes(run_dir, capsys):
    assert main([str(run_dir), "--to", "embedding-atlas", "--max-image-px", "32"]) == 0
    out = run_dir / "export" / "embedding_atlas.parquet"
    table = pq.read_table(out)
    assignments = pd.read_parquet(run_dir / "assignments.parquet")
    assert table.num_rows == len(assignments)
    # The columns the printed command names exist (embedding-atlas FILE --x x --y y --text text --image image).
    command = shlex.split(capsys.readouterr().out.splitlines()[-1].split(": ", 1)[1])
    named = [command[k + 1] for k, word in enumerate(command) if word in ("--x", "--y", "--text", "--image")]
    assert command[1] == str(out)
    assert named == ["x", "y", "text", "image"] and set(named) <= set(table.column_names)
    assert pa.types.is_floating(table.schema.field("x").type) and pa.types.is_floating(table.schema.field("y").type)
    # --state: the charts replace the defaults; the embedding view is coloured by the cluster's name.
    state = json.loads(Path(command[command.index("--state") + 1]).read_text())
    charts = list(state["charts"].values())
    embedding = next(c for c in charts if c.get("type") == "embedding")
    assert embedding["data"] == {"x": "x", "y": "y", "text": "text", "image": "image", "category": "cluster_name"}
    fields = {c["data"]["field"] for c in charts if c.get("type") == "count-plot"}
    fields |= {c["layers"][0]["encoding"]["x"]["field"] for c in charts if "layers" in c}
    assert fields <= set(table.column_names) and {"cluster_name", "probability", "account"} <= fields
    assert {c["type"] for c in charts if "type" in c} >= {"predicates", "instances"}
    # --labels: a table with x, y, text (+ priority): each cluster's name at the median of its points.
    labels = pq.read_table(command[command.index("--labels") + 1]).to_pandas()
    posts = pd.read_parquet(run_dir / "assignments.parquet")
    assert list(labels.columns) == ["x", "y", "text", "priority"]
    clustered = posts[posts.cluster >= 0]
    assert sorted(labels.text) == sorted({0: "marcha", 1: "texto", 2: "cluster 2"}[c] for c in clustered.cluster.unique())
    first = labels.set_index("text").loc["marcha"]
    assert first.x == pytest.approx(clustered[clustered.cluster == 0].x.median(), rel=1e-5)
    assert first.priority == (clustered.cluster == 0).sum()
    # "An object with a bytes field ... and an optional path field": struct<bytes: binary, path: string>.
    image_type = table.schema.field("image").type
    assert pa.types.is_struct(image_type)
    assert pa.types.is_binary(image_type.field("bytes").type) and pa.types.is_string(image_type.field("path").type)
    frame = table.to_pandas()
    first = Image.open(io.BytesIO(frame.image[0]["bytes"]))
    assert first.format == "JPEG" and max(first.size) <= 32
    assert frame.image[0]["path"] == Path(assignments.path[0]).name
    assert frame.text[0] == XSS_CAPTION  # data as it is: the tool renders text, our job is not to escape it
    assert frame.text[2].endswith("\n\nJUSTICIA")  # caption, then the OCR text
    names = dict(zip(frame.cluster, frame.cluster_name))
    assert names[0] == "marcha" and names[1] == "texto" and names[2] == "cluster 2" and names[-1] == "noise"
    assert frame.probability.tolist() == pytest.approx(assignments.probability.tolist())
    assert pa.types.is_list(table.schema.field("hashtags").type)  # a list: Embedding Atlas counts each tag


FO_FIELD = "fiftyone.core.fields."


def test_fiftyone_samples_are_what_dataset_from_json_reads_with_every_field_declared(run_dir, capsys):
    """FiftyOne's Dataset.from_dict (what from_json calls) adds the samples with expand_schema=False:
    every field a sample carries must be in sample_fields, typed as FiftyOne writes types."""
    assert main([str(run_dir), "--to", "fiftyone"]) == 0
    folder = run_dir / "export" / "fiftyone"
    printed = capsys.readouterr().out.splitlines()[-1]
    assert f"python {folder / 'load_fiftyone.py'} --app" in printed and "samples.json" in printed
    document = json.loads((folder / "samples.json").read_text())
    assert document["media_type"] == "image" and document["name"].startswith("visframe-")
    schema = document["sample_fields"]
    assert schema["cluster"] == f"{FO_FIELD}EmbeddedDocumentField(fiftyone.core.labels.Classification)"
    assert schema["hashtags"] == f"{FO_FIELD}ListField({FO_FIELD}StringField)"
    assert schema["posted_at"] == f"{FO_FIELD}StringField"  # ISO text: load_fiftyone.py makes it a date
    assert {schema[k] for k in ("probability", "x", "y", "outlier_score")} == {f"{FO_FIELD}FloatField"}
    assert schema["cluster_id"] == f"{FO_FIELD}IntField"
    assert {"cluster_name", "account", "caption", "text", "image_id"} <= set(schema)
    assignments = pd.read_parquet(run_dir / "assignments.parquet")
    samples = document["samples"]
    assert len(samples) == len(assignments)  # one sample per post, reshares included
    names = {0: "marcha", 1: "texto", 2: "cluster 2", -1: "noise"}
    for sample, (_, post) in zip(samples, assignments.iterrows(), strict=True):
        assert set(sample) - {"filepath"} <= set(schema)
        assert Path(sample["filepath"]).is_absolute() and Path(sample["filepath"]).is_file()
        assert sample["cluster"] == {"_cls": "Classification", "label": names[post.cluster],
                                     "confidence": pytest.approx(post.probability)}
        assert sample["cluster_id"] == post.cluster and sample["cluster_name"] == names[post.cluster]
        assert sample["x"] == pytest.approx(post.x) and sample["image_id"] == post.image_id
    assert samples[2]["text"] == "JUSTICIA" and samples[0]["text"] is None  # the OCR text where there is one
    assert samples[0]["caption"] == XSS_CAPTION and isinstance(samples[0]["hashtags"], list)
    assert samples[0]["posted_at"] == "2024-03-08T12:00:00.000Z"
    loader = (folder / "load_fiftyone.py").read_text()
    compile(loader, "load_fiftyone.py", "exec")
    assert "fo.Dataset.from_json" in loader and "fob.compute_visualization" in loader
    assert "for name in ['posted_at']:" in loader


def test_every_other_assignments_column_reaches_fiftyone_with_its_type(run_dir):
    """A column a later stage adds to assignments.parquet (a message topic, say) needs no change here."""
    from visframe.export.fiftyone_export import export_fiftyone

    assignments = pd.read_parquet(run_dir / "assignments.parquet")
    assignments["message_topic"] = [f"topic {k % 2}" for k in range(len(assignments))]
    assignments["message_topic_id"] = [k % 2 for k in range(len(assignments))]
    assignments.to_parquet(run_dir / "assignments.parquet")
    document = json.loads((export_fiftyone(run_dir) / "samples.json").read_text())
    assert document["sample_fields"]["message_topic"] == f"{FO_FIELD}StringField"
    assert document["sample_fields"]["message_topic_id"] == f"{FO_FIELD}IntField"
    assert [s["message_topic"] for s in document["samples"][:2]] == ["topic 0", "topic 1"]


def test_a_run_without_assignments_gets_a_fix_it_message(tmp_path, capsys):
    assert main([str(tmp_path), "--to", "fiftyone"]) == 2
    assert "Fix:" in capsys.readouterr().err
