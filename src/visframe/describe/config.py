"""Stage settings with the package's YAML as the only source of defaults.

`stage_config("describe", cfg)` loads `conf/describe/default.yaml`, merges the caller's values over
it (an unknown key is an error naming it, so a typo never passes silently) and resolves
interpolations. A notebook can pass a partial dict, or nothing: the YAML fills in the rest. The report
uses the same helper for `conf/report/default.yaml`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError

from visframe import CONFIG_DIR
from visframe.errors import ConfigError

# Top-level keys a stage's YAML may interpolate (e.g. `seed: ${seed}`), with the value used when a
# caller passes no full config.
ROOT_DEFAULTS = {"seed": 0}


def default_config(group: str) -> DictConfig:
    """The group's `default.yaml`, unresolved."""
    return OmegaConf.load(Path(CONFIG_DIR) / group / "default.yaml")  # type: ignore[return-value]


def stage_config(group: str, cfg: DictConfig | Mapping[str, Any] | None) -> DictConfig:
    """The group's settings: its default YAML with `cfg` merged over it, interpolations resolved.

    A `DictConfig` node of the composed config (e.g. `cfg.report`) is resolved against its own root
    first, so `${seed}` finds the job's seed.
    """
    if cfg is None:
        user: dict[str, Any] = {}
    elif isinstance(cfg, DictConfig):
        user = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    else:
        user = dict(cfg)
    root = OmegaConf.create({**ROOT_DEFAULTS, group: default_config(group)})
    OmegaConf.set_struct(root, True)
    try:
        merged = OmegaConf.merge(root, {group: user})
    except ConfigKeyError as error:
        raise ConfigError(
            f"{group}: unknown setting ({error.msg.splitlines()[0]})",
            fix=f"check the spelling against src/visframe/conf/{group}/default.yaml",
        ) from error
    OmegaConf.resolve(merged)
    return merged[group]
