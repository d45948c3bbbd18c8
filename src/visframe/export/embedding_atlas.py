"""A run as one Parquet file that Apple's Embedding Atlas opens as it is, coloured by cluster.

    visframe-export RUN --to embedding-atlas [--out RUN/export/embedding_atlas.parquet]
    embedding-atlas RUN/export/embedding_atlas.parquet --x x --y y --text text --image image \
        --state RUN/export/embedding_atlas_state.json --labels RUN/export/embedding_atlas_labels.parquet

Embedding Atlas reads Parquet, JSONL or CSV (apple.github.io/embedding-atlas/data-formats.html);
its command line takes pre-computed coordinates with `--x` / `--y`, a text column with `--text`
and an image column with `--image` (packages/backend/embedding_atlas/cli.py). An image value may be
"an object with a `bytes` field ... and an optional `path` field": in Parquet, a struct
`{bytes: binary, path: string}`, the layout Hugging Face `datasets` uses for its Image feature. We
write a JPEG of at most `max_px` on a side per post (the originals can be large; 256 px by
default keeps 16,567 posts near 150 MB). Columns: image_id, x, y, cluster, cluster_name,
probability, text (caption + OCR text), image, then account, hashtags (a list: Embedding Atlas
counts list columns per item), posted_at. One row per post, in assignments order.

Coloured by cluster from the start: Embedding Atlas 0.26's command line has no colour option, but
`--state FILE` takes an initial app state whose `charts` replace the default ones (cli.py; in its
viewer, `importState` lays charts without a layout out as one list). `embedding_atlas_state.json`
holds the charts its defaults would make for these columns (read in the viewer's
default_charts.ts: the embedding view, SQL predicates, the instances table, a count plot per text
column, a histogram per number or date) with the embedding view's `data.category` (its "Color"
menu) set to `cluster_name`. `--labels FILE` ("a table with columns x, y, text, and optionally
level and priority") puts each cluster's name at the median of its points, larger clusters first.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from PIL import Image, ImageOps

from visframe import contracts as C
from visframe.review.map_data import MapData
from visframe.run_dir import RunDir

IMAGE_STRUCT = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
CLUSTER_NAME = "cluster_name"
IMAGE = "image"
BATCH = 4096
ATLAS_FILE = "embedding_atlas.parquet"  # under the run's export/ unless --out says otherwise


def state_path(out: Path) -> Path:
    return out.with_name(f"{out.stem}_state.json")


def labels_path(out: Path) -> Path:
    return out.with_name(f"{out.stem}_labels.parquet")


def atlas_state() -> dict:
    """The app state: the default charts for our columns, the map coloured by cluster name."""
    def count(field: str, is_list: bool = False) -> dict:
        return {"type": "count-plot", "title": field, "data": {"field": field, **({"isList": True} if is_list else {})}}

    def histogram(field: str) -> dict:  # the viewer's histogramSpec(field)
        return {"title": field, "layers": [
            {"mark": "bar", "style": {"fillColor": "$markColorFade"},
             "encoding": {"x": {"field": field}, "y": {"aggregate": "count"}}},
            {"mark": "bar", "filter": "$filter", "encoding": {"x": {"field": field}, "y": {"aggregate": "count"}}},
        ], "selection": {"brush": {"encoding": "x"}}, "widgets": [
            {"type": "scale.type", "channel": "x"},
            {"type": "encoding.normalize", "attribute": "y", "layer": [0, 1], "options": ["x"]},
        ]}

    charts = [
        {"type": "embedding", "title": "Embedding",
         "data": {"x": C.X, "y": C.Y, "text": C.TEXT, "image": IMAGE, "category": CLUSTER_NAME}},
        {"type": "predicates", "title": "SQL Predicates"},
        {"type": "instances", "title": "Instances"},
        count(CLUSTER_NAME), histogram(C.PROBABILITY), count(C.ACCOUNT), count(C.HASHTAGS, is_list=True),
        histogram(C.POSTED_AT),
    ]
    return {"charts": {str(number): chart for number, chart in enumerate(charts, start=1)}}


def cluster_labels(data: MapData) -> pa.Table:
    """Each cluster's name at the median of its points; priority = its size (noise has no label)."""
    clusters = data.assignments[C.CLUSTER].to_numpy()
    names = np.asarray(data.cluster.labels, dtype=object)[data.cluster.codes]
    rows = []
    for cluster in np.unique(clusters[clusters != C.NOISE]):
        members = clusters == cluster
        x, y = np.median(data.xy[members], axis=0)
        rows.append((float(x), float(y), str(names[np.argmax(members)]), int(members.sum())))
    x, y, text, priority = (list(column) for column in zip(*rows, strict=True)) if rows else ([], [], [], [])
    return pa.table({C.X: pa.array(x, pa.float64()), C.Y: pa.array(y, pa.float64()),
                     C.TEXT: pa.array(text, pa.string()), "priority": pa.array(priority, pa.int64())})


