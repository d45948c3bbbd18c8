"""The report stage: everything a human reads about one run, under `<run>/report/`.

    inputs = ReportInputs(run_dir, manifest, assignments, metrics, warnings, run_info, notes)
    result = run(inputs, cfg.report, context)
    result.files     # what was written (report.html, plots, montages, tables, the sampling sheet)
    result.notes     # what was skipped and why (also on the page)

The report holds no model: it reads the describe stage's tables through the `RunDir` it is given
and renders them with the manifest and assignments it is handed. Its output is files, so it is the
one stage that writes: only under the run's `report/` folder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from visframe.report.build import ReportResult, build_report
from visframe.report.html import RunInfo
from visframe.run_dir import RunDir
from visframe.stages import StageContext


@dataclass(frozen=True)
class ReportInputs:
    run_dir: RunDir  # where describe's tables are read and report/ is written
    manifest: pd.DataFrame | None
    assignments: pd.DataFrame  # contracts.ASSIGNMENTS
    metrics: Mapping[str, float]
    warnings: Sequence[str] = ()
    run_info: RunInfo = field(default_factory=RunInfo)
    notes: Sequence[str] = ()  # what earlier stages skipped and why


def run(inputs: ReportInputs, settings: Any, context: StageContext) -> ReportResult:
    """Plots, montages, tables, the sampling sheet and report.html (`settings`: the `report` section)."""
    return build_report(
        inputs.run_dir,
        settings,
        manifest=inputs.manifest,
        assignments=inputs.assignments,
        metrics=dict(inputs.metrics),
        warnings=list(inputs.warnings),
        run_info=inputs.run_info,
        cache_dir=context.cache_dir,
        show_progress=context.show_progress,
        notes=list(inputs.notes),
    )


__all__ = ["ReportInputs", "ReportResult", "RunInfo", "run"]
