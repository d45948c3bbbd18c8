"""An ONNX image model as an encoder (`model=onnx model.path=/models/encoder.onnx`), run by onnxruntime.

The ONNX file carries no preprocessing, so it is configured here (and part of the cache key):
resize the shorter side to `resize_size` (or squash to a square), center-crop `crop_size`,
mean/std normalisation. `output_name` picks the graph output holding the embedding (default: the
first); a [B, C, H, W] output is averaged over space, any other shape is flattened per image.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from visframe.embed.encoders.base import Encoder, MissingWeightsError
from visframe.embed.encoders.transforms import IMAGENET_MEAN, IMAGENET_STD, ResizeCropNormalize


def _file_sha256(path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


class OnnxEncoder(Encoder):
    def __init__(
        self,
        path: str,
        output_name: str | None = None,
        input_name: str | None = None,
        name: str = "onnx",
        resize_size: int = 256,
        crop_size: int | None = 224,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
        interpolation: str = "bilinear",
        square_resize: bool = False,
        providers: Sequence[str] | None = None,
    ):
        super().__init__(name)
        file = Path(str(path)).expanduser().resolve() if path else None
        if file is None or not file.is_file():
            raise MissingWeightsError(
                f"model.path={path!r}: no ONNX file there; pass model.path=/path/to/model.onnx."
            )
        self.path = str(file)
        self.providers = list(providers) if providers else None
        self._session = None
        session = self.session
        inputs = [i.name for i in session.get_inputs()]
        outputs = [o.name for o in session.get_outputs()]
        self.input_name = input_name or inputs[0]
        self.output_name = output_name or outputs[0]
        for wanted, available, key in (
            (self.input_name, inputs, "input_name"),
            (self.output_name, outputs, "output_name"),
        ):
            if wanted not in available:
                raise ValueError(
                    f"{self.path} has no {key.split('_')[0]} named {wanted!r}; it has {available} "
                    f"(set model.{key})"
                )
        self.transform = ResizeCropNormalize(resize_size, crop_size, mean, std, interpolation, square_resize)
        self.decode_size = int(resize_size)
        self.model_id = f"onnx:{file.name}:{self.output_name}"
        self.weights_fingerprint = _file_sha256(file)
        self.output_description = {"output": self.output_name, "pooling": "spatial mean if 4-D, else flatten"}

    @property
    def session(self):
        if self._session is None:
            import onnxruntime as ort

            available = ort.get_available_providers()
            providers = self.providers or [
                p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available
            ]
            self._session = ort.InferenceSession(self.path, providers=providers)
        return self._session

    def __getstate__(self):
        # onnxruntime sessions don't pickle (DataLoader workers / spawned DDP ranks): rebuild lazily.
        state = self.__dict__.copy()
        state["_session"] = None
        return state

    @property
    def prefers_channels_last(self) -> bool:
        return False

    @torch.inference_mode()
    def encode_images(self, pixels: torch.Tensor) -> torch.Tensor:
        array = pixels.detach().float().contiguous().cpu().numpy()
        (output,) = self.session.run([self.output_name], {self.input_name: array})
        output = np.asarray(output, dtype=np.float32)
        output = output.mean(axis=(2, 3)) if output.ndim == 4 else output.reshape(len(output), -1)
        return torch.from_numpy(output).to(pixels.device)
