"""The embed stage: one vector per unique image, from the cache or the Lightning predict loop.

    result = run(EmbedInputs(image_ids, paths, encoder), cfg.trainer, context)
    result.vectors   # float32 (N, D), row i for image_ids[i]

The encoder is loaded before ingest (missing weights stop a job before any work), so it is an
input here; when its embedding key is remembered and every image is cached, it is never loaded
(embed.deferred). The vectors live in the content-addressed cache `<cache>/embeddings/<key>/`,
not in the run directory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from visframe.embed.deferred import DeferredEncoder
from visframe.embed.embedding import EmbeddingResult, embed_images
from visframe.stages import StageContext


@dataclass(frozen=True)
class EmbedInputs:
    image_ids: Sequence[str]  # unique
    paths: Sequence[str]  # one readable file per image id
    encoder: Any  # an Encoder or a DeferredEncoder (load_encoder)


def run(inputs: EmbedInputs, settings: Any, context: StageContext) -> EmbeddingResult:
    """Embed the images the cache lacks and read every vector back; `settings` is `cfg.trainer`."""
    return embed_images(
        list(inputs.image_ids),
        list(inputs.paths),
        inputs.encoder,
        settings,
        context.cache_dir,
        show_progress=context.show_progress,
        session=context.session,
    )


__all__ = ["DeferredEncoder", "EmbedInputs", "EmbeddingResult", "run"]
