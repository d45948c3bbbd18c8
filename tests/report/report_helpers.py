"""Helpers shared by the report tests (imported by name: a unique module name, unlike `conftest`)."""

from __future__ import annotations

import numpy as np
import torch

PROMPTS = ["a photo of a protest", "an image of solidarity", "a selfie", "an image with text in Spanish"]
SCRIPT_CAPTION = "<script>alert('x')</script> ni una menos"
SCRIPT_TAG = "<img src=x onerror=alert(1)>"


class FakeTextEncoder:
    """An image-text encoder whose text embedding of prompt i is the unit vector e_i (dim 8)."""

    name = "fake-clip"
    supports_text = True
    dim = 8

    def encode_text(self, prompts: list[str]) -> torch.Tensor:
        out = torch.zeros(len(prompts), self.dim)
        for i in range(len(prompts)):
            out[i, i] = 1.0
        return out


class ImageOnlyEncoder:
    name = "fake-resnet"
    supports_text = False
    dim = 8


def fake_vectors(image_ids: list[str]) -> tuple[np.ndarray, list[str], dict[str, str]]:
    """Vectors whose top prompt is known: image j points mostly at prompt j % len(PROMPTS)."""
    ids = list(dict.fromkeys(image_ids))
    rng = np.random.default_rng(3)
    vectors = rng.uniform(0, 0.2, size=(len(ids), FakeTextEncoder.dim)).astype(np.float32)
    expected = {}
    for j, image_id in enumerate(ids):
        vectors[j, j % len(PROMPTS)] = 1.0 + j  # scale must not matter: cosine similarity
        expected[image_id] = PROMPTS[j % len(PROMPTS)]
    return vectors, ids, expected
