"""Where visframe keeps its caches (corpora, embeddings, reductions): never inside the repo."""

from __future__ import annotations

import os
from pathlib import Path

ENV_CACHE_DIR = "VISFRAME_CACHE_DIR"


def default_cache_dir() -> Path:
    """`$VISFRAME_CACHE_DIR`, else `$XDG_CACHE_HOME/visframe`, else `~/.cache/visframe`."""
    if os.environ.get(ENV_CACHE_DIR):
        return Path(os.environ[ENV_CACHE_DIR]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "visframe"


def cache_subdir(cache_dir: str | Path | None, *parts: str) -> Path:
    """A sub-directory of the cache, created on first use."""
    root = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
