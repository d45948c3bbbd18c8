"""Synthetic embedding-like vectors for the clustering benchmarks (no images, no encoder).

Themes of unequal size (a Zipf-like share each) around random unit directions, plus a share of
background points; every vector L2-normalised like an encoder's output. Deterministic per seed.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np


def synthetic_embeddings(
    n: int,
    dim: int = 512,
    n_themes: int = 20,
    noise_share: float = 0.08,
    spread: float = 0.8,
    seed: int = 0,
    chunk: int = 65536,
) -> tuple[np.ndarray, np.ndarray]:
    """(vectors float32 (n, dim), theme int64 (n,), -1 = background).

    Drawn `chunk` rows at a time from one seeded stream (the same values as one big draw), so
    1,000,000 × 512 needs the 2 GB result and its shuffled copy, not 4 GB float64 temporaries.
    """
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, n_themes + 1) ** 0.8
    n_background = round(n * noise_share)
    sizes = np.floor(weights / weights.sum() * (n - n_background)).astype(int)
    sizes[0] += n - n_background - sizes.sum()
    centers = rng.normal(size=(n_themes, dim))
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    theme = np.concatenate([np.full(size, k) for k, size in enumerate(sizes)] + [np.full(n_background, -1)])
    vectors = np.empty((n, dim), dtype=np.float32)
    n_clustered = n - n_background  # the clustered rows come first, the background after
    # Each theme has its own tightness, as visual genres do (text-only posts vs photo scenes).
    theme_spread = spread * rng.uniform(0.7, 1.3, size=n_themes)
    for start in range(0, n_clustered, chunk):
        stop = min(start + chunk, n_clustered)
        noise = rng.normal(size=(stop - start, dim)) / np.sqrt(dim)
        rows = theme[start:stop]
        vectors[start:stop] = centers[rows] + noise * theme_spread[rows, None]
    for start in range(n_clustered, n, chunk):
        stop = min(start + chunk, n)
        vectors[start:stop] = rng.normal(size=(stop - start, dim))
    for start in range(0, n, chunk):
        block = vectors[start : start + chunk]
        block /= np.linalg.norm(block, axis=1, keepdims=True)
    order = rng.permutation(n)
    return vectors[order], theme[order].astype(np.int64)


def umap_reduced(
    vectors: np.ndarray, cache_dir: Path, n_components: int = 5, seed: int | None = 42
) -> tuple[np.ndarray, float]:
    """The UMAP coordinates the pipeline's default reducer would give, cached on disk by content."""
    import umap

    key = hashlib.sha256(vectors.tobytes()).hexdigest()[:16] + f"-{n_components}-{seed}"
    path = Path(cache_dir) / f"umap-{key}.npy"
    if path.exists():
        return np.load(path), 0.0
    started = time.perf_counter()
    reducer = umap.UMAP(
        n_neighbors=25,
        min_dist=0.01,
        metric="cosine",
        n_components=n_components,
        random_state=seed,
        low_memory=True,
    )
    coordinates = reducer.fit_transform(vectors).astype(np.float32)
    seconds = time.perf_counter() - started
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, coordinates)
    return coordinates, seconds
