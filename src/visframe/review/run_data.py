"""A finished run as the review app sees it: which images to code, their metadata, and their files.

Inputs (docs/ARCHITECTURE.md run-directory contract):
- `manifest.parquet` (required): the only source of file paths. Images are served by `image_id`
  looked up here, never by a path from a request.
- `assignments.parquet` (required): cluster and probability per clean manifest row.
- `report/sampling_sheet.csv` (optional): when present, the images to code are the sample's images
  (with their band and thumbnails); otherwise every clustered image is codeable.
- `report/cluster_metadata.parquet` (optional): a human label per cluster, shown on the cards.
- `mlflow_run_id.txt` (optional): the MLflow run to log exports back to.

Reshared copies share an `image_id` (the hash of the bytes), so codes attach to the image_id; the
page shows the metadata of its most probable post and how many posts carry it.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from visframe.utils.hashing import hash_strings

log = logging.getLogger(__name__)

IMAGE_ID_PATTERN = re.compile(r"^[0-9a-f]{16}$")
NOISE = -1
SAMPLING_SHEET = Path("report") / "sampling_sheet.csv"
CLUSTER_METADATA = Path("report") / "cluster_metadata.parquet"
MLFLOW_RUN_ID_FILE = "mlflow_run_id.txt"
METADATA_COLUMNS = ("account", "hashtags", "likes", "caption", "alt_text", "posted_at", "post_id")
# The sampling sheet's column holding the report's thumbnail (relative to report/ or the run dir).
THUMBNAIL_COLUMNS = ("thumbnail_path", "thumbnail")
# Columns of cluster_metadata.parquet that carry a human-readable name for a cluster, best first.
CLUSTER_LABEL_COLUMNS = ("label", "zero_shot_label", "top_label", "name", "title")
_HASHTAG_SPLIT = re.compile(r"[\s,;]+")


def is_image_id(value: str) -> bool:
    """True for the 16 lower-case hex digits of an `image_id` (and nothing that could be a path)."""
    return bool(IMAGE_ID_PATTERN.fullmatch(value or ""))


def normalise_hashtags(value: Any) -> list[str]:
    """Hashtags as a list of '#tag' strings, from a Parquet list, a JSON list or '#a #b' text."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                return normalise_hashtags(json.loads(text))
            except json.JSONDecodeError:
                text = text.strip("[]")
        items = [t for t in _HASHTAG_SPLIT.split(text) if t]
    else:
        items = [str(t) for t in list(value)]
    tags: list[str] = []
    for item in items:
        tag = item.strip().strip("'\"")
        if tag and tag not in ("#",):
            tags.append(tag if tag.startswith("#") else f"#{tag}")
    return list(dict.fromkeys(tags))


def _clean_text(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value)


def _clean_int(value: Any) -> int | None:
    try:
        if value is None or value is pd.NA or value == "" or pd.isna(value):
            return None
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _clean_time(value: Any) -> str:
    if value is None or value is pd.NA or value == "":
        return ""
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        return str(value)
    if pd.isna(stamp):
        return ""
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.tz_convert("UTC").strftime("%Y-%m-%d %H:%M UTC")


@dataclass
class ClusterSummary:
    cluster: int
    n_images: int  # distinct images to code in this cluster
    n_posts: int  # clustered posts (all of them, not only the sample)
    top_hashtags: list[tuple[str, int]]
    top_accounts: list[tuple[str, int]]
    top_image_ids: list[str]
    label: str = ""

    @property
    def title(self) -> str:
        return "noise" if self.cluster == NOISE else f"cluster {self.cluster}"


