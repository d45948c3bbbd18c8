"""The contracts between stages: every file of a run directory and every column of its tables.

This module is the single source of those names. A stage that writes a table validates it here
(`validate`), and every reader imports the names from here; no stage spells another stage's file
or column name as a literal. docs/ARCHITECTURE.md explains the flow; this file is the reference.

Dtypes are described by kind, so both pandas 2 (object strings) and pandas 3 (Arrow strings) pass:
`str` (string or object holding str/None), `int`, `float`, `bool`, `list` (list of str), `time`
(timestamp, UTC) and `any`. A column marked optional may be absent; a required one may not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

# The cluster label HDBSCAN and every other clusterer give a point it leaves unclustered.
NOISE = -1

# ------------------------------------------------------------------------------ run directory files
MANIFEST_FILE = "manifest.parquet"
ASSIGNMENTS_FILE = "assignments.parquet"
TEXTS_FILE = "texts.parquet"
CLUSTERS_FILE = "clusters.parquet"
CLUSTER_TREE_FILE = "cluster_tree.parquet"
CLUSTER_TIMELINE_FILE = "cluster_timeline.parquet"
CLUSTER_TERMS_FILE = "cluster_terms.parquet"
ZERO_SHOT_LABELS_FILE = "zero_shot_labels.parquet"
MESSAGES_FILE = "messages.parquet"  # per image with text: its message text and message topic
MESSAGE_TOPICS_FILE = "message_topics.parquet"  # per message topic: name, size, terms, accounts, dates
SLOGANS_FILE = "slogans.parquet"  # one text across designs and accounts
MESSAGE_VECTORS_FILE = "message_vectors.parquet"  # per image with text: its message vector (search, suggestions)
METRICS_FILE = "metrics.json"
CONFIG_FILE = "config.yaml"
CLEANING_REPORT_FILE = "cleaning_report.csv"
MLFLOW_RUN_ID_FILE = "mlflow_run_id.txt"
REPORT_DIR = "report"
EXPORT_DIR = "export"  # visframe-export writes here (Embedding Atlas, FiftyOne)
REVIEW_DB_FILE = "review.db"
SAMPLING_SHEET_FILE = "sampling_sheet.csv"  # under REPORT_DIR: the report's sample for human coding
# A run that could not reach its MLflow store leaves this beside the outputs (how to log it later).
TRACKING_PENDING_FILE = "mlflow_pending.txt"
# A multirun's folder names its MLflow parent run here; each job reads it (visframe.cli) into its Session.
MLFLOW_PARENT_RUN_ID_FILE = "mlflow_parent_run_id.txt"
# The overrides that made a job: Hydra keeps them in HYDRA_DIR, a visframe-tune trial in its own folder.
HYDRA_DIR = ".hydra"
OVERRIDES_FILE = "overrides.yaml"

# ------------------------------------------------------------------------------------ column names
# Identities
IMAGE_ID = "image_id"
PATH = "path"
# Ingest
STATUS = "status"
REASON = "reason"
LABEL = "label"
WIDTH = "width"
HEIGHT = "height"
POST_ID = "post_id"
ACCOUNT = "account"
HASHTAGS = "hashtags"  # display form: as the post wrote them, without '#', one per key
HASHTAG_KEYS = "hashtag_keys"  # the matching key: NFKC + casefold, without '#' (see hashtags.py)
LIKES = "likes"
CAPTION = "caption"
ALT_TEXT = "alt_text"
ALT_OBJECTS = "alt_objects"  # what the platform's automatic alt text says it detected ("1 persona", "texto")
ALT_SAYS = "alt_says"  # the text the platform's automatic alt text quotes: its own reading of the image
POSTED_AT = "posted_at"
CAROUSEL_INDEX = "carousel_index"
RESHARE_GROUP = "reshare_group"
PHASH = "phash"
FILE_SIZE = "file_size"
RENDERED_TEXT = "rendered_text"  # synthetic corpus only: the text the generator drew (OCR truth)
MESSAGE = "message"  # synthetic corpus only: which of the seven messages the image's text says (None: none)
# Cluster
CLUSTER = "cluster"
PROBABILITY = "probability"
OUTLIER_SCORE = "outlier_score"
X = "x"
Y = "y"
NEAREST_CLUSTER = "nearest_cluster"
NEAREST_CLUSTER_STRENGTH = "nearest_cluster_strength"
CLUSTER_LAYER_PREFIX = "cluster_layer_"  # cluster_layer_0 = finest … cluster_layer_k = coarsest
# Text
TEXT = "text"
N_CHARS = "n_chars"
TEXT_AREA_SHARE = "text_area_share"
MEAN_CONFIDENCE = "mean_confidence"
LANGUAGE = "language"
TEXT_STATUS = "text_status"
TEXT_REASON = "text_reason"
# Messages: what the images' text says
MESSAGE_TEXT = "message_text"  # the image's message units (sentences of its text), one per line
MESSAGE_TOPIC = "message_topic"  # the topic of what the image's text says; NOISE = no text or unassigned
MESSAGE_PROBABILITY = "message_probability"
SLOGAN = "slogan"
N_DESIGNS = "n_designs"  # distinct designs (reshare groups) carrying a text
N_ACCOUNTS = "n_accounts"
FIRST_ACCOUNT = "first_account"
IMAGE_IDS = "image_ids"
VECTOR = "vector"
ENCODER_KEY = "encoder_key"
# Describe
LAYER = "layer"
NAME = "name"
SIZE = "size"
N_UNIQUE_IMAGES = "n_unique_images"
TEXT_SHARE = "text_share"
TOP_TERMS = "top_terms"
TOP_HASHTAGS = "top_hashtags"
TOP_ACCOUNTS = "top_accounts"
ZERO_SHOT_LABELS = "zero_shot_labels"
MEDOID_IMAGE_ID = "medoid_image_id"
FIRST_POSTED_AT = "first_posted_at"
LAST_POSTED_AT = "last_posted_at"
IS_CHOSEN_LAYER = "is_chosen_layer"
PARENT_LAYER = "parent_layer"
PARENT_CLUSTER = "parent_cluster"
PERIOD = "period"
N_POSTS = "n_posts"
FREQUENCY = "frequency"  # the timeline's bin: week | month
KIND = "kind"  # term | hashtag | account | zero_shot
TERM = "term"
RANK = "rank"
COUNT = "count"
SHARE = "share"
CORPUS_COUNT = "corpus_count"
CORPUS_SHARE = "corpus_share"
LIFT = "lift"
SCORE = "score"
TOP_LABEL = "top_label"
TOP_SCORE = "top_score"
PROMPT_SET_VERSION = "prompt_set_version"
# Review exports
RUN_ID = "run_id"
CODER = "coder"
CODE = "code"
CODE_DESCRIPTION = "code_description"
MEMO = "memo"
CODED_AT = "coded_at"
SAVED_AT = "saved_at"
HUMAN_CLUSTER = "human_cluster"  # a coder's own assignment (e.g. of a noise image); never overwrites `cluster`
HUMAN_NAME = "human_name"  # a coder's name for a cluster, kept beside the automatic `name`
# Sampling sheet
MODEL = "model"
BAND = "band"  # top | middle | bottom of a cluster's probability ranking
BAND_RANK = "band_rank"

# ---------------------------------------------------------------------------------- status codes
STATUS_OK = "ok"
STATUS_ZERO_BYTE = "zero_byte"
STATUS_TRUNCATED = "truncated"
STATUS_NOT_AN_IMAGE = "not_an_image"
STATUS_UNSUPPORTED_FORMAT = "unsupported_format"
STATUS_PLACEHOLDER = "placeholder"
STATUS_BLANK = "blank"
STATUS_TOO_SMALL = "too_small"
STATUS_TOO_MANY_PIXELS = "too_many_pixels"
STATUS_UNREADABLE = "unreadable"
STATUS_METADATA_ONLY = "metadata_only"
STATUS_OUTSIDE_ROOT = "outside_root"  # a symbolic link leading outside dataset.root: recorded, never read
STATUSES = (
    STATUS_OK,
    STATUS_ZERO_BYTE,
    STATUS_TRUNCATED,
    STATUS_NOT_AN_IMAGE,
    STATUS_UNSUPPORTED_FORMAT,
    STATUS_PLACEHOLDER,
    STATUS_BLANK,
    STATUS_TOO_SMALL,
    STATUS_TOO_MANY_PIXELS,
    STATUS_UNREADABLE,
    STATUS_METADATA_ONLY,
    STATUS_OUTSIDE_ROOT,
)
# Text stage outcomes per image.
TEXT_OK = "ok"
TEXT_FAILED = "failed"


def layer_column(layer: int) -> str:
    """The assignments column holding layer `layer` (0 = finest)."""
    return f"{CLUSTER_LAYER_PREFIX}{int(layer)}"


def layer_columns(columns: Iterable[str]) -> list[str]:
    """The layer columns present in `columns`, finest first."""
    found = [c for c in columns if c.startswith(CLUSTER_LAYER_PREFIX) and c[len(CLUSTER_LAYER_PREFIX):].isdigit()]
    return sorted(found, key=lambda c: int(c[len(CLUSTER_LAYER_PREFIX):]))


# ------------------------------------------------------------------------------------ the tables
@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # str | int | float | bool | list | time | any
    required: bool = True
    description: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    file: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


MANIFEST = Table(
    "manifest",
    MANIFEST_FILE,
    (
        Column(IMAGE_ID, "str", description="hash of the file's bytes; null when unreadable"),
        Column(PATH, "str", description="absolute path; non-UTF-8 names stored escaped"),
        Column(STATUS, "str", description="ok, or why the file was left out (STATUSES)"),
        Column(REASON, "str", description="readable reason; empty when ok"),
        Column(LABEL, "str", description="ground-truth label when known"),
        Column(WIDTH, "int"),
        Column(HEIGHT, "int"),
        Column(POST_ID, "str"),
        Column(ACCOUNT, "str"),
        Column(HASHTAGS, "list", description="display form, without '#'"),
        Column(HASHTAG_KEYS, "list", description="matching keys, aligned with hashtags"),
        Column(LIKES, "int"),
        Column(CAPTION, "str"),
        Column(ALT_TEXT, "str"),
        Column(ALT_OBJECTS, "list", required=False,
               description="automatic alt text: what the platform detected; null otherwise"),
        Column(ALT_SAYS, "str", required=False,
               description="automatic alt text: the text it quotes from the image (absent in runs made before message topics)"),
        Column(POSTED_AT, "time"),
        Column(CAROUSEL_INDEX, "int"),
        Column(RESHARE_GROUP, "str"),
        Column(PHASH, "str"),
        Column(FILE_SIZE, "int"),
    ),
)

ASSIGNMENTS = Table(
    "assignments",
    ASSIGNMENTS_FILE,
    (
        Column(IMAGE_ID, "str"),
        Column(PATH, "str"),
        Column(CLUSTER, "int", description=f"the chosen layer's cluster; {NOISE} = noise"),
        Column(PROBABILITY, "float", description="membership strength in [0, 1]; 0 for noise"),
        Column(OUTLIER_SCORE, "float", description="GLOSH outlier score; NaN if the backend has none"),
        Column(X, "float", description="2-D map coordinate"),
        Column(Y, "float", description="2-D map coordinate"),
        Column(NEAREST_CLUSTER, "int", required=False, description="noise: the nearest cluster (soft)"),
        Column(NEAREST_CLUSTER_STRENGTH, "float", required=False, description="strength of that nearest cluster"),
        Column(MESSAGE_TOPIC, "int", required=False, description=f"the message topic of the image's text; {NOISE} = none"),
    ),
)

TEXTS = Table(
    "texts",
    TEXTS_FILE,
    (
        Column(IMAGE_ID, "str"),
        Column(TEXT, "str", description="lines in reading order, joined by newlines; empty when none"),
        Column(N_CHARS, "int"),
        Column(TEXT_AREA_SHARE, "float", description="share of the image covered by text boxes"),
        Column(MEAN_CONFIDENCE, "float", description="mean line confidence; NaN when no text"),
        Column(LANGUAGE, "str", required=False),
        Column(TEXT_STATUS, "str", description="ok | failed"),
        Column(TEXT_REASON, "str", description="why the backend failed; empty when ok"),
    ),
)

CLUSTERS = Table(
    "clusters",
    CLUSTERS_FILE,
    (
        Column(LAYER, "int", description="0 = finest; the chosen layer is marked by is_chosen_layer"),
        Column(CLUSTER, "int"),
        Column(IS_CHOSEN_LAYER, "bool"),
        Column(NAME, "str", description="automatic name"),
        Column(SIZE, "int", description="posts"),
        Column(N_UNIQUE_IMAGES, "int"),
        Column(TEXT_SHARE, "float", required=False),
        Column(TOP_TERMS, "list", required=False),
        Column(TOP_HASHTAGS, "list", required=False),
        Column(TOP_ACCOUNTS, "list", required=False),
        Column(ZERO_SHOT_LABELS, "list", required=False),
        Column(MEDOID_IMAGE_ID, "str", required=False),
        Column(FIRST_POSTED_AT, "time", required=False),
        Column(LAST_POSTED_AT, "time", required=False),
    ),
)

CLUSTER_TREE = Table(
    "cluster_tree",
    CLUSTER_TREE_FILE,
    (
        Column(LAYER, "int"),
        Column(CLUSTER, "int"),
        Column(PARENT_LAYER, "int"),
        Column(PARENT_CLUSTER, "int", description=f"{NOISE} when the cluster's points are noise there"),
        Column(SIZE, "int"),
    ),
)

CLUSTER_TIMELINE = Table(
    "cluster_timeline",
    CLUSTER_TIMELINE_FILE,
    (Column(LAYER, "int", required=False), Column(CLUSTER, "int"), Column(PERIOD, "time"), Column(N_POSTS, "int"),
     Column(FREQUENCY, "str", required=False)),
)

CLUSTER_TERMS = Table(
    "cluster_terms",
    CLUSTER_TERMS_FILE,
    (
        Column(LAYER, "int"),
        Column(CLUSTER, "int"),
        Column(KIND, "str"),
        Column(TERM, "str"),
        Column(RANK, "int"),
        Column(COUNT, "int"),
        Column(SHARE, "float"),
        Column(CORPUS_COUNT, "int"),
        Column(CORPUS_SHARE, "float"),
        Column(LIFT, "float"),
        Column(SCORE, "float"),
    ),
)

CODES = Table(
    "codes",
    "codes.csv",
    (
        Column(RUN_ID, "str"),
        Column(IMAGE_ID, "str"),
        Column(CODER, "str"),
        Column(CODE, "str"),
        Column(CODE_DESCRIPTION, "str"),
        Column(MEMO, "str"),
        Column(CODED_AT, "any"),
        Column(SAVED_AT, "any"),
        Column(CLUSTER, "int"),
        Column(PROBABILITY, "float"),
        Column(HUMAN_CLUSTER, "int", required=False),
        Column(NAME, "str", required=False),
        Column(HUMAN_NAME, "str", required=False),
    ),
)

SAMPLING_SHEET = Table(
    "sampling_sheet",
    SAMPLING_SHEET_FILE,
    (
        Column(MODEL, "str"),
        Column(CLUSTER, "int"),
        Column(BAND, "str"),
        Column(BAND_RANK, "int"),
        Column(IMAGE_ID, "str"),
        Column(PATH, "str"),
        Column(PROBABILITY, "float"),
    ),
)

ZERO_SHOT = Table(
    "zero_shot_labels",
    ZERO_SHOT_LABELS_FILE,
    (
        Column(IMAGE_ID, "str"),
        Column(TOP_LABEL, "str", description="the prompt with the highest score"),
        Column(TOP_SCORE, "float", description="its cosine similarity to the image"),
        Column(PROMPT_SET_VERSION, "str"),
        # then one float column per prompt (named by the prompt): its score for the image
    ),
)

MESSAGES = Table(
    "messages",
    MESSAGES_FILE,
    (
        Column(IMAGE_ID, "str"),
        Column(MESSAGE_TEXT, "str", description="the sentences of the image's text that may carry a message"),
        Column(MESSAGE_TOPIC, "int", description=f"{NOISE} = in no topic"),
        Column(MESSAGE_PROBABILITY, "float", description="membership strength in its topic; 0 for none"),
    ),
)

MESSAGE_TOPICS = Table(
    "message_topics",
    MESSAGE_TOPICS_FILE,
    (
        Column(MESSAGE_TOPIC, "int", description=f"{NOISE}: the images with text in no topic"),
        Column(NAME, "str", description="automatic name (c-TF-IDF terms of what the text says)"),
        Column(SIZE, "int", description="posts"),
        Column(N_UNIQUE_IMAGES, "int"),
        Column(TOP_TERMS, "list"),
        Column(TOP_HASHTAGS, "list", required=False),
        Column(TOP_ACCOUNTS, "list", required=False),
        Column(MEDOID_IMAGE_ID, "str", required=False),
        Column(FIRST_POSTED_AT, "time", required=False),
        Column(LAST_POSTED_AT, "time", required=False),
    ),
)

MESSAGE_VECTORS = Table(
    "message_vectors",
    MESSAGE_VECTORS_FILE,
    (
        Column(IMAGE_ID, "str"),
        Column(VECTOR, "list", description="float32 unit vector of what the image's text says"),
    ),
)

SLOGANS = Table(
    "slogans",
    SLOGANS_FILE,
    (
        Column(SLOGAN, "str", description="its most common written form"),
        Column(N_DESIGNS, "int", description="different designs (reshare groups) that carry it"),
        Column(N_UNIQUE_IMAGES, "int"),
        Column(N_POSTS, "int"),
        Column(N_ACCOUNTS, "int"),
        Column(FIRST_ACCOUNT, "str", description="the account of its earliest post, when dates are known"),
        Column(FIRST_POSTED_AT, "time"),
        Column(LAST_POSTED_AT, "time"),
        Column(MESSAGE_TOPIC, "int", description="the topic most of its images fall in"),
        Column(IMAGE_IDS, "list"),
    ),
)

TABLES = {
    t.name: t
    for t in (MANIFEST, ASSIGNMENTS, TEXTS, CLUSTERS, CLUSTER_TREE, CLUSTER_TIMELINE, CODES, SAMPLING_SHEET,
              CLUSTER_TERMS, ZERO_SHOT, MESSAGES, MESSAGE_TOPICS, SLOGANS,
              MESSAGE_VECTORS)
}


class ContractError(ValueError):
    """A stage produced a table that breaks its contract: a bug in visframe, not in the user's data."""


