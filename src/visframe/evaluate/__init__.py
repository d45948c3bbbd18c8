"""Evaluate: how good and how confident a clustering is (and how right, where labels are known)."""

from visframe.evaluate.metrics import (
    confidence_metrics,
    ground_truth_metrics,
    internal_metrics,
)
from visframe.evaluate.run import evaluate_run

__all__ = ["confidence_metrics", "evaluate_run", "ground_truth_metrics", "internal_metrics"]
