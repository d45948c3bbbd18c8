"""Text vectors: one vector per image that carries text, cached by the text itself.

    vectors = embed_texts({image_id: text, …}, encoder, cache_dir)
    vectors.image_ids, vectors.vectors   # rows aligned; images without text get no row

The cache is content-addressed by what is encoded: `<cache_dir>/text_vectors/<encoder_key>/`
holds checksummed Parquet shards of (the SHA-256 of the text, its vector), written with the
embedding cache's shard writer (visframe.embed.cache; its key column holds the text's hash here).
The same slogan on a thousand reshared posters is encoded once; a rerun reads every vector back;
a killed run resumes from its last shard (`FLUSH_EVERY` texts each). The encoder key is the
encoder's name plus a hash of its `cache_key`, as for image embeddings.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from visframe.embed.cache import cached_image_ids, load_embeddings, write_metadata, write_shard
from visframe.session import Session
from visframe.text.encoders import TextEncoder
from visframe.utils.cache import cache_subdir
from visframe.utils.hashing import stable_hash

log = logging.getLogger(__name__)

FLUSH_EVERY = 1024  # texts per shard: a kill loses at most this many encodings
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class TextVectors:
    image_ids: tuple[str, ...]  # the images that have text, in input order
    vectors: np.ndarray  # float32 (len(image_ids), dim), unit rows
    encoder_key: str
    computed: int  # distinct texts encoded now
    from_cache: int  # distinct texts read from the cache
    seconds: float
    vectors_dir: Path

    def metrics(self) -> dict[str, float]:
        return {
            "text_vectors": float(len(self.image_ids)),
            "text_vectors_computed": float(self.computed),
            "text_vectors_from_cache": float(self.from_cache),
            "text_vector_seconds": round(self.seconds, 3),
        }


def normalised_text(text: str) -> str:
    """What is encoded: the text with runs of whitespace (line breaks of OCR) as single spaces."""
    return _SPACES.sub(" ", text or "").strip()


def text_key(text: str) -> str:
    """The cache key of a (normalised) text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def encoder_key(encoder: TextEncoder) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", encoder.name).strip("_") or "text-encoder"
    return f"{safe}-{stable_hash({'text_encoder': encoder.cache_key})}"


def embed_texts(
    image_texts: Mapping[str, str],
    encoder: TextEncoder,
    cache_dir: str | Path | None = None,
    show_progress: bool = False,
    session: Session | None = None,
) -> TextVectors:
    """Vectors of each image's text (images whose normalised text is empty get none)."""
    started = time.perf_counter()
    key = encoder_key(encoder)
    directory = cache_subdir(cache_dir, "text_vectors", key)
    write_metadata(
        directory, {"encoder_key": key, "name": encoder.name, "dim": encoder.dim, "spec": encoder.cache_key}
    )
    texts = {image_id: normalised_text(text) for image_id, text in image_texts.items()}
    texts = {image_id: text for image_id, text in texts.items() if text}
    keys = {image_id: text_key(text) for image_id, text in texts.items()}
    by_key = dict(zip(keys.values(), texts.values()))  # each distinct text once
    verified = session.verified_shards if session is not None else None
    cached = cached_image_ids(directory, verified)
    todo = [k for k in by_key if k not in cached]
    with tqdm(
        total=len(todo),
        unit="text",
        desc=f"text vectors ({encoder.name})",
        file=sys.stderr,
        disable=not show_progress or not todo,
    ) as bar:
        for start in range(0, len(todo), FLUSH_EVERY):
            chunk = todo[start : start + FLUSH_EVERY]
            write_shard(directory, chunk, encoder.encode([by_key[k] for k in chunk]))
            bar.update(len(chunk))
    image_ids = tuple(texts)
    vectors = load_embeddings(directory, [keys[i] for i in image_ids], dim=encoder.dim, verified=verified)
    seconds = time.perf_counter() - started
    log.info(
        "Text vectors (%s): %d images with text, %d distinct texts (%d encoded now) in %.1f s",
        encoder.name,
        len(image_ids),
        len(by_key),
        len(todo),
        seconds,
    )
    return TextVectors(image_ids, vectors, key, len(todo), len(by_key) - len(todo), seconds, directory)


__all__ = ["FLUSH_EVERY", "TextVectors", "embed_texts", "encoder_key", "normalised_text", "text_key"]
