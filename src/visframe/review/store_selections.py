"""Map selections in the review store: a drawn box or lasso outlives the app, so a link to it works
after a restart and for a colleague on the same store.

A selection is known by a content id (the first 16 hex digits of the SHA-256 of its sorted point
numbers, as uint32), per run. The numbers are stored as zlib-compressed differences: a selection of
a whole 1,000,000-post cluster of 25,000 points takes a few kilobytes.
"""

from __future__ import annotations

import hashlib
import re
import zlib

import numpy as np
from sqlalchemy import select

from visframe.review.store_schema import map_selections_table, utcnow

SELECTION_ID = re.compile(r"^[0-9a-f]{16}$")


def selection_id(points: np.ndarray) -> str:
    """The content id of a selection (its point numbers, sorted)."""
    return hashlib.sha256(np.asarray(points, dtype="<u4").tobytes()).hexdigest()[:16]


def _encode(points: np.ndarray) -> bytes:
    return zlib.compress(np.diff(points.astype(np.int64), prepend=0).astype("<u4").tobytes(), 6)


def _decode(blob: bytes) -> np.ndarray:
    return np.cumsum(np.frombuffer(zlib.decompress(blob), "<u4"), dtype=np.int64).astype(np.uint32)


class MapSelections:
    """Saved map selections (mixed into `ReviewStore`: needs engine, run_id, _write, _upsert)."""

    def save_selection(self, points: np.ndarray, n_points: int) -> str:
        """Store the sorted point numbers `points` of a map of `n_points` posts; returns the selection id."""
        points = np.unique(np.asarray(points, dtype=np.int64)).astype(np.uint32)
        sid = selection_id(points)
        values = {
            "run_id": self.run_id,
            "selection_id": sid,
            "points": _encode(points),
            "n_selected": len(points),
            "n_points": int(n_points),
            "created_at": utcnow(),
        }
        self._write(
            lambda conn: self._upsert(
                conn,
                map_selections_table,
                values,
                ["run_id", "selection_id"],
                ["points", "n_selected", "n_points"],
            )
        )
        return sid

    def selection(self, sid: str) -> tuple[np.ndarray, int] | None:
        """(point numbers, posts the map had) of a saved selection of this run, or None."""
        if not SELECTION_ID.fullmatch(sid or ""):
            return None
        with self.engine.connect() as conn:
            row = conn.execute(
                select(map_selections_table.c.points, map_selections_table.c.n_points).where(
                    map_selections_table.c.run_id == self.run_id, map_selections_table.c.selection_id == sid
                )
            ).first()
        return None if row is None else (_decode(row.points), int(row.n_points))
