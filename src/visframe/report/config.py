"""The report stage's settings: `conf/report/default.yaml` is their only source of defaults.

`resolve_report_config(cfg)` merges the caller's values over that YAML (an unknown key is an error
naming it), so the report runs with a partial config, e.g. from a notebook, and no default is
written twice. The zero-shot prompts live with the stage that uses them: conf/describe/.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from omegaconf import DictConfig

from visframe.describe.config import stage_config


def resolve_report_config(cfg: DictConfig | Mapping[str, Any] | None) -> DictConfig:
    """The report settings with defaults filled in from the YAML and interpolations (`${seed}`) resolved."""
    return stage_config("report", cfg)
