"""Cached thumbnails: `<cache_dir>/thumbnails/<image_id>_<size>.jpg`.

Montages for 100 clusters read a few thousand images; each is decoded once per thumbnail size and
then read back from the cache (a few KB) by every later run. Keyed by image_id (the bytes' hash),
so a changed file is a new image and never hits a stale thumbnail.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image, ImageDraw

from visframe.data.images import load_rgb
from visframe.utils.cache import cache_subdir

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

    def ensure(self, image_id: str, source: str | Path) -> Path | None:
        """The cached thumbnail's path, made from `source` if missing; None if unreadable."""
        target = self.path_for(image_id)
        if target.exists():
            return target
        try:
            # draft_size: a JPEG decodes at 1/2…1/8 scale, never below the thumbnail (~4× faster on photos)
            image = load_rgb(source, draft_size=self.size)
            image.thumbnail((self.size, self.size), Image.Resampling.LANCZOS)
        except Exception as error:  # noqa: BLE001 - any decoder error means "show a placeholder"
            self.unreadable[image_id] = f"{type(error).__name__}: {error}"
            log.warning("report: cannot read %s for a thumbnail (%s)", source, error)
            return None
        # Write to a temporary name first so a killed run never leaves a truncated thumbnail; the
        # name is per process and thread, so parallel sweep jobs never write into one file.
        partial = target.with_name(f"{target.name}.{os.getpid()}-{threading.get_ident()}.part")
        image.save(partial, format="JPEG", quality=88)
        partial.replace(target)
        return target

    def ensure_many(self, items: Iterable[tuple[str, str | Path]]) -> dict[str, Path | None]:
        """Thumbnails for many (image_id, path) pairs; decoding releases the GIL, so threads help."""
        unique = dict(items)
        todo = {k: v for k, v in unique.items() if not self.path_for(k).exists()}
        result = {k: self.path_for(k) for k in unique if k not in todo}
        if todo:
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                for image_id, path in zip(todo, pool.map(lambda kv: self.ensure(*kv), todo.items())):
                    result[image_id] = path
        return result

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
