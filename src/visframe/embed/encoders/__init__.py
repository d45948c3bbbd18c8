"""Encoders: one small interface (`Encoder`), one module per model family.

Built from `conf/model/*.yaml` with `hydra.utils.instantiate(cfg.model)`; each class's module
docstring says what its vector is and which preprocessing it uses. Heavy optional imports
(transformers, timm, onnxruntime) happen inside the classes, so importing this package is cheap.
"""

from visframe.embed.encoders.base import (
    Encoder,
    MissingWeightsError,
    TextNotSupportedError,
    fingerprint_module,
)

__all__ = ["Encoder", "MissingWeightsError", "TextNotSupportedError", "fingerprint_module"]
