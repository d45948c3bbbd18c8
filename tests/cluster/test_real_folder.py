"""On a small real folder (Debian's tuxpaint-stamps-default: 6 classes × 20 stamps copied into tmp),
the default pipeline stages (ingest → EfficientNet-Lite0 → UMAP → the default clusterer) find more
than 2 clusters, the layers nest, and every noise image gets a real nearest cluster."""

import shutil
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from visframe import CONFIG_DIR
from visframe import contracts as C
from visframe.cluster import fit_clusterer
from visframe.cluster.layers import layers_nest

STAMPS = Path("/usr/share/tuxpaint/stamps")
CLASSES = ("animals", "food", "symbols", "town", "seasonal", "vehicles")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not STAMPS.is_dir(), reason="apt-get install tuxpaint-stamps-default"),
]


def test_default_clusterer_on_a_real_folder(tmp_path):
    from visframe.data import stage as data_stage
    from visframe.embed import embed_images
    from visframe.reduce import reduce_cached
    from visframe.stages import StageContext

    root = tmp_path / "stamps"
    for name in CLASSES:
        (root / name).mkdir(parents=True)
        for path in sorted((STAMPS / name).rglob("*.png"))[:20]:
            shutil.copy(path, root / name / f"{path.parent.name}-{path.name}")
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
        cfg = compose(
            "config",
            overrides=[
                "dataset=folder",
                f"dataset.root={root}",
                "dataset.label_from_dirs=true",
                "clusterer=auto_hdbscan",
                "show_progress=false",
            ],
        )
    cache = str(cfg.paths.cache_dir)
    clean = data_stage.run(data_stage.IngestInputs(), cfg.dataset, StageContext(cache)).clean.drop_duplicates(
        C.IMAGE_ID
    )
    embedding = embed_images(
        clean[C.IMAGE_ID].tolist(),
        clean[C.PATH].tolist(),
        instantiate(cfg.model),
        cfg.trainer,
        cache,
        show_progress=False,
    )
    reduced = reduce_cached(cfg.reducer, embedding.vectors, "tuxpaint-subset", cache).coordinates
    result = fit_clusterer(instantiate(cfg.clusterer), reduced)

    assert result.n_clusters > 2
    assert max(np.bincount(result.labels[result.labels >= 0])) / len(result.labels) <= 0.6
    assert len(result.layers) >= 2 and layers_nest(result.layers)
    noise = result.labels == C.NOISE
    assert set(result.nearest_cluster[noise].tolist()) <= set(result.labels[~noise].tolist())
    assert "selected_min_cluster_size" in result.metrics()
