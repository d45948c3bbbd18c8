"""The cluster stage: the reduced space (or the raw vectors) → labels, probabilities, layers, soft noise.

    run(ClusterInputs(coordinates, vectors, sample_rows), ClusterSettings(cfg.clusterer, cfg.scale), context)

The clusterer is built from its config and fitted on the coordinates, or on the raw vectors for an
estimator whose `input_space` is "raw" (EVoC); `fit_clusterer` reads it into a `ClusterResult`. With
`sample_rows` (the reduce stage fitted on a sample: scale=sample_fit) the clusterer is fitted on
those rows' coordinates and every other row predicted (visframe.cluster.sample_fit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from hydra.utils import instantiate

from visframe.cluster.clusterer import input_space
from visframe.cluster.result import ClusterResult, fit_clusterer
from visframe.cluster.sample_fit import fit_sample_and_predict
from visframe.errors import ConfigError
from visframe.stages import StageContext


@dataclass(frozen=True)
class ClusterInputs:
    coordinates: np.ndarray  # the reduced space
    vectors: np.ndarray | None = (
        None  # raw vectors of the same points (estimators whose input_space is "raw")
    )
    sample_rows: np.ndarray | None = None  # from ReduceResult: fit on these rows, predict the rest


@dataclass(frozen=True)
class ClusterSettings:
    clusterer: Any  # cfg.clusterer
    scale: Any = None  # cfg.scale (its Dask settings, where the prediction runs there)


def run(inputs: ClusterInputs, settings: ClusterSettings, context: StageContext) -> ClusterResult:
    del context  # the clustering reads no cache and remembers nothing between jobs
    if inputs.sample_rows is not None:
        return fit_sample_and_predict(
            settings.clusterer, inputs.coordinates, inputs.sample_rows, settings.scale
        )
    estimator = instantiate(settings.clusterer)
    if input_space(estimator) == "raw":
        if inputs.vectors is None:
            raise ConfigError(
                f"{type(estimator).__name__} clusters the raw vectors, and none were given",
                fix="pass ClusterInputs(vectors=...), or choose a clusterer of the reduced space",
            )
        return fit_clusterer(estimator, inputs.vectors)
    return fit_clusterer(estimator, inputs.coordinates)
