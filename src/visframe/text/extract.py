"""`extract_texts`: the text stage. Reads the text in every unique image once, caches it, resumes.

    result = extract_texts(image_ids, paths, cfg.text, cache_dir, show_progress=True)
    result.table  # texts.parquet: one row per unique image_id (contracts.TEXTS)

The cache directory is `<cache_dir>/texts/<backend_key>/`, the key being the backend's name plus
a hash of its `cache_key` (model files, versions, thresholds). Only images the cache lacks are read;
rows are flushed as a shard every `FLUSH_EVERY` images, so a killed run loses at most that many
(plus the reads in flight). An image the backend (or the image decoder) fails on gets an empty text,
`text_status=failed` and the error as `text_reason`; the run goes on. Failed rows are not cached:
the next run tries again.

Where the images are read: by the text config's `workers` processes on this machine (`auto` = the
cores, at most 8; visframe.text.pool), or by a `reader` (the Dask cluster of scale=sample_fit).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from visframe.contracts import (
    IMAGE_ID,
    LANGUAGE,
    MEAN_CONFIDENCE,
    N_CHARS,
    TEXT,
    TEXT_AREA_SHARE,
    TEXT_FAILED,
    TEXT_OK,
    TEXT_REASON,
    TEXT_STATUS,
    TEXTS,
    validate,
)
from visframe.errors import ConfigError, VisframeError
from visframe.text import cache
from visframe.text.base import TextBackend
from visframe.text.pool import Reader, read_in_processes, resolve_workers
from visframe.utils.cache import cache_subdir
from visframe.utils.hashing import stable_hash

log = logging.getLogger(__name__)

FLUSH_EVERY = 32  # images per shard: a kill -9 loses at most this many reads


@dataclass(frozen=True)
class TextResult:
    """texts.parquet's table (None when the stage is off) plus the counts the pipeline logs as metrics."""

    table: pd.DataFrame | None
    backend_key: str
    texts_computed: int
    texts_from_cache: int
    texts_failed: int
    seconds: float
    skipped: str | None = None  # why there is no table (text=none), said in the log and the report

    def metrics(self) -> dict[str, float]:
        if self.table is None:
            return {}
        return {
            "texts_computed": self.texts_computed,
            "texts_from_cache": self.texts_from_cache,
            "texts_failed": self.texts_failed,
            "text_seconds": round(self.seconds, 3),
        }


def text_enabled(text_cfg: Any) -> bool:
    """False for `text=none` (no `_target_`): the pipeline then writes no texts.parquet."""
    return _get(text_cfg, "_target_") is not None


def _get(cfg: Any, key: str) -> Any:
    if cfg is None:
        return None
    if isinstance(cfg, Mapping):
        return cfg.get(key)
    return getattr(cfg, key, None)


def build_backend(text_cfg: Any) -> TextBackend:
    """The backend a `conf/text/*.yaml` describes (Hydra `instantiate` of its `_target_`)."""
    if isinstance(text_cfg, TextBackend):
        return text_cfg
    if not text_enabled(text_cfg):
        raise ConfigError(
            "the text stage is off (text=none) but a backend was asked for",
            fix="run with text=ocr or text=tesseract",
        )
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    try:
        backend = instantiate(text_cfg)
    except InstantiationException as error:
        if isinstance(
            error.__cause__, VisframeError
        ):  # the backend's own message and fix, not Hydra's wrapping
            raise error.__cause__ from None
        raise
    if not isinstance(backend, TextBackend):
        raise ConfigError(
            f"text._target_={_get(text_cfg, '_target_')} built a {type(backend).__name__}, "
            "not a visframe.text.TextBackend",
            fix="point _target_ at visframe.text.backends.RapidOcr or .Tesseract, or a subclass "
            "of visframe.text.base.TextBackend",
        )
    return backend


def worker_count(backend: TextBackend) -> int:
    """The processes that read with `backend`: its `workers` ("auto" = the cores, at most 8)."""
    return resolve_workers(getattr(backend, "workers", 1))


def backend_key(backend: TextBackend) -> str:
    return f"{backend.name}-{stable_hash(backend.cache_key)}"


