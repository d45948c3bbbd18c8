"""suggest_codes on hand-made vectors: few-shot where there are examples, zero-shot before, the table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from visframe import contracts as C
from visframe.errors import InputError
from visframe.run_dir import RunDir
from visframe.suggest import RunVectors, load_run_vectors, suggest_codes
from visframe.text.encoders import TextEncoder


class AxisEncoder(TextEncoder):
    """A text encoder that reads which axis a description names ("axis 0" → e0), for zero-shot tests."""

    name, dim = "axis", 4

    @property
    def cache_key(self):
        return {"model": "axis"}

    def _encode(self, texts):
        return np.array([np.eye(self.dim)[int(t.split()[-1])] for t in texts], np.float32)


def corpus(n=120, seed=0):
    """Images whose text lies near axis 0 (code "march") or axis 1 ("state"); every 10th has no text."""
    rng = np.random.default_rng(seed)
    truth = np.where(np.arange(n) % 2 == 0, "march", "state")
    text = rng.normal(scale=0.3, size=(n, 4)).astype(np.float32)
    text[truth == "march", 0] += 1
    text[truth == "state", 1] += 1
    has_text = np.arange(n) % 10 != 9
    text[~has_text] = 0
    norms = np.linalg.norm(text, axis=1, keepdims=True)
    text = text / np.where(norms > 0, norms, 1)
    ids = tuple(f"{k:016x}" for k in range(n))
    return RunVectors(ids, text.astype(np.float32), has_text, None, ""), truth


def codes_for(ids, truth, rows, descriptions=True):
    return pd.DataFrame(
        {
            C.IMAGE_ID: [ids[r] for r in rows],
            C.CODER: "ana",
            C.CODE: [truth[r] for r in rows],
            C.CODE_DESCRIPTION: [
                ("axis 0" if truth[r] == "march" else "axis 1") if descriptions else "" for r in rows
            ],
        }
    )


def test_few_shot_suggests_on_uncoded_images_only_and_measures_itself(tmp_path):
    vectors, truth = corpus()
    coded_rows = list(range(40))
    result = suggest_codes(
        tmp_path,
        codes_for(vectors.image_ids, truth, coded_rows),
        vectors=vectors,
        made_at=pd.Timestamp("2026-01-01", tz="UTC"),
    )
    table = C.validate(C.SUGGESTIONS, result.table)
    assert set(table[C.SOURCE]) == {C.SOURCE_FEW_SHOT} and result.n_coded == 40
    assert not set(table[C.IMAGE_ID]) & {vectors.image_ids[r] for r in coded_rows}
    assert len(table) == 2 * 80
    march = table[table[C.CODE] == "march"].set_index(C.IMAGE_ID)
    expected = pd.Series(truth, index=list(vectors.image_ids))[march.index] == "march"
    with_text = pd.Series(vectors.has_text, index=list(vectors.image_ids))[march.index]
    assert (march[C.SUGGESTED] == expected)[with_text].mean() > 0.9
    by_code = {a.code: a for a in result.agreement}
    assert (
        by_code["march"].source == "few_shot"
        and by_code["march"].n_folds == 5
        and by_code["march"].kappa > 0.7
    )
    assert (
        "logistic regression" in march[C.MODEL].iloc[0]
        and (march[C.MADE_AT] == pd.Timestamp("2026-01-01", tz="UTC")).all()
    )
    path = RunDir(tmp_path).write_suggestions(table)
    assert path.name == C.SUGGESTIONS_FILE and len(RunDir(tmp_path).read_suggestions()) == len(table)


def test_a_code_without_examples_is_zero_shot_from_its_description(tmp_path):
    vectors, truth = corpus()
    codes = codes_for(vectors.image_ids, truth, [0, 2, 4])  # three "march" examples, no negatives: zero-shot
    result = suggest_codes(tmp_path, codes, {"state": "axis 1"}, vectors=vectors, encoder=AxisEncoder())
    table = result.table
    assert set(table[C.SOURCE]) == {C.SOURCE_ZERO_SHOT} and set(table[C.CODE]) == {"march", "state"}
    assert len(table) == 2 * int(vectors.has_text[3:].sum())  # images with text only
    state = table[(table[C.CODE] == "state") & table[C.SUGGESTED]]
    index = {image_id: k for k, image_id in enumerate(vectors.image_ids)}
    assert np.mean([truth[index[i]] == "state" for i in state[C.IMAGE_ID]]) > 0.9
    by_code = {a.code: a for a in result.agreement}
    assert (
        by_code["march"].source == "zero_shot"
        and by_code["march"].n_folds == 0
        and by_code["march"].recall == 1.0
    )


def test_a_code_with_neither_examples_nor_description_is_said_not_suggested(tmp_path):
    vectors, truth = corpus()
    result = suggest_codes(
        tmp_path, codes_for(vectors.image_ids, truth, [0], descriptions=False), vectors=vectors
    )
    assert result.table.empty and C.validate(C.SUGGESTIONS, result.table) is not None
    assert result.agreement[0].source == "none" and "no description" in result.agreement[0].note


def test_a_run_without_text_vectors_says_how_to_make_them(tmp_path):
    with pytest.raises(InputError, match="message_vectors.parquet not found"):
        load_run_vectors(tmp_path)


def test_a_zero_shot_code_competes_with_the_described_few_shot_codes(tmp_path):
    vectors, truth = corpus()
    codes = codes_for(vectors.image_ids, truth, list(range(40)))  # march and state: few-shot, described
    result = suggest_codes(tmp_path, codes, {"other": "axis 2"}, vectors=vectors, encoder=AxisEncoder())
    other = result.table[result.table[C.CODE] == "other"]
    assert set(other[C.SOURCE]) == {C.SOURCE_ZERO_SHOT}
    # Texts lie near axis 0 or 1: "axis 2" is their best description almost nowhere.
    assert other[C.SUGGESTED].mean() < 0.1
