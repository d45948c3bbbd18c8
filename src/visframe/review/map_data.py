"""The data behind /map: every post of a run as columns, read with pyarrow, served as typed arrays.

One row per post of `assignments.parquet`, in file order; a point's number is its row. The page gets
the positions, probabilities and cluster codes as one little-endian binary blob
(`points_bytes`: float32 x,y interleaved, float32 probability, uint16 cluster code), and each other
colouring as uint16 codes plus a small JSON of categories. Nothing is converted row by row: the
metadata of a post (account, caption, hashtags, date) is found through the manifest with one
`pyarrow.compute.index_in` over paths, and searches are vectorised string kernels.

Measured on this machine (2 cores shared with other jobs, load average 13-16), synthetic run of
1,000,000 posts (benchmarks/bench_map.py): the first /map/points.bin request, which reads four
columns of assignments.parquet and builds the 14 MB blob, 0.56 s; a repeat 0.08 s. The first
account colouring 4.5 s (reads the manifest's paths and accounts and matches 1M paths); later
colourings of the same key come from memory.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from matplotlib.path import Path as PolygonPath

from visframe import contracts as C
from visframe.errors import InputError
from visframe.review.run_messages import NO_TOPIC
from visframe.run_dir import RunDir
from visframe.utils.hashtags import format_hashtag, hashtag_key

# How many categories a categorical colouring shows before the rest become "other".
TOP_CATEGORIES = 24
OTHER = "other"
NONE = "(none)"
NO_TEXT = "no text"  # message topic colouring: an image whose text is in no row of messages.parquet
NO_TEXT_OR_TOPIC = "no text or no topic"  # … when the run has no messages.parquet to tell them apart
MAX_CODE = np.iinfo(np.uint16).max
COLOURINGS = {  # key -> label shown in the page's "colour by" menu
    C.CLUSTER: C.CLUSTER,
    C.PROBABILITY: C.PROBABILITY,
    "noise": "noise",
    "account": "account",
    "hashtag": "hashtag",
    "has_text": "has text",
    "month": "month",
    C.MESSAGE_TOPIC: "message topic",  # listed only when the assignments have it (runs with message topics)
}
SEARCH_FIELDS = ("caption", "hashtag", "account", "text")
META_COLUMNS = (C.ACCOUNT, C.HASHTAGS, C.HASHTAG_KEYS, C.CAPTION, C.POSTED_AT)


@dataclass
class Categorical:
    """One colouring: a code per post (uint16) and the label and count of each code."""

    codes: np.ndarray
    labels: list[str]
    counts: list[int]
    ordered: bool = False  # months: a sequential ramp rather than distinct colours
    values: np.ndarray | None = None  # cluster colourings: the cluster number of each code

    def as_json(self, key: str) -> dict:
        return {
            "key": key,
            "kind": "category",
            "ordered": self.ordered,
            "categories": [
                {"code": i, "label": lab, "count": int(n)}
                for i, (lab, n) in enumerate(zip(self.labels, self.counts))
            ],
        }


def _categorical(values: pa.Array, top: int = TOP_CATEGORIES, ordered: bool = False) -> Categorical:
    """Top-`top` values by count as their own codes (or all, sorted, when `ordered`), the rest OTHER."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    encoded = pc.dictionary_encode(pc.fill_null(values.cast(pa.string()), NONE))
    dictionary = encoded.dictionary.to_pylist()
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    counts = np.bincount(indices, minlength=len(dictionary))
    if ordered:
        order = sorted(range(len(dictionary)), key=lambda k: (dictionary[k] == NONE, dictionary[k]))
        kept = order[: MAX_CODE - 1]
    else:
        kept = [int(k) for k in np.argsort(-counts, kind="stable")[:top]]
    remap = np.full(len(dictionary), len(kept), dtype=np.uint16)
    remap[kept] = np.arange(len(kept), dtype=np.uint16)
    codes = remap[indices]
    labels = [dictionary[k] for k in kept]
    tallies = [int(counts[k]) for k in kept]
    rest = int(counts.sum() - sum(tallies))
    if rest:
        labels.append(OTHER)
        tallies.append(rest)
    return Categorical(codes=codes, labels=labels, counts=tallies, ordered=ordered)


