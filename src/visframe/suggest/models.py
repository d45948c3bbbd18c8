"""The two ways a code is suggested, and how well each agrees with the coders, measured honestly.

**Zero-shot** (a code nobody has given examples of yet): the code's description, encoded with the
run's text encoder, against each text-bearing image's text vector (cosine). An image is suggested the
code that describes its text best among the codebook's codes, when that cosine reaches
`ZERO_SHOT_MIN`. No model learns anything from the coders, so its agreement is measured on every
coded image.

**Few-shot** (a code with at least `MIN_EXAMPLES` positives and as many negatives): a logistic
regression over [text vector, has_text, image vector] with balanced class weights (a code has few
positives among many negatives); `suggested` is the classifier's own call (decision > 0), `score` its
decision mapped to a probability by Platt scaling fitted on out-of-fold decisions (what
CalibratedClassifierCV(method="sigmoid", ensemble=False) does), so a score reads as a probability of
the coded set's kind of image.

**Agreement** (Cohen's κ, precision, recall per code) is computed by stratified k-fold cross-validation
over the coded set: each coded image (a distinct image_id: reshared copies of one file are one image)
is predicted by a model that never saw it. The out-of-fold decisions are also what the Platt scaling is
fitted on; the final model is then fitted on every coded image. Keeping images of the same text in one
fold was tried and dropped: the uncoded images repeat the coded ones' texts as often as the coded set
does, and grouping made the estimate pessimistic (bench_suggest, k = 10: CV κ 0.27 with grouping,
0.58 without, against 0.60 measured on the uncoded posts).

`C_REGULARISATION` and the image part's weight (vectors.IMAGE_WEIGHT) were chosen on the synthetic
corpus (bench_suggest, k = 10, three coders; seven-class κ of the uncoded posts): C 1 → 10 raised κ
0.57 → 0.61 with text alone; the image vector at full weight lowered it to 0.56 (the corpus draws a
poster's message independently of its look), at 0.3 it costs nothing (0.61) and keeps what the image
says for codes about the look. A corpus of ours proves little: check on codes nobody here made.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import cohen_kappa_score, precision_score, recall_score
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from visframe.suggest.vectors import RunVectors

MIN_EXAMPLES = 2  # positives (and negatives) a code needs before a classifier replaces zero-shot
MAX_FOLDS = 5
C_REGULARISATION = 10.0  # inverse L2 strength; the parts of a feature row have fixed lengths
ZERO_SHOT_MIN = 0.15  # cosine below which a description is not said to match any text


@dataclass(frozen=True)
class Agreement:
    """How well a code's suggestions agree with the coders, never measured on a training example."""

    code: str
    source: str  # zero_shot | few_shot | none
    n_positive: int
    n_negative: int
    n_evaluated: int  # coded images predicted by a model that did not learn from them
    n_folds: int  # 0: zero-shot (nothing learned) or not measured
    kappa: float
    precision: float
    recall: float
    note: str = ""

    def line(self) -> str:
        def f(value: float) -> str:
            return "  n/a" if not np.isfinite(value) else f"{value:5.2f}"

        how = f"{self.n_folds}-fold CV" if self.n_folds else ("on the coded set" if self.n_evaluated else "")
        return (
            f"{self.code:<28} {self.source:<9} +{self.n_positive:<4} -{self.n_negative:<5} "
            f"κ {f(self.kappa)}  precision {f(self.precision)}  recall {f(self.recall)}  {how}"
            f"{'  ' + self.note if self.note else ''}"
        )


