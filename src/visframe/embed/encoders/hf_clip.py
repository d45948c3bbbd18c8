"""CLIP (Hugging Face `CLIPModel`): the projected image embedding, and prompts for zero-shot labels.

`model=clip_vit_b32` is the study's `openai/clip-vit-base-patch32` (512-d); `clip_vit_b16` and
`clip_vit_l14` (768-d) are the same code with another checkpoint. Preprocessing is the checkpoint's
own `CLIPImageProcessor` (resize shorter side to 224 bicubic, center-crop 224, CLIP mean/std).

Vector: `get_image_features` (the pooled vision output through the visual projection), L2-normalised
when `normalize` (the default). CLIP is trained so that cosine similarity is the meaningful
comparison; storing unit vectors makes every downstream distance (euclidean HDBSCAN, silhouette)
agree with that, and lets zero-shot scores be plain dot products with `encode_text`, which is
normalised the same way. `normalize: false` caches the raw projected features instead (a separate
cache key).
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


class CLIPEncoder(Encoder):
    supports_text = True

    def __init__(
        self,
        weights: str = "openai/clip-vit-base-patch32",
        name: str = "clip_vit_b32",
        normalize: bool = True,
    ):
        super().__init__(name)
        from transformers import CLIPModel

        self.model = load_hf(CLIPModel.from_pretrained, str(weights), "CLIP model", dtype=torch.float32)
        self._freeze()
        self.transform, self.decode_size = load_image_transform(str(weights), "CLIP")
        self.tokenizer = load_tokenizer(str(weights), "CLIP")
        self.supports_text = (
            self.tokenizer is not None
        )  # a CLIP folder without tokenizer files: image side only
        self.normalize = bool(normalize)
        self.model_id = f"hf-clip:{weights}"
        self.weights_fingerprint = fingerprint_module(self.model)
        self.output_description = {"features": "get_image_features (projected)", "normalize": self.normalize}
        self._dim = int(self.model.config.projection_dim)

    @torch.inference_mode()
    def encode_images(self, pixels: torch.Tensor) -> torch.Tensor:
        features = features_tensor(self.model.get_image_features(pixel_values=pixels))
        return l2_normalize(features) if self.normalize else features

    @torch.inference_mode()
    def encode_text(self, prompts: list[str]) -> torch.Tensor:
        if self.tokenizer is None:
            raise RuntimeError(
                f"{self.model_id} has no tokenizer files next to the weights, so prompts can't be encoded"
            )
        max_length = int(self.model.config.text_config.max_position_embeddings)
        return encode_text_features(
            self.model, self.tokenizer, prompts, max_length, self.device, self.dim, self.normalize
        )
