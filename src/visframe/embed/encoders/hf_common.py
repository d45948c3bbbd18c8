"""Helpers shared by the Hugging Face encoders (CLIP, BLIP-2, any AutoModel)."""

from __future__ import annotations

from typing import Any

import torch

from visframe.embed.encoders.base import MissingWeightsError, l2_normalize
from visframe.embed.encoders.transforms import HFImageTransform, hf_processor_resize_target
from visframe.embed.encoders.weights import load_hf

# Prompts are encoded in chunks so a long codebook never needs one huge padded batch.
TEXT_CHUNK = 256


def features_tensor(output: Any) -> torch.Tensor:
    """`get_image_features`/`get_text_features` return a tensor in transformers 4.x and a
    BaseModelOutputWithPooling (projected features in `pooler_output`) in 5.x."""
    if isinstance(output, torch.Tensor):
        return output
    pooled = getattr(output, "pooler_output", None)
    if pooled is None:
        raise TypeError(f"expected projected features, got {type(output).__name__} without pooler_output")
    return pooled


def load_image_transform(weights: str, what: str) -> tuple[HFImageTransform, int | None]:
    from transformers import AutoImageProcessor

    processor = load_hf(AutoImageProcessor.from_pretrained, weights, f"{what} image processor")
    return HFImageTransform(processor), hf_processor_resize_target(processor)


def load_tokenizer(weights: str, what: str) -> Any | None:
    """The model's tokenizer, or None when the weights folder ships none (text side then unavailable)."""
    from transformers import AutoTokenizer

    try:
        tokenizer = load_hf(AutoTokenizer.from_pretrained, weights, f"{what} tokenizer")
    except (MissingWeightsError, OSError, ValueError):
        return None
    # transformers 5 builds an empty tokenizer (its special tokens only) for a folder that ships no
    # tokenizer files: that is no text side at all.
    has_vocabulary = len(tokenizer) > len(set(getattr(tokenizer, "all_special_tokens", ())))
    return tokenizer if has_vocabulary else None


def tokenize(
    tokenizer: Any, prompts: list[str], max_length: int | None, device: torch.device
) -> dict[str, torch.Tensor]:
    tokens = tokenizer(
        list(prompts), padding=True, truncation=True, max_length=max_length, return_tensors="pt"
    )
    return {k: v.to(device) for k, v in tokens.items() if k in ("input_ids", "attention_mask")}


def encode_text_features(
    model: Any,
    tokenizer: Any,
    prompts: list[str],
    max_length: int | None,
    device: torch.device,
    dim: int,
    normalize: bool,
) -> torch.Tensor:
    """`model.get_text_features` over the prompts in chunks of TEXT_CHUNK, (P, dim), optionally
    L2-normalised."""
    chunks = []
    for start in range(0, len(prompts), TEXT_CHUNK):
        tokens = tokenize(tokenizer, prompts[start : start + TEXT_CHUNK], max_length, device)
        chunks.append(features_tensor(model.get_text_features(**tokens)).float())
    features = torch.cat(chunks) if chunks else torch.empty(0, dim, device=device)
    return l2_normalize(features) if normalize else features
