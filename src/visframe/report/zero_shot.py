"""Zero-shot labels: each image scored against a versioned list of text prompts (a starting codebook).

Score = cosine similarity of the L2-normalised image embedding (from the run's embedding cache) and
the L2-normalised text embedding of each prompt, both from the same image-text encoder. Each image's
top label is the prompt with the highest score; each cluster gets the distribution of its posts'
top labels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from visframe.report.posts import cluster_order


class ZeroShotSkipped(Exception):
    """Zero-shot labels can't be made for this run; the message says why (shown in the report)."""


def _as_numpy(tensor_like: object) -> np.ndarray:
    if hasattr(tensor_like, "detach"):
        tensor_like = tensor_like.detach().float().cpu().numpy()  # type: ignore[union-attr]
    return np.asarray(tensor_like, dtype=np.float32)


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def zero_shot_labels(
    encoder: object,
    vectors: np.ndarray | None,
    vector_ids: list[str] | None,
    image_ids: list[str],
    prompts: list[str],
    prompt_set_version: str,
) -> pd.DataFrame:
    """image_id, top_label, top_score, prompt_set_version, then one score column per prompt.

    `image_ids` are the images to label (the run's clustered images); each must have a vector.
    """
    name = getattr(encoder, "name", type(encoder).__name__) if encoder is not None else None
    if encoder is None:
        raise ZeroShotSkipped(
            "no encoder was passed to the report, so there is no text side to score prompts"
        )
    if not getattr(encoder, "supports_text", False):
        raise ZeroShotSkipped(
            f"encoder {name!r} is image-only (no text side), so zero-shot labels were skipped"
        )
    if vectors is None or vector_ids is None:
        raise ZeroShotSkipped(
            "no image embeddings were passed to the report, so zero-shot labels were skipped"
        )
    if not prompts:
        raise ZeroShotSkipped("report.zero_shot.prompts is empty")
    if len(set(prompts)) != len(prompts):
        raise ValueError("report.zero_shot.prompts has duplicates; each prompt must appear once")
    vectors = _as_numpy(vectors)
    if len(vector_ids) != len(vectors):
        raise ValueError(
            f"vector_ids has {len(vector_ids)} ids but vectors has {len(vectors)} rows; they must align"
        )
    position = {image_id: i for i, image_id in enumerate(vector_ids)}
    wanted = list(dict.fromkeys(image_ids))
    missing = [i for i in wanted if i not in position]
    if missing:
        raise ValueError(
            f"{len(missing)} clustered image(s) have no embedding, e.g. {missing[0]}; "
            "pass the vectors the run clustered (the embedding cache of this encoder)"
        )
    import torch  # the encoder's own dependency; imported late so tables never need it

    with torch.no_grad():
        text = _as_numpy(encoder.encode_text(list(prompts)))  # type: ignore[attr-defined]
    if text.shape != (len(prompts), vectors.shape[1]):
        raise ValueError(
            f"encoder {name!r} gave text embeddings of shape {text.shape}, expected "
            f"({len(prompts)}, {vectors.shape[1]}) to match the image embeddings"
        )
    images = _normalise(vectors[[position[i] for i in wanted]])
    scores = images @ _normalise(text).T
    best = scores.argmax(axis=1)
    frame = pd.DataFrame(
        {
            "image_id": pd.array(wanted, dtype="string"),
            "top_label": pd.array([prompts[b] for b in best], dtype="string"),
            "top_score": scores[np.arange(len(wanted)), best].astype("float64"),
            "prompt_set_version": pd.array([prompt_set_version] * len(wanted), dtype="string"),
        }
    )
    for j, prompt in enumerate(prompts):
        frame[prompt] = scores[:, j].astype("float64")
    return frame


def zero_shot_by_cluster(posts: pd.DataFrame, labels: pd.DataFrame, prompts: list[str]) -> pd.DataFrame:
    """cluster, label, count, share: how the cluster's posts spread over top labels (every label listed)."""
    joined = posts[["cluster", "image_id"]].merge(
        labels[["image_id", "top_label"]], on="image_id", how="left"
    )
    rows = []
    for cluster in cluster_order(joined):
        members = joined[joined["cluster"] == cluster]
        counts = members["top_label"].value_counts()
        for prompt in prompts:
            count = int(counts.get(prompt, 0))
            rows.append({"cluster": cluster, "label": prompt, "count": count, "share": count / len(members)})
    frame = pd.DataFrame(rows, columns=["cluster", "label", "count", "share"])
    return frame.astype({"cluster": "int64", "label": "string", "count": "int64", "share": "float64"})
