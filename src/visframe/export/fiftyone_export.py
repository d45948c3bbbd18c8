"""A run as a FiftyOne image classification dataset: cluster name as the label, probability as confidence.

    visframe-export RUN --to fiftyone [--out RUN/export/fiftyone]
    python -c "import fiftyone as fo; ds = fo.Dataset.from_dir(dataset_dir='RUN/export/fiftyone',
               dataset_type=fo.types.FiftyOneImageClassificationDataset, label_field='cluster')"

The layout is FiftyOne's `FiftyOneImageClassificationDataset` (fiftyone/utils/data/importers.py,
`FiftyOneImageClassificationDatasetImporter`): `labels.json` = {"classes": null, "labels": {uuid:
target}} and, instead of copying every image into `data/`, a `data.json` manifest {uuid: absolute
path} (the importer takes "whichever of data/ or data.json exists"). Each target is the dict form
the importer's sample parser reads (`ImageClassificationSampleParser._parse_label`):
{"label": <cluster name>, "confidence": <probability>}, so every sample gets a `Classification`
with both. One sample per post; the uuid is `<image_id>_<row>` (no dots: the importer drops extensions).
`visframe.json` beside them keeps the run's cluster numbers and accounts for a join in pandas.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from visframe import contracts as C
from visframe.review.map_data import MapData
from visframe.run_dir import RunDir

LABELS_FILE = "labels.json"
DATA_FILE = "data.json"
EXTRA_FILE = "visframe.json"
FIFTYONE_DIR = "fiftyone"  # under the run's export/ unless --out says otherwise


def export_fiftyone(run_dir: str | Path | RunDir, out: str | Path | None = None) -> Path:
    """Write labels.json + data.json (+ visframe.json) for the run in `run_dir`; return the folder."""
    files = RunDir(run_dir)
    data = MapData.load(files)  # first: a run without assignments stops before anything is written
    out = Path(out) if out else files.export_dir / FIFTYONE_DIR
    out.mkdir(parents=True, exist_ok=True)
    ids = data.assignments[C.IMAGE_ID].to_pylist()
    paths = [str(Path(p).resolve()) for p in data.assignments[C.PATH].to_pylist()]
    uuids = [f"{image_id}_{row}" for row, image_id in enumerate(ids)]
    names = np.asarray(data.cluster.labels, dtype=object)[data.cluster.codes]
    probability = data.assignments[C.PROBABILITY].to_numpy()
    labels = {u: {"label": str(n), "confidence": float(p)} for u, n, p in zip(uuids, names, probability)}
    (out / LABELS_FILE).write_text(json.dumps({"classes": None, "labels": labels}), encoding="utf-8")
    (out / DATA_FILE).write_text(json.dumps(dict(zip(uuids, paths))), encoding="utf-8")
    clusters = data.assignments[C.CLUSTER].to_pylist()
    accounts = data.meta()[C.ACCOUNT].to_pylist()
    extra = {u: {C.IMAGE_ID: i, C.CLUSTER: c, C.ACCOUNT: a} for u, i, c, a in zip(uuids, ids, clusters, accounts)}
    (out / EXTRA_FILE).write_text(json.dumps(extra), encoding="utf-8")
    return out
