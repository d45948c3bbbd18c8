"""describe: every cluster of every layer (noise included) as a description a reader can scan.

Runs after clustering and evaluation, before the report; it is the only later stage handed the
encoder (for zero-shot labels). `run` returns the tables; the pipeline writes them into the run
directory (`RunDir.write_descriptions`):

- clusters.parquet (contracts.CLUSTERS): layer, cluster, is_chosen_layer, name, size (posts),
  n_unique_images, text_share, top_terms, top_hashtags, top_accounts, zero_shot_labels,
  medoid_image_id, first_posted_at, last_posted_at;
- cluster_terms.parquet: the long table behind the top lists (terms, hashtags, accounts, zero-shot
  labels per cluster, with counts, shares and lift; c-TF-IDF scores for terms);
- cluster_timeline.parquet (contracts.CLUSTER_TIMELINE): posts per cluster per week or month;
- zero_shot_labels.parquet: each image's score per prompt and its top label (when made).

The medoid is the member image closest (cosine) to the mean of the cluster's unit-normalised
embeddings, i.e. the most typical image in the space the model saw; it needs no probability, so it
works for every layer. Without embeddings, and for noise (whose mean is no centre of anything),
it is the most probable member (ties broken by the lowest outlier score).

Cost, measured on benchmarks/bench_report.py's paper-sized fake run (16,567 posts, 100 clusters +
noise, 512-d vectors, short captions, zero-shot on): 1.3–1.7 s of CPU per call on this 2-core
machine (6.7–8.4 s wall while it was shared); the report that follows costs far more (thumbnails,
montages, plots).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from omegaconf import DictConfig

from visframe import contracts as C
from visframe.contracts import NOISE
from visframe.describe import terms as T
from visframe.describe.config import stage_config
from visframe.describe.naming import cluster_name, named_hashtags, unique_names
from visframe.describe.posts import Layer, cluster_layers, cluster_order, join_posts, rank_by_probability
from visframe.utils.stopwords import stop_words
from visframe.describe.timeline import cluster_timeline, empty_timeline
from visframe.describe.zero_shot import (
    ZeroShotSkipped,
    top_label_matrix,
    zero_shot_labels,
)
from visframe.session import Memo
from visframe.stages import StageContext
from visframe.utils.hashing import hash_strings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Descriptions:
    """What describe made: the tables, and what it skipped and why (`notes`, shown in the report)."""

    clusters: pd.DataFrame
    terms: pd.DataFrame
    timeline: pd.DataFrame
    zero_shot: pd.DataFrame | None = None
    notes: tuple[str, ...] = ()
    described: bool = True  # False with describe.enabled=false: nothing to write
    topics: pd.DataFrame | None = None  # contracts.MESSAGE_TOPICS, when the run made message topics

    def names(self, layer: int | None = None) -> dict[int, str]:
        """cluster → name for `layer` (default: the chosen layer)."""
        rows = (
            self.clusters[self.clusters[C.IS_CHOSEN_LAYER]]
            if layer is None
            else self.clusters[self.clusters[C.LAYER] == layer]
        )
        return dict(zip(rows[C.CLUSTER].astype(int), rows[C.NAME]))


@dataclass(frozen=True)
class DescribeInputs:
    manifest: pd.DataFrame | None  # the posts' metadata (None: clusters described by their images only)
    assignments: pd.DataFrame  # contracts.ASSIGNMENTS: one row per clustered post, with its layers
    texts: pd.DataFrame | None = None  # contracts.TEXTS (OCR), when the text stage ran
    encoder: object | None = None  # for zero-shot labels (an image-text encoder)
    vectors: np.ndarray | None = None  # the run's embeddings: medoids and zero-shot scores
    vector_ids: Sequence[str] | None = None  # the image id of each row of `vectors`
    chosen_layer: int | None = None  # None: the layer the clusterer chose
    messages: pd.DataFrame | None = None  # contracts.MESSAGES: each text-bearing image's topic
    message_vectors: Any = None  # the messages stage's MessageVectors (image_ids, vectors): topic medoids


def run(inputs: DescribeInputs, settings: Any, context: StageContext) -> Descriptions:
    """Describe every cluster of every layer (`settings`: the `describe` config section).

    With `describe.enabled: false` the tables are empty and the report names clusters "cluster 3"."""
    if not stage_config("describe", settings).enabled:
        note = "describe.enabled is false: clusters were not described (no names, terms or medoids)"
        return Descriptions(_empty_clusters(), T.empty_term_table(), empty_timeline(), None, (note,), described=False)
    posts = join_posts(inputs.manifest, inputs.assignments)
    vector_ids = list(inputs.vector_ids) if inputs.vector_ids is not None else None
    described = describe_clusters(posts, inputs.texts, settings, inputs.encoder, inputs.vectors, vector_ids,
                                  inputs.chosen_layer, memo=context.session.term_matrices)
    if inputs.messages is None or inputs.messages.empty:
        return described
    from visframe.describe.topics import describe_topics

    vectors = inputs.message_vectors
    topics = describe_topics(posts, inputs.messages, None if vectors is None else vectors.vectors,
                             None if vectors is None else list(vectors.image_ids), settings)
    return dataclasses.replace(described, topics=topics)


def describe_clusters(
    posts: pd.DataFrame,
    texts: pd.DataFrame | None = None,
    cfg: DictConfig | Mapping[str, Any] | None = None,
    encoder: object | None = None,
    vectors: np.ndarray | None = None,
    vector_ids: list[str] | None = None,
    chosen_layer: int | None = None,
    memo: Memo | None = None,
) -> Descriptions:
    """Describe every cluster of every layer of `posts` (`join_posts(manifest, assignments)`).

    `texts`: texts.parquet (OCR), or None; `cfg`: describe settings over conf/describe/default.yaml;
    `encoder` + `vectors`/`vector_ids` (the run's embeddings): for zero-shot labels and medoids;
    `memo` (a `Session.term_matrices`): remembers the term matrices between calls on the same posts.
    """
    config = stage_config("describe", cfg)
    notes: list[str] = []
    layers = cluster_layers(posts, chosen_layer)
    if posts.empty:
        notes.append("no clustered posts: no clusters to describe")
        return Descriptions(_empty_clusters(), T.empty_term_table(), empty_timeline(), None, tuple(notes))
    kinds = _term_matrices(posts, texts, config, notes, memo)
    labels = _zero_shot(posts, config, encoder, vectors, vector_ids, notes)
    if labels is not None:
        kinds[T.KIND_ZERO_SHOT] = top_label_matrix(posts, labels, list(config.zero_shot.prompts))
    has_text = _image_has_text(posts, texts, int(config.text_min_chars))
    unit = _unit_vectors(vectors, vector_ids)
    rows, term_frames, timelines = [], [], []
    for layer in layers:
        clusters = cluster_order(posts, column=layer.column)
        label_array = posts[layer.column].to_numpy(dtype=np.int64)
        layer_terms = [
            T.term_table(
                layer.index, label_array, clusters, matrix, names, kind, keep_zeros=kind == T.KIND_ZERO_SHOT
            )
            for kind, (matrix, names) in kinds.items()
        ]
        term_frames += layer_terms
        rows += _layer_rows(
            posts, layer, clusters, pd.concat(layer_terms) if layer_terms else None, has_text, unit, config
        )
        timelines.append(
            cluster_timeline(posts, layer.index, layer.column, clusters, int(config.timeline.weekly_max_days))
        )
    if C.POSTED_AT not in posts or posts[C.POSTED_AT].isna().all():
        notes.append("no posted_at dates in the metadata: no posts-over-time table")
    for note in notes:
        log.info("describe: %s", note)
    frame = _clusters_frame(rows)
    term_table = pd.concat(term_frames, ignore_index=True) if term_frames else T.empty_term_table()
    return Descriptions(frame, term_table, pd.concat(timelines, ignore_index=True), labels, tuple(notes))


# --- the parts -------------------------------------------------------------------------------------


def _term_matrices(posts, texts, config, notes, memo: Memo | None) -> dict[str, tuple]:
    """The term, hashtag and account matrices of the posts. With a memo they are remembered by the
    content they were built from: every job of a sweep describes the same posts with other clusters,
    and tokenising them again was half of describe (19,903 posts: 1 s)."""
    stop = stop_words(list(config.terms.stop_words), list(config.terms.extra_stop_words))
    documents = T.post_documents(posts, texts, list(config.terms.sources))

    def build() -> tuple[dict, list[str]]:
        made: list[str] = []
        return _build_term_matrices(posts, documents, stop, config, made), made

    if memo is None:
        kinds, made = build()
    else:
        kinds, made = memo.get_or_make(_terms_key(posts, documents, stop, int(config.terms.min_posts)), build)
    notes.extend(made)
    return dict(kinds)


def _terms_key(posts, documents, stop, min_posts: int) -> str:
    columns = [[_as_text(v) for v in posts[c]] if c in posts else [] for c in
               (C.HASHTAG_KEYS, C.HASHTAGS, C.ACCOUNT)]
    return hash_strings([hash_strings(documents), hash_strings(sorted(stop)), str(min_posts),
                         *(hash_strings(values) for values in columns)])


def _as_text(value) -> str:
    """A cell as key text; a missing one (None, or NaN, which pandas 3 keeps through astype(str)) as NUL."""
    if isinstance(value, str):
        return value
    if hasattr(value, "__len__"):
        return repr(list(value))
    return "\x00"


def _build_term_matrices(posts, documents, stop, config, notes) -> dict[str, tuple]:
    kinds = {}
    words = T.word_matrix(documents, stop, int(config.terms.min_posts))
    if words is None:
        notes.append(
            "no OCR text, captions or alt texts with words in at least "
            f"{int(config.terms.min_posts)} posts: clusters have no top terms"
        )
    else:
        kinds[T.KIND_TERM] = words
    for kind, made, column in (
        (T.KIND_HASHTAG, T.hashtag_matrix(posts), C.HASHTAGS),
        (T.KIND_ACCOUNT, T.account_matrix(posts), C.ACCOUNT),
    ):
        if made is None:
            notes.append(f"no {column} in the metadata: clusters have no top {column}")
        else:
            kinds[kind] = made
    return kinds


def _zero_shot(posts, config, encoder, vectors, vector_ids, notes) -> pd.DataFrame | None:
    zcfg = config.zero_shot
    if not zcfg.enabled:
        notes.append("zero-shot labels are off (describe.zero_shot.enabled=false)")
        return None
    try:
        return zero_shot_labels(
            encoder,
            vectors,
            vector_ids,
            list(posts[C.IMAGE_ID]),
            list(zcfg.prompts),
            str(zcfg.prompt_set_version),
        )
    except ZeroShotSkipped as why:
        notes.append(f"zero-shot labels skipped: {why}")
        return None


def _image_has_text(posts, texts, min_chars: int) -> pd.Series | None:
    """Per post: does its image carry at least `min_chars` characters of OCR text (None: unknown)."""
    if texts is None or texts.empty:
        return None
    chars = texts.drop_duplicates(C.IMAGE_ID).set_index(C.IMAGE_ID)[C.N_CHARS]
    if C.TEXT_STATUS in texts:
        failed = texts.drop_duplicates(C.IMAGE_ID).set_index(C.IMAGE_ID)[C.TEXT_STATUS] != C.TEXT_OK
        chars = chars.where(~failed)
    return posts[C.IMAGE_ID].map(chars).ge(min_chars).where(posts[C.IMAGE_ID].map(chars).notna())


def _unit_vectors(vectors, vector_ids) -> tuple[np.ndarray, pd.Index] | None:
    if vectors is None or vector_ids is None:
        return None
    array = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return array / np.where(norms > 0, norms, 1.0), pd.Index(vector_ids)


class _Medoids:
    """Each cluster's medoid image: the member closest to the mean of its unit vectors; noise, or a
    cluster with an image the vectors lack, falls back to its most probable post. The posts' rows in
    the vectors are looked up once per layer, not per cluster."""

    def __init__(self, posts: pd.DataFrame, unit):
        self.posts, self.unit = posts, unit
        self.rows = unit[1].get_indexer(posts[C.IMAGE_ID].astype(str)) if unit is not None else None

    def __call__(self, positions: np.ndarray, cluster: int) -> str:
        if self.rows is not None and cluster != NOISE and len(positions):
            rows = pd.unique(self.rows[positions])  # its unique images, first seen first
            if (rows >= 0).all():
                vectors, index = self.unit
                chosen = vectors[rows]
                return str(index[rows[int(np.argmax(chosen @ chosen.mean(axis=0)))]])
        return str(rank_by_probability(self.posts.iloc[positions]).iloc[0][C.IMAGE_ID])


def _layer_rows(posts, layer: Layer, clusters, terms, has_text, unit, config) -> list[dict]:
    top_n = int(config.top_n)
    rows, names = [], []
    # Everything per cluster is computed for the whole layer in one grouped pass: a pandas filter,
    # sort or date parse per cluster cost 1-2 ms each, most of describe at 250 clusters.
    groups = posts.groupby(layer.column, sort=False)
    members_of, unique_images = groups.indices, groups[C.IMAGE_ID].nunique()
    image_ids = posts[C.IMAGE_ID].astype(str).to_numpy()
    span = _posting_span(posts, layer.column)
    top_lists = _top_lists(terms, top_n)
    tags = named_hashtags(terms[terms[T.KIND] == T.KIND_HASHTAG] if terms is not None else None,
                          float(config.name.hashtag_min_share))
    medoid = _Medoids(posts, unit)
    text_flags = has_text.to_numpy() if has_text is not None else None
    for cluster in clusters:
        positions = members_of.get(cluster, np.array([], dtype=np.int64))
        lists = {kind: top_lists.get((cluster, kind), [])
                 for kind in (T.KIND_TERM, T.KIND_HASHTAG, T.KIND_ACCOUNT, T.KIND_ZERO_SHOT)}
        lists[T.KIND_ZERO_SHOT] = lists[T.KIND_ZERO_SHOT][: int(config.zero_shot.n_labels)]
        text_share = _text_share(image_ids[positions], text_flags[positions] if text_flags is not None else None)
        names.append(cluster_name(cluster, text_share, lists[T.KIND_TERM], tags.get(int(cluster)),
                                  lists[T.KIND_ZERO_SHOT], config.name))
        first, last = span.get(cluster, (pd.NaT, pd.NaT))
        rows.append(
            {
                C.LAYER: layer.index,
                C.CLUSTER: int(cluster),
                C.IS_CHOSEN_LAYER: layer.chosen,
                C.SIZE: len(positions),
                C.N_UNIQUE_IMAGES: int(unique_images.get(cluster, 0)),
                C.TEXT_SHARE: text_share,
                C.TOP_TERMS: lists[T.KIND_TERM],
                C.TOP_HASHTAGS: lists[T.KIND_HASHTAG],
                C.TOP_ACCOUNTS: lists[T.KIND_ACCOUNT],
                C.ZERO_SHOT_LABELS: lists[T.KIND_ZERO_SHOT],
                C.MEDOID_IMAGE_ID: medoid(positions, cluster),
                C.FIRST_POSTED_AT: first,
                C.LAST_POSTED_AT: last,
            }
        )
    for row, name in zip(rows, unique_names(names, list(clusters))):
        row[C.NAME] = name
    return rows


def _posting_span(posts: pd.DataFrame, column: str) -> dict:
    """cluster → (first, last) posted_at (UTC; NaT where none is known)."""
    if C.POSTED_AT not in posts:
        return {}
    times = pd.to_datetime(posts[C.POSTED_AT], utc=True)
    span = times.groupby(posts[column].to_numpy(), sort=False).agg(["min", "max"])
    return {cluster: (first, last) for cluster, first, last in zip(span.index, span["min"], span["max"], strict=True)}


def _top_lists(terms: pd.DataFrame | None, top_n: int) -> dict[tuple, list[str]]:
    """(cluster, kind) → its first `top_n` terms with a count, in the term table's order."""
    if terms is None or terms.empty:
        return {}
    counted = terms[terms[T.COUNT] > 0]
    top = counted.groupby([C.CLUSTER, T.KIND], sort=False).head(top_n)
    return {key: list(group[T.TERM].astype(str)) for key, group in top.groupby([C.CLUSTER, T.KIND], sort=False)}


def _text_share(image_ids: np.ndarray, has_text: np.ndarray | None) -> float:
    """Share of the cluster's unique images with text (NaN when the run has no OCR)."""
    if has_text is None:
        return math.nan
    per_image = pd.Series(has_text, index=image_ids)
    per_image = per_image[~per_image.index.duplicated()].dropna()
    return float(per_image.astype(bool).mean()) if len(per_image) else math.nan


def _clusters_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=C.CLUSTERS.names) if rows else _empty_clusters()
    types = {
        C.LAYER: "int64",
        C.CLUSTER: "int64",
        C.IS_CHOSEN_LAYER: "bool",
        C.NAME: "string",
        C.SIZE: "int64",
        C.N_UNIQUE_IMAGES: "int64",
        C.TEXT_SHARE: "float64",
        C.MEDOID_IMAGE_ID: "string",
    }
    frame = frame.astype(types)
    for column in (C.FIRST_POSTED_AT, C.LAST_POSTED_AT):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def _empty_clusters() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in C.CLUSTERS.names})
