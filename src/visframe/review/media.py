"""Image bytes for the app, found only through the run's manifest (`ReviewRun.path_for`)."""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from pathlib import Path

from PIL import Image, ImageOps

from visframe.review.run_data import ReviewRun

THUMBNAIL_SIZE = 320


class Media:
    """Thumbnails made on first request and kept in a bounded in-memory LRU; MIME types of originals."""

    def __init__(self, run: ReviewRun, size: int = THUMBNAIL_SIZE, max_cached: int = 2048):
        self.run = run
        self.size = size
        self.max_cached = max_cached
        self._thumbs: OrderedDict[str, bytes] = OrderedDict()
        self._mimes: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def original(self, image_id: str) -> tuple[Path, str] | None:
        """(file, MIME type) of a manifest image, or None (unknown id, missing or undecodable file)."""
        path = self.run.path_for(image_id)
        if path is None or not path.is_file():
            return None
        if image_id not in self._mimes:
            try:
                with Image.open(path) as image:
                    self._mimes[image_id] = Image.MIME.get(image.format or "")
            except (OSError, ValueError):
                self._mimes[image_id] = None
        mime = self._mimes[image_id]
        return (path, mime) if mime else None

    def thumbnail(self, image_id: str) -> bytes | None:
        with self._lock:
            if image_id in self._thumbs:
                self._thumbs.move_to_end(image_id)
                return self._thumbs[image_id]
        data = self._make_thumbnail(image_id)
        if data is None:
            return None
        with self._lock:
            self._thumbs[image_id] = data
            while len(self._thumbs) > self.max_cached:
                self._thumbs.popitem(last=False)
        return data

    def _make_thumbnail(self, image_id: str) -> bytes | None:
        # The report's thumbnail when it made one (already checked to lie inside the run dir).
        source = self.run.thumbnail_paths.get(image_id) or self.run.path_for(image_id)
        if source is None or not source.is_file():
            return None
        try:
            with Image.open(source) as image:
                image = ImageOps.exif_transpose(image)
                image.thumbnail((self.size, self.size), Image.Resampling.LANCZOS)
                image = image.convert("RGB")
        except (OSError, ValueError, Image.DecompressionBombError):
            return None
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=85)
        return buffer.getvalue()
