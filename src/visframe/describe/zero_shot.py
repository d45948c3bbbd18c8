"""Zero-shot labels: each image scored against a versioned list of text prompts (a starting codebook).

The describe stage owns them (the report only reads the tables): it is the one stage that is handed
the encoder. An encoder without a usable text side (image-only, or a CLIP folder that ships no
tokenizer) is skipped with the reason, never an error.

Score = cosine similarity of the L2-normalised image embedding (from the run's embedding cache) and
the L2-normalised text embedding of each prompt, both from the same image-text encoder. Each image's
top label is the prompt with the highest score; each cluster gets the distribution of its posts'
top labels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from visframe import contracts as C
from visframe.errors import ConfigError

# Per-image zero-shot labels, written by describe into the run directory.
ZERO_SHOT_LABELS_FILE = C.ZERO_SHOT_LABELS_FILE
TOP_LABEL, TOP_SCORE, PROMPT_SET_VERSION = C.TOP_LABEL, C.TOP_SCORE, C.PROMPT_SET_VERSION


# A tokenizer with fewer tokens than this has no vocabulary (byte-level BPE alone has 256 + specials).
MIN_VOCABULARY = 100


class ZeroShotSkipped(Exception):
    """Zero-shot labels can't be made for this run; the message says why (shown in the report)."""


def text_side_problem(encoder: object) -> str | None:
    """Why `encoder` can't embed prompts, or None when it can (as far as can be told without calling)."""
    name = getattr(encoder, "name", type(encoder).__name__)
    if not getattr(encoder, "supports_text", False):
        return f"encoder {name!r} is image-only (no text side)"
    if not hasattr(encoder, "tokenizer"):
        return None
    tokenizer = encoder.tokenizer
    # transformers 5 builds an empty CLIPTokenizer (2 special tokens) from a folder without
    # tokenizer files instead of failing: its "embeddings" of any prompt are the same few tokens.
    size = len(tokenizer) if tokenizer is not None and hasattr(tokenizer, "__len__") else None
    if tokenizer is None or (size is not None and size < MIN_VOCABULARY):
        return (
            f"encoder {name!r} has no tokenizer next to its weights, so prompts can't be encoded "
            "(put the tokenizer files in the weights folder)"
        )
    return None


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
    if encoder is None:
        raise ZeroShotSkipped("no encoder was passed to describe (no text side to score prompts)")
    name = getattr(encoder, "name", type(encoder).__name__)
    problem = text_side_problem(encoder)
    if problem:
        raise ZeroShotSkipped(problem)
    if vectors is None or vector_ids is None:
        raise ZeroShotSkipped("no image embeddings were passed to describe")
    if not prompts:
        raise ZeroShotSkipped("describe.zero_shot.prompts is empty")
    if len(set(prompts)) != len(prompts):
        raise ConfigError(
            "describe.zero_shot.prompts has duplicates", fix="list each prompt once (a label is a prompt)"
        )
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

    from visframe.embed.encoders.base import TextNotSupportedError

    try:
        with torch.no_grad():
            text = _as_numpy(encoder.encode_text(list(prompts)))  # type: ignore[attr-defined]
    except TextNotSupportedError as why:
        raise ZeroShotSkipped(str(why)) from why
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
            C.IMAGE_ID: pd.array(wanted, dtype="string"),
            TOP_LABEL: pd.array([prompts[b] for b in best], dtype="string"),
            TOP_SCORE: scores[np.arange(len(wanted)), best].astype("float64"),
            PROMPT_SET_VERSION: pd.array([prompt_set_version] * len(wanted), dtype="string"),
        }
    )
    for j, prompt in enumerate(prompts):
        frame[prompt] = scores[:, j].astype("float64")
    return frame


def top_label_matrix(posts: pd.DataFrame, labels: pd.DataFrame, prompts: list[str]):
    """Posts × prompts (one-hot: each post's image's top label), for `terms.term_table`."""
    import scipy.sparse as sp

    top = posts[C.IMAGE_ID].map(labels.set_index(C.IMAGE_ID)[TOP_LABEL])
    column = {p: j for j, p in enumerate(prompts)}
    rows = [i for i, label in enumerate(top) if isinstance(label, str) and label in column]
    cols = [column[top.iloc[i]] for i in rows]
    matrix = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(posts), len(prompts)))
    return matrix, np.array(prompts, dtype=object)
