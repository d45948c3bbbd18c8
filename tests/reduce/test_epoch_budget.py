"""The epoch budget: epochs × points bounded at large n, the library's own epochs below."""

import numpy as np
import pytest
import umap
from omegaconf import OmegaConf

from visframe.errors import ConfigError
from visframe.reduce import reduce_cached
from visframe.reduce.epochs import apply_epoch_budget, budgeted_epochs

BUDGET = {"point_epochs": 4_000_000, "min_epochs": 80}  # conf/reducer/umap.yaml


def test_small_collections_keep_the_librarys_epochs():
    assert budgeted_epochs(None, 5_000, BUDGET) is None  # umap-learn decides (500)
    assert budgeted_epochs(None, 20_000, BUDGET) is None  # 4e6 / 20,000 = 200 = the library's
    assert budgeted_epochs(100, 20_000, BUDGET) == 100


def test_large_collections_get_fewer_epochs_never_below_the_floor():
    assert budgeted_epochs(None, 40_000, BUDGET) == 100
    assert budgeted_epochs(None, 100_000, BUDGET) == 80
    assert budgeted_epochs(None, 1_000_000, BUDGET) == 80
    assert budgeted_epochs(100, 40_000, {"point_epochs": 2_000_000, "min_epochs": 30}) == 50
    assert budgeted_epochs(None, 100_000, {"point_epochs": None}) is None  # switched off


def test_a_bad_budget_says_how_to_fix_it():
    with pytest.raises(ConfigError, match="point_epochs"):
        budgeted_epochs(None, 100_000, {"point_epochs": "lots", "min_epochs": 40})
    with pytest.raises(ConfigError, match="min_epochs"):
        budgeted_epochs(None, 100_000, {"point_epochs": 4_000_000, "min_epochs": 0})


def test_the_estimator_gets_the_budgeted_epochs():
    reducer = umap.UMAP(n_epochs=None)
    assert apply_epoch_budget(reducer, BUDGET, 200_000) == 80
    assert reducer.get_params()["n_epochs"] == 80


def test_reduce_cached_fits_with_the_budget(tmp_path, monkeypatch):
    seen = {}
    fit = umap.UMAP.fit_transform

    def spy(self, X, *args, **kwargs):
        seen["n_epochs"] = self.n_epochs
        return fit(self, X, *args, **kwargs)

    monkeypatch.setattr(umap.UMAP, "fit_transform", spy)
    vectors = np.random.default_rng(0).normal(size=(300, 16)).astype(np.float32)
    cfg = OmegaConf.create(
        {
            "_target_": "umap.UMAP",
            "n_neighbors": 10,
            "n_components": 2,
            "random_state": 1,
            "n_epochs": None,
            "epoch_budget": {"point_epochs": 3000, "min_epochs": 5},
        }
    )
    coordinates = reduce_cached(cfg, vectors, "budget-test", tmp_path).coordinates
    assert seen["n_epochs"] == 10 and coordinates.shape == (300, 2)


def test_the_shipped_config_keeps_the_measured_floor():
    """The floor was measured on real-encoder embeddings (benchmarks/study_epochs.py): fewer lost NMI."""
    from visframe import CONFIG_DIR

    budget = OmegaConf.load(f"{CONFIG_DIR}/reducer/umap.yaml").epoch_budget
    assert budgeted_epochs(None, 19_000, dict(budget)) is None  # the study's size: umap-learn's own
    assert budgeted_epochs(None, 100_000, dict(budget)) == 80
