"""The messages stage: the text-bearing images grouped by what their text says (message topics), and
the texts that travel across designs and accounts (slogans).

    result = run(MessagesInputs(posts, texts), MessagesSettings(cfg.messages, cfg.text_encoder), context)
    result.table     # messages.parquet: image_id, message_text, message_topic, message_probability
    result.slogans   # slogans.parquet
    result.vectors   # the images' sentence vectors (search by meaning, suggested codes), when an encoder is set

An image's text is its OCR text and the text the platform's alt text quotes (`alt_says`), and its
caption if `messages.sources` says so (off by default: a carousel's images share one caption). Its
message units are weighted and encoded (texts.py), the vectors reduced and clustered with the same
stages, estimators and caches as the images (`messages.reducer`, `messages.clusterer`: the job's
own by default). Topic −1: no text, or text in no topic. Without a text encoder (`text_encoder=none`)
or without text (`text=none` and no alt text), the stage says what it skipped and returns no topics.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from visframe import contracts as C
from visframe.cluster import stage as cluster_stage
from visframe.messages.slogans import find_slogans
from visframe.messages.texts import MessageVectors, image_units, lexical_vectors, sentence_vectors
from visframe.reduce import stage as reduce_stage
from visframe.stages import StageContext
from visframe.utils.hashing import stable_hash

log = logging.getLogger(__name__)

SOURCES = ("ocr", "alt_says", "caption")
REPRESENTATIONS = ("sentence", "lexical", "both")


@dataclass(frozen=True)
class MessagesInputs:
    posts: pd.DataFrame  # the clean rows: image_id and the manifest's post columns (alt_says, account …)
    texts: pd.DataFrame | None  # texts.parquet (OCR), or None with text=none


@dataclass(frozen=True)
class MessagesSettings:
    messages: Any  # cfg.messages
    text_encoder: Any  # cfg.text_encoder (None or `_target_: null`: no sentence vectors)


@dataclass(frozen=True)
class Messages:
    table: pd.DataFrame | None  # contracts.MESSAGES, one row per image with text; None when skipped
    slogans: pd.DataFrame | None  # contracts.SLOGANS
    vectors: MessageVectors | None  # sentence vectors (multilingual), None without a text encoder
    skipped: str | None = None  # why there are no topics
    seconds: Mapping[str, float] = field(default_factory=dict)

    def topic_of(self) -> dict[str, int]:
        """image id → its message topic (images without text are absent)."""
        if self.table is None:
            return {}
        return dict(zip(self.table[C.IMAGE_ID].astype(str), self.table[C.MESSAGE_TOPIC].astype(int)))

    def metrics(self) -> dict[str, float]:
        if self.table is None:
            return {}
        topics = self.table[C.MESSAGE_TOPIC]
        return {"message_images": float(len(topics)), "message_topics": float(topics[topics != C.NOISE].nunique()),
                "message_noise_fraction": float((topics == C.NOISE).mean()) if len(topics) else 0.0,
                "slogans": float(len(self.slogans)) if self.slogans is not None else 0.0,
                **{f"message_seconds_{k}": round(v, 3) for k, v in self.seconds.items()}}


def run(inputs: MessagesInputs, settings: MessagesSettings, context: StageContext) -> Messages:
    config = settings.messages
    if config is None or not config.get("enabled", True):
        return _skipped("messages.enabled is false: images were not grouped by what their text says")
    started = time.perf_counter()
    units = image_units(_sources(inputs, list(config.get("sources") or ["ocr", "alt_says"])),
                        int(config.get("min_chars", 10)))
    if len(units) < 3:
        return _skipped(f"{len(units)} image(s) carry text (text=none and no platform alt text quoting any?): "
                        "no message topics; run with text=ocr to read the images' text")
    seconds = {"units": time.perf_counter() - started}
    sentences = _sentences(units, settings.text_encoder, context, seconds)
    vectors = _vectors(units, config, sentences, context, seconds)
    if vectors is None:
        return _skipped("text_encoder=none and messages.representation needs it: no message topics")
    started = time.perf_counter()
    key = f"messages:{vectors.encoder_key}:{stable_hash([vectors.image_ids, _digest(vectors.vectors)])}"
    reduced = reduce_stage.run(reduce_stage.ReduceInputs(vectors.vectors, key),
                               reduce_stage.ReduceSettings(config.reducer, None, None), context)
    clusters = cluster_stage.run(cluster_stage.ClusterInputs(reduced.coordinates, vectors.vectors),
                                 cluster_stage.ClusterSettings(config.clusterer), context)
    seconds["topics"] = time.perf_counter() - started
    table = pd.DataFrame({
        C.IMAGE_ID: pd.array(vectors.image_ids, dtype="string"),
        C.MESSAGE_TEXT: pd.array(["\n".join(units[i]) for i in vectors.image_ids], dtype="string"),
        C.MESSAGE_TOPIC: clusters.labels.astype("int64"),
        C.MESSAGE_PROBABILITY: clusters.probabilities.astype("float64"),
    })
    slogans_cfg = config.get("slogans") or {}
    slogans = find_slogans(units, inputs.posts, dict(zip(vectors.image_ids, clusters.labels.tolist())),
                           int(slogans_cfg.get("min_words", 3)), int(slogans_cfg.get("min_designs", 2)))
    log.info("Message topics: %d images with text, %d topics (%.0f%% in none), %d slogans",
             len(table), clusters.n_clusters, 100 * (clusters.labels == C.NOISE).mean(), len(slogans))
    return Messages(C.validate(C.MESSAGES, table), C.validate(C.SLOGANS, slogans), sentences, None, seconds)


def _skipped(why: str) -> Messages:
    log.info("messages: %s", why)
    return Messages(None, None, None, why)


def _sources(inputs: MessagesInputs, sources: list[str]) -> dict[str, list[str | None]]:
    """image id → its texts, in the order of `sources` (ocr, alt_says, caption)."""
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        from visframe.errors import ConfigError

        raise ConfigError(f"messages.sources: unknown source(s) {unknown}", fix=f"use any of {list(SOURCES)}")
    posts = inputs.posts.drop_duplicates(C.IMAGE_ID)
    image_ids = posts[C.IMAGE_ID].astype(str).tolist()
    columns: dict[str, dict] = {}
    if "ocr" in sources and inputs.texts is not None and len(inputs.texts):
        ok = inputs.texts[inputs.texts[C.TEXT_STATUS] == C.TEXT_OK]
        columns["ocr"] = dict(zip(ok[C.IMAGE_ID].astype(str), ok[C.TEXT]))
    for source, column in (("alt_says", C.ALT_SAYS), ("caption", C.CAPTION)):
        if source in sources and column in inputs.posts:
            present = inputs.posts.dropna(subset=[column]).drop_duplicates(C.IMAGE_ID)
            columns[source] = dict(zip(present[C.IMAGE_ID].astype(str), present[column]))
    return {i: [columns[s].get(i) for s in sources if s in columns] for i in image_ids}


def _sentences(units, text_encoder_cfg, context: StageContext, seconds: dict) -> MessageVectors | None:
    """The sentence vectors whenever a text encoder is set: search by meaning and suggested codes use
    them whatever the topics are made from."""
    encoder = _encoder(text_encoder_cfg, context)
    if encoder is None:
        return None
    started = time.perf_counter()
    found = sentence_vectors(units, encoder, context.cache_dir, context.show_progress, context.session)
    seconds["sentence_vectors"] = time.perf_counter() - started
    return found


def _vectors(units, config, sentences: MessageVectors | None, context: StageContext,
             seconds: dict) -> MessageVectors | None:
    """What the topics are made from (`messages.representation`)."""
    representation = str(config.get("representation", "sentence"))
    if representation not in REPRESENTATIONS:
        from visframe.errors import ConfigError

        raise ConfigError(f"messages.representation={representation!r}", fix=f"one of {list(REPRESENTATIONS)}")
    parts = []
    if representation in ("sentence", "both"):
        if sentences is None:
            return None
        parts.append(sentences)
    if representation in ("lexical", "both"):
        from visframe.utils.stopwords import stop_words

        started = time.perf_counter()
        stop = sorted(stop_words(list(config.get("stop_words", ["es", "en"])), []))
        parts.append(lexical_vectors(units, stop, int(config.get("lexical_components", 100)), context.seed))
        seconds["lexical_vectors"] = time.perf_counter() - started
    return parts[0] if len(parts) == 1 else _beside(parts)


def _beside(parts: list[MessageVectors]) -> MessageVectors:
    """The images every part has, their vectors side by side (each part's rows of unit length)."""
    common = [i for i in parts[0].image_ids if all(i in set(p.image_ids) for p in parts[1:])]
    blocks = []
    for part in parts:
        row = {image_id: r for r, image_id in enumerate(part.image_ids)}
        blocks.append(part.vectors[[row[i] for i in common]])
    joined = np.hstack(blocks) / np.sqrt(len(parts))
    return MessageVectors(tuple(common), joined.astype(np.float32), "+".join(p.encoder_key for p in parts))


def _encoder(text_encoder_cfg, context: StageContext):
    """The configured text encoder, loaded once per session (a sweep's jobs share it)."""
    if text_encoder_cfg is None or text_encoder_cfg.get("_target_") is None:
        return None
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    spec = OmegaConf.to_container(text_encoder_cfg, resolve=True) if OmegaConf.is_config(text_encoder_cfg) \
        else dict(text_encoder_cfg)
    return context.session.text_encoders.get_or_make(stable_hash(spec), lambda: instantiate(spec))


def _digest(vectors: np.ndarray) -> str:
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(vectors).tobytes()).hexdigest()


__all__ = ["Messages", "MessagesInputs", "MessagesSettings", "run"]
