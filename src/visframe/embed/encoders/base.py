"""The one interface every encoder shares, and what goes into its cache key.

An encoder is a `torch.nn.Module` that turns images into vectors:

- `preprocess(PIL.Image) -> Tensor[C, H, W]`: the model's own preprocessing, defined in exactly
  one place per encoder (its `transform`, a small picklable callable, so DataLoader workers and
  spawned DDP processes get it without the model);
- `encode_images(Tensor[B, C, H, W]) -> Tensor[B, D]`;
- `encode_text(list[str]) -> Tensor[P, D]` for image-text models (`supports_text`);
- `cache_key`: a hash of the model id, a fingerprint of the weights actually loaded and the
  preprocessing description, so two encoders share cached vectors only when they would compute
  the same ones.
"""

from __future__ import annotations

import hashlib
from typing import Any

import torch
from torch import nn

# Defined without torch (visframe.embed.errors) so that a job can name them before it loads a model.
from visframe.embed.errors import MissingWeightsError, TextNotSupportedError  # noqa: F401 - re-exported
from visframe.utils.hashing import stable_hash

# Values sampled per tensor for the weights fingerprint (plus the tensor's exact sum): hashing
# every byte of a 4 GB BLIP-2 checkpoint would cost seconds per run for no practical gain.
_FINGERPRINT_SAMPLES = 4096


def fingerprint_module(module: nn.Module) -> str:
    """A fingerprint of a module's weights: names, shapes, dtypes, sums and evenly spaced samples.

    Changes when any tensor is replaced, reshaped or fine-tuned (the sum moves), costs a fraction of
    a second even for billion-parameter models, and is identical across devices and runs.
    """
    digest = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        flat = tensor.detach().reshape(-1)
        digest.update(f"{name}|{tuple(tensor.shape)}|{tensor.dtype}|".encode())
        if flat.numel() == 0:
            continue
        if flat.numel() > _FINGERPRINT_SAMPLES:
            # float64: float32 positions collide past 2**24 elements (a CLIP token embedding has more).
            index = torch.linspace(
                0, flat.numel() - 1, _FINGERPRINT_SAMPLES, dtype=torch.float64, device=flat.device
            ).long()
            sample = flat[index]
        else:
            sample = flat
        digest.update(sample.double().cpu().numpy().tobytes())
        digest.update(repr(round(float(flat.double().sum()), 6)).encode())
    return digest.hexdigest()[:16]


def describe_transform(transform: Any) -> Any:
    """A JSON-able description of a preprocessing callable (it becomes part of the cache key)."""
    if hasattr(transform, "describe"):
        return transform.describe()
    return repr(transform)


def count_spatial_convs(module: nn.Module) -> int:
    return sum(1 for m in module.modules() if isinstance(m, nn.Conv2d) and max(m.kernel_size) > 1)


class Encoder(nn.Module):
    """Base class: subclasses set `transform`, `model_id`, `weights_fingerprint`, `_dim` in
    `__init__` and implement `encode_images` (and `encode_text` when `supports_text`)."""

    supports_text: bool = False

    def __init__(self, name: str):
        super().__init__()
        self.name = str(name)
        self.transform: Any = None
        self.model_id: str = ""
        self.weights_fingerprint: str = ""
        # What the output vectors are (pooling, normalisation): part of the cache key too.
        self.output_description: dict[str, Any] = {}
        # JPEG files may be decoded at a reduced scale (DCT scaling) down to this many pixels per
        # side: the preprocessing resizes them below that anyway. None = always full decode.
        self.decode_size: int | None = None
        self._dim: int | None = None

    # ------------------------------------------------------------------------- the interface
    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = self._infer_dim()
        return self._dim

    def preprocess(self, image) -> torch.Tensor:
        """PIL image (RGB) → float tensor [C, H, W] exactly as the model expects it."""
        return self.transform(image)

    def encode_images(self, pixels: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def encode_text(self, prompts: list[str]) -> torch.Tensor:
        raise TextNotSupportedError(
            f"encoder {self.name!r} is image-only and cannot embed text prompts; use an image-text "
            "model (model=clip_vit_b32, model=blip2, or model=hf with a CLIP/SigLIP-style model)"
        )

    # -------------------------------------------------------------------------------- caching
    def cache_spec(self) -> dict[str, Any]:
        """Everything that decides the vectors this encoder computes (human-readable)."""
        return {
            "encoder": type(self).__name__,
            "model": self.model_id,
            "weights": self.weights_fingerprint,
            "preprocess": describe_transform(self.transform),
            "decode_size": self.decode_size,
            "output": self.output_description,
            "dim": self.dim,
        }

    @property
    def cache_key(self) -> str:
        return stable_hash(self.cache_spec())

    @property
    def prefers_channels_last(self) -> bool:
        """Convolutional nets run faster in channels_last memory layout (CPU oneDNN and GPU)."""
        return count_spatial_convs(self) > 2

    @property
    def device(self) -> torch.device:
        for tensor in self.parameters():
            return tensor.device
        return torch.device("cpu")

    # ------------------------------------------------------------------------------- helpers
    def _infer_dim(self) -> int:
        from PIL import Image

        blank = self.preprocess(Image.new("RGB", (64, 64), (128, 128, 128)))
        with torch.inference_mode():
            return int(self.encode_images(blank.unsqueeze(0).to(self.device)).shape[-1])

    def _freeze(self) -> None:
        self.eval()
        for parameter in self.parameters():
            parameter.requires_grad_(False)

    def train(self, mode: bool = True) -> Encoder:
        # Encoders only ever run inference: keep dropout and batch-norm statistics frozen even if
        # a caller (or Lightning) switches modes.
        return super().train(False)

    def extra_repr(self) -> str:
        return f"name={self.name!r}, model={self.model_id!r}"


def l2_normalize(vectors: torch.Tensor) -> torch.Tensor:
    return nn.functional.normalize(vectors.float(), dim=-1)
