"""The embedding stage's user-facing errors, importable without torch (`encoders.base` re-exports them)."""

from __future__ import annotations

from visframe.errors import VisframeError


class MissingWeightsError(VisframeError, RuntimeError):
    """An encoder's weights are not available here; the message names them and how to provide them."""


class TextNotSupportedError(NotImplementedError):
    """`encode_text` was called on an image-only encoder."""
