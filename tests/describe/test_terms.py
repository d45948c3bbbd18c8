"""Top terms: the tokenizer's rules and class-based TF-IDF checked by hand on a tiny corpus."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from visframe.describe import terms as T
from visframe.utils.stopwords import stop_words

STOP = stop_words(["es", "en"])


def test_tokens_keep_hashtags_and_mentions_and_drop_stop_words_urls_numbers():
    text = "Exigimos JUSTICIA para @Ana_M y #NiUnaMenos https://x.co/abc 2024 de la the mujeres"
    assert T.tokenize(text, STOP) == ["exigimos", "justicia", "@ana_m", "#niunamenos", "mujeres"]
    # a hashtag is matched by its key (casefold + NFKC), never dropped as a stop word
    assert T.tokenize("#ＮｉＵｎａＭｅｎｏｓ #de", STOP) == ["#niunamenos", "#de"]
    assert T.tokenize("¡Ni una más! Justicia.", STOP) == ["justicia"]


def test_c_tf_idf_matches_the_formula_by_hand():
    """Three clusters' documents; W(t, c) = tf(t, c) · log(1 + A / f(t)), A = int(mean words per cluster)."""
    posts = pd.DataFrame(
        {
            "caption": ["marcha justicia", "justicia ya", "arte mural", "mural marcha", "#8M marcha"],
            "cluster": [0, 0, 1, 1, 2],
        }
    )
    documents = T.post_documents(posts, None, ["caption"])
    matrix, vocab = T.word_matrix(documents, STOP, min_posts=1)
    assert list(vocab) == ["#8m", "arte", "justicia", "marcha", "mural"]  # "ya" is a stop word
    labels = posts["cluster"].to_numpy()
    table = T.term_table(0, labels, [0, 1, 2], matrix, vocab, T.KIND_TERM).set_index(["cluster", "term"])
    # words per cluster: 3, 4, 2 → A = int(9 / 3) = 3; f: #8m 1, arte 1, justicia 2, marcha 3, mural 2
    expected = {
        (0, "justicia"): 2 / 3 * math.log(1 + 3 / 2),
        (0, "marcha"): 1 / 3 * math.log(1 + 3 / 3),
        (1, "mural"): 2 / 4 * math.log(1 + 3 / 2),
        (1, "arte"): 1 / 4 * math.log(1 + 3 / 1),
        (1, "marcha"): 1 / 4 * math.log(1 + 3 / 3),
        (2, "#8m"): 1 / 2 * math.log(1 + 3 / 1),
        (2, "marcha"): 1 / 2 * math.log(1 + 3 / 3),
    }
    assert len(table) == len(expected)
    for key, score in expected.items():
        assert table.loc[key, "score"] == pytest.approx(score)
    # ranks follow the score: a word frequent in one cluster beats one spread over all three
    assert table.loc[(1, "mural"), "rank"] == 1 and table.loc[(1, "arte"), "rank"] == 2
    assert table.loc[(1, "marcha"), "rank"] == 3
    # count = the cluster's posts with the term; lift against all posts
    assert table.loc[(0, "justicia"), "count"] == 2
    assert table.loc[(0, "marcha"), "lift"] == pytest.approx((1 / 2) / (3 / 5))


def test_min_posts_drops_one_off_words_and_ocr_text_joins_by_image():
    posts = pd.DataFrame({"image_id": ["a", "b", "c"], "caption": ["uno mural", "mural", None]})
    texts = pd.DataFrame({"image_id": ["a", "c"], "text": ["COMUNICADO", "comunicado oficial"]})
    documents = T.post_documents(posts, texts, ["text", "caption"])
    assert documents[1].strip() == "mural" and "comunicado oficial" in documents[2]
    _, vocab = T.word_matrix(documents, STOP, min_posts=2)
    assert list(vocab) == ["comunicado", "mural"]
    assert T.word_matrix(["", ""], STOP, min_posts=1) is None


def test_unknown_text_source_is_a_config_error():
    from visframe.errors import ConfigError

    with pytest.raises(ConfigError, match="ocr_text"):
        T.post_documents(pd.DataFrame({"caption": ["x"]}), None, ["ocr_text"])


def test_term_table_keeps_zero_rows_when_asked():
    matrix = T.membership(np.array([0, 1]), [0, 1]).T.tocsr()  # post i carries term i
    table = T.term_table(
        0, np.array([0, 1]), [0, 1], matrix, np.array(["a", "b"], dtype=object), "zero_shot", keep_zeros=True
    )
    assert len(table) == 4 and sorted(table["count"]) == [0, 0, 1, 1]
