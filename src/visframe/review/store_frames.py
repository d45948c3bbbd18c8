"""The store's tables as pandas frames (agreement, export) and per-coder progress."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from sqlalchemy import func, select

from visframe import contracts as C
from visframe.review.store_schema import as_utc, codes_table, codings_table, reviews_table


class StoreFrames:
    """Read-only views over the store (mixed into `ReviewStore`: needs `engine` and `run_id`)."""

    def progress(self, image_ids: Iterable[str]) -> dict[str, int]:
        """coder -> how many of `image_ids` they have coded (a set or pandas Index is used as it is)."""
        universe = image_ids if isinstance(image_ids, (set, frozenset, pd.Index)) else set(image_ids)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(reviews_table.c.coder, reviews_table.c.image_id).where(
                    reviews_table.c.run_id == self.run_id
                )
            ).all()
        counts: dict[str, int] = {}
        for row in rows:
            if row.image_id in universe:
                counts[row.coder] = counts.get(row.coder, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: kv[0].lower()))

    # -- tables for agreement and export --------------------------------------------------------
    def reviews_frame(self) -> pd.DataFrame:
        """One row per (image, coder) coded: run_id, image_id, coder, memo, created_at, updated_at."""
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    select(reviews_table)
                    .where(reviews_table.c.run_id == self.run_id)
                    .order_by(reviews_table.c.id)
                )
                .mappings()
                .all()
            )
        frame = pd.DataFrame(rows, columns=[c.name for c in reviews_table.columns])
        for column in ("created_at", "updated_at"):
            frame[column] = pd.to_datetime([as_utc(v) for v in frame[column]], utc=True)
        return frame.drop(columns=["id"])

    def codings_frame(self) -> pd.DataFrame:
        """One row per applied code: run_id, image_id, coder, code_id, code, coded_at (UTC)."""
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    select(
                        codings_table.c.run_id,
                        codings_table.c.image_id,
                        codings_table.c.coder,
                        codings_table.c.code_id,
                        codes_table.c.name.label("code"),
                        codings_table.c.coded_at,
                    )
                    .join(codes_table, codes_table.c.id == codings_table.c.code_id)
                    .where(codings_table.c.run_id == self.run_id)
                    .order_by(codings_table.c.id)
                )
                .mappings()
                .all()
            )
        frame = pd.DataFrame(rows, columns=["run_id", C.IMAGE_ID, "coder", "code_id", "code", "coded_at"])
        frame["coded_at"] = pd.to_datetime([as_utc(v) for v in frame["coded_at"]], utc=True)
        return frame

    def count_codings(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(codings_table)
                    .where(codings_table.c.run_id == self.run_id)
                ).scalar_one()
            )
