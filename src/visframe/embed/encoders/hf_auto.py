"""Any Hugging Face vision or vision-text model by id or local directory (`model=hf model.weights=...`).

Loaded with `AutoModel` + `AutoImageProcessor` (the checkpoint's own preprocessing). The vector:

- vision-text models with `get_image_features` (CLIP, SigLIP, ALIGN, …): the projected image
  features, and `encode_text` through `get_text_features` when a tokenizer ships with the weights;
- vision backbones (ViT, DINOv2, ConvNeXt, ResNet, …) per `pooling`: `auto` = the model's
  `pooler_output` when it has one, else the mean of `last_hidden_state` over tokens / positions;
  `cls` = the first token; `mean` = the mean over tokens / positions.

`normalize: true` L2-normalises image (and text) vectors.
"""

from __future__ import annotations

import torch

from visframe.embed.encoders.base import Encoder, fingerprint_module, l2_normalize
from visframe.embed.encoders.hf_common import (
    encode_text_features,
    features_tensor,
    load_image_transform,
    load_tokenizer,
)
from visframe.embed.encoders.weights import load_hf

POOLINGS = ("auto", "pooler", "cls", "mean")


def _mean_pool(hidden: torch.Tensor) -> torch.Tensor:
    if hidden.dim() == 4:  # conv backbones: [B, C, H, W]
        return hidden.mean(dim=(2, 3))
    return hidden.mean(dim=1)


class HFEncoder(Encoder):
    def __init__(
        self,
        weights: str,
        name: str = "hf",
        pooling: str = "auto",
        normalize: bool = False,
        trust_remote_code: bool = False,
    ):
        super().__init__(name)
        from transformers import AutoModel

        if pooling not in POOLINGS:
            raise ValueError(f"model.pooling={pooling!r}; choose one of {POOLINGS}")
        self.model = load_hf(
            AutoModel.from_pretrained,
            str(weights),
            "Hugging Face model",
            dtype=torch.float32,
            trust_remote_code=bool(trust_remote_code),
        )
        self._freeze()
        self.transform, self.decode_size = load_image_transform(str(weights), "Hugging Face model")
        self.projected = hasattr(self.model, "get_image_features")
        self.tokenizer = (
            load_tokenizer(str(weights), "Hugging Face model")
            if hasattr(self.model, "get_text_features")
            else None
        )
        self.supports_text = self.tokenizer is not None
        self.pooling = "projected" if self.projected else pooling
        self.normalize = bool(normalize)
        self.model_id = f"hf:{weights}:{type(self.model).__name__}"
        self.weights_fingerprint = fingerprint_module(self.model)
        self.output_description = {"pooling": self.pooling, "normalize": self.normalize}

    @torch.inference_mode()
    def encode_images(self, pixels: torch.Tensor) -> torch.Tensor:
        if self.projected:
            features = features_tensor(self.model.get_image_features(pixel_values=pixels))
        else:
            output = self.model(pixel_values=pixels, return_dict=True)
            pooled = getattr(output, "pooler_output", None)
            if self.pooling in ("auto", "pooler") and pooled is not None:
                features = pooled.flatten(1)
            elif self.pooling == "pooler":
                raise ValueError(f"{self.model_id} has no pooler_output; use model.pooling=mean or cls")
            elif self.pooling == "cls":
                features = output.last_hidden_state[:, 0]
            else:
                features = _mean_pool(output.last_hidden_state)
        return l2_normalize(features) if self.normalize else features

    @torch.inference_mode()
    def encode_text(self, prompts: list[str]) -> torch.Tensor:
        if not self.supports_text:
            return super().encode_text(prompts)
        config = getattr(self.model.config, "text_config", None)
        max_length = getattr(config, "max_position_embeddings", None)
        return encode_text_features(
            self.model, self.tokenizer, prompts, max_length, self.device, self.dim, self.normalize
        )
