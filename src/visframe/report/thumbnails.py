"""Cached thumbnails: `<cache_dir>/thumbnails/<image_id>_<size>.jpg`.

Montages for 100 clusters read a few thousand images; each is decoded once per thumbnail size and
then read back from the cache (a few KB) by every later run. Keyed by image_id (the bytes' hash),
so a changed file is a new image and never hits a stale thumbnail.

Each thumbnail is written atomically with a BLAKE2b checksum beside it (`<image_id>_<size>.jpg.blake2b`,
`visframe.utils.integrity`) and checked before use: a truncated or bit-flipped thumbnail (which
used to break the report's montages) is set aside as `corrupt-<name>` with one warning and made
again from the source image, giving the same pixels as before. A thumbnail cached before checksums
is decoded once to check it.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image, ImageDraw

from visframe.data.images import load_rgb
from visframe.utils.cache import cache_subdir
from visframe.utils.integrity import CorruptEntry, atomic_write_bytes, read_verified, set_aside, sidecar_path

log = logging.getLogger(__name__)
PLACEHOLDER_COLOUR = (200, 200, 200)


class ThumbnailCache:
    """Makes and reuses JPEG thumbnails whose longest side is `size` pixels."""

    def __init__(self, cache_dir: str | Path | None, size: int, workers: int = 4):
        self.size = int(size)
        self.root = cache_subdir(cache_dir, "thumbnails")
        self.workers = workers
        self.unreadable: dict[str, str] = {}  # image_id -> why it could not be read

    def path_for(self, image_id: str) -> Path:
        return self.root / f"{image_id}_{self.size}.jpg"

    def _usable(self, target: Path) -> bool:
        """Whether the cached thumbnail exists and is whole; a damaged one is set aside (False)."""
        try:
            data = read_verified(target)
            if not sidecar_path(target).exists():
                with Image.open(io.BytesIO(data)) as image:
                    image.load()  # a thumbnail cached before checksums: decoding it is the check
        except FileNotFoundError:
            return False
        except CorruptEntry as error:
            set_aside(target, error)
            return False
        except Exception as error:  # noqa: BLE001 - any decoder error means a damaged thumbnail
            set_aside(target, f"{type(error).__name__}: {error}")
            return False
        return True

    def ensure(self, image_id: str, source: str | Path) -> Path | None:
        """The cached thumbnail's path, made from `source` if missing or damaged; None if unreadable."""
        target = self.path_for(image_id)
        if self._usable(target):
            return target
        return self._make(image_id, source, target)

    def _make(self, image_id: str, source: str | Path, target: Path) -> Path | None:
        try:
            # draft_size: a JPEG decodes at 1/2…1/8 scale, never below the thumbnail (~4× faster on photos)
            image = load_rgb(source, draft_size=self.size)
            image.thumbnail((self.size, self.size), Image.Resampling.LANCZOS)
        except Exception as error:  # noqa: BLE001 - any decoder error means "show a placeholder"
            self.unreadable[image_id] = f"{type(error).__name__}: {error}"
            log.warning("report: cannot read %s for a thumbnail (%s)", source, error)
            return None
        # Encoded in memory, then written atomically under a unique temporary name: a killed run
        # never leaves a truncated thumbnail, and parallel sweep jobs never write into one file.
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=88)
        return atomic_write_bytes(target, buffer.getvalue())

    def ensure_many(self, items: Iterable[tuple[str, str | Path]]) -> dict[str, Path | None]:
        """Thumbnails for many (image_id, path) pairs; decoding releases the GIL, so threads help."""
        unique = dict(items)
        if not unique:
            return {}
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return dict(zip(unique, pool.map(lambda kv: self.ensure(*kv), unique.items())))

    def open(self, image_id: str, source: str | Path) -> Image.Image:
        """The thumbnail as an RGB image; a grey placeholder when the source can't be read."""
        path = self.ensure(image_id, source)
        if path is None:
            return placeholder(self.size, "unreadable")
        with Image.open(path) as image:
            return image.convert("RGB")


def placeholder(size: int, text: str) -> Image.Image:
    image = Image.new("RGB", (size, size), PLACEHOLDER_COLOUR)
    ImageDraw.Draw(image).text((8, size // 2 - 6), text, fill=(90, 90, 90))
    return image
