"""A small randomly initialised conv net: fast, deterministic vectors for tests and dry runs.

Not a semantic model: its vectors mostly reflect colour and coarse layout. The weights come from a
seeded generator, so the same `seed`/`dim` gives the same vectors on every machine.
"""

from __future__ import annotations

import torch
from torch import nn

from visframe.embed.encoders.base import Encoder, fingerprint_module
from visframe.embed.encoders.transforms import SYMMETRIC_MEAN, SYMMETRIC_STD, ResizeCropNormalize


class TinyRandomEncoder(Encoder):
    def __init__(
        self, dim: int = 64, image_size: int = 64, width: int = 16, seed: int = 0, name: str = "tiny_random"
    ):
        super().__init__(name)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            self.net = nn.Sequential(
                nn.Conv2d(3, width, 3, stride=2, padding=1),
                nn.ReLU(),
                nn.Conv2d(width, 2 * width, 3, stride=2, padding=1),
                nn.ReLU(),
                nn.Conv2d(2 * width, int(dim), 3, stride=2, padding=1),
                nn.AdaptiveAvgPool2d(1),
                nn.Flatten(),
            )
        self._freeze()
        self.model_id = f"tiny_random(dim={dim},width={width},seed={seed})"
        self.weights_fingerprint = fingerprint_module(self.net)
        # A square resize keeps the whole picture (no crop): a tiny net has no use for 224 px.
        self.transform = ResizeCropNormalize(
            int(image_size), None, SYMMETRIC_MEAN, SYMMETRIC_STD, square_resize=True
        )
        self.decode_size = int(image_size)
        self.output_description = {"pooling": "global_average", "normalize": False}
        self._dim = int(dim)

    @torch.inference_mode()
    def encode_images(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.net(pixels)
