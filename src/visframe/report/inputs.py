"""What the report reads from the run directory: the describe stage's tables (and the cluster tree).

A run made without the describe stage still gets a report: its clusters are called "cluster 3",
and a note says which tables were missing and how to make them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from visframe import contracts as C
from visframe.describe import terms as T
from visframe.describe.timeline import empty_timeline
from visframe.describe.zero_shot import PROMPT_SET_VERSION, ZERO_SHOT_LABELS_FILE


@dataclass
class Described:
    """describe's output for the chosen layer (every layer in `all_clusters`)."""

    all_clusters: pd.DataFrame
    clusters: pd.DataFrame
    terms: pd.DataFrame
    timeline: pd.DataFrame
    zero_shot: pd.DataFrame | None
    tree: pd.DataFrame | None
    notes: list[str] = field(default_factory=list)

    @property
    def names(self) -> dict[int, str]:
        return dict(zip(self.clusters[C.CLUSTER].astype(int), self.clusters[C.NAME].astype(str)))

    @property
    def prompt_set_version(self) -> str | None:
        if self.zero_shot is None or PROMPT_SET_VERSION not in self.zero_shot or self.zero_shot.empty:
            return None
        return str(self.zero_shot[PROMPT_SET_VERSION].iloc[0])


def _read(path: Path) -> pd.DataFrame | None:
    return pd.read_parquet(path) if path.is_file() else None


def read_described(run_dir: Path) -> Described:
    """The describe tables of `run_dir`, restricted to the chosen layer (empty frames when absent)."""
    notes = []
    clusters = _read(run_dir / C.CLUSTERS_FILE)
    if clusters is None:
        notes.append(
            f"no {C.CLUSTERS_FILE} in the run directory (the describe stage did not run): clusters "
            "have no names, top terms or medoids; run visframe.describe.describe_run first"
        )
        clusters = pd.DataFrame(columns=C.CLUSTERS.names)
    chosen = clusters[clusters[C.IS_CHOSEN_LAYER].astype(bool)] if len(clusters) else clusters
    layer = int(chosen[C.LAYER].iloc[0]) if len(chosen) else 0
    terms = _read(run_dir / T.CLUSTER_TERMS_FILE)
    terms = T.empty_term_table() if terms is None else terms[terms[C.LAYER] == layer]
    timeline = _read(run_dir / C.CLUSTER_TIMELINE_FILE)
    if timeline is None:
        timeline = empty_timeline()
    elif C.LAYER in timeline:
        timeline = timeline[timeline[C.LAYER] == layer]
    return Described(
        all_clusters=clusters,
        clusters=chosen.reset_index(drop=True),
        terms=terms.reset_index(drop=True),
        timeline=timeline.reset_index(drop=True),
        zero_shot=_read(run_dir / ZERO_SHOT_LABELS_FILE),
        tree=_read(run_dir / C.CLUSTER_TREE_FILE),
        notes=notes,
    )
