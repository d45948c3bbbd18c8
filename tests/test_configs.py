"""Every option of every config group composes, and what it describes can be built (the check of
lightning-hydra-template's tests/test_configs.py, for visframe's groups).

The groups and their options are read from the config folder, so an option is tested the day its
file is added: it must compose with the main config (`<group>=<option>`, `+<group>=<option>` for a
group the main config does not list, as `visframe-tune` adds `+tune=default`), resolve, and every
`_target_` in its node must instantiate. The tables below say where something else is the right
outcome here, and why: weights only a hub has (hubs unreachable, caches empty: the encoder's
MissingWeightsError names the weights and the setting that provides them), extras that are not
installed (MissingExtraError with the pip line), a package outside the dependencies (its ConfigError
with the fix), mandatory `???` values a user must set, and a
function too costly to call (the corpus generator: its arguments are checked against its signature).

Cost, measured on the shared 2-core machine (load 6-11, so wall times are 2-4x the CPU): the file
alone takes 27 s of CPU, 17 s of it importing torch, torchvision, transformers, timm, umap and
fast_hdbscan, which the rest of the suite imports anyway; with those imported, 10 s. A compose costs
about 0.35 s of CPU, so the cases share 11 (one per round of options, `_round`); what they build is
constructed only (random or missing weights), nothing is fitted.
"""

from __future__ import annotations

import copy
import functools
import importlib
import inspect
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.types import RunMode
from hydra.utils import get_object, instantiate
from omegaconf import DictConfig, ListConfig, OmegaConf

from visframe import CONFIG_DIR
from visframe.embed.errors import MissingWeightsError
from visframe.errors import VisframeError
from visframe.reduce.reducer import VISFRAME_OPTIONS
from visframe.utils.extras import MissingExtraError

CONF = Path(CONFIG_DIR)
MAIN = "config"
EXPERIMENT = "experiment"

# Values a user must give (`???` in the option); the test gives these, and fails on a `???` not listed.
FILLS = {
    "dataset/folder": {"dataset.root": "/data/posts"},
    "model/hf": {"model.weights": "facebook/dinov2-small"},
    "model/onnx": {"model.path": "/models/encoder.onnx"},
    "model/timm": {"model.model_name": "resnet18"},
    "model/torchvision": {"model.model": "resnet18"},
}
# Encoders whose default weights come from a hub (Hugging Face, torch hub, timm) or a file a user has:
# offline with empty caches they stop at construction with MissingWeightsError naming the setting.
HUB_WEIGHTS = {
    "model/blip2", "model/clip_vit_b16", "model/clip_vit_b32", "model/clip_vit_l14", "model/hf",
    "model/onnx", "model/resnet50", "model/timm", "model/torchvision",
}
# Options that need a package outside visframe's dependencies and extras, and hub weights: offline,
# building them stops with the project's error and its fix (package missing, or model not cached).
FIX_IT_ERROR = {"text_encoder/sentence_transformers"}
# Options that need an extra (module, extra): without it, building the estimator names the pip line.
NEEDS_EXTRA = {"reducer/umap_gpu": ("cuml.manifold", "gpu"), "clusterer/evoc": ("evoc", "experimental")}
# Estimators that import their extra when fitted (scikit-learn style: __init__ only stores parameters).
FIT_NEEDS_EXTRA = {"clusterer/hdbscan_gpu": ("cuml.cluster.hdbscan", "gpu")}
# Keys the project pops before it instantiates a group's node (visframe's own blocks, not the estimator's).
OWN_OPTIONS = {"reducer": VISFRAME_OPTIONS, "map_reducer": VISFRAME_OPTIONS}
# Function targets not called here, by full key: their arguments are bound to the signature instead.
NOT_CALLED = {"dataset.generator": "generates an image corpus (seconds to minutes)"}


def _options(group: str) -> list[str]:
    return sorted(path.stem for path in (CONF / group).glob("*.yaml"))


GROUPS = sorted(path.name for path in CONF.iterdir() if path.is_dir() and path.name != EXPERIMENT)
CASES = [f"{group}/{option}" for group in GROUPS for option in _options(group)]
EXPERIMENTS = _options(EXPERIMENT)


@functools.cache
def _main_groups() -> frozenset[str]:
    """The groups config.yaml's defaults list selects (`optional experiment: null` included)."""
    names = set()
    for entry in OmegaConf.load(CONF / f"{MAIN}.yaml").defaults:
        if isinstance(entry, DictConfig):
            key = str(next(iter(entry.keys())))
            names.add(key.removeprefix("optional ").removeprefix("override ").strip())
    return frozenset(names)


