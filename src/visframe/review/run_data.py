"""A finished run as the review app sees it: which images to code, their metadata, and their files.

The files are read by run_files.py (names from visframe.contracts). When the report's sampling
sheet is present, the images to code are the sample's images (with their band and thumbnails);
otherwise every clustered image is codeable. Reshared copies share an `image_id` (the hash of the
bytes), so codes attach to the image_id; the page shows the metadata of its most probable post and
how many posts carry it. Hashtags are counted by `hashtag_key` and shown with `format_hashtag`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from visframe import contracts as C
from visframe.review import run_files
from visframe.review.run_summary import ClusterSummary, summarise_clusters
from visframe.utils.hashing import hash_strings
from visframe.utils.hashtags import format_hashtag, hashtag_key, normalise_hashtags

IMAGE_ID_PATTERN = re.compile(r"^[0-9a-f]{16}$")
N_POSTS = C.N_POSTS  # posts that carry the image (reshares)
TEXT_COLUMNS = (C.CAPTION, C.ALT_TEXT, C.ACCOUNT, C.POST_ID)
METADATA_COLUMNS = (*TEXT_COLUMNS, C.HASHTAGS, C.HASHTAG_KEYS, C.LIKES, C.POSTED_AT)
# Assignments columns carried to the noise queue when the cluster stage wrote them.
SOFT_COLUMNS = (C.OUTLIER_SCORE, C.NEAREST_CLUSTER, C.NEAREST_CLUSTER_STRENGTH)
# Columns of the sampling sheet that, when filled, describe the sampled post better than the manifest.
SHEET_COLUMNS = (C.CAPTION, C.ALT_TEXT, C.ACCOUNT, C.HASHTAGS, C.LIKES, C.POSTED_AT, run_files.BAND)
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


@dataclass
class ReviewRun:
    """Everything the app reads from one run directory, loaded once at start-up."""

    run_dir: Path
    run_id: str
    mlflow_run_id: str | None
    images: pd.DataFrame  # one row per codeable image_id, indexed by image_id, probability desc
    clusters: list[ClusterSummary]
    image_paths: dict[str, Path]  # image_id -> file, from manifest rows with status ok
    sampled: bool  # True when the sampling sheet chose the images
    thumbnail_paths: dict[str, Path] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # why some sheet rows were not used
    texts: dict[str, str] = field(default_factory=dict)  # image_id -> OCR text (texts.parquet)

    @property
    def n_images(self) -> int:
        return len(self.images)

    def has_image(self, image_id: str) -> bool:
        return is_image_id(image_id) and image_id in self.images.index

    def record(self, image_id: str) -> dict[str, Any]:
        row = self.images.loc[image_id]
        return {C.IMAGE_ID: image_id, **row.to_dict()}

    def cluster_records(self, cluster: int) -> list[dict[str, Any]]:
        rows = self.images[self.images[C.CLUSTER] == cluster]
        return [{C.IMAGE_ID: image_id, **row.to_dict()} for image_id, row in rows.iterrows()]

    def cluster_ids(self) -> list[int]:
        return [c.cluster for c in self.clusters]

    def summary(self, cluster: int) -> ClusterSummary | None:
        return next((c for c in self.clusters if c.cluster == cluster), None)

    def path_for(self, image_id: str) -> Path | None:
        """The image's file from the manifest; None for anything that is not a manifest image_id."""
        if not is_image_id(image_id):
            return None
        return self.image_paths.get(image_id)


def _image_paths(manifest: pd.DataFrame) -> dict[str, Path]:
    ok = manifest
    if C.STATUS in manifest.columns:
        ok = manifest[manifest[C.STATUS].astype(str) == C.STATUS_OK]
    return {str(i): Path(str(p)) for i, p in zip(ok[C.IMAGE_ID], ok[C.PATH]) if is_image_id(str(i))}


def _hashtag_columns(frame: pd.DataFrame) -> None:
    """Display forms and keys per post, aligned; older manifests without keys get them computed."""
    displays, keys = [], []
    for tags, stored in zip(frame[C.HASHTAGS], frame[C.HASHTAG_KEYS]):
        shown, computed = normalise_hashtags(tag_list(tags))
        stored = tag_list(stored)
        keys.append(stored if len(stored) == len(shown) else computed)
        displays.append(shown)
    frame[C.HASHTAGS], frame[C.HASHTAG_KEYS] = displays, keys


def _posts(manifest: pd.DataFrame, assignments: pd.DataFrame) -> pd.DataFrame:
    """Every clustered post with its metadata, most probable first."""
    columns = [C.IMAGE_ID, C.PATH, C.CLUSTER, C.PROBABILITY, *[c for c in SOFT_COLUMNS if c in assignments]]
    posts = assignments[columns].copy()
    posts[C.IMAGE_ID] = posts[C.IMAGE_ID].astype(str)
    posts[C.PATH] = posts[C.PATH].astype(str)
    posts[C.CLUSTER] = posts[C.CLUSTER].astype("int64")
    posts[C.PROBABILITY] = posts[C.PROBABILITY].astype("float64")
    meta = [c for c in METADATA_COLUMNS if c in manifest.columns]
    by_path = manifest[[C.PATH, *meta]].copy()
    by_path[C.PATH] = by_path[C.PATH].astype(str)
    posts = posts.merge(by_path.drop_duplicates(C.PATH), on=C.PATH, how="left")
    for column in METADATA_COLUMNS:
        if column not in posts.columns:
            posts[column] = None
    for column in (C.ACCOUNT, C.CAPTION, C.ALT_TEXT):
        posts[column] = [_clean_text(v) for v in posts[column]]
    _hashtag_columns(posts)
    posts = posts[posts[C.IMAGE_ID].map(is_image_id)]
    return posts.sort_values([C.PROBABILITY, C.IMAGE_ID], ascending=[False, True], kind="stable")


