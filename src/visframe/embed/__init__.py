"""The embedding stage: encoders, the Lightning predict loop, and the resumable embedding cache.

    encoder = hydra.utils.instantiate(cfg.model)
    result = embed_images(image_ids, paths, encoder, cfg.trainer, cache_dir)
"""

from visframe.embed.embedding import EmbeddingError, EmbeddingResult, embed_images, encoder_key
from visframe.embed.encoders.base import Encoder, MissingWeightsError, TextNotSupportedError

__all__ = [
    "EmbeddingError",
    "EmbeddingResult",
    "Encoder",
    "MissingWeightsError",
    "TextNotSupportedError",
    "embed_images",
    "encoder_key",
]