def _override(group: str, option: str) -> str:
    return f"{group}={option}" if group in _main_groups() else f"+{group}={option}"


def _compose(overrides: list[str]) -> DictConfig:
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name=MAIN, overrides=overrides, return_hydra_config=True)


@functools.cache
def _round(index: int) -> DictConfig | Exception:
    """The main config with the index-th option of every group selected at once: one compose serves
    a case of each group (a compose costs about 0.35 s of CPU here, most of this test's own time).
    If the round does not compose, each of its cases composes alone, so the failure is the right one's."""
    overrides = [_override(group, _options(group)[index]) for group in GROUPS if index < len(_options(group))]
    try:
        return _compose(overrides)
    except Exception as error:  # noqa: BLE001 - each case of the round then composes alone to say whose
        return error


def _composed(group: str, option: str) -> DictConfig:
    """The main config with `option` of `group` selected (shared between cases: don't change it)."""
    cfg = _round(_options(group).index(option))
    return _compose([_override(group, option)]) if isinstance(cfg, Exception) else cfg


def _filled(cfg: DictConfig, values: dict[str, str]) -> DictConfig:
    if not values:
        return cfg
    cfg = copy.deepcopy(cfg)
    for key, value in values.items():
        OmegaConf.update(cfg, key, value)
    return cfg


def _without_hydra(cfg: DictConfig) -> DictConfig:
    """The job's config (what `visframe` gets): hydra's node resolves only inside a running app."""
    return OmegaConf.masked_copy(cfg, [str(k) for k in cfg if k != "hydra"])


def _loaded_configs(overrides: list[str]) -> list[str]:
    """The config files Hydra's defaults list loads for these overrides (e.g. "experiment/scale")."""
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        defaults = loader.compute_defaults_list(MAIN, overrides, RunMode.RUN)
    return [str(default.config_path) for default in defaults.defaults]


def _target_keys(values, key: str):
    """The full key of every dict with a `_target_` in `values` (the group's node as a plain container,
    unresolved), outermost only: instantiate builds the nested ones with it."""
    if isinstance(values, dict):
        if "_target_" in values:
            yield key
            return
        for name, child in values.items():
            yield from _target_keys(child, f"{key}.{name}")
    elif isinstance(values, list):
        for index, child in enumerate(values):
            yield from _target_keys(child, f"{key}[{index}]")


def _group_keys(cfg: DictConfig, group: str) -> list[str]:
    """The top-level keys of the group's node: for `hydra`, only those visframe's option sets (the
    rest of cfg.hydra is Hydra's own: launcher, sweeper, logging)."""
    if group != "hydra":
        return [group]
    own = OmegaConf.load(CONF / "hydra" / f"{cfg.hydra.runtime.choices.hydra}.yaml")
    return [f"hydra.{k}" for k in own]


def _unresolved(cfg: DictConfig, key: str):
    node = OmegaConf.select(cfg, key)
    return OmegaConf.to_container(node, resolve=False) if isinstance(node, (DictConfig, ListConfig)) else node


def _build(key: str, node: DictConfig, group: str):
    """Instantiate `node` as the project does (its own keys removed), and check that an estimator
    keeps every key as a parameter; a function in NOT_CALLED is only resolved and its arguments bound
    to its signature."""
    values = OmegaConf.to_container(node, resolve=True)
    if values["_target_"] is None:  # the documented off switch (text=none): nothing to build
        return None
    if key == group:
        for name in OWN_OPTIONS.get(group, ()):
            values.pop(name, None)
    if key in NOT_CALLED:
        target = get_object(values.pop("_target_"))
        assert callable(target), f"{key}._target_ is not callable"
        inspect.signature(target).bind_partial(**values)
        return target
    built = instantiate(values)
    if hasattr(built, "get_params"):
        # A scikit-learn estimator that takes **kwargs (hdbscan.HDBSCAN does) would swallow a misspelt key.
        ignored = set(values) - {"_target_"} - set(built.get_params(deep=False))
        assert not ignored, f"{key}: {type(built).__name__} ignores {sorted(ignored)}"
    return built


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


@pytest.fixture
def offline_hubs(tmp_path, monkeypatch):
    """No hub can be reached and every weights cache is empty (the state of the CI machines)."""
    from huggingface_hub import constants

    from visframe.embed.encoders import timm_models, weights

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    for module in (weights, timm_models):
        monkeypatch.setattr(module, "host_reachable", lambda url, timeout=3.0: False)


def _cause(error: BaseException) -> BaseException:
    """The project's error under Hydra's InstantiationException wrapper."""
    while not isinstance(error, VisframeError) and error.__cause__ is not None:
        error = error.__cause__
    return error


