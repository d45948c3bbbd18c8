"""The review store's tables, its value types and the caps on what a coder may type.

Tables (every row carries `run_id`, so one database can hold several runs):
- `codes`: the codebook (name + description), unique per run.
- `reviews`: one row per (run, image, coder) once the coder has coded the image — even with no
  code — holding the coder's memo and when it was first and last saved. This is what makes "coder A
  saw the image and applied nothing" different from "coder A never saw it" for agreement.
- `codings`: one row per (run, image, coder, code) with the UTC time it was applied.
- `cluster_names`: a coder's name for a cluster (one per run and cluster; the latest rename wins),
  kept beside the describe stage's automatic name, never replacing it.
- `human_clusters`: a coder's own cluster for an image (e.g. a noise image placed by hand), one per
  (run, image, coder); the algorithm's `cluster` is never changed.
- `map_selections`: a map selection's point numbers under its content id, per run (store_selections.py).

Caps (documented in the README; the app answers 413 when a form field is longer):
coder names 64 characters, code and cluster names 100, code descriptions 2,000, memos 10,000.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from visframe import contracts as C
from visframe.errors import InputError
from visframe.review.textsafe import clean_name

MAX_CODER_CHARS = 64
MAX_CODE_NAME_CHARS = 100
MAX_CLUSTER_NAME_CHARS = 100
MAX_DESCRIPTION_CHARS = 2_000
MAX_MEMO_CHARS = 10_000

# Control characters other than whitespace: refused in names (bidi controls are silently removed).
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f]")

metadata = MetaData()

codes_table = Table(
    "codes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False, index=True),
    Column("name", String(MAX_CODE_NAME_CHARS), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("created_by", String(MAX_CODER_CHARS), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("run_id", "name", name="uq_codes_run_name"),
)

reviews_table = Table(
    "reviews",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False),
    Column(C.IMAGE_ID, String(16), nullable=False),
    Column("coder", String(MAX_CODER_CHARS), nullable=False),
    Column("memo", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("run_id", C.IMAGE_ID, "coder", name="uq_reviews_run_image_coder"),
)

codings_table = Table(
    "codings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False),
    Column(C.IMAGE_ID, String(16), nullable=False),
    Column("coder", String(MAX_CODER_CHARS), nullable=False),
    Column("code_id", Integer, ForeignKey("codes.id"), nullable=False),
    Column("coded_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("run_id", C.IMAGE_ID, "coder", "code_id", name="uq_codings_run_image_coder_code"),
)

cluster_names_table = Table(
    "cluster_names",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False),
    Column(C.CLUSTER, Integer, nullable=False),
    Column("name", String(MAX_CLUSTER_NAME_CHARS), nullable=False),
    Column("coder", String(MAX_CODER_CHARS), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("run_id", C.CLUSTER, name="uq_cluster_names_run_cluster"),
)

human_clusters_table = Table(
    "human_clusters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False),
    Column(C.IMAGE_ID, String(16), nullable=False),
    Column("coder", String(MAX_CODER_CHARS), nullable=False),
    Column(C.CLUSTER, Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("run_id", C.IMAGE_ID, "coder", name="uq_human_clusters_run_image_coder"),
)


class StoreError(InputError):
    """Bad input to the store (an unknown code, an empty coder name...): shown to the user."""


@dataclass(frozen=True)
class Code:
    id: int
    name: str
    description: str


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes: they were written as UTC, so say so."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _clean(name: str, what: str, cap: int, empty: str) -> str:
    if _CONTROL.search(name or ""):
        raise StoreError(f"{what} cannot contain control characters (NUL, escape…)")
    cleaned = clean_name(name)
    if not cleaned:
        raise StoreError(empty)
    if len(cleaned) > cap:
        raise StoreError(f"{what} are at most {cap} characters")
    return cleaned


def clean_coder_name(name: str) -> str:
    return _clean(
        name, "coder names", MAX_CODER_CHARS, "a coder name is needed (any short name your team recognises)"
    )


def clean_code_name(name: str) -> str:
    return _clean(name, "code names", MAX_CODE_NAME_CHARS, "a code needs a name")


def clean_cluster_name(name: str) -> str:
    return _clean(name, "cluster names", MAX_CLUSTER_NAME_CHARS, "a cluster name cannot be empty")


# A map selection (review/map_routes.py): the point numbers (rows of the run's assignments table)
# inside a drawn box or lasso, under the content id the page puts in its URL, so a shared link
# outlives the app. `points` holds the sorted numbers as zlib-compressed little-endian uint32
# differences; `n_points` is how many posts the map had, to notice a changed run.
map_selections_table = Table(
    "map_selections",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False),
    Column("selection_id", String(16), nullable=False),
    Column("points", LargeBinary, nullable=False),
    Column("n_selected", Integer, nullable=False),
    Column("n_points", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("run_id", "selection_id", name="uq_map_selections_run_selection"),
)