def _kind_ok(series: pd.Series, kind: str) -> bool:
    dtype = series.dtype
    if kind == "any" or series.isna().all():
        return True
    if kind == "str":
        if pd.api.types.is_string_dtype(dtype):
            return True
        return dtype == object and all(isinstance(v, str) for v in series.dropna())
    if kind == "int":
        return pd.api.types.is_integer_dtype(dtype)
    if kind == "float":
        return pd.api.types.is_float_dtype(dtype) or pd.api.types.is_integer_dtype(dtype)
    if kind == "bool":
        return pd.api.types.is_bool_dtype(dtype)
    if kind == "time":
        return pd.api.types.is_datetime64_any_dtype(dtype)
    if kind == "list":
        return all(isinstance(v, (list, tuple, np.ndarray)) for v in series.dropna())
    raise ValueError(f"unknown column kind {kind!r}")


def validate(table: Table, frame: pd.DataFrame, extra_required: Iterable[str] = ()) -> pd.DataFrame:
    """Check `frame` against `table` (required columns present, dtypes of the right kind); return it."""
    missing = [c for c in (*table.required, *extra_required) if c not in frame.columns]
    if missing:
        raise ContractError(f"{table.file}: missing column(s) {missing}; has {list(frame.columns)}")
    wrong = [
        f"{c.name} ({frame[c.name].dtype}, expected {c.kind})"
        for c in table.columns
        if c.name in frame.columns and not _kind_ok(frame[c.name], c.kind)
    ]
    if wrong:
        raise ContractError(f"{table.file}: column(s) of the wrong type: {', '.join(wrong)}")
    return frame