def agreement_of(
    code: str,
    source: str,
    truth: np.ndarray,
    predicted: np.ndarray,
    n_folds: int,
    n_positive: int,
    n_negative: int,
    note: str = "",
) -> Agreement:
    """κ, precision and recall of `predicted` against `truth` (NaN where undefined)."""
    truth, predicted = np.asarray(truth, bool), np.asarray(predicted, bool)
    if len(truth) == 0:
        return Agreement(
            code,
            source,
            n_positive,
            n_negative,
            0,
            n_folds,
            np.nan,
            np.nan,
            np.nan,
            note or "nothing to measure on",
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # κ of two constant ratings is undefined: NaN, said as n/a
        kappa = float(cohen_kappa_score(truth, predicted)) if len(set(truth) | set(predicted)) > 1 else np.nan
    precision = float(precision_score(truth, predicted, zero_division=np.nan))
    recall = float(recall_score(truth, predicted, zero_division=np.nan))
    return Agreement(
        code, source, n_positive, n_negative, len(truth), n_folds, kappa, precision, recall, note
    )


# ------------------------------------------------------------------------------------------ zero-shot
def zero_shot_scores(vectors: RunVectors, descriptions: np.ndarray) -> np.ndarray:
    """Cosine of each image's text vector with each description vector (n, m); 0 without text."""
    return vectors.text @ np.asarray(descriptions, np.float32).T


def zero_shot_calls(scores: np.ndarray, has_text: np.ndarray, minimum: float = ZERO_SHOT_MIN) -> np.ndarray:
    """(n, m) bool: each text-bearing image gets the code whose description matches it best, if it
    matches at least `minimum`."""
    calls = np.zeros(scores.shape, dtype=bool)
    if scores.shape[1] == 0:
        return calls
    best = np.argmax(scores, axis=1)
    rows = np.flatnonzero(has_text & (scores[np.arange(len(scores)), best] >= minimum))
    calls[rows, best[rows]] = True
    return calls


# ------------------------------------------------------------------------------------------ few-shot
@dataclass(frozen=True)
class FewShotModel:
    coef: np.ndarray  # over RunVectors.features' columns
    intercept: float
    platt: tuple[float, float]  # score = 1 / (1 + exp(-(a * decision + b)))
    n_positive: int
    n_negative: int

    def decisions(self, vectors: RunVectors) -> np.ndarray:
        return vectors.decision(self.coef, self.intercept)

    def scores(self, decisions: np.ndarray) -> np.ndarray:
        a, b = self.platt
        return 1.0 / (1.0 + np.exp(-np.clip(a * decisions + b, -50, 50)))


def _classifier(seed: int) -> LogisticRegression:
    return LogisticRegression(C=C_REGULARISATION, class_weight="balanced", max_iter=2000, random_state=seed)


def cross_validated(
    features: np.ndarray, labels: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """Out-of-fold decisions (NaN where a fold could not be fitted), the mask of predicted rows, folds."""
    n_positive, n_negative = int(labels.sum()), int((~labels).sum())
    n_folds = min(MAX_FOLDS, n_positive, n_negative)
    decisions = np.full(len(labels), np.nan)
    if n_folds < 2:
        return decisions, ~np.isnan(decisions), 0
    folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    for train, test in folds.split(features, labels):
        if labels[train].all() or not labels[train].any():
            continue  # a fold left one class for training: its images stay unpredicted
        model = _classifier(seed).fit(features[train], labels[train])
        decisions[test] = model.decision_function(features[test])
    return decisions, ~np.isnan(decisions), n_folds


def platt(decisions: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Sigmoid calibration of decisions against labels; (1, 0) when it cannot be fitted."""
    if len(decisions) < 2 or labels.all() or not labels.any():
        return 1.0, 0.0
    fit = LogisticRegression(C=1e4, solver="liblinear", intercept_scaling=100).fit(
        decisions.reshape(-1, 1), labels
    )
    a = float(fit.coef_[0, 0])
    return (a, float(fit.intercept_[0])) if a > 0 else (1.0, 0.0)


def fit_few_shot(
    code: str, vectors: RunVectors, rows: np.ndarray, labels: np.ndarray, seed: int = 0
) -> tuple[FewShotModel, Agreement]:
    """The code's classifier on the coded `rows`, and its cross-validated agreement with the coders.

    The fits are small (tens to thousands of rows): one BLAS thread each. On this 2-core machine under
    load, lbfgs on 70 × 1,793 took 0.20 s with the default threads and 0.04 s with one."""
    with threadpool_limits(1):
        return _fit_few_shot(code, vectors, rows, labels, seed)


def _fit_few_shot(
    code: str, vectors: RunVectors, rows: np.ndarray, labels: np.ndarray, seed: int
) -> tuple[FewShotModel, Agreement]:
    features = vectors.features(rows)
    decisions, predicted, n_folds = cross_validated(features, labels, seed)
    n_positive, n_negative = int(labels.sum()), int((~labels).sum())
    agreement = agreement_of(
        code,
        "few_shot",
        labels[predicted],
        decisions[predicted] > 0,
        n_folds,
        n_positive,
        n_negative,
        "" if predicted.all() else f"{int((~predicted).sum())} coded images not predicted",
    )
    model = _classifier(seed).fit(features, labels)
    calibration = platt(decisions[predicted], labels[predicted])
    return FewShotModel(
        model.coef_[0].copy(), float(model.intercept_[0]), calibration, n_positive, n_negative
    ), agreement


__all__ = [
    "MIN_EXAMPLES",
    "ZERO_SHOT_MIN",
    "Agreement",
    "FewShotModel",
    "agreement_of",
    "cross_validated",
    "fit_few_shot",
    "platt",
    "zero_shot_calls",
    "zero_shot_scores",
]
