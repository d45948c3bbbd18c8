"""The shape every stage shares, and the list of stages in the order data flows.

Each stage package has a `stage.py` with one entry point:

    run(inputs: <Stage>Inputs, settings: <its config section or settings>, context: StageContext)
        -> <Stage>Result

- `inputs`: a frozen dataclass of what earlier stages made (a manifest, vectors, coordinates …);
- `settings`: the stage's own config section (`cfg.text`, `cfg.evaluation` …) or, where a stage
  reads several sections, a frozen dataclass of them;
- `context`: where and how the job runs: the cache folder, progress bars, the seed, and the
  process's `Session` (what it remembers between jobs);
- the result: a frozen dataclass. Stages return data and write no run-directory file: the pipeline
  writes every table through `visframe.run_dir.RunDir` (the report, whose output is files, writes
  under `report/` through the RunDir it is given).

`tests/test_stages.py` checks every stage listed here against this shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from visframe.session import Session

# The stage packages in the order data flows; a stage may import an earlier one, never a later one.
STAGES = (
    "visframe.data",
    "visframe.embed",
    "visframe.text",
    "visframe.reduce",
    "visframe.cluster",
    "visframe.messages",
    "visframe.evaluate",
    "visframe.describe",
    "visframe.report",
)


@dataclass(frozen=True)
class StageContext:
    """Where and how one job runs; the same for every stage of the job."""

    cache_dir: str | None = None  # None: $VISFRAME_CACHE_DIR or ~/.cache/visframe
    show_progress: bool = False
    seed: int = 0
    session: Session = field(default_factory=Session)


__all__ = ["STAGES", "StageContext"]