def _unique(image_ids: Sequence[str], paths: Sequence[str]) -> dict[str, str]:
    if len(image_ids) != len(paths):
        raise ValueError(f"{len(image_ids)} image_ids but {len(paths)} paths")
    first: dict[str, str] = {}
    for image_id, path in zip(image_ids, paths):
        if image_id is not None and not pd.isna(image_id):
            first.setdefault(str(image_id), str(path))
    return first


def extract_texts(
    image_ids: Sequence[str],
    paths: Sequence[str],
    text_cfg: Any,
    cache_dir: str | Path | None = None,
    show_progress: bool = True,
    workers: int | None = None,
    reader: Reader | None = None,
) -> TextResult:
    """Read the text of each unique image (first path per image_id), from the cache when there.

    `workers`: processes reading on this machine (default: the backend's `workers`); `reader`: read
    them elsewhere instead (a `visframe.text.pool.DaskReader`). Returns the validated texts table
    (one row per unique image_id, in first-seen order) and the counts: texts_computed (read now),
    texts_from_cache, texts_failed, seconds.
    """
    started = time.perf_counter()
    backend = build_backend(text_cfg)
    workers = worker_count(backend) if workers is None else resolve_workers(workers)
    key = backend_key(backend)
    directory = cache_subdir(cache_dir, "texts", key)
    cache.write_backend_file(directory, backend.cache_key)
    cache.remove_stale_tmp_files(directory)
    wanted = _unique(image_ids, paths)
    cached = cache.load_cached(directory, wanted)
    known = set(cached[IMAGE_ID])
    todo = [(image_id, path) for image_id, path in wanted.items() if image_id not in known]
    rows = (reader or read_in_processes)(backend, todo, workers)
    fresh: list[dict] = []
    pending: list[dict] = []
    with tqdm(
        total=len(todo),
        unit="img",
        desc=f"text ({backend.name})",
        disable=not show_progress or not todo,
        file=sys.stderr,
    ) as bar:
        for row in rows:
            fresh.append(row)
            if row[TEXT_STATUS] == TEXT_OK:
                pending.append(row)
            if len(pending) >= FLUSH_EVERY:
                cache.write_shard(directory, pending)
                pending = []
            bar.update(1)
        if pending:
            cache.write_shard(directory, pending)
    table = _assemble(list(wanted), cached, fresh)
    failed = int((table[TEXT_STATUS] == TEXT_FAILED).sum())
    if failed:
        examples = table.loc[table[TEXT_STATUS] == TEXT_FAILED, [IMAGE_ID, TEXT_REASON]].head(3)
        log.warning(
            "Text stage: %d of %d images failed (empty text kept), e.g. %s",
            failed,
            len(table),
            "; ".join(f"{r[IMAGE_ID]}: {r[TEXT_REASON]}" for _, r in examples.iterrows()),
        )
    return TextResult(table, key, len(todo), len(wanted) - len(todo), failed, time.perf_counter() - started)


def _assemble(order: list[str], cached: pd.DataFrame, fresh: list[dict]) -> pd.DataFrame:
    columns = TEXTS.names
    parts = [frame for frame in (cached[columns], pd.DataFrame(fresh, columns=columns)) if len(frame)]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    table = table.set_index(IMAGE_ID).reindex(order).reset_index()
    table = table.astype({N_CHARS: "int64", TEXT_AREA_SHARE: "float64", MEAN_CONFIDENCE: "float64"})
    for column in (IMAGE_ID, TEXT, LANGUAGE, TEXT_STATUS, TEXT_REASON):
        table[column] = table[column].astype("string")  # LANGUAGE: <NA> when unknown
    return validate(TEXTS, table[columns])


def text_config(name: str, **overrides: Any):
    """The `conf/text/<name>.yaml` config (with overrides), for use outside a Hydra run (tests,
    benchmarks)."""
    from omegaconf import OmegaConf

    from visframe import CONFIG_DIR

    path = Path(CONFIG_DIR) / "text" / f"{name}.yaml"
    if not path.is_file():
        options = sorted(p.stem for p in path.parent.glob("*.yaml"))
        raise ConfigError(f"no text config {name!r}", fix=f"choose one of {options}")
    cfg = OmegaConf.load(path)
    for key, value in overrides.items():
        OmegaConf.update(cfg, key, value)
    return cfg
