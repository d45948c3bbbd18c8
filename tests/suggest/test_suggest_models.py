"""Few-shot and zero-shot models, and agreement that is never measured on a model's own examples."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import cohen_kappa_score

from visframe.suggest.models import cross_validated, fit_few_shot, zero_shot_calls, zero_shot_scores
from visframe.suggest.vectors import RunVectors


def unit(a):
    return (a / np.linalg.norm(a, axis=1, keepdims=True)).astype(np.float32)


def vectors_of(text, image=None, has_text=None):
    n = len(text)
    return RunVectors(
        tuple(f"i{k}" for k in range(n)),
        unit(text),
        np.ones(n, bool) if has_text is None else has_text,
        None if image is None else unit(image),
        "t",
    )


def test_cross_validated_kappa_never_sees_the_examples_it_is_measured_on():
    # Random labels on random 64-d vectors: a model scored on its own training examples agrees
    # perfectly; out of fold it can only guess.
    rng = np.random.default_rng(0)
    features = rng.normal(size=(60, 64))
    labels = rng.random(60) < 0.5
    on_training = LogisticRegression(class_weight="balanced", max_iter=2000).fit(features, labels)
    assert cohen_kappa_score(labels, on_training.predict(features)) == 1.0
    decisions, predicted, folds = cross_validated(features, labels, seed=0)
    assert folds == 5 and predicted.all()
    assert abs(cohen_kappa_score(labels, decisions > 0)) < 0.35


def test_few_shot_learns_a_code_from_text_and_image_and_says_its_agreement():
    rng = np.random.default_rng(2)
    n = 200
    code = rng.random(n) < 0.3
    direction = rng.normal(size=32)
    text = rng.normal(size=(n, 32)) + np.outer(code, direction) * 2.0
    image = rng.normal(size=(n, 8))
    vectors = vectors_of(text, image)
    coded = np.arange(60)
    model, agreement = fit_few_shot("march", vectors, coded, code[coded], seed=0)
    assert agreement.n_folds == 5 and agreement.n_evaluated == 60 and agreement.kappa > 0.6
    decisions = model.decisions(vectors)
    rest = np.arange(60, n)
    assert cohen_kappa_score(code[rest], decisions[rest] > 0) > 0.6
    scores = model.scores(decisions)
    assert ((scores >= 0) & (scores <= 1)).all() and scores[code].mean() > scores[~code].mean() + 0.4
    # The blockwise decision is the classifier's own on the concatenated features.
    assert np.allclose(decisions[:60], vectors.features(coded) @ model.coef + model.intercept, atol=1e-4)


def test_zero_shot_picks_the_best_description_above_a_floor():
    text = unit(np.array([[1, 0.1, 0], [0.1, 1, 0], [0, 0, 1], [1, 1, 0]], np.float32))
    has_text = np.array([True, True, True, False])
    vectors = vectors_of(text, has_text=has_text)
    scores = zero_shot_scores(vectors, unit(np.array([[1, 0, 0], [0, 1, 0]], np.float32)))
    calls = zero_shot_calls(scores, has_text, minimum=0.5)
    assert calls.tolist() == [[True, False], [False, True], [False, False], [False, False]]
