"""Message topics described like clusters: a name from what their text says, size, top terms,
hashtags and accounts, the most typical poster, and the first and last dates.

The same machinery as the clusters (c-TF-IDF over one document per topic, lift for hashtags and
accounts, the medoid in the space the topics were made in), run on the posts whose image carries
text, with the topic as the only layer and the image's message text (its sentences, without the
poster's furniture; visframe.messages.texts) as the only source of terms.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from visframe import contracts as C
from visframe.describe.config import stage_config
from visframe.session import Memo


def describe_topics(
    posts: pd.DataFrame,
    messages: pd.DataFrame,
    vectors: np.ndarray | None,
    vector_ids: list[str] | None,
    settings,
    memo: Memo | None = None,
) -> pd.DataFrame:
    """contracts.MESSAGE_TOPICS for the posts (`join_posts` rows) whose image is in `messages`."""
    from visframe.describe.stage import describe_clusters

    topic_of = dict(zip(messages[C.IMAGE_ID].astype(str), messages[C.MESSAGE_TOPIC].astype(int)))
    image_ids = posts[C.IMAGE_ID].astype(str)
    keep = image_ids.isin(topic_of).to_numpy()
    if not keep.any():
        return empty_topics()
    topics = image_ids[keep].map(topic_of).to_numpy(dtype=np.int64)
    layers = C.layer_columns(posts.columns)
    topic_posts = posts[keep].drop(columns=layers).assign(**{C.CLUSTER: topics, C.layer_column(0): topics})
    texts = pd.DataFrame(
        {
            C.IMAGE_ID: messages[C.IMAGE_ID].astype("string"),
            C.TEXT: messages[C.MESSAGE_TEXT].astype("string"),
            C.N_CHARS: messages[C.MESSAGE_TEXT].str.len().astype("int64"),
            C.TEXT_STATUS: C.TEXT_OK,
        }
    )
    config = stage_config("describe", settings)
    overrides = {
        "terms": {"sources": [C.TEXT]},
        "zero_shot": {"enabled": False},
        # Every topic is text: "text-heavy" would prefix every name, so no share reaches it.
        "name": {"text_heavy_share": 1.01},
    }
    merged = {**_plain(config), **{k: {**_plain(config)[k], **v} for k, v in overrides.items()}}
    described = describe_clusters(topic_posts, texts, merged, None, vectors, vector_ids, 0, memo=memo)
    frame = described.clusters.rename(columns={C.CLUSTER: C.MESSAGE_TOPIC})
    return C.validate(C.MESSAGE_TOPICS, frame[C.MESSAGE_TOPICS.names].reset_index(drop=True))


def empty_topics() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=object) for name in C.MESSAGE_TOPICS.names})


def _plain(config) -> dict:
    from omegaconf import OmegaConf

    return OmegaConf.to_container(config, resolve=True) if OmegaConf.is_config(config) else dict(config)


__all__ = ["describe_topics", "empty_topics"]
