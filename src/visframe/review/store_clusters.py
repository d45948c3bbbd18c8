"""What coders change about clusters: a human name for a cluster, a human cluster for an image.

Neither overwrites the pipeline's output: the describe stage's automatic name stays in
clusters.parquet and the algorithm's `cluster` in assignments.parquet; exports carry both side by
side (contracts.NAME / contracts.HUMAN_NAME, contracts.CLUSTER / contracts.HUMAN_CLUSTER).
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from visframe import contracts as C
from visframe.review.store_schema import (
    StoreError,
    clean_cluster_name,
    clean_coder_name,
    cluster_names_table,
    human_clusters_table,
    utcnow,
)

# SQL integers are 64-bit: anything outside is refused before it reaches the database.
MAX_SQL_INT = 2**63 - 1


def checked_int(value: int, what: str) -> int:
    value = int(value)
    if not -MAX_SQL_INT <= value <= MAX_SQL_INT:
        raise StoreError(f"{what} {value} is out of range")
    return value


class ClusterEdits:
    """Cluster names and hand assignments (mixed into `ReviewStore`: needs engine, run_id, _write)."""

    def rename_cluster(self, cluster: int, name: str, coder: str) -> str:
        """Give `cluster` a human name (an empty name removes it); returns the stored name."""
        cluster, coder = checked_int(cluster, C.CLUSTER), clean_coder_name(coder)
        name = " ".join((name or "").split())
        where = (cluster_names_table.c.run_id == self.run_id) & (cluster_names_table.c.cluster == cluster)
        if not name:
            self._write(lambda conn: conn.execute(delete(cluster_names_table).where(where)))
            return ""
        name = clean_cluster_name(name)
        values = {
            "run_id": self.run_id,
            C.CLUSTER: cluster,
            "name": name,
            "coder": coder,
            "updated_at": utcnow(),
        }

        def work(conn: Connection) -> None:
            self._upsert(
                conn, cluster_names_table, values, ["run_id", C.CLUSTER], ["name", "coder", "updated_at"]
            )

        self._write(work)
        return name

    def cluster_names(self) -> dict[int, str]:
        """cluster -> the human name coders gave it."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(cluster_names_table.c.cluster, cluster_names_table.c.name).where(
                    cluster_names_table.c.run_id == self.run_id
                )
            ).all()
        return {int(r.cluster): r.name for r in rows}

    def assign_cluster(self, image_id: str, coder: str, cluster: int | None) -> None:
        """Record `coder`'s own cluster for `image_id` (None removes it); `cluster` itself never changes."""
        coder = clean_coder_name(coder)
        mine = (
            (human_clusters_table.c.run_id == self.run_id)
            & (human_clusters_table.c.image_id == image_id)
            & (human_clusters_table.c.coder == coder)
        )
        if cluster is None:
            self._write(lambda conn: conn.execute(delete(human_clusters_table).where(mine)))
            return
        values = {
            "run_id": self.run_id,
            C.IMAGE_ID: image_id,
            "coder": coder,
            C.CLUSTER: checked_int(cluster, C.CLUSTER),
            "updated_at": utcnow(),
        }

        def work(conn: Connection) -> None:
            self._upsert(
                conn, human_clusters_table, values, ["run_id", C.IMAGE_ID, "coder"], [C.CLUSTER, "updated_at"]
            )

        self._write(work)

    def human_clusters(self, coder: str | None = None) -> pd.DataFrame:
        """One row per hand assignment: image_id, coder, human_cluster (optionally one coder's only)."""
        query = select(
            human_clusters_table.c.image_id, human_clusters_table.c.coder, human_clusters_table.c.cluster
        ).where(human_clusters_table.c.run_id == self.run_id)
        if coder is not None:
            query = query.where(human_clusters_table.c.coder == coder)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(human_clusters_table.c.id)).all()
        frame = pd.DataFrame(rows, columns=[C.IMAGE_ID, C.CODER, C.HUMAN_CLUSTER])
        frame[C.HUMAN_CLUSTER] = frame[C.HUMAN_CLUSTER].astype("int64")
        return frame
