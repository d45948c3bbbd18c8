"""The preprocessing's fast path gives the pixels the plain one did, bit for bit, and the loop's
batches come in the layout the model runs on.

ResizeCropNormalize crops by slicing and normalises by a per-channel lookup table; its description
(part of the embedding cache key) did not change, so its output must not either: every cached vector
stays valid. The reference below is the implementation it replaced.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as F

from visframe.embed.encoders.transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    SYMMETRIC_MEAN,
    SYMMETRIC_STD,
    ResizeCropNormalize,
)
from visframe.embed.loop import collate_images


def reference(t: ResizeCropNormalize, image: Image.Image) -> torch.Tensor:
    """The replaced implementation: resize, torchvision's center_crop, uint8 CHW, one addcmul."""
    size = [t.resize_size, t.resize_size] if t.square_resize else t.resize_size
    image = F.resize(image, size, interpolation=InterpolationMode(t.interpolation), antialias=True)
    if t.crop_size:
        image = F.center_crop(image, [t.crop_size, t.crop_size])
    array = np.asarray(image.convert("RGB") if image.mode != "RGB" else image, dtype=np.uint8)
    chw = torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))
    scale = (1.0 / (255.0 * torch.tensor(t.std))).view(3, 1, 1)
    offset = (-torch.tensor(t.mean) / torch.tensor(t.std)).view(3, 1, 1)
    return torch.addcmul(offset, chw.float(), scale)


def every_level(width: int, height: int, seed: int = 0) -> Image.Image:
    """Every 8-bit value in every channel (a ramp per channel), then noise."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    ramp = np.arange(256, dtype=np.uint8)
    pixels.reshape(-1, 3)[:256, 0], pixels.reshape(-1, 3)[:256, 1], pixels.reshape(-1, 3)[:256, 2] = ramp, ramp[::-1], ramp
    return Image.fromarray(pixels)


TRANSFORMS = [
    ResizeCropNormalize(256, 224, SYMMETRIC_MEAN, SYMMETRIC_STD, interpolation="bicubic"),  # efficientnet_lite0
    ResizeCropNormalize(232, 224, IMAGENET_MEAN, IMAGENET_STD, interpolation="bilinear"),  # resnet50 V2
    ResizeCropNormalize(48, None, SYMMETRIC_MEAN, SYMMETRIC_STD, square_resize=True),  # tiny_random
]


@pytest.mark.parametrize("transform", TRANSFORMS, ids=lambda t: f"{t.resize_size}-{t.crop_size}-{t.interpolation}")
@pytest.mark.parametrize("size", [(256, 256), (300, 517), (517, 300), (120, 90), (16, 16)])
def test_pixels_are_bit_identical_to_the_plain_implementation(transform, size):
    image = every_level(*size)
    got, want = transform(image), reference(transform, image)
    assert got.shape == want.shape and got.dtype == torch.float32
    assert torch.equal(got, want)
    assert torch.equal(transform(image.convert("L")), reference(transform, image.convert("L")))


def test_the_output_is_a_channels_last_view_and_the_key_is_unchanged():
    transform = TRANSFORMS[0]
    pixels = transform(every_level(256, 256))
    assert pixels.shape == (3, 224, 224) and pixels.stride() == (1, 224 * 3, 3)
    assert transform.describe() == {"kind": "resize_crop_normalize", "resize": 256, "square_resize": False,
                                    "crop": 224, "interpolation": "bicubic", "mean": [0.5] * 3, "std": [0.5] * 3}


def test_collate_gives_the_model_its_layout_with_the_same_values():
    transform = TRANSFORMS[1]
    samples = [{"image_id": f"id{i}", "pixels": transform(every_level(240, 200, seed=i)), "error": ""} for i in range(3)]
    samples.append({"image_id": "bad", "pixels": torch.zeros(3, 224, 224), "error": "OSError: cut short"})
    stacked = torch.stack([s["pixels"].contiguous() for s in samples])
    fast = collate_images(samples, channels_last=True)
    assert fast["pixels"].is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(fast["pixels"], stacked)
    assert (fast["image_id"], fast["error"]) == (["id0", "id1", "id2", "bad"], ["", "", "", "OSError: cut short"])
    plain = collate_images(samples, channels_last=False)
    assert plain["pixels"].is_contiguous() and torch.equal(plain["pixels"], stacked)