def image_bytes(path: str, max_px: int) -> bytes | None:
    """A JPEG of the image at most `max_px` on a side; None when the file is missing or unreadable."""
    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image)
            image.thumbnail((max_px, max_px))
            buffer = io.BytesIO()
            image.convert("RGB").save(buffer, format="JPEG", quality=85)
            return buffer.getvalue()
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def _texts(data: MapData) -> pa.Array:
    """caption, then the OCR text of the image when texts.parquet has any, joined by a blank line."""
    captions = pc.fill_null(data.meta()[C.CAPTION], "").combine_chunks().cast(pa.string())
    texts = data.texts()
    if texts is None:
        return captions
    ocr_by_row = pc.index_in(data.assignments[C.IMAGE_ID], value_set=texts[C.IMAGE_ID].combine_chunks())
    ocr = pc.fill_null(texts[C.TEXT].take(ocr_by_row), "").combine_chunks().cast(pa.string())
    both = pc.and_(pc.greater(pc.utf8_length(captions), 0), pc.greater(pc.utf8_length(ocr), 0))
    joined = pc.binary_join_element_wise(captions, ocr, "\n\n")
    return pc.if_else(both, joined, pc.binary_join_element_wise(captions, ocr, ""))


def export_embedding_atlas(run_dir: str | Path | RunDir, out: str | Path | None = None,
                           max_px: int = 256) -> Path:
    """Write the Embedding Atlas Parquet for the run in `run_dir`; return its path."""
    files = RunDir(run_dir)
    data = MapData.load(files)  # first: a run without assignments stops before anything is written
    out = Path(out) if out else files.export_dir / ATLAS_FILE
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = data.meta()
    names = pa.array(np.asarray(data.cluster.labels, dtype=object)[data.cluster.codes], pa.string())
    hashtags = pc.fill_null(meta[C.HASHTAGS], pa.scalar([], pa.list_(pa.string())))
    columns = {
        C.IMAGE_ID: data.assignments[C.IMAGE_ID],
        C.X: data.assignments[C.X], C.Y: data.assignments[C.Y],
        C.CLUSTER: data.assignments[C.CLUSTER], CLUSTER_NAME: names,
        C.PROBABILITY: data.assignments[C.PROBABILITY],
        C.TEXT: _texts(data),
        C.ACCOUNT: meta[C.ACCOUNT], C.HASHTAGS: hashtags, C.POSTED_AT: meta[C.POSTED_AT],
    }
    table = pa.table(columns)
    paths = data.assignments[C.PATH].to_pylist()
    schema = table.schema.insert(7, pa.field(IMAGE, IMAGE_STRUCT))
    tmp = out.with_name(out.name + ".tmp")
    with pq.ParquetWriter(tmp, schema) as writer:
        for start in range(0, table.num_rows, BATCH):
            chunk = table.slice(start, BATCH)
            images = []
            for p in paths[start:start + BATCH]:
                found = image_bytes(p, max_px)
                images.append({"bytes": found, "path": Path(p).name} if found is not None else None)
            chunk = chunk.add_column(7, pa.field(IMAGE, IMAGE_STRUCT), pa.array(images, IMAGE_STRUCT))
            writer.write_table(chunk)
    tmp.replace(out)
    state_path(out).write_text(json.dumps(atlas_state(), indent=1), encoding="utf-8")
    pq.write_table(cluster_labels(data), labels_path(out))
    return out
