"""Evaluate: how good and how confident a clustering is (and how right, where labels are known)."""

from visframe.evaluate.distribution import cluster_probability_metrics, cluster_size_metrics
from visframe.evaluate.metrics import (
    confidence_metrics,
    ground_truth_metrics,
    internal_metrics,
    raw_space_metrics,
)
from visframe.evaluate.registry import describe_metrics
from visframe.evaluate.run import evaluate_run
from visframe.evaluate.validity import dbcv, stratified_sample
from visframe.evaluate.warnings import degenerate_outcome_warnings

__all__ = [
    "cluster_probability_metrics",
    "cluster_size_metrics",
    "confidence_metrics",
    "dbcv",
    "degenerate_outcome_warnings",
    "describe_metrics",
    "evaluate_run",
    "ground_truth_metrics",
    "internal_metrics",
    "raw_space_metrics",
    "stratified_sample",
]
