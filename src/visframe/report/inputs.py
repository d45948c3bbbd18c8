"""What the report reads from the run directory: the describe stage's tables (and the cluster tree).

A run made without the describe stage still gets a report: its clusters are called "cluster 3",
and a note says which tables were missing and how to make them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from visframe import contracts as C
from visframe.describe import terms as T
from visframe.describe.timeline import empty_timeline
from visframe.describe.zero_shot import PROMPT_SET_VERSION
from visframe.run_dir import RunDir


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


def read_described(run: RunDir) -> Described:
    """The describe tables of the run, restricted to the chosen layer (empty frames when absent)."""
    notes = []
    clusters = run.read_optional(C.CLUSTERS)
    if clusters is None:
        notes.append(
            f"no {C.CLUSTERS_FILE} in the run directory (the describe stage did not run): clusters "
            "have no names, top terms or medoids; run the pipeline with describe.enabled=true"
        )
        clusters = pd.DataFrame(columns=C.CLUSTERS.names)
    chosen = clusters[clusters[C.IS_CHOSEN_LAYER].astype(bool)] if len(clusters) else clusters
    layer = int(chosen[C.LAYER].iloc[0]) if len(chosen) else 0
    terms = run.read_optional(C.CLUSTER_TERMS)
    terms = T.empty_term_table() if terms is None else terms[terms[C.LAYER] == layer]
    timeline = run.read_optional(C.CLUSTER_TIMELINE)
    if timeline is None:
        timeline = empty_timeline()
    elif C.LAYER in timeline:
        timeline = timeline[timeline[C.LAYER] == layer]
    return Described(
        all_clusters=clusters,
        clusters=chosen.reset_index(drop=True),
        terms=terms.reset_index(drop=True),
        timeline=timeline.reset_index(drop=True),
        zero_shot=run.read_optional(C.ZERO_SHOT),
        tree=run.read_optional(C.CLUSTER_TREE),
        notes=notes,
    )