def _images(posts: pd.DataFrame) -> pd.DataFrame:
    """One row per image_id: its most probable post's values, and how many posts carry it."""
    first = posts.drop_duplicates(C.IMAGE_ID).set_index(C.IMAGE_ID)
    images = first.drop(columns=[C.PATH]).copy()
    images[N_POSTS] = posts.groupby(C.IMAGE_ID).size().reindex(first.index).astype("int64")
    images[run_files.BAND] = ""
    return images


def _apply_sheet(run_dir: Path, images: pd.DataFrame, sheet: pd.DataFrame, skipped: list[str],
                 thumbnails: dict[str, Path]) -> pd.DataFrame:
    """Keep the sampled images; the sheet names the sampled post, so its metadata wins where filled."""
    sheet = sheet[sheet[C.IMAGE_ID].map(is_image_id)]
    unknown = sorted(set(sheet[C.IMAGE_ID]) - set(images.index))
    if unknown:
        skipped.append(f"{run_files.sampling_sheet_path(run_dir)}: {len(unknown)} image_id(s) not in "
                       f"{C.ASSIGNMENTS_FILE}, e.g. {unknown[0]}")
    sheet = sheet[sheet[C.IMAGE_ID].isin(images.index)].drop_duplicates(C.IMAGE_ID).set_index(C.IMAGE_ID)
    images = images.loc[sheet.index].copy()
    for column in SHEET_COLUMNS:
        if column in sheet.columns:
            values = sheet[column].replace("", np.nan)
            images[column] = values.where(values.notna(), images[column])
    if C.HASHTAGS in sheet.columns:
        images[C.HASHTAG_KEYS] = [[hashtag_key(t) for t in tag_list(v)] for v in images[C.HASHTAGS]]
        images[C.HASHTAGS] = [normalise_hashtags(tag_list(v))[0] for v in images[C.HASHTAGS]]
    column = next((c for c in run_files.THUMBNAIL_COLUMNS if c in sheet.columns), None)
    for image_id, value in (sheet[column].items() if column else ()):
        found = run_files.thumbnail_inside_run(run_dir, value)
        if found is not None:
            thumbnails[image_id] = found
    return images


def _tidy(images: pd.DataFrame) -> pd.DataFrame:
    images[C.HASHTAGS] = [[format_hashtag(t) for t in tags] for tags in images[C.HASHTAGS]]
    images[C.LIKES] = [_clean_int(v) for v in images[C.LIKES]]
    images[C.POSTED_AT] = [_clean_time(v) for v in images[C.POSTED_AT]]
    for column in (*TEXT_COLUMNS, run_files.BAND):
        images[column] = [_clean_text(v) for v in images[column]]
    return images.sort_values([C.CLUSTER, C.PROBABILITY], ascending=[True, False], kind="stable")


def load_run(run_dir: str | Path, top_terms: int = 5, montage_size: int = 6) -> ReviewRun:
    """Read a run directory into a `ReviewRun` (raises a clear error naming a missing/broken file)."""
    run_dir = Path(run_dir).expanduser().resolve()
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run directory {run_dir} does not exist")
    manifest = run_files.read_required(run_dir, C.MANIFEST, (C.IMAGE_ID, C.PATH))
    assignments = run_files.read_required(run_dir, C.ASSIGNMENTS, (C.IMAGE_ID, C.PATH, C.CLUSTER, C.PROBABILITY))
    posts = _posts(manifest, assignments)
    images = _images(posts)
    skipped: list[str] = []
    thumbnails: dict[str, Path] = {}
    sheet_path = run_files.sampling_sheet_path(run_dir)
    sampled = sheet_path.is_file()
    if sampled:
        images = _apply_sheet(run_dir, images, run_files.read_sampling_sheet(sheet_path), skipped, thumbnails)
    images = _tidy(images)
    clusters = summarise_clusters(images, posts, run_files.read_cluster_names(run_dir), top_terms, montage_size)
    mlflow_run_id = run_files.read_mlflow_run_id(run_dir)
    # Without MLflow the run is known by its content, so moving the directory keeps its codes.
    run_id = mlflow_run_id or "local-" + hash_strings(
        [f"{i}:{c}" for i, c in sorted(zip(images.index, images[C.CLUSTER]))]
    )
    return ReviewRun(run_dir=run_dir, run_id=run_id, mlflow_run_id=mlflow_run_id, images=images,
                     clusters=clusters, image_paths=_image_paths(manifest), sampled=sampled,
                     thumbnail_paths=thumbnails, skipped=skipped, texts=run_files.read_texts(run_dir))
