"""The embedding stage: encoders, the Lightning predict loop, and the resumable embedding cache.

    encoder = load_encoder(cfg.model, cfg.trainer, cache_dir)   # the model only when needed
    result = embed_images(image_ids, paths, encoder, cfg.trainer, cache_dir)

Importing this package does not import torch: a job whose images are all embedded never loads it
(see `deferred`). `Encoder` is imported from `encoders.base` on first use.
"""

from typing import TYPE_CHECKING

from visframe.embed.deferred import DeferredEncoder, load_encoder
from visframe.embed.embedding import EmbeddingError, EmbeddingResult, embed_images, encoder_key
from visframe.embed.errors import MissingWeightsError, TextNotSupportedError

if TYPE_CHECKING:
    from visframe.embed.encoders.base import Encoder


def __getattr__(name: str):
    if name == "Encoder":  # the torch module: only when asked for
        from visframe.embed.encoders.base import Encoder

        return Encoder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DeferredEncoder",
    "EmbeddingError",
    "EmbeddingResult",
    "Encoder",
    "MissingWeightsError",
    "TextNotSupportedError",
    "embed_images",
    "encoder_key",
    "load_encoder",
]
