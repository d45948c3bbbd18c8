"""The tiny job the end-to-end tests run: tiny random encoder, tiny synthetic corpus, small neighbourhoods."""

from __future__ import annotations

import os
from pathlib import Path

from hydra import compose, initialize_config_dir

from visframe import CONFIG_DIR

FAST = [
    "model=tiny_random",
    "dataset.preset=tiny",
    "reducer.n_neighbors=10",
    "map_reducer.n_neighbors=10",
    "clusterer.min_cluster_size=5",
    "show_progress=false",
    "trainer.num_workers=0",
    # Text stays off in the fast jobs whatever the default config says (OCR costs ~0.1 CPU-s per
    # image): tests that read text ask for it (tests/text/test_text_pipeline.py).
    "text=none",
]


def make_cfg(tmp_path: Path, overrides: list[str], fast: list[str] = FAST):
    """The composed config of a fast job whose MLflow store and caches live under the test's folders."""
    folder = any(o == "dataset=folder" for o in overrides)
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(
            "config",
            overrides=[
                f"paths.cache_dir={os.environ['VISFRAME_CACHE_DIR']}",
                f"tracking.store_dir={tmp_path / 'mlruns'}",
                *[o for o in fast if not (folder and o.startswith("dataset.preset"))],
                *overrides,
            ],
        )
