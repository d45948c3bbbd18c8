"""embedding=image|fused|text: what a point of the image clustering is."""

from __future__ import annotations

import numpy as np
import pytest

from visframe.errors import ConfigError
from visframe.messages.fusion import fused_vectors
from visframe.messages.texts import MessageVectors


def test_fused_puts_the_text_vector_beside_the_unit_image_vector_and_zeros_without_text():
    images = np.array([[3.0, 4.0], [0.0, 2.0], [1.0, 0.0]], dtype=np.float32)
    text = MessageVectors(("b", "a"), np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], dtype=np.float32), "use-1")
    vectors, key = fused_vectors(images, ["a", "b", "c"], text, {"kind": "fused", "text_weight": 0.5}, "lite0-1")
    np.testing.assert_allclose(vectors, [[0.6, 0.8, 0.5, 0, 0], [0, 1, 0, 0.5, 0], [1, 0, 0, 0, 0]], atol=1e-6)
    assert key == "lite0-1+text[use-1]x0.5"  # a new weight is a new reduction, never a stale cache hit
    alone, alone_key = fused_vectors(images, ["a", "b", "c"], text, {"kind": "text"}, "lite0-1")
    np.testing.assert_array_equal(alone, [[1, 0, 0], [0, 1, 0], [0, 0, 0]]) and alone_key.startswith("text[")


def test_fused_without_text_vectors_says_how_to_get_them():
    with pytest.raises(ConfigError, match="text vectors") as caught:
        fused_vectors(np.ones((2, 2)), ["a", "b"], None, {"kind": "fused"}, "k")
    assert "text=ocr" in caught.value.fix
    with pytest.raises(ConfigError):
        fused_vectors(np.ones((2, 2)), ["a", "b"], None, {"kind": "pixels"}, "k")
