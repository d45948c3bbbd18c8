"""Preprocessing callables: PIL image → float tensor [C, H, W].

Each is small, picklable (DataLoader workers and spawned DDP processes receive it without the
model) and can `describe()` itself, because the preprocessing is part of an encoder's cache key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Scales [0, 1] to [-1, 1]: (x - 0.5) / 0.5.
SYMMETRIC_MEAN = (0.5, 0.5, 0.5)
SYMMETRIC_STD = (0.5, 0.5, 0.5)


def _interpolation(name: str | InterpolationMode) -> InterpolationMode:
    return name if isinstance(name, InterpolationMode) else InterpolationMode(str(name).lower())


def pil_to_uint8_chw(image: Image.Image) -> torch.Tensor:
    """RGB PIL image → contiguous uint8 tensor [3, H, W] (the layout change on bytes is the cheap one)."""
    array = np.asarray(image.convert("RGB") if image.mode != "RGB" else image, dtype=np.uint8)
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))


class ResizeCropNormalize:
    """Resize the shorter side to `resize_size` (or to exactly `resize_size` × `resize_size` when
    `square_resize`), center-crop `crop_size`, scale to [0, 1], normalise with mean/std.

    The resize runs on the 8-bit PIL image (Pillow's SIMD resampling, antialiased) before the
    conversion to float, which is the cheapest order.
    """

    def __init__(
        self,
        resize_size: int,
        crop_size: int | None,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
        interpolation: str = "bilinear",
        square_resize: bool = False,
    ):
        self.resize_size = int(resize_size)
        self.crop_size = int(crop_size) if crop_size else None
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)
        self.interpolation = _interpolation(interpolation).value
        self.square_resize = bool(square_resize)
        # (x / 255 - mean) / std as one fused multiply-add: x * scale + offset.
        self._scale = (1.0 / (255.0 * torch.tensor(self.std))).view(3, 1, 1)
        self._offset = (-torch.tensor(self.mean) / torch.tensor(self.std)).view(3, 1, 1)

    def __call__(self, image: Image.Image) -> torch.Tensor:
        size = [self.resize_size, self.resize_size] if self.square_resize else self.resize_size
        image = F.resize(image, size, interpolation=_interpolation(self.interpolation), antialias=True)
        if self.crop_size:
            image = F.center_crop(image, [self.crop_size, self.crop_size])
        return torch.addcmul(self._offset, pil_to_uint8_chw(image).float(), self._scale)

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "resize_crop_normalize",
            "resize": self.resize_size,
            "square_resize": self.square_resize,
            "crop": self.crop_size,
            "interpolation": self.interpolation,
            "mean": list(self.mean),
            "std": list(self.std),
        }

    def __repr__(self) -> str:
        return f"ResizeCropNormalize({self.describe()})"


class HFImageTransform:
    """A Hugging Face image processor applied to one image (the model's own preprocessing)."""

    def __init__(self, processor: Any):
        self.processor = processor

    def __call__(self, image: Image.Image) -> torch.Tensor:
        return self.processor(images=image, return_tensors="pt")["pixel_values"][0]

    def describe(self) -> dict[str, Any]:
        settings = self.processor.to_dict()
        return {"kind": type(self.processor).__name__, **{k: v for k, v in settings.items() if not k.startswith("_")}}

    def __repr__(self) -> str:
        return f"HFImageTransform({type(self.processor).__name__})"


def hf_processor_resize_target(processor: Any) -> int | None:
    """The smallest output side a HF image processor resizes to (for reduced-scale JPEG decode)."""
    size = getattr(processor, "size", None)
    if size is None:
        return None
    if isinstance(size, int):
        return size
    size = dict(size) if not isinstance(size, dict) else size
    if size.get("shortest_edge"):
        return int(size["shortest_edge"])
    if size.get("height") and size.get("width"):
        return int(max(size["height"], size["width"]))
    return None


class TimmTransform:
    """A timm eval transform (from `resolve_data_config` + `create_transform`), described by its config."""

    def __init__(self, transform: Any, data_config: dict[str, Any]):
        self.transform = transform
        self.data_config = {k: (list(v) if isinstance(v, tuple) else v) for k, v in data_config.items()}

    def __call__(self, image: Image.Image) -> torch.Tensor:
        return self.transform(image)

    def describe(self) -> dict[str, Any]:
        return {"kind": "timm", **self.data_config, "repr": repr(self.transform)}
