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


class ResizeCropNormalize:
    """Resize the shorter side to `resize_size` (or to exactly `resize_size` × `resize_size` when
    `square_resize`), center-crop `crop_size`, scale to [0, 1], normalise with mean/std.

    The resize runs on the 8-bit PIL image (Pillow's SIMD resampling, antialiased) before the
    conversion to float, which is the cheapest order. The crop is a slice of the 8-bit array, and
    the normalisation one `addcmul` in the decoded image's own (H, W, 3) order, with each channel's
    scale and offset: the same arithmetic per value as in channel-first order, so the pixels are
    bit-identical (tests/embed/test_embed_transforms.py checks every 8-bit value) and the cache key
    is unchanged.

    The result is a (3, H, W) tensor whose memory is in (H, W, 3) order, i.e. a channels-last view:
    the loop stacks such views straight into the channels_last batch that convolutional encoders
    run on. Measured per 256-px image on one core (medians, shared machine): normalising 0.4-0.5 ms
    either way, but the channel-first batch then cost the model's process 0.8-0.9 ms per image to
    transpose, where stacking channels-last views costs the decoding worker 0.13 ms.
    `.contiguous()` gives the usual layout.
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
        # (x / 255 - mean) / std as one fused multiply-add: x * scale + offset, per channel (the last axis).
        self._scale = 1.0 / (255.0 * torch.tensor(self.std))
        self._offset = -torch.tensor(self.mean) / torch.tensor(self.std)

    def __call__(self, image: Image.Image) -> torch.Tensor:
        size = [self.resize_size, self.resize_size] if self.square_resize else self.resize_size
        image = F.resize(image, size, interpolation=_interpolation(self.interpolation), antialias=True)
        if image.mode != "RGB":
            image = image.convert("RGB")
        pixels = np.asarray(image, dtype=np.uint8)
        if self.crop_size:
            pixels = self._center_crop(image, pixels)
        values = torch.empty(pixels.shape, dtype=torch.float32)
        values.numpy()[...] = pixels  # 8-bit to float, exact (PIL's array is read-only: torch would warn)
        return torch.addcmul(self._offset, values, self._scale).permute(2, 0, 1)

    def _center_crop(self, image: Image.Image, pixels: np.ndarray) -> np.ndarray:
        """torchvision's center_crop: the same box (its rounding), as a slice; padded by it when larger."""
        height, width = pixels.shape[:2]
        crop = self.crop_size
        if crop > height or crop > width:
            return np.asarray(F.center_crop(image, [crop, crop]).convert("RGB"), dtype=np.uint8)
        top, left = round((height - crop) / 2.0), round((width - crop) / 2.0)  # torchvision's rounding
        return pixels[top : top + crop, left : left + crop]

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
