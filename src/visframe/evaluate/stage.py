"""The evaluate stage: every metric of one clustering, and the warnings a researcher must not miss.

    result = run(EvaluateInputs(reduced, vectors, labels, probabilities, truth), cfg.evaluation, context)
    result.metrics    # name → value (evaluate.registry names each one's space and direction)
    result.warnings   # e.g. "one cluster holds 80 % of the images"

Inputs are one row per point the metrics count (one per post in the pipeline): `reduced` is the
space the clusterer saw (euclidean metrics), `vectors` the raw embeddings of the same points
(cosine metrics), `truth` the ground-truth labels where the dataset has them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from visframe.evaluate.run import evaluate_run
from visframe.stages import StageContext


@dataclass(frozen=True)
class EvaluateInputs:
    reduced: np.ndarray  # (n, k) the space the clusterer saw
    vectors: np.ndarray | None  # (n, d) raw embeddings of the same points (None: no raw-space metrics)
    labels: np.ndarray  # (n,) int, -1 = noise
    probabilities: np.ndarray  # (n,) membership strength
    truth: np.ndarray | None = None  # (n,) ground-truth labels, where known


@dataclass(frozen=True)
class Evaluation:
    metrics: Mapping[str, float]
    warnings: tuple[str, ...] = ()


def run(inputs: EvaluateInputs, settings: Any, context: StageContext) -> Evaluation:
    """All metrics (`settings`: the `evaluation` config section; sampled above its sizes, seeded)."""
    metrics, warnings = evaluate_run(
        settings,
        reduced=inputs.reduced,
        vectors=inputs.vectors,
        labels=inputs.labels,
        probabilities=inputs.probabilities,
        truth=inputs.truth,
        seed=context.seed,
    )
    return Evaluation(dict(metrics), tuple(warnings))


__all__ = ["EvaluateInputs", "Evaluation", "run"]
