"""A finished run as the review app sees it: which images to code, their metadata, and their files.

The files are read through `visframe.run_dir.RunDir`: the manifest (the only source of file
paths: images are served by `image_id` looked up there, never by a path from a request) and the
assignments are required; the report's sampling sheet, the describe stage's cluster names, the OCR
texts and the MLflow run id are used when present. When the report's sampling sheet is present,
the images to code are the sample's images (with their band and thumbnails); otherwise every
clustered image is codeable. Reshared copies share an `image_id` (the hash of the
bytes), so codes attach to the image_id; the page shows the metadata of its most probable post and
how many posts carry it. Hashtags are counted by `hashtag_key` and shown with `format_hashtag`.

Loading is column operations (pyarrow; run_columns.py), with no Python per post: `images` keeps the
stored values and the records a page shows are cleaned for display when asked for (`record`,
`records`); the OCR texts are read on first use, the search index is built on the first search.
Start-up (load_run + create_app) of a synthetic run of 1,000,000 posts (benchmarks/bench_map.py's
generator) on this shared 2-core machine: 4-5 s when it is quiet, 10-15 s at load average 5-6,
where the per-row version took 72-124 s (95-106 s at load average 5, in the same minutes).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from visframe import contracts as C
from visframe.review.run_columns import combined, post_tags, tag_lists, text_column, valid_image_ids
from visframe.review.run_summary import ClusterSummary, RunPosts, summarise_clusters
from visframe.run_dir import RunDir
from visframe.utils.hashtags import format_hashtag, hashtag_key, normalise_hashtags

IMAGE_ID_PATTERN = re.compile(r"^[0-9a-f]{16}$")
N_POSTS = C.N_POSTS  # posts that carry the image (reshares)
TEXT_COLUMNS = (C.CAPTION, C.ALT_TEXT, C.ACCOUNT, C.POST_ID)
METADATA_COLUMNS = (*TEXT_COLUMNS, C.HASHTAGS, C.HASHTAG_KEYS, C.LIKES, C.POSTED_AT)
# Assignments columns carried to the noise queue when the cluster stage wrote them.
SOFT_COLUMNS = (C.OUTLIER_SCORE, C.NEAREST_CLUSTER, C.NEAREST_CLUSTER_STRENGTH)
# Columns of the sampling sheet that, when filled, describe the sampled post better than the manifest.
SHEET_COLUMNS = (C.CAPTION, C.ALT_TEXT, C.ACCOUNT, C.HASHTAGS, C.LIKES, C.POSTED_AT, C.BAND)
THUMBNAIL_COLUMNS = ("thumbnail_path", "thumbnail")  # the sheet's, relative to report/ or the run directory
_TAG_SPLIT = re.compile(r"[\s,;]+")


def is_image_id(value: str) -> bool:
    """True for the 16 lower-case hex digits of an `image_id` (and nothing that could be a path)."""
    return bool(IMAGE_ID_PATTERN.fullmatch(value or ""))


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def tag_list(value: Any) -> list[str]:
    """Raw hashtags from a Parquet list, a JSON list or '#a #b' text (the sampling sheet's form)."""
    if _missing(value):
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                return tag_list(json.loads(text))
            except json.JSONDecodeError:
                text = text.strip("[]")
        return [t.strip("'\"") for t in _TAG_SPLIT.split(text) if t.strip("'\"#")]
    return [str(t) for t in list(value) if str(t).strip("#")]


def _clean_text(value: Any) -> str:
    return "" if _missing(value) else str(value)


def _clean_int(value: Any) -> int | None:
    try:
        if _missing(value) or value == "" or pd.isna(value):
            return None
        return int(float(value))
    except (TypeError, ValueError, OverflowError):
        return None


def _clean_time(value: Any) -> str:
    if _missing(value) or value == "":
        return ""
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        return str(value)
    if pd.isna(stamp):
        return ""
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
    return stamp.tz_convert("UTC").strftime("%Y-%m-%d %H:%M UTC")


def tidy_record(image_id: str, values: dict[str, Any]) -> dict[str, Any]:
    """One image's stored values as the pages show them: text, '#Tag' lists, likes, a UTC time."""
    shown, computed = normalise_hashtags(tag_list(values.get(C.HASHTAGS)))
    stored = tag_list(values.get(C.HASHTAG_KEYS))
    values[C.HASHTAG_KEYS] = stored if len(stored) == len(shown) else computed
    values[C.HASHTAGS] = [format_hashtag(t) for t in shown]
    values[C.LIKES] = _clean_int(values.get(C.LIKES))
    values[C.POSTED_AT] = _clean_time(values.get(C.POSTED_AT))
    for column in (*TEXT_COLUMNS, C.BAND):
        values[column] = _clean_text(values.get(column))
    return {C.IMAGE_ID: image_id, **values}


@dataclass
class ReviewRun:
    """Everything the app reads from one run directory, loaded once at start-up (texts on first use)."""

    run_dir: Path
    run_id: str
    mlflow_run_id: str | None
    images: (
        pd.DataFrame
    )  # one row per codeable image_id, indexed by image_id; by cluster, then probability desc
    clusters: list[ClusterSummary]
    image_paths: pd.Series  # image_id -> file (str), from manifest rows with status ok
    sampled: bool  # True when the sampling sheet chose the images
    thumbnail_paths: dict[str, Path] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # why some sheet rows were not used
    _texts: dict[str, str] | None = field(default=None, repr=False)

    @property
    def files(self) -> RunDir:
        """The run directory's files (read through RunDir)."""
        return RunDir(self.run_dir)

    @property
    def n_images(self) -> int:
        return len(self.images)

    @property
    def texts(self) -> dict[str, str]:
        """image_id -> OCR text (texts.parquet), read on first use."""
        if self._texts is None:
            self._texts = read_texts(self.files)
        return self._texts

    def has_image(self, image_id: str) -> bool:
        return is_image_id(image_id) and image_id in self.images.index

    def record(self, image_id: str) -> dict[str, Any]:
        return tidy_record(image_id, self.images.loc[image_id].to_dict())

    def records(self, image_ids) -> list[dict[str, Any]]:
        """The display records of `image_ids` (ids of this run), in that order."""
        frame = self.images.loc[list(image_ids)]
        return [tidy_record(i, values) for i, values in zip(frame.index, frame.to_dict("records"))]

    def members(self, cluster: int) -> pd.Index:
        """The cluster's image ids in page order (most probable first)."""
        return self.images.index[self.images[C.CLUSTER].to_numpy() == cluster]

    def cluster_records(self, cluster: int, start: int = 0, stop: int | None = None) -> list[dict[str, Any]]:
        return self.records(self.members(cluster)[start:stop])

    def cluster_ids(self) -> list[int]:
        return [c.cluster for c in self.clusters]

    def summary(self, cluster: int) -> ClusterSummary | None:
        return next((c for c in self.clusters if c.cluster == cluster), None)

    def path_for(self, image_id: str) -> Path | None:
        """The image's file from the manifest; None for anything that is not a manifest image_id."""
        if not is_image_id(image_id):
            return None
        found = self.image_paths.get(image_id)
        return None if found is None else Path(found)


def _image_paths(manifest: pa.Table) -> pd.Series:
    """image_id -> path of the manifest's ok rows; a reshared image keeps its last row's file."""
    ids = combined(manifest[C.IMAGE_ID]).cast(pa.string())
    paths = combined(manifest[C.PATH]).cast(pa.string())
    keep = valid_image_ids(ids) & paths.is_valid().to_numpy(zero_copy_only=False)
    if C.STATUS in manifest.column_names:
        status = combined(manifest[C.STATUS]).cast(pa.string())
        keep &= pc.fill_null(pc.equal(status, C.STATUS_OK), False).to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(keep)[::-1]  # last rows first: the first of each id below is its last row
    codes = combined(pc.dictionary_encode(ids.take(pa.array(rows)))).indices.to_numpy()
    rows = np.sort(rows[np.unique(codes, return_index=True)[1]])
    return pd.Series(
        paths.take(pa.array(rows)).to_numpy(zero_copy_only=False),
        index=pd.Index(ids.take(pa.array(rows)).to_pandas()),
    )


@dataclass
class _Posts:
    """Every clustered post, most probable first (then by image_id): its assignments values, and its
    manifest row (null without one), so a metadata column is read only for the rows that need it."""

    table: pa.Table  # image_id, cluster, probability and the soft-noise columns present
    rows: pa.Array  # int, the post's manifest row
    manifest: pa.Table

    def meta(self, column: str, positions: np.ndarray | None = None) -> pa.Array:
        rows = self.rows if positions is None else self.rows.take(pa.array(positions))
        if column not in self.manifest.column_names:
            return pa.nulls(len(rows), pa.string())
        return combined(self.manifest[column]).take(rows)


def _posts(manifest: pa.Table, assignments: pa.Table) -> _Posts:
    ids = combined(assignments[C.IMAGE_ID]).cast(pa.string())
    cluster = combined(assignments[C.CLUSTER])
    if cluster.null_count:
        raise ValueError(
            f"{C.ASSIGNMENTS_FILE} has {cluster.null_count} row(s) without a {C.CLUSTER}; "
            "re-run the cluster stage"
        )
    columns = {
        C.IMAGE_ID: ids,
        C.CLUSTER: cluster.cast(pa.int64()),
        C.PROBABILITY: combined(assignments[C.PROBABILITY]).cast(pa.float64()),
    }
    columns.update({c: combined(assignments[c]) for c in SOFT_COLUMNS if c in assignments.column_names})
    # Each post's manifest row by path (the first row of a path, as a drop_duplicates would keep).
    paths = combined(assignments[C.PATH]).cast(pa.string())
    rows = pc.index_in(paths, value_set=combined(manifest[C.PATH]).cast(pa.string()))
    keep = pa.array(valid_image_ids(ids))
    table, rows = pa.table(columns).filter(keep), rows.filter(keep)
    # Missing probabilities (NaN or null) last, as pandas sorts them.
    probability = pc.fill_null(table[C.PROBABILITY], float("nan"))
    missing = pc.is_nan(probability)
    key = pa.table({"missing": missing, "p": pc.if_else(missing, 0.0, probability), "i": table[C.IMAGE_ID]})
    order = pc.sort_indices(
        key, sort_keys=[("missing", "ascending"), ("p", "descending"), ("i", "ascending")]
    )
    return _Posts(table.take(order), rows.take(order), manifest)


def _list_dtype(kind: pa.DataType):
    return pd.ArrowDtype(kind) if pa.types.is_list(kind) or pa.types.is_large_list(kind) else None


def _images(posts: _Posts) -> pd.DataFrame:
    """One row per image_id: its most probable post's values, and how many posts carry it."""
    codes = combined(pc.dictionary_encode(posts.table[C.IMAGE_ID])).indices.to_numpy()
    _, first, counts = np.unique(codes, return_index=True, return_counts=True)
    order = np.argsort(first)
    first = first[order]
    table = posts.table.take(pa.array(first))
    for column in METADATA_COLUMNS:
        table = table.append_column(column, posts.meta(column, first))
    table = table.append_column(N_POSTS, pa.array(counts[order].astype(np.int64)))
    table = table.append_column(C.BAND, pa.array(np.full(table.num_rows, ""), pa.string()))
    return table.to_pandas(types_mapper=_list_dtype).set_index(C.IMAGE_ID)


def _run_posts(posts: _Posts) -> RunPosts:
    """What the cluster summaries count, over every clustered post."""
    n = posts.table.num_rows
    tags = tag_lists(posts.meta(C.HASHTAGS), n, tag_list)
    return RunPosts(
        cluster=posts.table[C.CLUSTER].to_numpy(),
        account=text_column(posts.meta(C.ACCOUNT)),
        tags=post_tags(tags, tag_lists(posts.meta(C.HASHTAG_KEYS), n, tag_list)),
    )


def _apply_sheet(
    files: RunDir, images: pd.DataFrame, sheet: pd.DataFrame, skipped: list[str], thumbnails: dict[str, Path]
) -> pd.DataFrame:
    """Keep the sampled images; the sheet names the sampled post, so its metadata wins where filled."""
    sheet = sheet[sheet[C.IMAGE_ID].map(is_image_id)]
    unknown = sorted(set(sheet[C.IMAGE_ID][~sheet[C.IMAGE_ID].isin(images.index)]))
    if unknown:
        skipped.append(
            f"{files.sampling_sheet_file}: {len(unknown)} image_id(s) not in "
            f"{C.ASSIGNMENTS_FILE}, e.g. {unknown[0]}"
        )
    sheet = sheet[sheet[C.IMAGE_ID].isin(images.index)].drop_duplicates(C.IMAGE_ID).set_index(C.IMAGE_ID)
    images = images.loc[sheet.index].copy()
    for column in SHEET_COLUMNS:
        if column in sheet.columns:
            values = sheet[column].replace("", np.nan)
            images[column] = values.where(values.notna(), images[column].astype(object))
    if C.HASHTAGS in sheet.columns:
        images[C.HASHTAG_KEYS] = [[hashtag_key(t) for t in tag_list(v)] for v in images[C.HASHTAGS]]
        images[C.HASHTAGS] = [normalise_hashtags(tag_list(v))[0] for v in images[C.HASHTAGS]]
    column = next((c for c in THUMBNAIL_COLUMNS if c in sheet.columns), None)
    for image_id, value in sheet[column].items() if column else ():
        found = files.inside(value)  # the sheet is data: only a file inside the run directory
        if found is not None:
            thumbnails[image_id] = found
    return images


def content_run_id(images: pd.DataFrame) -> str:
    """A run without MLflow is known by its images and clusters: `hash_strings` of the sorted
    'image_id:cluster' lines, so moving the directory keeps its codes."""
    table = pa.table(
        {"i": pa.array(images.index.array, pa.string()), "c": pa.array(images[C.CLUSTER].to_numpy(np.int64))}
    ).sort_by([("i", "ascending")])
    lines = pc.binary_join_element_wise(table["i"], table["c"].cast(pa.string()), ":")
    lines = combined(pc.binary_join_element_wise(lines, "", "\n"))  # each line ends with a newline
    offsets = np.frombuffer(lines.buffers()[1], np.int32)[lines.offset : lines.offset + len(lines) + 1]
    text = memoryview(lines.buffers()[2])[offsets[0] : offsets[-1]] if len(lines) else b""
    return "local-" + hashlib.sha256(text).hexdigest()[:16]


def read_texts(files: RunDir) -> dict[str, str]:
    """image_id -> the text stage's OCR text, for images that have some ({} without texts.parquet)."""
    table = files.read_arrow_optional(C.TEXTS, [C.IMAGE_ID, C.TEXT])
    kind = table.schema.field(C.TEXT).type if table is not None else None
    if kind is None or not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return {}
    table = table.filter(pc.greater(pc.utf8_length(pc.fill_null(table[C.TEXT], "")), 0))
    return dict(zip(table[C.IMAGE_ID].cast(pa.string()).to_pylist(), table[C.TEXT].to_pylist()))


def load_run(run_dir: str | Path | RunDir, top_terms: int = 5, montage_size: int = 6) -> ReviewRun:
    """Read a run directory into a `ReviewRun` (raises a clear error naming a missing/broken file)."""
    run_dir = Path(run_dir).expanduser().resolve()
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run directory {run_dir} does not exist")
    files = RunDir(run_dir)
    manifest = files.read_required(C.MANIFEST, (C.IMAGE_ID, C.PATH), (C.STATUS, *METADATA_COLUMNS))
    assignments = files.read_required(
        C.ASSIGNMENTS, (C.IMAGE_ID, C.PATH, C.CLUSTER, C.PROBABILITY), SOFT_COLUMNS
    )
    posts = _posts(manifest, assignments)
    images = _images(posts)
    skipped: list[str] = []
    thumbnails: dict[str, Path] = {}
    sheet = files.read_sampling_sheet()
    sampled = sheet is not None
    if sampled:
        images = _apply_sheet(files, images, sheet, skipped, thumbnails)
    images = images.sort_values([C.CLUSTER, C.PROBABILITY], ascending=[True, False], kind="stable")
    clusters = summarise_clusters(images, _run_posts(posts), files.cluster_names(), top_terms, montage_size)
    mlflow_run_id = files.mlflow_run_id()
    return ReviewRun(
        run_dir=run_dir,
        run_id=mlflow_run_id or content_run_id(images),
        mlflow_run_id=mlflow_run_id,
        images=images,
        clusters=clusters,
        image_paths=_image_paths(manifest),
        sampled=sampled,
        thumbnail_paths=thumbnails,
        skipped=skipped,
    )
