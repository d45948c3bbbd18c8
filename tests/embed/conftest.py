"""Fixtures for the embedding tests: small image folders and tiny randomly initialised HF models.

The tiny CLIP and BLIP-2 are built from transformers configs (no download), saved with
`save_pretrained` into a temporary directory together with their processor and tokenizer, and
loaded back by local path through the same encoder classes users run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

TINY_IMAGE = 32  # the tiny ViTs' input size
TINY_VIT = {
    "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
    "image_size": TINY_IMAGE, "patch_size": 8,
}  # fmt: skip


def make_images(
    folder: Path, count: int, seed: int = 0, size: tuple[int, int] = (96, 80)
) -> tuple[list[str], list[str]]:
    """`count` distinct JPEGs (noise + a coloured rectangle); returns (image_ids, paths)."""
    from visframe.utils.hashing import image_id_from_file

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ids, paths = [], []
    for i in range(count):
        pixels = (rng.random((size[1], size[0], 3)) * 80).astype("uint8")
        image = Image.fromarray(pixels)
        draw = ImageDraw.Draw(image)
        x0, y0 = int(rng.integers(0, size[0] // 2)), int(rng.integers(0, size[1] // 2))
        colour = tuple(int(c) for c in rng.integers(60, 256, 3))
        draw.rectangle([x0, y0, x0 + size[0] // 2, y0 + size[1] // 2], fill=colour)
        path = folder / f"img_{i:04d}.jpg"
        image.save(path, quality=90)
        ids.append(image_id_from_file(path))
        paths.append(str(path))
    return ids, paths


@pytest.fixture(scope="session")
def image_folder(tmp_path_factory) -> tuple[list[str], list[str]]:
    return make_images(tmp_path_factory.mktemp("images"), 24)


def _byte_level_clip_tokenizer():
    from transformers import CLIPTokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    symbols = list(bytes_to_unicode().values())
    vocab = {s: i for i, s in enumerate(symbols)}
    vocab.update({s + "</w>": len(symbols) + i for i, s in enumerate(symbols)})
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[]), vocab


@pytest.fixture(scope="session")
def tiny_clip_dir(tmp_path_factory) -> Path:
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

    tokenizer, vocab = _byte_level_clip_tokenizer()
    eos, bos = vocab["<|endoftext|>"], vocab["<|startoftext|>"]
    config = CLIPConfig(
        text_config={
            "vocab_size": len(vocab), "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
            "num_attention_heads": 2, "max_position_embeddings": 40, "bos_token_id": bos, "eos_token_id": eos,
            "pad_token_id": eos,
        },
        vision_config=TINY_VIT,
        projection_dim=24,
    )  # fmt: skip
    torch.manual_seed(0)
    model = CLIPModel(config).eval()
    processor = CLIPProcessor(
        image_processor=CLIPImageProcessor(
            size={"shortest_edge": TINY_IMAGE}, crop_size={"height": TINY_IMAGE, "width": TINY_IMAGE}
        ),
        tokenizer=tokenizer,
    )
    folder = tmp_path_factory.mktemp("tiny-clip")
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def _spread_weights(model) -> None:
    """Re-initialise with unit-scale weights: BLIP-2's own init (std 0.02, zero LayerNorm gains in
    the Q-Former's cross-attention, zero query tokens) makes a tiny random model map every image to
    nearly the same vector, which would hide pooling and batching bugs."""
    import torch

    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if parameter.dim() >= 2:
                torch.nn.init.xavier_normal_(parameter)
            elif "norm" in name.lower() and name.endswith("weight"):
                parameter.fill_(1.0)
            else:
                parameter.normal_(0.0, 0.1)


@pytest.fixture(scope="session")
def tiny_blip2_dir(tmp_path_factory) -> Path:
    import torch
    from transformers import BertTokenizer, Blip2Config, Blip2ForImageTextRetrieval, BlipImageProcessor

    words = [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        *"abcdefghijklmnopqrstuvwxyz",
        "a",
        "photo",
        "of",
        "cat",
        "dog",
        "march",
    ]
    tokenizer = BertTokenizer(vocab={w: i for i, w in enumerate(dict.fromkeys(words))})
    config = Blip2Config(
        vision_config=TINY_VIT,
        qformer_config={
            "vocab_size": len(tokenizer), "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
            "intermediate_size": 64, "encoder_hidden_size": 32, "max_position_embeddings": 64,
            "pad_token_id": 0,
            "use_qformer_text_input": True,  # as in blip2-itm-vit-g: the Q-Former also encodes text
        },
        num_query_tokens=4,
        image_text_hidden_size=16,
    )  # fmt: skip
    torch.manual_seed(0)
    model = Blip2ForImageTextRetrieval(config).eval()
    _spread_weights(model)
    folder = tmp_path_factory.mktemp("tiny-blip2")
    model.save_pretrained(folder)
    BlipImageProcessor(size={"height": TINY_IMAGE, "width": TINY_IMAGE}).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_vit_dir(tmp_path_factory) -> Path:
    import torch
    from transformers import ViTConfig, ViTImageProcessor, ViTModel

    torch.manual_seed(0)
    config = ViTConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=TINY_IMAGE,
        patch_size=8,
    )
    model = ViTModel(config).eval()
    folder = tmp_path_factory.mktemp("tiny-vit")
    model.save_pretrained(folder)
    ViTImageProcessor(size={"height": TINY_IMAGE, "width": TINY_IMAGE}).save_pretrained(folder)
    return folder