@dataclass
class ReviewRun:
    """Everything the app reads from one run directory, loaded once at start-up."""

    run_dir: Path
    run_id: str
    mlflow_run_id: str | None
    images: pd.DataFrame  # one row per codeable image_id, indexed by image_id, probability desc
    clusters: list[ClusterSummary]
    image_paths: dict[str, Path]  # image_id -> file, from manifest.parquet rows with status ok
    sampled: bool  # True when the sampling sheet chose the images
    thumbnail_paths: dict[str, Path] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # why some sheet rows were not used

    @property
    def n_images(self) -> int:
        return len(self.images)

    def has_image(self, image_id: str) -> bool:
        return is_image_id(image_id) and image_id in self.images.index

    def record(self, image_id: str) -> dict[str, Any]:
        row = self.images.loc[image_id]
        return {"image_id": image_id, **row.to_dict()}

    def cluster_records(self, cluster: int) -> list[dict[str, Any]]:
        rows = self.images[self.images["cluster"] == cluster]
        return [{"image_id": image_id, **row.to_dict()} for image_id, row in rows.iterrows()]

    def cluster_ids(self) -> list[int]:
        return [c.cluster for c in self.clusters]

    def path_for(self, image_id: str) -> Path | None:
        """The image's file from the manifest; None for anything that is not a manifest image_id."""
        if not is_image_id(image_id):
            return None
        return self.image_paths.get(image_id)


def _read_parquet(path: Path, what: str) -> pd.DataFrame:
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: the review app needs the run directory's {what} "
            "(run the pipeline first, or pass the run directory / MLflow run id that has it)"
        )
    return pd.read_parquet(path)


def _read_sampling_sheet(path: Path) -> pd.DataFrame:
    # Everything as text first: a hex image_id like "1234567890123456" must not become a number.
    sheet = pd.read_csv(path, dtype=str, keep_default_na=False)
    if "image_id" not in sheet.columns:
        raise ValueError(f"{path} has no image_id column; re-run the report stage to rebuild it")
    return sheet


def _cluster_labels(run_dir: Path) -> dict[int, str]:
    path = run_dir / CLUSTER_METADATA
    if not path.is_file():
        return {}
    try:
        table = pd.read_parquet(path)
    except Exception as error:  # noqa: BLE001 - optional input: say why and go on without it
        log.warning("review: cannot read %s (%s); cluster cards will have no labels", path, error)
        return {}
    column = next((c for c in CLUSTER_LABEL_COLUMNS if c in table.columns), None)
    if "cluster" not in table.columns or column is None:
        return {}
    return {int(c): _clean_text(v) for c, v in zip(table["cluster"], table[column]) if _clean_text(v)}


def _thumbnail_inside_run(run_dir: Path, value: str) -> Path | None:
    """A report thumbnail only if it is a file inside the run directory (the sheet is data, not trusted)."""
    if not value:
        return None
    root = run_dir.resolve()
    for base in (root / "report", root):
        candidate = (base / value).resolve()
        if candidate.is_relative_to(root) and candidate.is_file():
            return candidate
    return None


def read_mlflow_run_id(run_dir: Path) -> str | None:
    path = run_dir / MLFLOW_RUN_ID_FILE
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8").strip()
    return text or None


