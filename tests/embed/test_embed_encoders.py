"""Every encoder: output shape, determinism, batch invariance, text side, cache-key behaviour."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import torch
from PIL import Image

from visframe import CONFIG_DIR
from visframe.data.images import load_rgb
from visframe.embed.encoders.base import Encoder, TextNotSupportedError

SAMPLE_DATA = Path(matplotlib.__file__).parent / "mpl-data" / "sample_data"


def _batch(encoder: Encoder, paths: list[str]) -> torch.Tensor:
    return torch.stack([encoder.preprocess(load_rgb(p)) for p in paths])


def check_encoder(encoder: Encoder, paths: list[str], dim: int, atol: float = 1e-5) -> torch.Tensor:
    """Shape, dtype, finiteness, determinism and batch invariance (1 by 1 == one batch of 8)."""
    pixels = _batch(encoder, paths[:8])
    assert pixels.dtype == torch.float32 and pixels.dim() == 4
    vectors = encoder.encode_images(pixels)
    assert tuple(vectors.shape) == (8, dim) == (8, encoder.dim)
    assert torch.isfinite(vectors).all()
    assert torch.equal(vectors, encoder.encode_images(pixels)), "same input must give identical vectors"
    one_by_one = torch.cat([encoder.encode_images(pixels[i : i + 1]) for i in range(8)])
    torch.testing.assert_close(one_by_one, vectors, atol=atol, rtol=1e-4)
    # Different images give different vectors (the encoder is not constant).
    assert (vectors[0] - vectors[1]).abs().max() > 1e-4
    return vectors


def test_tiny_random_is_seeded_and_deterministic(image_folder):
    from visframe.embed.encoders.tiny import TinyRandomEncoder

    _, paths = image_folder
    a, b = TinyRandomEncoder(dim=64, seed=0), TinyRandomEncoder(dim=64, seed=0)
    vectors = check_encoder(a, paths, 64)
    assert torch.equal(vectors, b.encode_images(_batch(b, paths[:8])))
    assert a.cache_key == b.cache_key
    other = TinyRandomEncoder(dim=64, seed=1)
    assert other.cache_key != a.cache_key, "different weights must give a different cache key"
    assert TinyRandomEncoder(dim=64, image_size=48).cache_key != a.cache_key, (
        "preprocessing is part of the key"
    )


def test_image_only_encoder_refuses_text():
    from visframe.embed.encoders.tiny import TinyRandomEncoder

    encoder = TinyRandomEncoder()
    assert not encoder.supports_text
    with pytest.raises(TextNotSupportedError, match="image-only"):
        encoder.encode_text(["a protest march"])


CONF = Path(CONFIG_DIR)


def compose_model(name: str, overrides: list[str] | None = None):
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONF), version_base=None):
        return compose(config_name=f"model/{name}", overrides=overrides or []).model


def test_resnet50_random_weights(image_folder):
    """conf/model/resnet50.yaml with model.weights=null: torchvision resnet50(weights=None), fc removed."""
    from hydra.utils import instantiate

    _, paths = image_folder
    encoder = instantiate(compose_model("resnet50", ["model.weights=null"]))
    assert encoder.name == "resnet50" and encoder.model_id == "torchvision:resnet50:random(seed=0)"
    assert encoder.dim == 2048 and encoder.prefers_channels_last
    preprocessing = encoder.transform.describe()
    assert (preprocessing["resize"], preprocessing["crop"]) == (256, 224) and preprocessing["mean"] == [
        0.485,
        0.456,
        0.406,
    ]
    assert encoder.preprocess(load_rgb(paths[0])).shape == (3, 224, 224)
    # Shapes and batch invariance at a small input size (same network, a fraction of the compute).
    encoder.transform = type(encoder.transform)(72, 64)
    check_encoder(encoder, paths, 2048, atol=1e-4)


def test_torchvision_checkpoint_file_and_bad_weight_name(tmp_path, image_folder):
    import torchvision

    from visframe.embed.encoders.torchvision_models import TorchvisionEncoder

    _, paths = image_folder
    torch.manual_seed(3)
    net = torchvision.models.mobilenet_v3_small()
    checkpoint = tmp_path / "mnv3.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in net.state_dict().items()}}, checkpoint)
    encoder = TorchvisionEncoder("mobilenet_v3_small", weights=str(checkpoint))
    # Penultimate features: mobilenet_v3_small's classifier is 576 → 1024 → 1000.
    assert encoder.dim == 1024
    net.classifier[3] = torch.nn.Identity()
    net.eval()
    pixels = _batch(encoder, paths[:2])
    torch.testing.assert_close(encoder.encode_images(pixels), net(pixels))
    with pytest.raises(ValueError, match="IMAGENET1K_V1"):
        TorchvisionEncoder("mobilenet_v3_small", weights="NOT_A_WEIGHT")


def test_efficientnet_lite0_real_weights_are_sensible():
    from visframe.embed.encoders.efficientnet_lite import EfficientNetLite0Encoder

    encoder = EfficientNetLite0Encoder()
    assert encoder.dim == 1280
    photo = load_rgb(SAMPLE_DATA / "grace_hopper.jpg")
    width, height = photo.size
    crop_a = photo.crop((0, 0, int(width * 0.8), int(height * 0.8)))
    crop_b = photo.crop((int(width * 0.2), int(height * 0.2), width, height))
    others = [load_rgb(SAMPLE_DATA / name) for name in ("Minduka_Present_Blue_Pack.png", "logo2.png")]
    vectors = encoder.encode_images(torch.stack([encoder.preprocess(i) for i in [crop_a, crop_b, *others]]))
    assert vectors.shape == (4, 1280)
    unit = torch.nn.functional.normalize(vectors, dim=-1)
    similarity = unit @ unit.T
    assert similarity[0, 1] > similarity[0, 2] + 0.2 and similarity[0, 1] > similarity[0, 3] + 0.2
    # The ImageNet weights and the [-1, 1] preprocessing are right: the classifier on top of our
    # 1280-d vector puts "military uniform" (652) in the top 5 for Grace Hopper, the classic example.
    logits = encoder.net._fc(encoder.encode_images(encoder.preprocess(photo)[None]))
    assert 652 in logits.topk(5).indices[0].tolist()


def test_tiny_clip_from_local_dir(tiny_clip_dir, image_folder):
    from visframe.embed.encoders.hf_clip import CLIPEncoder

    _, paths = image_folder
    encoder = CLIPEncoder(weights=str(tiny_clip_dir), name="clip_tiny")
    assert encoder.dim == 24 and encoder.supports_text
    vectors = check_encoder(encoder, paths, 24)
    torch.testing.assert_close(vectors.norm(dim=-1), torch.ones(8))  # normalised by default
    # The vector is CLIP's projected image feature, computed independently here.
    from transformers import CLIPModel

    reference = CLIPModel.from_pretrained(tiny_clip_dir).eval()
    with torch.no_grad():
        out = reference.get_image_features(pixel_values=_batch(encoder, paths[:2]))
    projected = out.pooler_output if hasattr(out, "pooler_output") else out
    torch.testing.assert_close(
        vectors[:2], torch.nn.functional.normalize(projected, dim=-1), atol=1e-5, rtol=1e-4
    )

    text = encoder.encode_text(["a photo of a cat", "a march", "dog"])
    assert text.shape == (3, 24)
    similarity = vectors @ text.T
    assert similarity.shape == (8, 3) and torch.all(similarity.abs() <= 1.0 + 1e-5)
    assert torch.equal(text, encoder.encode_text(["a photo of a cat", "a march", "dog"]))
    assert CLIPEncoder(weights=str(tiny_clip_dir), normalize=False).cache_key != encoder.cache_key


def test_tiny_blip2_from_local_dir(tiny_blip2_dir, image_folder):
    from visframe.embed.encoders.hf_blip2 import Blip2Encoder

    _, paths = image_folder
    encoder = Blip2Encoder(weights=str(tiny_blip2_dir), name="blip2_tiny")
    assert encoder.dim == 16 and encoder.supports_text
    vectors = check_encoder(encoder, paths, 16)
    torch.testing.assert_close(vectors.norm(dim=-1), torch.ones(8))
    # Pooling as documented: mean of the normalised projected query embeddings, renormalised.
    queries = encoder.query_embeddings(_batch(encoder, paths[:8]))
    assert queries.shape == (8, 4, 16)
    torch.testing.assert_close(vectors, torch.nn.functional.normalize(queries.mean(dim=1), dim=-1))
    # The text side matches transformers' own ITC head: its logits are max over queries of q·t.
    from transformers import Blip2ForImageTextRetrieval

    reference = Blip2ForImageTextRetrieval.from_pretrained(tiny_blip2_dir).eval()
    tokens = encoder.tokenizer(["a photo of a cat"], return_tensors="pt")
    with torch.no_grad():
        out = reference(
            pixel_values=_batch(encoder, paths[:2]), input_ids=tokens["input_ids"],
            attention_mask=tokens["attention_mask"], use_image_text_matching_head=False,
        )  # fmt: skip
    text = encoder.encode_text(["a photo of a cat"])
    torch.testing.assert_close(text, out.text_embeds, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(
        (queries[:2] @ text.T).max(dim=1).values.squeeze(-1),
        out.logits_per_image.squeeze(-1),
        atol=1e-5,
        rtol=1e-4,
    )
    similarity = vectors @ encoder.encode_text(["a cat", "a dog", "march"]).T
    assert similarity.shape == (8, 3)


def test_generic_hf_backbone_and_vision_text(tiny_vit_dir, tiny_clip_dir, image_folder):
    from visframe.embed.encoders.hf_auto import HFEncoder

    _, paths = image_folder
    vit = HFEncoder(weights=str(tiny_vit_dir), pooling="mean")
    assert not vit.supports_text
    check_encoder(vit, paths, 32)
    assert HFEncoder(weights=str(tiny_vit_dir), pooling="cls").cache_key != vit.cache_key
    clip = HFEncoder(weights=str(tiny_clip_dir), normalize=True)
    assert clip.supports_text and clip.dim == 24
    assert clip.encode_text(["a cat", "a dog"]).shape == (2, 24)


def test_timm_random_and_local_file(tmp_path, image_folder):
    import timm

    from visframe.embed.encoders.timm_models import TimmEncoder

    _, paths = image_folder
    encoder = TimmEncoder("test_resnet", weights=None)
    vectors = check_encoder(encoder, paths, encoder.dim)
    torch.manual_seed(5)
    trained = timm.create_model("test_resnet", pretrained=False)
    torch.save(trained.state_dict(), tmp_path / "test_resnet.pth")
    loaded = TimmEncoder("test_resnet", weights=str(tmp_path / "test_resnet.pth"))
    assert loaded.cache_key != encoder.cache_key
    assert not torch.allclose(loaded.encode_images(_batch(loaded, paths[:2])), vectors[:2])


def test_onnx_encoder_matches_torch(tmp_path, image_folder):
    from embed_onnx_builder import write_conv_pool_model

    from visframe.embed.encoders.onnx_model import OnnxEncoder

    _, paths = image_folder
    rng = np.random.default_rng(0)
    weight = rng.normal(size=(6, 3, 3, 3)).astype(np.float32)
    bias = rng.normal(size=6).astype(np.float32)
    path = write_conv_pool_model(tmp_path / "model.onnx", weight, bias)
    encoder = OnnxEncoder(str(path), output_name="pooled", resize_size=40, crop_size=32)
    assert encoder.dim == 6 and not encoder.supports_text
    pixels = _batch(encoder, paths[:8])
    expected = torch.relu(
        torch.nn.functional.conv2d(pixels, torch.from_numpy(weight), torch.from_numpy(bias))
    ).mean(dim=(2, 3))
    torch.testing.assert_close(encoder.encode_images(pixels), expected, atol=1e-5, rtol=1e-4)
    check_encoder(encoder, paths, 6)
    with pytest.raises(ValueError, match="no output named 'nope'"):
        OnnxEncoder(str(path), output_name="nope")


def test_hydra_model_configs(tiny_clip_dir, tiny_blip2_dir):
    """Every conf/model preset builds through instantiate (hub presets given local weights)."""
    from hydra.utils import instantiate

    for name in ("tiny_random", "efficientnet_lite0"):
        assert instantiate(compose_model(name)).name == name
    for name, weights in (
        ("clip_vit_b32", tiny_clip_dir),
        ("clip_vit_l14", tiny_clip_dir),
        ("blip2", tiny_blip2_dir),
    ):
        encoder = instantiate(compose_model(name, [f"model.weights={weights}"]))
        assert encoder.name == name and encoder.supports_text
    # The generic presets need a model named on the command line; the name is the group option.
    for name in ("clip_vit_b16", "hf", "timm", "torchvision", "onnx"):
        cfg = compose_model(name)
        module, _, cls = cfg._target_.rpartition(".")
        assert hasattr(__import__(module, fromlist=[cls]), cls), cfg._target_
        assert cfg.name == name
    assert (
        instantiate(
            compose_model("torchvision", ["model.model=mobilenet_v3_small", "model.weights=null"])
        ).dim
        == 1024
    )


def test_preprocess_handles_odd_images(tmp_path):
    """Grayscale, RGBA and tiny images all come out as the model's [3, H, W] input."""
    from visframe.embed.encoders.tiny import TinyRandomEncoder

    encoder = TinyRandomEncoder(image_size=48)
    for mode, size in (("L", (10, 300)), ("RGBA", (64, 64)), ("RGB", (1, 1))):
        path = tmp_path / f"{mode}.png"
        Image.new(mode, size).save(path)
        assert encoder.preprocess(load_rgb(path)).shape == (3, 48, 48), os.fspath(path)
