"""Image bytes for the app: manifest images that lie inside the run's image folder, and thumbnails.

The manifest says which file an image_id is (`ReviewRun.path_for`), but it is not trusted to say
where files may be read: `ServedFiles` serves a file only when its real path (links resolved) lies
under the run's image folder — `dataset.root` in the run's `config.yaml` — whatever the manifest
holds (an old manifest that followed a link out of the folder, an edited one). With
`dataset.follow_symlinks_outside=true` in that config the user chose to include what links in the
folder point to, so a path under the folder as written is served too (still never one with `..`
or outside the folder as written). A run whose config names no absolute root (a hand-made run
directory) falls back to the folder the manifest's images share, with a warning.
"""

from __future__ import annotations

import io
import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path

from PIL import Image, ImageOps

from visframe import contracts as C
from visframe.review.run_data import ReviewRun
from visframe.run_dir import RunDir

log = logging.getLogger(__name__)
THUMBNAIL_SIZE = 320


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


class ServedFiles:
    """Which of a run's manifest files the app may read (see the module docstring)."""

    def __init__(self, run: ReviewRun, root: str | None, follow_symlinks_outside: bool = False):
        self.run = run
        self.root = os.path.abspath(root) if root else None
        self.real_root = os.path.realpath(root) if root else None
        self.follow_symlinks_outside = follow_symlinks_outside

    @classmethod
    def for_run(cls, run: ReviewRun) -> ServedFiles:
        dataset = (RunDir(run.run_dir).read_config() or {}).get("dataset") or {}
        raw = dataset.get("root") if isinstance(dataset, dict) else None
        follow = isinstance(dataset, dict) and dataset.get("follow_symlinks_outside") is True
        root = os.path.expanduser(str(raw)) if raw else None
        if root and os.path.isabs(root):
            return cls(run, root, follow)
        return cls(run, _shared_folder(run))

    def path_for(self, image_id: str) -> Path | None:
        """The image's file when the app may serve it, else None."""
        path = self.run.path_for(image_id)
        if path is None or self.root is None or self.real_root is None:
            return None
        if _inside(os.path.realpath(path), self.real_root):
            return path
        if self.follow_symlinks_outside and _inside(os.path.abspath(path), self.root):
            return path
        log.warning("review: %s is outside the run's image folder %s: not served", path, self.root)
        return None


def _shared_folder(run: ReviewRun) -> str | None:
    """The deepest folder holding every manifest image (no root at all when that is the file system's)."""
    paths = [path for path in run.image_paths.tolist() if isinstance(path, str)]
    folders = {os.path.dirname(os.path.abspath(path)) for path in paths}
    if not folders:
        return None
    shared = os.path.commonpath(sorted(folders))
    if os.path.dirname(shared) == shared:
        log.warning(
            "review: the run's config names no image folder, nor do its images share one: no image is served"
        )
        return None
    log.warning(
        "review: %s names no absolute dataset.root; images are served from %s, the folder they share",
        RunDir(run.run_dir).file(C.CONFIG_FILE),
        shared,
    )
    return shared


class Media:
    """Thumbnails made on first request and kept in a bounded in-memory LRU; MIME types of originals."""

    def __init__(self, run: ReviewRun, size: int = THUMBNAIL_SIZE, max_cached: int = 2048):
        self.run = run
        self.files = ServedFiles.for_run(run)
        self.size = size
        self.max_cached = max_cached
        self._thumbs: OrderedDict[str, bytes] = OrderedDict()
        self._mimes: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def original(self, image_id: str) -> tuple[Path, str] | None:
        """(file, MIME type) of a manifest image, or None (unknown id, outside the folder, missing or
        undecodable file)."""
        path = self.files.path_for(image_id)
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
        source = self.run.thumbnail_paths.get(image_id) or self.files.path_for(image_id)
        if source is None or not source.is_file():
            return None
        try:
            with Image.open(source) as image:
                # Shrink first (JPEG decodes at a reduced scale), then rotate the small copy only.
                image.thumbnail((self.size, self.size), Image.Resampling.LANCZOS)
                image = ImageOps.exif_transpose(image).convert("RGB")
        except (OSError, ValueError, Image.DecompressionBombError):
            return None
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=85)
        return buffer.getvalue()