def load_run(run_dir: str | Path, top_terms: int = 5, montage_size: int = 6) -> ReviewRun:
    """Read a run directory into a `ReviewRun` (raises a clear error naming a missing/broken file)."""
    run_dir = Path(run_dir).expanduser().resolve()
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run directory {run_dir} does not exist")
    manifest = _read_parquet(run_dir / "manifest.parquet", "manifest.parquet")
    assignments = _read_parquet(run_dir / "assignments.parquet", "assignments.parquet")
    for name, table, needed in (
        ("manifest.parquet", manifest, ("image_id", "path")),
        ("assignments.parquet", assignments, ("image_id", "path", "cluster", "probability")),
    ):
        missing = [c for c in needed if c not in table.columns]
        if missing:
            raise ValueError(f"{run_dir / name} lacks column(s) {missing} (see docs/ARCHITECTURE.md)")

    ok = manifest if "status" not in manifest.columns else manifest[manifest["status"].astype(str) == "ok"]
    image_paths = {
        str(i): Path(str(p)) for i, p in zip(ok["image_id"], ok["path"]) if is_image_id(str(i))
    }

    posts = assignments[["image_id", "path", "cluster", "probability"]].copy()
    posts["image_id"] = posts["image_id"].astype(str)
    posts["path"] = posts["path"].astype(str)
    posts["cluster"] = posts["cluster"].astype("int64")
    posts["probability"] = posts["probability"].astype("float64")
    meta = [c for c in METADATA_COLUMNS if c in manifest.columns]
    if meta:
        by_path = manifest[["path", *meta]].copy()
        by_path["path"] = by_path["path"].astype(str)
        posts = posts.merge(by_path.drop_duplicates("path"), on="path", how="left")
    posts = posts[posts["image_id"].map(is_image_id)]
    posts = posts.sort_values(["probability", "image_id"], ascending=[False, True], kind="stable")

    skipped: list[str] = []
    sheet_path = run_dir / SAMPLING_SHEET
    sheet = _read_sampling_sheet(sheet_path) if sheet_path.is_file() else None

    first = posts.drop_duplicates("image_id").set_index("image_id")
    counts = posts.groupby("image_id").size()
    images = pd.DataFrame(index=first.index)
    images["cluster"] = first["cluster"]
    images["probability"] = first["probability"]
    images["n_posts"] = counts.reindex(first.index).astype("int64")
    for column in METADATA_COLUMNS:
        images[column] = first[column] if column in first.columns else None
    images["band"] = ""
    thumbnail_paths: dict[str, Path] = {}

    if sheet is not None:
        sheet = sheet[sheet["image_id"].map(is_image_id)]
        unknown = sorted(set(sheet["image_id"]) - set(images.index))
        if unknown:
            skipped.append(
                f"{sheet_path}: {len(unknown)} image_id(s) not in assignments.parquet, e.g. {unknown[0]}"
            )
        sheet = sheet[sheet["image_id"].isin(images.index)].drop_duplicates("image_id").set_index("image_id")
        images = images.loc[sheet.index]
        # The sheet names the sampled post; show its metadata where it has any.
        for column in ("caption", "alt_text", "account", "hashtags", "likes", "posted_at", "band"):
            if column in sheet.columns:
                values = sheet[column].replace("", np.nan)
                images[column] = values.where(values.notna(), images[column])
        thumb_column = next((c for c in THUMBNAIL_COLUMNS if c in sheet.columns), None)
        if thumb_column is not None:
            for image_id, value in sheet[thumb_column].items():
                found = _thumbnail_inside_run(run_dir, value)
                if found is not None:
                    thumbnail_paths[image_id] = found

    images["hashtags"] = [normalise_hashtags(v) for v in images["hashtags"]]
    images["likes"] = [_clean_int(v) for v in images["likes"]]
    images["posted_at"] = [_clean_time(v) for v in images["posted_at"]]
    images["band"] = [_clean_text(v) for v in images["band"]]
    for column in ("caption", "alt_text", "account", "post_id"):
        images[column] = [_clean_text(v) for v in images[column]]
    images = images.sort_values(["cluster", "probability"], ascending=[True, False], kind="stable")

    labels = _cluster_labels(run_dir)
    clusters = []
    for cluster, members in images.groupby("cluster", sort=True):
        cluster_posts = posts[posts["cluster"] == cluster]
        tags: Counter[str] = Counter()
        for value in cluster_posts.get("hashtags", pd.Series(dtype=object)):
            tags.update(normalise_hashtags(value))
        accounts = Counter(
            _clean_text(a) for a in cluster_posts.get("account", pd.Series(dtype=object)) if _clean_text(a)
        )
        clusters.append(
            ClusterSummary(
                cluster=int(cluster),
                n_images=len(members),
                n_posts=len(cluster_posts),
                top_hashtags=tags.most_common(top_terms),
                top_accounts=accounts.most_common(top_terms),
                top_image_ids=list(members.index[:montage_size]),
                label=labels.get(int(cluster), ""),
            )
        )
    # Noise last: it is the least interesting card.
    clusters.sort(key=lambda c: (c.cluster == NOISE, c.cluster))

    mlflow_run_id = read_mlflow_run_id(run_dir)
    # Without MLflow the run is known by its content, so moving the directory keeps its codes.
    run_id = mlflow_run_id or "local-" + hash_strings(
        [f"{i}:{c}" for i, c in sorted(zip(images.index, images["cluster"]))]
    )
    return ReviewRun(
        run_dir=run_dir,
        run_id=run_id,
        mlflow_run_id=mlflow_run_id,
        images=images,
        clusters=clusters,
        image_paths=image_paths,
        sampled=sheet is not None,
        thumbnail_paths=thumbnail_paths,
        skipped=skipped,
    )
