"""visframe-export: the Embedding Atlas Parquet and the FiftyOne dataset, checked against each tool's
documented input (neither tool is installed: Embedding Atlas needs WebGPU and pins pandas>=3,
FiftyOne brings MongoDB). What each check follows is named in the module docstrings of
visframe/export/embedding_atlas.py and fiftyone_export.py.
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

from visframe.export.cli import NEXT_STEP, main


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
    assert named == ["x", "y", "text", "image"] and set(named) <= set(table.column_names)
    assert pa.types.is_floating(table.schema.field("x").type) and pa.types.is_floating(table.schema.field("y").type)
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


def _fiftyone_importer_view(folder: Path) -> dict:
    """What FiftyOneImageClassificationDatasetImporter + its sample parser make of the folder:
    uuid -> (filepath, label, confidence). Mirrors fiftyone/utils/data/importers.py (setup: labels.json
    "labels"/"classes", data.json when there is no data/) and parsers.py (_parse_label: a dict target
    gives label + confidence; without classes, label = str(label))."""
    assert not (folder / "data").exists() and (folder / "data.json").is_file()
    labels = json.loads((folder / "labels.json").read_text())
    data = json.loads((folder / "data.json").read_text())
    classes = labels.get("classes")
    view = {}
    for uuid in sorted(labels["labels"]):
        target = labels["labels"][uuid]
        assert set(target) == {"label", "confidence"}
        label = classes[target["label"]] if classes else str(target["label"])
        view[uuid] = (data[uuid], label, target["confidence"])
    return view


def test_fiftyone_dataset_has_cluster_as_label_and_probability_as_confidence(run_dir):
    assert main([str(run_dir), "--to", "fiftyone"]) == 0
    folder = run_dir / "export" / "fiftyone"
    view = _fiftyone_importer_view(folder)
    assignments = pd.read_parquet(run_dir / "assignments.parquet")
    assert len(view) == len(assignments)  # one sample per post, reshares included
    for row, post in assignments.iterrows():
        uuid = f"{post.image_id}_{row}"
        assert "." not in uuid  # the importer strips extensions from manifest keys
        path, label, confidence = view[uuid]
        assert Path(path).is_absolute() and Path(path).is_file()
        assert label == {0: "marcha", 1: "texto", 2: "cluster 2", -1: "noise"}[post.cluster]
        assert confidence == pytest.approx(post.probability)
    extra = json.loads((folder / "visframe.json").read_text())
    assert extra[f"{assignments.image_id[3]}_3"]["cluster"] == -1
    assert "fo.types.FiftyOneImageClassificationDataset" in NEXT_STEP["fiftyone"]


def test_a_run_without_assignments_gets_a_fix_it_message(tmp_path, capsys):
    assert main([str(tmp_path), "--to", "fiftyone"]) == 2
    assert "Fix:" in capsys.readouterr().err
