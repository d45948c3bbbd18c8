"""Rank a run's images by how well they match a text query, with the run's own image-text encoder.

The map's "by meaning" search. Nothing here runs when the app starts: the first request builds the
encoder the run was made with (its `config.yaml`'s `model`, through Hydra `instantiate`, as the
pipeline does), checks it has a text side (`describe.zero_shot.text_side_problem`: an image-only
model such as the default EfficientNet-Lite0, or a CLIP folder without tokenizer files, cannot
embed a query), and the first query reads the run's vectors from the embedding cache
(`<cache_dir>/embeddings/<encoder_key>/`, the key computed as the embed stage computes it; when the
precision resolves differently on this machine, a cache entry of the same encoder spec at another
precision is used). A query is embedded with `encode_text` and images are ranked by cosine
similarity (vectors L2-normalised once, held in memory: float16 past 20M values, e.g. 1,000,000
images of 512-d CLIP take 1 GB).
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from visframe import contracts as C
from visframe.errors import InputError, user_error_of
from visframe.run_dir import RunDir

log = logging.getLogger(__name__)

MAX_K = 2000
FLOAT16_PAST = 20_000_000  # values held as float16 past this many (the ranking needs no more)
_CHUNK = 200_000


class TextRankUnavailable(InputError):
    """This run's images can't be ranked by a text query; the message says why (plain search still works)."""


@dataclass
class Ranked:
    image_ids: list[str]  # best first
    scores: np.ndarray  # cosine similarity, same order
    n_ranked: int  # images that had a cached vector
    n_missing: int  # run images without one


def _normalised(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def _spec_key(spec: object) -> str:
    return json.dumps(spec, sort_keys=True, default=str)


class TextRanker:
    """The run's encoder and vectors, loaded on first use (thread-safe), and `rank(query, k)`."""

    def __init__(self, files: RunDir, image_ids: list[str]):
        self.files = RunDir(files)
        self.image_ids = image_ids  # the run's images (unique), in any order
        self._lock = threading.Lock()
        self._cfg = None
        self._encoder = None
        self._problem: TextRankUnavailable | None = None
        self._vectors: np.ndarray | None = None
        self._vector_ids: list[str] = []

    @property
    def loaded(self) -> bool:
        return self._encoder is not None

    # -- the encoder -------------------------------------------------------------------------------
    def _config(self):
        from omegaconf import OmegaConf

        config = self.files.read_config()
        if config is None:
            raise TextRankUnavailable(
                f"{self.files.file(C.CONFIG_FILE)} not found or unreadable: ranking by meaning needs "
                "the config of the run (its model)",
                fix="open the run directory the pipeline wrote (it holds config.yaml); plain search still works")
        return OmegaConf.create(config)

    def encoder(self):
        """The run's encoder with a text side, built on first call; else TextRankUnavailable (remembered)."""
        with self._lock:
            if self._problem is not None:
                raise self._problem
            if self._encoder is None:
                try:
                    self._encoder = self._build()
                except TextRankUnavailable as problem:
                    self._problem = problem
                    raise
            return self._encoder

    def _build(self):
        from hydra.utils import instantiate

        from visframe.describe.zero_shot import text_side_problem

        self._cfg = self._config()
        model = self._cfg.get("model")
        if model is None or "_target_" not in model:
            raise TextRankUnavailable(f"{self.files.file(C.CONFIG_FILE)} names no model (`model._target_`)",
                                      fix="open a run directory written by the visframe pipeline")
        name = str(model.get("name", model["_target_"]))
        try:
            encoder = instantiate(model)
        except Exception as error:  # any failure to build the model is reported as the reason
            found = user_error_of(error)
            raise TextRankUnavailable(f"the run's encoder {name!r} could not be loaded here: "
                                      f"{found.message if found else error}",
                                      fix=(found.fix if found and found.fix else "make its weights available "
                                           "on this machine (see the model's config)")) from error
        problem = text_side_problem(encoder)
        if problem:
            raise TextRankUnavailable(f"{problem}: this run's images can't be ranked by a text query",
                                      fix="use plain search (words), or run the pipeline with an image-text model "
                                      "such as model=clip_vit_b32")
        return encoder

    def status(self) -> dict:
        """Whether ranking by meaning works for this run (builds the encoder) and, if not, why."""
        try:
            encoder = self.encoder()
        except TextRankUnavailable as problem:
            return {"available": False, "message": problem.message, "fix": problem.fix or ""}
        return {"available": True, "model": encoder.name, "message": ""}

    # -- the vectors -------------------------------------------------------------------------------
    def _embeddings_dir(self, encoder) -> Path:
        from omegaconf import OmegaConf

        from visframe.embed.embedding import encoder_key
        from visframe.embed.settings import resolve_settings
        from visframe.utils.cache import default_cache_dir

        trainer = self._cfg.get("trainer")
        settings = resolve_settings(OmegaConf.to_container(trainer, resolve=True) if trainer is not None else None,
                                    encoder.prefers_channels_last)
        key = encoder_key(encoder, settings.precision)
        paths = self._cfg.get("paths") or {}
        given = [Path(str(paths["cache_dir"])).expanduser()] if paths.get("cache_dir") else []
        roots = list(dict.fromkeys([*given, default_cache_dir()]))
        for root in roots:
            if (root / "embeddings" / key).is_dir():
                return root / "embeddings" / key
        wanted = _spec_key(encoder.cache_spec())  # the same model embedded at another precision
        for root in roots:
            for meta in sorted((root / "embeddings").glob("*/encoder.json")):
                try:
                    if _spec_key(json.loads(meta.read_text(encoding="utf-8")).get("spec")) == wanted:
                        return meta.parent
                except (OSError, ValueError):
                    continue
        raise TextRankUnavailable(
            f"no cached embeddings of {encoder.name!r} (key {key}) under {', '.join(map(str, roots))}",
            fix="point VISFRAME_CACHE_DIR at the cache the run was made with, or rerun the pipeline here "
            "(it embeds only what the cache lacks)")

    def vectors(self) -> tuple[np.ndarray, list[str]]:
        """The run's image vectors (L2-normalised) and their ids, read on first call."""
        encoder = self.encoder()
        with self._lock:
            if self._vectors is None:
                from visframe.embed.cache import cached_image_ids, load_embeddings

                directory = self._embeddings_dir(encoder)
                cached = cached_image_ids(directory)
                ids = [i for i in self.image_ids if i in cached]
                if not ids:
                    raise TextRankUnavailable(f"{directory} holds none of this run's {len(self.image_ids):,} images",
                                              fix="rerun the pipeline on this run's images to embed them")
                vectors = _normalised(load_embeddings(directory, ids, dim=encoder.dim))
                self._vectors = vectors.astype(np.float16) if vectors.size > FLOAT16_PAST else vectors
                self._vector_ids = ids
                log.info("review: %d image vectors from %s for ranking by meaning", len(ids), directory)
            return self._vectors, self._vector_ids

    def rank(self, query: str, k: int = 100) -> Ranked:
        """The `k` images most similar to `query` (cosine of the normalised vectors), best first."""
        vectors, ids = self.vectors()
        import torch

        with torch.inference_mode():
            text = self.encoder().encode_text([query])
        text = np.asarray(text.detach().float().cpu().numpy() if hasattr(text, "detach") else text, np.float32)
        text = _normalised(text.reshape(1, -1))[0]
        scores = np.concatenate([vectors[s: s + _CHUNK].astype(np.float32) @ text
                                 for s in range(0, len(vectors), _CHUNK)])
        k = max(1, min(int(k), MAX_K, len(ids)))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.lexsort((top, -scores[top]))]  # best first; ties by position
        return Ranked([ids[i] for i in top], scores[top], len(ids), len(self.image_ids) - len(ids))