def _label_clusters(values: np.ndarray, names: dict[int, str]) -> Categorical:
    ids, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    if len(ids) > MAX_CODE:
        raise InputError(
            f"the map can colour at most {MAX_CODE} clusters; this run has {len(ids)}",
            fix="colour by a coarser cluster layer",
        )
    labels = ["noise" if c == C.NOISE else names.get(int(c), f"cluster {int(c)}") for c in ids]
    return Categorical(codes=inverse.astype(np.uint16), labels=labels, counts=counts.tolist(), values=ids)


@dataclass
class MapData:
    """The run's posts for the map. Positions and clusters load at once; the rest on first need."""

    files: RunDir
    xy: np.ndarray  # (n, 2) float32
    probability: np.ndarray  # (n,) float32
    cluster: Categorical
    layers: list[str]
    names: dict[int, dict[int, str]]  # layer -> cluster -> name (RunDir.cluster_names_by_layer)
    has_message_topics: bool = False  # the assignments have message_topic (the messages stage ran)
    _cache: dict = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def n(self) -> int:
        return len(self.xy)

    @classmethod
    def load(cls, run_dir: str | Path | RunDir) -> MapData:
        """Read only what the first paint needs: x, y, probability, cluster (0.2 s at 1M posts here)."""
        files = RunDir(run_dir)
        needed = (C.IMAGE_ID, C.PATH, C.CLUSTER, C.PROBABILITY, C.X, C.Y)
        columns = files.require_columns(C.ASSIGNMENTS, needed)  # the schema only: no data read yet
        table = files.read_arrow(C.ASSIGNMENTS, [C.X, C.Y, C.PROBABILITY, C.CLUSTER])
        xy = np.empty((table.num_rows, 2), dtype=np.float32)
        xy[:, 0] = table[C.X].to_numpy()
        xy[:, 1] = table[C.Y].to_numpy()
        probability = np.nan_to_num(table[C.PROBABILITY].to_numpy().astype(np.float32), nan=0.0)
        names = files.cluster_names_by_layer()
        cluster = _label_clusters(table[C.CLUSTER].to_numpy(), names.get(-1, {}))
        return cls(
            files,
            xy,
            probability,
            cluster,
            C.layer_columns(columns),
            names,
            has_message_topics=C.MESSAGE_TOPIC in columns,
        )

    @property
    def assignments(self) -> pa.Table:
        """The whole assignments table (image ids, paths, layers), read on first need."""
        with self._lock:
            if "assignments" not in self._cache:
                self._cache["assignments"] = self.files.read_arrow(C.ASSIGNMENTS)
            return self._cache["assignments"]

    # -- what the page loads first ---------------------------------------------------------------
    def bounds(self) -> list[float]:
        if self.n == 0:
            return [0.0, 0.0, 1.0, 1.0]
        lo, hi = np.nanmin(self.xy, axis=0), np.nanmax(self.xy, axis=0)
        return [float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])]

    def points_bytes(self) -> bytes:
        """float32 xy (2n) | float32 probability (n) | uint16 cluster code (n), little-endian."""
        with self._lock:
            if "points" not in self._cache:
                self._cache["points"] = b"".join(
                    (
                        self.xy.astype("<f4").tobytes(),
                        self.probability.astype("<f4").tobytes(),
                        self.cluster.codes.astype("<u2").tobytes(),
                    )
                )
            return self._cache["points"]

    def colourings(self) -> list[dict]:
        keys = [
            {"key": k, "label": v}
            for k, v in COLOURINGS.items()
            if k != C.MESSAGE_TOPIC or self.has_message_topics
        ]
        return (
            keys[:1]
            + [{"key": c, "label": f"layer {c[len(C.CLUSTER_LAYER_PREFIX) :]}"} for c in self.layers]
            + keys[1:]
        )

    # -- metadata: one manifest column at a time, aligned to the posts ---------------------------
    def _manifest_rows(self) -> pa.Array | None:
        """For each post, its manifest row (null where the manifest has no such path); None: no manifest."""
        with self._lock:
            if "rows" not in self._cache:
                rows = None
                if C.PATH in self._manifest_columns():
                    paths = self.files.read_arrow(C.MANIFEST, [C.PATH])[C.PATH].combine_chunks()
                    rows = pc.index_in(self.assignments[C.PATH], value_set=paths)
                self._cache["rows"] = rows
            return self._cache["rows"]

    def _manifest_columns(self) -> list[str]:
        """The manifest's column names ([] without a manifest), read from its schema once."""
        with self._lock:
            if "manifest_columns" not in self._cache:
                self._cache["manifest_columns"] = self.files.columns(C.MANIFEST)
            return self._cache["manifest_columns"]

    def meta_column(self, name: str) -> pa.ChunkedArray:
        """Manifest column `name` per post (nulls when absent; hashtag keys derived for older manifests)."""
        with self._lock:
            if ("meta", name) not in self._cache:
                self._cache[("meta", name)] = self._read_meta_column(name)
            return self._cache[("meta", name)]

    def _read_meta_column(self, name: str) -> pa.ChunkedArray:
        rows, columns = self._manifest_rows(), self._manifest_columns()
        if rows is not None and name in columns:
            return self.files.read_arrow(C.MANIFEST, [name])[name].take(rows)
        if name == C.HASHTAG_KEYS and rows is not None and C.HASHTAGS in columns:
            tags = self.meta_column(C.HASHTAGS).combine_chunks()  # older manifests: derive the keys
            flat = [hashtag_key(t) for t in pc.list_flatten(tags).to_pylist()]
            offsets = pc.subtract(tags.offsets, tags.offsets[0])
            return pa.chunked_array(
                [pa.ListArray.from_arrays(offsets, pa.array(flat, pa.string()), mask=tags.is_null())]
            )
        kind = pa.list_(pa.string()) if name in (C.HASHTAGS, C.HASHTAG_KEYS) else pa.string()
        return pa.chunked_array([pa.nulls(self.n, kind)])

    def meta(self) -> pa.Table:
        """Every metadata column the map shows, aligned to the posts."""
        return pa.table({name: self.meta_column(name) for name in META_COLUMNS})

    def texts(self) -> pa.Table | None:
        with self._lock:
            if "texts" not in self._cache:
                self._cache["texts"] = self.files.read_arrow_optional(C.TEXTS, [C.IMAGE_ID, C.TEXT])
            return self._cache["texts"]

    # -- colourings ------------------------------------------------------------------------------
    def colouring(self, key: str) -> Categorical | None:
        """The categorical colouring `key` (None for the continuous `probability` or an unknown key)."""
        if key == C.CLUSTER:
            return self.cluster
        if key not in self.layers and key not in COLOURINGS or key == C.PROBABILITY:
            return None
        if key == C.MESSAGE_TOPIC and not self.has_message_topics:
            return None
        with self._lock:
            found = self._cache.get(("colour", key))
        if found is None:
            found = self._build_colouring(key)
            with self._lock:
                self._cache[("colour", key)] = found
        return found

    def _build_colouring(self, key: str) -> Categorical:
        if key in self.layers:
            layer = int(key[len(C.CLUSTER_LAYER_PREFIX) :])
            values = self.files.read_arrow(C.ASSIGNMENTS, [key])[key].to_numpy()
            return _label_clusters(values, self.names.get(layer, {}))
        if key == "noise":  # from the cluster codes in memory: no file read
            noise = self.cluster.values[self.cluster.codes] == C.NOISE
            return Categorical(
                noise.astype(np.uint16), ["clustered", "noise"], [int((~noise).sum()), int(noise.sum())]
            )
        if key == "account":
            return _categorical(self.meta_column(C.ACCOUNT))
        if key == "month":
            stamps = self.meta_column(C.POSTED_AT)
            if not pa.types.is_timestamp(stamps.type):
                return _categorical(pa.nulls(self.n, pa.string()), ordered=True)
            return _categorical(pc.strftime(stamps, format="%Y-%m"), ordered=True)
        if key == "has_text":
            return self._has_text()
        if key == C.MESSAGE_TOPIC:
            return self._message_topics()
        return self._top_hashtag()

    def _has_text(self) -> Categorical:
        texts = self.texts()
        if texts is None:
            codes = np.full(self.n, 2, dtype=np.uint16)
        else:
            non_empty = pc.greater(pc.utf8_length(pc.fill_null(texts[C.TEXT], "")), 0)
            with_text = pc.filter(texts[C.IMAGE_ID], non_empty)
            read = pc.is_in(
                self.assignments[C.IMAGE_ID], value_set=texts[C.IMAGE_ID].combine_chunks()
            ).to_numpy(zero_copy_only=False)
            has = pc.is_in(self.assignments[C.IMAGE_ID], value_set=with_text.combine_chunks()).to_numpy(
                zero_copy_only=False
            )
            codes = np.where(has, 0, np.where(read, 1, 2)).astype(np.uint16)
        counts = np.bincount(codes, minlength=3)
        return Categorical(codes, ["has text", "no text", "not read"], counts.tolist())

    def _message_topics(self) -> Categorical:
        """Each post by the message topic of its image's text (the describe stage's names), topics in
        number order, then the text in no topic and the images without text (told apart by
        messages.parquet, which lists every image with text)."""
        column = self.files.read_arrow(C.ASSIGNMENTS, [C.MESSAGE_TOPIC])[C.MESSAGE_TOPIC]
        topics = pc.fill_null(column, C.NOISE).to_numpy().astype(np.int64)
        with_text = self.files.read_arrow_optional(C.MESSAGES, [C.IMAGE_ID])
        no_topic_label = NO_TEXT_OR_TOPIC
        if with_text is not None:
            has_text = pc.is_in(
                self.assignments[C.IMAGE_ID], value_set=with_text[C.IMAGE_ID].combine_chunks()
            )
            topics[(topics == C.NOISE) & ~has_text.to_numpy(zero_copy_only=False)] = C.NOISE - 1
            no_topic_label = NO_TOPIC
        ids, inverse, counts = np.unique(topics, return_inverse=True, return_counts=True)
        if len(ids) > MAX_CODE:
            raise InputError(
                f"the map can colour at most {MAX_CODE} message topics; this run has {len(ids)}",
                fix="colour by cluster, or make fewer topics (messages.clusterer)",
            )
        # Topics in number order, then -1 (text in no topic), then -2 (no text).
        order = np.argsort(np.where(ids < 0, ids.max(initial=0) + 1 - ids, ids), kind="stable")
        remap = np.empty(len(ids), dtype=np.uint16)
        remap[order] = np.arange(len(ids), dtype=np.uint16)
        names = self.files.message_topic_names()
        labels = [
            NO_TEXT if t < C.NOISE else no_topic_label if t == C.NOISE else names.get(int(t)) or f"topic {t}"
            for t in ids[order]
        ]
        return Categorical(
            codes=remap[inverse], labels=labels, counts=counts[order].tolist(), values=ids[order]
        )

    def _top_hashtag(self) -> Categorical:
        """Each post by its most used hashtag (counted by key over the whole run)."""
        keys = self.meta_column(C.HASHTAG_KEYS).combine_chunks()
        flat = pc.list_flatten(keys)
        parents = pc.list_parent_indices(keys).to_numpy()
        encoded = pc.dictionary_encode(flat)
        dictionary = encoded.dictionary.to_pylist()
        index = encoded.indices.to_numpy()
        counts = np.bincount(index, minlength=len(dictionary))
        rank = np.empty(len(dictionary), dtype=np.int64)
        rank[np.argsort(-counts, kind="stable")] = np.arange(len(dictionary))
        best = np.full(self.n, len(dictionary), dtype=np.int64)
        np.minimum.at(best, parents, rank[index])
        by_rank = np.argsort(rank)
        shown = dictionary
        displays = pc.list_flatten(self.meta_column(C.HASHTAGS).combine_chunks())
        if len(displays) == len(flat):  # show each key as first written (hashtags and keys are aligned)
            _, first = np.unique(index, return_index=True)
            shown = displays.take(pa.array(first)).to_pylist()
        labels = [format_hashtag(shown[k]) for k in by_rank] + [NONE]
        values = pa.array(np.array(labels, dtype=object)[best])
        return _categorical(values)

    # -- one point, search, selection ------------------------------------------------------------
    def image_ids(self, indices: np.ndarray) -> list[str]:
        return self.assignments[C.IMAGE_ID].take(pa.array(indices, pa.int64())).to_pylist()

    def cluster_label(self, index: int) -> str:
        return self.cluster.labels[int(self.cluster.codes[index])]

    def point(self, index: int) -> dict:
        row = {
            name: self.meta_column(name)[index].as_py()
            for name in (C.ACCOUNT, C.POSTED_AT, C.CAPTION, C.HASHTAGS)
        }
        posted = row.get(C.POSTED_AT)
        return {
            "index": index,
            C.IMAGE_ID: self.assignments[C.IMAGE_ID][index].as_py(),
            C.ACCOUNT: row.get(C.ACCOUNT) or "",
            C.POSTED_AT: posted.strftime("%Y-%m-%d %H:%M UTC")
            if hasattr(posted, "strftime")
            else (posted or ""),
            C.CAPTION: (row.get(C.CAPTION) or "")[:600],
            C.HASHTAGS: [format_hashtag(t) for t in (row.get(C.HASHTAGS) or [])],
            C.CLUSTER: int(self.cluster.values[self.cluster.codes[index]]),
            "cluster_name": self.cluster_label(index),
            C.PROBABILITY: round(float(self.probability[index]), 4),
        }

    def search(self, query: str, fields: tuple[str, ...] = SEARCH_FIELDS) -> np.ndarray:
        """Point numbers whose caption/account/OCR text contains `query` (any case) or with that hashtag."""
        query = query.strip()
        if not query:
            return np.zeros(0, dtype=np.uint32)
        hits = np.zeros(self.n, dtype=bool)
        for name, column in (("caption", C.CAPTION), ("account", C.ACCOUNT)):
            if name in fields:
                found = pc.match_substring(
                    pc.fill_null(self.meta_column(column), ""), query, ignore_case=True
                )
                hits |= found.to_numpy(zero_copy_only=False)
        if "hashtag" in fields:
            keys = self.meta_column(C.HASHTAG_KEYS).combine_chunks()
            equal = pc.equal(pc.list_flatten(keys), hashtag_key(query)).to_numpy(zero_copy_only=False)
            hits[pc.list_parent_indices(keys).to_numpy()[equal]] = True
        texts = self.texts()
        if "text" in fields and texts is not None:
            found = pc.match_substring(pc.fill_null(texts[C.TEXT], ""), query, ignore_case=True)
            ids = pc.filter(texts[C.IMAGE_ID], found).combine_chunks()
            hits |= pc.is_in(self.assignments[C.IMAGE_ID], value_set=ids).to_numpy(zero_copy_only=False)
        return np.flatnonzero(hits).astype(np.uint32)

    def select(
        self, polygon: list[list[float]], colouring: str = C.CLUSTER, hidden: list[int] = ()
    ) -> np.ndarray:
        """Point numbers inside `polygon` (data coordinates), leaving out categories hidden in the legend."""
        vertices = np.asarray(polygon, dtype=np.float64)
        if (
            vertices.ndim != 2
            or vertices.shape[1] != 2
            or len(vertices) < 3
            or not np.isfinite(vertices).all()
        ):
            raise ValueError("a selection needs a polygon of at least 3 finite [x, y] points")
        lo, hi = vertices.min(axis=0), vertices.max(axis=0)
        box = np.flatnonzero(
            (self.xy[:, 0] >= lo[0])
            & (self.xy[:, 0] <= hi[0])
            & (self.xy[:, 1] >= lo[1])
            & (self.xy[:, 1] <= hi[1])
        )
        inside = box[PolygonPath(vertices).contains_points(self.xy[box].astype(np.float64))]
        cat = self.colouring(colouring) if hidden else None
        if cat is not None:
            inside = inside[~np.isin(cat.codes[inside], np.asarray(list(hidden), dtype=np.int64))]
        return inside.astype(np.uint32)

    def selection_table(self, indices: np.ndarray) -> pa.Table:
        """The selected posts: image_id, path, cluster (+ name), probability, x, y and their metadata."""
        take = pa.array(indices, pa.int64())
        base = self.assignments.select([C.IMAGE_ID, C.PATH, C.CLUSTER, C.PROBABILITY, C.X, C.Y]).take(take)
        meta = self.meta().take(take)
        names = pa.array([self.cluster.labels[c] for c in self.cluster.codes[indices]], pa.string())
        base = base.append_column(C.NAME, names)
        for name in (C.ACCOUNT, C.HASHTAGS, C.CAPTION, C.POSTED_AT):
            base = base.append_column(name, meta[name])
        return base
