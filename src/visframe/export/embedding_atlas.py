"""A run as one Parquet file that Apple's Embedding Atlas opens as it is.

    visframe-export RUN --to embedding-atlas [--out RUN/export/embedding_atlas.parquet]
    embedding-atlas RUN/export/embedding_atlas.parquet --x x --y y --text text --image image

Embedding Atlas reads Parquet, JSONL or CSV (apple.github.io/embedding-atlas/data-formats.html);
its command line takes pre-computed coordinates with `--x` / `--y`, a text column with `--text`
and an image column with `--image` (packages/backend/embedding_atlas/cli.py). An image value may be
"an object with a `bytes` field ... and an optional `path` field": in Parquet, a struct
`{bytes: binary, path: string}`, the layout Hugging Face `datasets` uses for its Image feature. We
write a JPEG of at most `max_px` on a side per post (the originals can be large; 256 px by
default keeps 16,567 posts near 150 MB). Columns: image_id, x, y, cluster, cluster_name,
probability, text (caption + OCR text), image, then account, hashtags (one text), posted_at.
One row per post, in assignments order.
"""

from __future__ import annotations

import io
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
    hashtags = pc.binary_join(pc.fill_null(meta[C.HASHTAGS], pa.scalar([], pa.list_(pa.string()))), " ")
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
    return out