def _check_missing_weights(error: BaseException, case: str) -> None:
    assert isinstance(error, MissingWeightsError), f"{case}: {error!r}"
    assert "model.weights=" in str(error) or "model.path=" in str(error), f"{case}: names no setting: {error}"


def _check_fix_it_error(error: BaseException, case: str) -> None:
    assert isinstance(error, VisframeError) and error.fix, f"{case}: {error!r}"


def _check_missing_extra(error: BaseException, case: str, extra: str) -> None:
    assert isinstance(error, MissingExtraError), f"{case}: {error!r}"
    assert f"visframe[{extra}]" in error.fix and case.replace("/", "=") in str(error), error


def _expected_error(case: str):
    """How building `case` must fail here, as a check of the error; None when it must build."""
    if case in HUB_WEIGHTS:
        return _check_missing_weights
    if case in FIX_IT_ERROR:
        return _check_fix_it_error
    module, extra = NEEDS_EXTRA.get(case, (None, None))
    if module is not None and not _importable(module):
        return functools.partial(_check_missing_extra, extra=extra)
    return None


@pytest.mark.usefixtures("offline_hubs")
@pytest.mark.parametrize("case", CASES)
def test_every_option_composes_and_instantiates(case):
    group, option = case.split("/")
    cfg = _composed(group, option)
    assert cfg.hydra.runtime.choices[group] == option
    if group != "hydra":  # Hydra's own node (hydra.job.num …) resolves only in a running app
        missing = OmegaConf.missing_keys(cfg[group])
        assert missing == set(FILLS.get(case, {})), f"{case}: the `???` values ({missing}) differ from FILLS"
        cfg = _filled(cfg, FILLS.get(case, {}))
        OmegaConf.to_container(cfg[group], resolve=True)
    keys = [key for top in _group_keys(cfg, group) for key in _target_keys(_unresolved(cfg, top), top)]
    special = case in HUB_WEIGHTS | FIX_IT_ERROR or case in NEEDS_EXTRA or case in FIT_NEEDS_EXTRA
    assert keys or not special, f"{case} has no _target_ left to check"
    check_error = _expected_error(case)
    built = {}
    for key in keys:
        if check_error is None:
            built[key] = _build(key, OmegaConf.select(cfg, key), group)
            continue
        with pytest.raises(Exception) as raised:
            _build(key, OmegaConf.select(cfg, key), group)
        check_error(_cause(raised.value), case)
    module, extra = FIT_NEEDS_EXTRA.get(case, (None, None))
    if module is not None and not _importable(module):
        with pytest.raises(MissingExtraError) as raised:
            built[group].fit(np.zeros((10, 2)))
        _check_missing_extra(raised.value, case, extra)


def test_the_tables_name_only_options_that_exist():
    """A renamed or deleted option must leave the tables too, or its special case hides a new one."""
    named = set(FILLS) | HUB_WEIGHTS | FIX_IT_ERROR | set(NEEDS_EXTRA) | set(FIT_NEEDS_EXTRA)
    assert named <= set(CASES), named - set(CASES)
    assert set(OWN_OPTIONS) <= set(GROUPS)


def test_with_cuml_present_umap_gpu_is_cumls_own_umap_with_the_configs_parameters(monkeypatch):
    """cuML cannot be installed here: a stand-in `cuml.manifold` shows what the config builds with it."""

    class StandInUMAP:
        def __init__(self, **params):
            self.params = params

    monkeypatch.setitem(sys.modules, "cuml.manifold", types.SimpleNamespace(UMAP=StandInUMAP))
    cfg = _composed("reducer", "umap_gpu")
    reducer = instantiate(cfg.reducer)
    assert isinstance(reducer, StandInUMAP)
    expected = OmegaConf.to_container(cfg.reducer, resolve=True)
    del expected["_target_"]
    assert reducer.params == expected


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_composes(name):
    """An experiment is selected as `experiment=<name>` (config.yaml: `optional experiment: null`)."""
    overrides = [f"{EXPERIMENT}={name}"]
    assert f"{EXPERIMENT}/{name}" in _loaded_configs(overrides)
    cfg = _compose(overrides)
    OmegaConf.to_container(_without_hydra(cfg), resolve=True)


def test_an_experiment_name_without_a_file_is_noticed():
    """Hydra ignores an optional group's missing file without a word, so composing alone would pass
    a misspelt experiment: the experiment test checks the file was loaded."""
    overrides = [f"{EXPERIMENT}=no_such_experiment"]
    _compose(overrides)  # no error from Hydra
    assert f"{EXPERIMENT}/no_such_experiment" not in _loaded_configs(overrides)
