"""Any timm model by name (`model=timm model.model_name=convnext_tiny.fb_in22k`): pooled features.

`timm.create_model(name, pretrained=..., num_classes=0)` removes the classifier, so the output is
the model's pooled pre-logits feature (`num_features`-d). Preprocessing is the model's own eval
transform: `timm.data.resolve_data_config` + `create_transform`.

`weights`: `pretrained` (timm's default weights for that name, from the Hugging Face cache or
downloaded when online), a local file (.safetensors/.pth, via `pretrained_cfg_overlay`), a local
directory saved by timm (`config.json` + weights, loaded as `local-dir:`), or None (random, seeded).
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import torch

from visframe.embed.encoders.base import Encoder, MissingWeightsError, fingerprint_module
from visframe.embed.encoders.transforms import TimmTransform
from visframe.embed.encoders.weights import _hf_endpoint, host_reachable, local_path

PRETRAINED = "pretrained"


@contextlib.contextmanager
def _hub_offline_if_unreachable():
    """Without this the Hub client retries an unreachable host for about half a minute."""
    if host_reachable(_hf_endpoint()):
        yield
        return
    from huggingface_hub import constants

    previous = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = previous


class TimmEncoder(Encoder):
    def __init__(
        self, model_name: str, weights: str | None = PRETRAINED, name: str | None = None, seed: int = 0
    ):
        super().__init__(name or f"timm-{model_name}")
        import timm
        from timm.data import create_transform, resolve_data_config

        create: dict[str, Any] = {"num_classes": 0}
        if weights is None:
            source, create["pretrained"] = f"random(seed={seed})", False
        elif str(weights) == PRETRAINED:
            source, create["pretrained"] = "pretrained", True
        else:
            path = local_path(weights)
            if path is None:
                raise MissingWeightsError(
                    f"model.weights={weights!r}: timm takes 'pretrained', null, or a local file/directory."
                )
            if path.is_dir():
                model_name = f"local-dir:{path}"
                create["pretrained"] = True
            else:
                create.update(pretrained=True, pretrained_cfg_overlay={"file": str(path)})
            source = str(path)
        try:
            with torch.random.fork_rng(devices=[]), _hub_offline_if_unreachable():
                torch.manual_seed(int(seed))
                net = timm.create_model(model_name, **create)
        except (OSError, RuntimeError) as error:
            if not create.get("pretrained") or "Unknown model" in str(error):
                raise
            raise MissingWeightsError(
                f"Could not load the pretrained timm weights of {model_name!r} "
                f"({str(error).splitlines()[0]}). "
                "timm fetches them from the Hugging Face Hub: on a machine with internet run "
                f"`python -c \"import timm; timm.create_model('{model_name}', pretrained=True)\"` "
                "and copy the Hugging Face cache here (set HF_HOME to it), or save the weights file and pass "
                "model.weights=/path/to/model.safetensors."
            ) from error
        self.net = net
        self._freeze()
        data_config = resolve_data_config({}, model=net)
        self.transform = TimmTransform(create_transform(**data_config, is_training=False), data_config)
        # The eval transform resizes to input_size / crop_pct before cropping: decode at least that.
        self.decode_size = math.ceil(
            max(data_config["input_size"][1:]) / float(data_config.get("crop_pct") or 1.0)
        )
        self.model_id = f"timm:{model_name}:{source}"
        self.weights_fingerprint = fingerprint_module(self.net)
        self.output_description = {"features": "timm pooled pre-logits (num_classes=0)", "normalize": False}
        # _dim is left to inference: with num_classes=0 some models end in a conv head wider than
        # num_features (MobileNetV3: 960 → 1280).

    @torch.inference_mode()
    def encode_images(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.net(pixels).flatten(1)
