"""The `visframe` command: one Hydra app composing dataset × model × reducer × clusterer.

    visframe                                   # synthetic corpus, EfficientNet-Lite0, UMAP, HDBSCAN
    visframe dataset=folder dataset.root=DIR   # your own folder
    visframe -m clusterer.min_cluster_size=20,40,80
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from visframe import CONFIG_DIR

log = logging.getLogger("visframe")


def _use_persistent_numba_cache(cache_dir: str) -> None:
    # umap-learn / pynndescent / fast_hdbscan compile numba code in every new process (10-35 s);
    # with a cache directory of ours the second process loads it from disk. Must be set before
    # numba is first imported, which happens lazily when the reducer is built.
    os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(cache_dir).expanduser() / "numba"))


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="config")
def main(cfg: DictConfig) -> float | None:
    from visframe.pipeline import PipelineError, run

    _use_persistent_numba_cache(str(cfg.paths.cache_dir))
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    from hydra.errors import InstantiationException

    from visframe.embed.encoders.base import MissingWeightsError

    try:
        result = run(cfg, run_dir)
    except PipelineError as error:
        log.error("%s", error)
        sys.exit(2)
    except InstantiationException as error:
        # Hydra wraps the encoder's own message; show the user just that (it says how to fix it).
        if isinstance(error.__cause__, MissingWeightsError):
            log.error("%s", error.__cause__)
            sys.exit(2)
        raise
    metrics = result.metrics
    summary = ", ".join(
        f"{name}={metrics[name]:.3f}"
        for name in ("n_clusters", "noise_fraction", "silhouette", "confident_fraction", "ari", "nmi")
        if metrics.get(name) is not None
    )
    log.info("Done: %s", summary)
    log.info("Results: %s", run_dir.resolve())
    if result.mlflow_run_id:
        log.info("MLflow run %s (browse with `make ui`)", result.mlflow_run_id)
    # The return value lets sweepers optimise a metric.
    objective = metrics.get("silhouette")
    return None if objective is None else float(objective)


if __name__ == "__main__":
    main()
