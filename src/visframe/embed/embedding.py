"""`embed_images`: vectors for a list of images, computed once and cached, resumable.

The cache directory of an encoder is `<cache_dir>/embeddings/<encoder_key>/`, where the key is the
encoder's name plus a hash of its `cache_key` (model id + weights fingerprint + preprocessing +
output definition) and the compute precision (bf16 and fp32 vectors differ in the third decimal,
so they are not mixed). A call embeds only the images the cache lacks, then reads every requested
vector back from the shards, so a rerun of the same config costs a read, and a killed run resumes
where its last shard ended.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from visframe.embed.cache import (
    METADATA_FILE,
    EmbeddingCacheError,
    cached_image_ids,
    load_embeddings,
    remove_stale_tmp_files,
    shard_paths,
    write_metadata,
)
from visframe.embed.deferred import DeferredEncoder
from visframe.embed.settings import resolve_settings
from visframe.errors import StageError
from visframe.session import Session
from visframe.utils.cache import cache_subdir
from visframe.utils.hashing import hash_strings, stable_hash

if TYPE_CHECKING:
    from visframe.embed.encoders.base import Encoder

log = logging.getLogger(__name__)


class EmbeddingError(StageError):
    """Some images could not be embedded; the message lists them. The others are cached."""

    def __init__(self, message: str, failures: dict[str, str]):
        super().__init__(message)
        self.failures = failures


@dataclass(frozen=True)
class EmbeddingResult:
    image_ids: list[str]  # the input ids, in input order
    vectors: np.ndarray  # float32 (N, D), row i belongs to image_ids[i]
    encoder_key: str
    images_embedded: int  # encoded by this call
    images_from_cache: int  # already in the cache before this call
    embeddings_dir: Path
    global_rank: int = 0  # != 0 only in the extra processes of an externally launched DDP job
    loop_seconds: float = 0.0  # wall time of the Lightning predict loop (0 when nothing was embedded)
    forward_seconds: float = 0.0  # of which in the model's forward passes (on CPU; else 0)

    def metrics(self) -> dict[str, float]:
        """The counts the pipeline records, and the loop's own rate beside the stage's: the stage
        also lists the cache, starts the Trainer and reads every vector back (benchmarks/bench_paper.py)."""
        found = {"images_embedded": float(self.images_embedded), "images_from_cache": float(self.images_from_cache)}
        if self.images_embedded and self.loop_seconds > 0:
            found["embed_loop_seconds"] = round(self.loop_seconds, 3)
            found["embed_loop_images_per_s"] = round(self.images_embedded / self.loop_seconds, 2)
        if self.images_embedded and self.forward_seconds > 0:
            found["embed_forward_images_per_s"] = round(self.images_embedded / self.forward_seconds, 2)
        return found


def encoder_key(encoder: Encoder, precision: str) -> str:
    """`<name>-<hash>`: readable directory name, exact identity."""
    safe_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", encoder.name).strip("_") or "encoder"
    return f"{safe_name}-{stable_hash({'encoder': encoder.cache_key, 'precision': precision})}"


def _as_mapping(trainer_cfg: Any) -> Mapping[str, Any] | None:
    if trainer_cfg is None:
        return None
    try:
        from omegaconf import DictConfig, OmegaConf

        if isinstance(trainer_cfg, DictConfig):
            return OmegaConf.to_container(trainer_cfg, resolve=True)  # type: ignore[return-value]
    except ImportError:  # pragma: no cover - omegaconf is a dependency
        pass
    return dict(trainer_cfg)


def _failure_reasons(encoder: Encoder, image_ids: list[str], paths: dict[str, str], known: dict[str, str]) -> dict[str, str]:
    """Why each image has no vector: the loop's recorded error, else decode it again to find out."""
    reasons = {}
    for image_id in image_ids:
        if image_id in known:
            reasons[image_id] = known[image_id]
            continue
        try:
            from visframe.data.images import load_rgb

            encoder.preprocess(load_rgb(paths[image_id], draft_size=encoder.decode_size))
            reasons[image_id] = "decoded fine now; no vector was written (was the run interrupted?)"
        except Exception as exc:  # noqa: BLE001 - reported to the user
            reasons[image_id] = f"{type(exc).__name__}: {exc}"
    return reasons


def _shard_listing(embeddings_dir: Path) -> tuple:
    return tuple((path.name, stat.st_size, stat.st_mtime_ns)
                 for path in shard_paths(embeddings_dir) for stat in [path.stat()])


def _all_cached(image_ids: list[str], recalled: dict, cache_dir: str | Path | None,
                session: Session | None) -> EmbeddingResult | None:
    """The vectors of `image_ids` under the remembered key, when the cache holds every one; else None.

    With a session, the last such load is remembered by the shards it read (name, size, mtime) and
    the ids: every job of a sweep reads the same vectors (19,903 × 1,280 from 208 shards: 0.4-0.5 s
    a job). Shards are written once and replaced only whole, so an unchanged listing means
    unchanged vectors."""
    key = str(recalled["encoder_key"])
    embeddings_dir = cache_subdir(cache_dir, "embeddings", key)
    if not (embeddings_dir / METADATA_FILE).exists():
        return None
    memo_key = (str(embeddings_dir), _shard_listing(embeddings_dir), hash_strings(image_ids))
    vectors = session.cached_vectors.get(memo_key) if session is not None else None
    if vectors is None:
        verified = session.verified_shards if session is not None else None
        cached = cached_image_ids(embeddings_dir, verified)
        if any(image_id not in cached for image_id in image_ids):
            return None
        try:
            vectors = load_embeddings(embeddings_dir, image_ids, dim=int(recalled["dim"]), verified=verified)
        except EmbeddingCacheError:  # a shard found damaged just now (set aside): embed those again
            return None
        if session is not None:
            session.cached_vectors.put(memo_key, vectors)
    log.info("Embedding with %s (%s): all %d images cached; the model was not loaded",
             recalled["name"], key, len(image_ids))
    return EmbeddingResult(image_ids=image_ids, vectors=vectors, encoder_key=key, images_embedded=0,
                           images_from_cache=len(image_ids), embeddings_dir=embeddings_dir)


