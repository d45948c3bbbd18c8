"""Finding an encoder's weights: a hub id, a local directory or a checkpoint file — or a clear stop.

Offline machines are the normal case here, so every loader first looks for a local copy and only
then tries the network, after a quick reachability check (the Hugging Face client would otherwise
retry for half a minute). When nothing works, `MissingWeightsError` says which weights are missing
and the exact ways to provide them; encoders call these helpers in `__init__`, so a job stops at
`instantiate(cfg.model)`, before any other work.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

import torch

from visframe.embed.encoders.base import MissingWeightsError

T = TypeVar("T")

_CONNECT_TIMEOUT_S = 3.0


def looks_like_path(weights: str) -> bool:
    """True for strings that can only mean a file or directory (not a hub id like `org/name`)."""
    text = str(weights)
    return text.startswith(("/", "./", "../", "~")) or Path(text).suffix in (
        ".pt",
        ".pth",
        ".bin",
        ".safetensors",
        ".ckpt",
        ".onnx",
    )


def local_path(weights: str | os.PathLike | None) -> Path | None:
    """The weights as an existing local path, None when it is not one (then it may be a hub id)."""
    if weights is None:
        return None
    path = Path(str(weights)).expanduser()
    if path.exists():
        return path.resolve()
    if looks_like_path(str(weights)):
        raise MissingWeightsError(f"model.weights={weights!r} looks like a path, but nothing exists there.")
    return None


def host_reachable(url: str, timeout: float = _CONNECT_TIMEOUT_S) -> bool:
    """Can a TCP connection to the URL's host be opened within `timeout` seconds?"""
    parsed = urlparse(url)
    host, port = parsed.hostname, parsed.port or (443 if parsed.scheme == "https" else 80)
    if not host:
        return False
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _hf_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co")


def _hf_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on") or os.environ.get(
        "TRANSFORMERS_OFFLINE", "0"
    ).lower() in ("1", "true", "yes", "on")


def _hf_cache_dir() -> str:
    try:
        from huggingface_hub import constants

        return str(constants.HF_HUB_CACHE)
    except Exception:  # noqa: BLE001 - only used in a message
        return "~/.cache/huggingface/hub"


def hf_missing_message(repo_id: str, what: str, reason: str) -> str:
    folder = repo_id.rstrip("/").split("/")[-1]
    return (
        f"Could not load {what} '{repo_id}': {reason} and no local copy was found in the Hugging Face "
        f"cache ({_hf_cache_dir()}). To provide it: on a machine with internet run "
        f"`hf download {repo_id} --local-dir {folder}` (older clients: `huggingface-cli download "
        f"{repo_id} --local-dir {folder}`), copy that folder here and pass "
        f"model.weights=/path/to/{folder}; or copy a populated Hugging Face cache here and set HF_HOME "
        "(or HF_HUB_CACHE) to it."
    )


def load_hf(load: Callable[..., T], weights: str, what: str, **kwargs: Any) -> T:
    """`load(weights, **kwargs)` for a HF `from_pretrained`: local directory, cached hub id, then download.

    A cached hub id is used without contacting the Hub (reproducible and offline-safe; delete the
    cache entry to fetch a newer revision).
    """
    path = local_path(weights)
    if path is not None:
        if not path.is_dir():
            raise MissingWeightsError(
                f"model.weights={weights!r} is a file; Hugging Face models load from a directory holding "
                "config.json and the weights (what `save_pretrained` or `hf download --local-dir` writes)."
            )
        return load(str(path), **kwargs)
    try:
        return load(weights, local_files_only=True, **kwargs)
    except OSError as cached_error:
        if _hf_offline():
            raise MissingWeightsError(
                hf_missing_message(weights, what, "offline mode is on (HF_HUB_OFFLINE)")
            ) from cached_error
    if not host_reachable(_hf_endpoint()):
        raise MissingWeightsError(
            hf_missing_message(weights, what, f"the Hugging Face Hub ({_hf_endpoint()}) is unreachable")
        )
    try:
        return load(weights, **kwargs)
    except OSError as error:
        raise MissingWeightsError(
            hf_missing_message(weights, what, f"the Hub did not provide it ({str(error).splitlines()[0]})")
        ) from error


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A state dict from a checkpoint file (.pt/.pth/.bin/.ckpt or .safetensors).

    Accepts a bare state dict or one nested under `state_dict` / `model`, and strips the `module.`
    prefix that DataParallel/DDP checkpoints carry.
    """
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise MissingWeightsError(f"{path} does not hold a state dict (found {type(state).__name__}).")
    return {k.removeprefix("module."): v for k, v in state.items()}


def torch_hub_state_dict(url: str, what: str) -> dict[str, torch.Tensor]:
    """The state dict behind a torch-hub checkpoint URL: from the hub cache, else downloaded."""
    hub_dir = Path(torch.hub.get_dir()) / "checkpoints"
    target = hub_dir / os.path.basename(urlparse(url).path)
    if target.exists():
        return read_state_dict(target)
    advice = (
        f"Download {url} on a machine with internet and put the file at {target} (the torch hub "
        "directory; set TORCH_HOME to use another one), or pass model.weights=/path/to/that/file.pth."
    )
    if not host_reachable(url):
        raise MissingWeightsError(
            f"Could not load {what}: {target} is not there and {urlparse(url).hostname} is unreachable. "
            f"{advice}"
        )
    try:
        # check_hash: torchvision file names end in the first digits of the file's SHA-256.
        return torch.hub.load_state_dict_from_url(
            url, progress=True, check_hash=True, map_location="cpu", weights_only=True
        )
    except OSError as error:
        raise MissingWeightsError(
            f"Could not load {what}: downloading {url} failed ({error}). {advice}"
        ) from error
