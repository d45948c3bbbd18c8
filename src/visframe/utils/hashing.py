"""Stable identities: images by the hash of their bytes, configs by the hash of their content."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

# 16 hex digits = 64 bits: the chance of any collision in a million images is about 3e-8.
IMAGE_ID_HEX_DIGITS = 16
_CHUNK = 1 << 20


def image_id_from_bytes(data: bytes) -> str:
    """The `image_id` of an image: the start of the SHA-256 of its bytes."""
    return hashlib.sha256(data).hexdigest()[:IMAGE_ID_HEX_DIGITS]


def image_id_from_file(path: str | Path) -> str:
    """The `image_id` of a file, read in chunks so large files don't load whole."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()[:IMAGE_ID_HEX_DIGITS]


def stable_hash(obj: Any, digits: int = 16) -> str:
    """A hash of a JSON-able object that does not depend on key order (for cache keys)."""
    text = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:digits]


def hash_strings(values: list[str], digits: int = 16) -> str:
    """A hash of an ordered list of strings, e.g. the image_ids a reduction was fitted on."""
    digest = hashlib.sha256()
    for value in values:
        digest.update(value.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()[:digits]
