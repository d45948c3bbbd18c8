"""Any torchvision classification model as an encoder: its penultimate (pooled) features.

`model=resnet50` is the study's ResNet50: torchvision's `resnet50` with `IMAGENET1K_V2` weights,
the final `fc` layer removed, so the vector is the 2048-d global-average-pooled feature.

Preprocessing is the weights' own eval transform (`Weights.transforms()`): for IMAGENET1K_V2,
resize the shorter side to 232 (bilinear), center-crop 224, ImageNet mean/std; for IMAGENET1K_V1
and for random or checkpoint weights, the classic 256 → 224 crop. Either way the network sees the
study's 224×224 ImageNet-normalised input; `resize_size`/`crop_size` override it.

`weights`: a weights enum name of the model (`IMAGENET1K_V2`, `DEFAULT`, …, loaded from the torch
hub cache, downloaded when online), a checkpoint file (.pth/.pt/.safetensors state dict of the
same architecture), or None for random initialisation (seeded; for speed tests).
"""

from __future__ import annotations

from typing import Any

import torch
import torchvision
from torch import nn

from visframe.embed.encoders.base import Encoder, MissingWeightsError, fingerprint_module
from visframe.embed.encoders.transforms import IMAGENET_MEAN, IMAGENET_STD, ResizeCropNormalize
from visframe.embed.encoders.weights import local_path, read_state_dict, torch_hub_state_dict


def _last_linear(net: nn.Module) -> tuple[str, nn.Linear]:
    """The classifier: the last `nn.Linear` registered in the model (fc, classifier[-1], heads.head …)."""
    found = [(name, module) for name, module in net.named_modules() if isinstance(module, nn.Linear)]
    if not found:
        raise ValueError(f"{type(net).__name__} has no nn.Linear classifier to remove")
    return found[-1]


def strip_classifier(net: nn.Module) -> int:
    """Replace the final linear layer by Identity in place; return the feature size it received."""
    name, linear = _last_linear(net)
    parent_name, _, child = name.rpartition(".")
    parent = net.get_submodule(parent_name) if parent_name else net
    setattr(parent, child, nn.Identity())
    return int(linear.in_features)


def _preset_values(weights_enum: Any) -> dict[str, Any]:
    preset = weights_enum.transforms()
    return {
        "resize_size": int(preset.resize_size[0]),
        "crop_size": int(preset.crop_size[0]),
        "mean": tuple(preset.mean),
        "std": tuple(preset.std),
        "interpolation": preset.interpolation.value,
    }


class TorchvisionEncoder(Encoder):
    def __init__(
        self,
        model: str = "resnet50",
        weights: str | None = "DEFAULT",
        name: str | None = None,
        resize_size: int | None = None,
        crop_size: int | None = None,
        interpolation: str | None = None,
        seed: int = 0,
    ):
        super().__init__(name or model)
        try:
            builder = torchvision.models.get_model_builder(model)
        except ValueError as error:
            raise ValueError(
                f"model.model={model!r} is not a torchvision model; "
                "choose one of torchvision.models.list_models()"
            ) from error
        weights_enum_cls = torchvision.models.get_model_weights(model)
        preset: dict[str, Any] = {
            "resize_size": 256,
            "crop_size": 224,
            "mean": IMAGENET_MEAN,
            "std": IMAGENET_STD,
            "interpolation": "bilinear",
        }
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            net = builder(weights=None)
        if weights is None:
            source = f"random(seed={seed})"
        elif (path := local_path(weights)) is not None:
            if path.is_dir():
                raise MissingWeightsError(
                    f"model.weights={weights!r} is a directory; torchvision loads a checkpoint file (.pth)."
                )
            net.load_state_dict(read_state_dict(path))
            source = str(path)
        else:
            try:
                chosen = (
                    weights_enum_cls[str(weights)] if str(weights) != "DEFAULT" else weights_enum_cls.DEFAULT
                )
            except KeyError as error:
                names = ", ".join(w.name for w in weights_enum_cls)
                raise ValueError(
                    f"model.weights={weights!r} is neither a file nor a {weights_enum_cls.__name__} name "
                    f"({names}, DEFAULT)"
                ) from error
            net.load_state_dict(
                torch_hub_state_dict(
                    chosen.url, f"torchvision {model} {weights_enum_cls.__name__}.{chosen.name}"
                )
            )
            preset = _preset_values(chosen)
            source = f"{weights_enum_cls.__name__}.{chosen.name}"
        self._dim = strip_classifier(net)
        self.net = net
        self._freeze()
        self.model_id = f"torchvision:{model}:{source}"
        self.weights_fingerprint = fingerprint_module(self.net)
        resize = int(resize_size or preset["resize_size"])
        self.transform = ResizeCropNormalize(
            resize,
            int(crop_size or preset["crop_size"]),
            preset["mean"],
            preset["std"],
            interpolation or preset["interpolation"],
        )
        self.decode_size = resize
        self.output_description = {"features": "penultimate (classifier removed)", "normalize": False}

    @torch.inference_mode()
    def encode_images(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.net(pixels).flatten(1)
