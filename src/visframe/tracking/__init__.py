"""Tracking: every job is an MLflow run (params = flattened config, metrics, artifacts); a sweep is
a parent run with one child per job and the summary tables as artifacts."""

from visframe.tracking.mlflow_tracking import flatten_config, resolve_tracking_uri, setup_experiment

__all__ = ["flatten_config", "resolve_tracking_uri", "setup_experiment"]
