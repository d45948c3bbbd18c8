"""Missing weights stop the job at `instantiate(cfg.model)` with a message saying what to do."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from visframe import CONFIG_DIR
from visframe.embed.encoders.base import MissingWeightsError

CONF = Path(CONFIG_DIR)
NOT_CACHED = "visframe-tests/clip-that-is-not-cached"


@pytest.fixture
def empty_hf_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    return tmp_path / "hf"


def _instantiate(name: str, overrides: list[str]):
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate

    with initialize_config_dir(config_dir=str(CONF), version_base=None):
        return instantiate(compose(config_name=f"model/{name}", overrides=overrides).model)


@pytest.mark.parametrize("preset", ["clip_vit_b32", "blip2", "hf"])
def test_offline_hub_id_not_cached(preset, empty_hf_cache, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    with pytest.raises(Exception) as raised:
        _instantiate(preset, [f"model.weights={NOT_CACHED}"])
    assert time.perf_counter() - started < 20, "must fail fast, not retry the network"
    error = raised.value
    while not isinstance(error, MissingWeightsError) and error.__cause__ is not None:
        error = error.__cause__  # Hydra wraps the encoder's exception
    assert isinstance(error, MissingWeightsError)
    message = str(error)
    assert "Could not load" in message and f"'{NOT_CACHED}'" in message
    assert "offline" in message and "no local copy was found" in message
    assert f"hf download {NOT_CACHED}" in message
    assert "model.weights=/path/to/clip-that-is-not-cached" in message and "HF_HOME" in message


def test_unreachable_hub_fails_fast_without_offline_flag(empty_hf_cache, monkeypatch):
    """No HF_HUB_OFFLINE, but the Hub can't be reached: no 30 s of retries, the same advice."""
    from visframe.embed.encoders import weights as weights_module
    from visframe.embed.encoders.hf_clip import CLIPEncoder

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(weights_module, "host_reachable", lambda url, timeout=3.0: False)
    with pytest.raises(MissingWeightsError, match="is unreachable and no local copy was found") as raised:
        CLIPEncoder(weights=NOT_CACHED)
    assert "model.weights=" in str(raised.value)


def test_local_path_that_does_not_exist():
    from visframe.embed.encoders.hf_clip import CLIPEncoder

    with pytest.raises(MissingWeightsError, match="looks like a path, but nothing exists there"):
        CLIPEncoder(weights="/nonexistent/clip-vit-base-patch32")


def test_torchvision_weights_missing_from_torch_hub(tmp_path, monkeypatch):
    from visframe.embed.encoders import weights as weights_module

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(weights_module, "host_reachable", lambda url, timeout=3.0: False)
    with pytest.raises(Exception) as raised:
        _instantiate("resnet50", [])
    message = str(raised.value)
    assert "ResNet50_Weights.IMAGENET1K_V2" in message
    assert str(tmp_path / "torch" / "hub" / "checkpoints" / "resnet50-11ad3fa6.pth") in message
    assert (
        "https://download.pytorch.org/models/resnet50-11ad3fa6.pth" in message and "model.weights=" in message
    )


def test_torchvision_weights_found_in_torch_hub_cache(tmp_path, monkeypatch):
    """A checkpoint placed where the message says is picked up, with no network."""
    import torch
    import torchvision

    from visframe.embed.encoders import weights as weights_module
    from visframe.embed.encoders.torchvision_models import TorchvisionEncoder

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(weights_module, "host_reachable", lambda url, timeout=3.0: False)
    weights = torchvision.models.MobileNet_V3_Small_Weights.IMAGENET1K_V1
    target = tmp_path / "torch" / "hub" / "checkpoints" / Path(weights.url).name
    target.parent.mkdir(parents=True)
    torch.manual_seed(7)
    net = torchvision.models.mobilenet_v3_small()
    torch.save(net.state_dict(), target)
    encoder = TorchvisionEncoder("mobilenet_v3_small", weights="IMAGENET1K_V1")
    assert encoder.model_id.endswith("MobileNet_V3_Small_Weights.IMAGENET1K_V1")
    assert torch.equal(encoder.net.features[0][0].weight, net.features[0][0].weight)


def test_efficientnet_bad_path_and_onnx_missing_file(tmp_path):
    from visframe.embed.encoders.efficientnet_lite import EfficientNetLite0Encoder
    from visframe.embed.encoders.onnx_model import OnnxEncoder

    with pytest.raises(MissingWeightsError, match="nothing exists there"):
        EfficientNetLite0Encoder(weights=str(tmp_path / "lite0.pth"))
    with pytest.raises(MissingWeightsError, match="no ONNX file there"):
        OnnxEncoder(str(tmp_path / "model.onnx"))


def test_timm_pretrained_weights_missing(empty_hf_cache, monkeypatch):
    from visframe.embed.encoders import timm_models
    from visframe.embed.encoders.timm_models import TimmEncoder

    monkeypatch.setattr(timm_models, "host_reachable", lambda url, timeout=3.0: False)
    with pytest.raises(
        MissingWeightsError, match="Could not load the pretrained timm weights of 'test_resnet.r160_in1k'"
    ) as raised:
        TimmEncoder("test_resnet.r160_in1k")
    assert "model.weights=" in str(raised.value) and "HF_HOME" in str(raised.value)