def embed_images(
    image_ids: Sequence[str],
    paths: Sequence[str],
    encoder: Encoder | DeferredEncoder,
    trainer_cfg: Any = None,
    cache_dir: str | Path | None = None,
    show_progress: bool = True,
    session: Session | None = None,
) -> EmbeddingResult:
    """Vectors for `image_ids` (one file path each), from the cache or computed by the Lightning loop.

    `trainer_cfg` is `cfg.trainer` (see conf/trainer/default.yaml); `cache_dir` defaults to
    `$VISFRAME_CACHE_DIR` or ~/.cache/visframe. Raises `EmbeddingError` listing the files that could
    not be read; every other image is cached by then, so a rerun after fixing them embeds only those.
    `encoder` may be a `DeferredEncoder` (`load_encoder`): when its key is remembered and every
    image is cached, the vectors are read without loading the model. `session`: what the process
    remembers between jobs (verified shards, the last complete load); None remembers nothing.
    """
    image_ids = [str(i) for i in image_ids]
    paths = [str(p) for p in paths]
    if len(image_ids) != len(paths):
        raise ValueError(f"embed_images got {len(image_ids)} image_ids but {len(paths)} paths")
    path_of: dict[str, str] = {}
    for image_id, path in zip(image_ids, paths):
        path_of.setdefault(image_id, path)
    if len(path_of) != len(image_ids):
        raise ValueError("embed_images needs unique image_ids (one path per image); drop duplicate rows first")

    deferred = encoder if isinstance(encoder, DeferredEncoder) else None
    if deferred is not None:
        if not deferred.loaded and deferred.recalled is not None:
            recalled = _all_cached(image_ids, deferred.recalled, cache_dir, session)
            if recalled is not None:
                return recalled
        encoder = deferred.load()
    settings = resolve_settings(_as_mapping(trainer_cfg), encoder.prefers_channels_last)
    key = encoder_key(encoder, settings.precision)
    embeddings_dir = cache_subdir(cache_dir, "embeddings", key)
    remove_stale_tmp_files(embeddings_dir)
    write_metadata(
        embeddings_dir,
        {"encoder_key": key, "name": encoder.name, "dim": encoder.dim, "precision": settings.precision, "spec": encoder.cache_spec()},
    )
    if deferred is not None:
        deferred.remember(key)  # the next job with this identity may skip loading the model

    verified = session.verified_shards if session is not None else None
    cached = cached_image_ids(embeddings_dir, verified)
    todo = [image_id for image_id in image_ids if image_id not in cached]
    from_cache = len(image_ids) - len(todo)
    log.info(
        "Embedding with %s (%s): %d images cached, %d to embed [%s, batch %d, %d workers, %s]",
        encoder.name, key, from_cache, len(todo), settings.precision, settings.batch_size, settings.num_workers,
        "channels_last" if settings.channels_last else "contiguous",
    )  # fmt: skip
    rank, failures, loop_seconds, forward_seconds = 0, {}, 0.0, 0.0
    if todo:
        from visframe.embed.loop import run_predict_loop  # Lightning: imported only when there is work

        loop = run_predict_loop(
            encoder, todo, [path_of[i] for i in todo], settings, embeddings_dir, show_progress=show_progress
        )
        rank, failures, loop_seconds, forward_seconds = loop.rank, loop.failures, loop.seconds, loop.forward_seconds
        log.info("Embedding loop: %d images in %.1f s (%.1f images/s; %.1f s in the model's forward passes)",
                 len(todo), loop_seconds, len(todo) / max(loop_seconds, 1e-9), forward_seconds)
    # The cache listed once after the loop, not once per image (that was O(images × shards): 5.7 min
    # at 19,075 images).
    cached_now = cached_image_ids(embeddings_dir, verified) if todo else set()
    still_missing = [i for i in todo if i not in cached_now]
    if still_missing:
        reasons = _failure_reasons(encoder, still_missing, path_of, failures)
        listing = "\n".join(f"  {path_of[i]}: {reasons[i]}" for i in still_missing[:20])
        more = f"\n  … and {len(still_missing) - 20} more" if len(still_missing) > 20 else ""
        raise EmbeddingError(
            f"{len(still_missing)} of {len(image_ids)} images could not be embedded:\n{listing}{more}\n"
            f"The other {len(image_ids) - len(still_missing)} are cached in {embeddings_dir}. Fix or remove these "
            "files (re-ingesting marks unreadable ones) and run again: only the missing images will be embedded.",
            reasons,
        )
    vectors = load_embeddings(embeddings_dir, image_ids, dim=encoder.dim, verified=verified)
    return EmbeddingResult(
        image_ids=image_ids,
        vectors=vectors,
        encoder_key=key,
        images_embedded=len(todo),
        images_from_cache=from_cache,
        embeddings_dir=embeddings_dir,
        global_rank=rank,
        loop_seconds=loop_seconds,
        forward_seconds=forward_seconds,
    )
