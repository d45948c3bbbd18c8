"""Where the codes live: `ReviewStore`, the codebook and the codes of one run in any SQLAlchemy database.

The tables are described in store_schema.py, the engine and its retried write transactions in
store_engine.py; the tables for agreement and export are read in store_frames.py, cluster names
and hand-made cluster assignments in store_clusters.py, the map's saved selections in store_selections.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from visframe import contracts as C
from visframe.review.store_clusters import ClusterEdits, checked_int
from visframe.review.store_engine import SQLITE_BUSY_TIMEOUT_MS, StoreEngine, sqlite_url
from visframe.review.store_frames import StoreFrames
from visframe.review.store_schema import (
    MAX_CODE_NAME_CHARS,
    MAX_CODER_CHARS,
    MAX_DESCRIPTION_CHARS,
    MAX_MEMO_CHARS,
    Code,
    StoreError,
    clean_code_name,
    clean_coder_name,
    codes_table,
    codings_table,
    reviews_table,
    utcnow,
)
from visframe.review.store_selections import MapSelections

__all__ = [
    "MAX_CODER_CHARS",
    "MAX_CODE_NAME_CHARS",
    "MAX_MEMO_CHARS",
    "SQLITE_BUSY_TIMEOUT_MS",
    "Code",
    "ReviewStore",
    "StoreError",
    "clean_code_name",
    "clean_coder_name",
    "sqlite_url",
]


def _clean_description(description: str | None) -> str:
    description = (description or "").strip()
    if len(description) > MAX_DESCRIPTION_CHARS:
        raise StoreError(f"code descriptions are at most {MAX_DESCRIPTION_CHARS:,} characters")
    return description


class ReviewStore(StoreFrames, ClusterEdits, MapSelections, StoreEngine):
    """The codebook and the codes of one run, in any SQLAlchemy database."""

    # -- codebook -------------------------------------------------------------------------------
    def codebook(self) -> list[Code]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(codes_table.c.id, codes_table.c.name, codes_table.c.description)
                .where(codes_table.c.run_id == self.run_id)
                .order_by(func.lower(codes_table.c.name), codes_table.c.id)
            ).all()
        return [Code(r.id, r.name, r.description) for r in rows]

    def add_code(self, name: str, description: str = "", coder: str = "") -> Code:
        """Add a code (or return the existing one of that name, description left unchanged)."""
        name = clean_code_name(name)
        description = _clean_description(description)

        def work(conn: Connection) -> Code:
            now = utcnow()
            values = {
                "run_id": self.run_id,
                "name": name,
                "description": description,
                "created_by": coder,
                "created_at": now,
                "updated_at": now,
            }
            insert = self._insert(codes_table)
            if insert is not None:
                conn.execute(
                    insert.values(**values).on_conflict_do_nothing(index_elements=["run_id", "name"])
                )
            else:
                try:
                    with conn.begin_nested():
                        conn.execute(codes_table.insert().values(**values))
                except IntegrityError:
                    pass
            row = conn.execute(
                select(codes_table.c.id, codes_table.c.name, codes_table.c.description).where(
                    codes_table.c.run_id == self.run_id, codes_table.c.name == name
                )
            ).one()
            return Code(row.id, row.name, row.description)

        return self._write(work)

    def edit_code(self, code_id: int, name: str, description: str) -> Code:
        code_id = checked_int(code_id, "code id")
        name = clean_code_name(name)
        description = _clean_description(description)

        def work(conn: Connection) -> Code:
            clash = conn.execute(
                select(codes_table.c.id).where(
                    codes_table.c.run_id == self.run_id,
                    codes_table.c.name == name,
                    codes_table.c.id != code_id,
                )
            ).first()
            if clash is not None:
                raise StoreError(f"another code is already called {name!r}")
            result = conn.execute(
                update(codes_table)
                .where(codes_table.c.id == code_id, codes_table.c.run_id == self.run_id)
                .values(name=name, description=description, updated_at=utcnow())
            )
            if result.rowcount == 0:
                raise StoreError(f"there is no code #{code_id} in this run's codebook")
            return Code(code_id, name, description)

        return self._write(work)

    # -- coding ---------------------------------------------------------------------------------
    def save_coding(
        self, image_id: str, coder: str, code_ids: Iterable[int], memo: str = "", at: datetime | None = None
    ) -> None:
        """Make `code_ids` exactly the codes `coder` gives `image_id`, with `memo`; idempotent.

        `at`: when the coding was made, if not now (an import from Label Studio keeps the annotation's
        time)."""
        coder = clean_coder_name(coder)
        wanted = sorted({checked_int(c, "code id") for c in code_ids})
        memo = memo or ""
        if len(memo) > MAX_MEMO_CHARS:
            raise StoreError(f"memos are at most {MAX_MEMO_CHARS:,} characters (this one has {len(memo):,})")

        def work(conn: Connection) -> None:
            now = at or utcnow()
            # Write first: the transaction holds the write lock from its first statement.
            review = {
                "run_id": self.run_id,
                C.IMAGE_ID: image_id,
                "coder": coder,
                "memo": memo,
                "created_at": now,
                "updated_at": now,
            }
            insert = self._insert(reviews_table)
            if insert is not None:
                stmt = insert.values(**review)
                conn.execute(
                    stmt.on_conflict_do_update(
                        index_elements=["run_id", C.IMAGE_ID, "coder"],
                        set_={"memo": stmt.excluded.memo, "updated_at": stmt.excluded.updated_at},
                    )
                )
            else:
                changed = conn.execute(
                    update(reviews_table)
                    .where(
                        reviews_table.c.run_id == self.run_id,
                        reviews_table.c.image_id == image_id,
                        reviews_table.c.coder == coder,
                    )
                    .values(memo=memo, updated_at=now)
                ).rowcount
                if not changed:
                    conn.execute(reviews_table.insert().values(**review))
            if wanted:
                known = set(
                    conn.execute(
                        select(codes_table.c.id).where(
                            codes_table.c.run_id == self.run_id, codes_table.c.id.in_(wanted)
                        )
                    ).scalars()
                )
                unknown = sorted(set(wanted) - known)
                if unknown:
                    raise StoreError(f"code id(s) {unknown} are not in this run's codebook")
            mine = (
                (codings_table.c.run_id == self.run_id)
                & (codings_table.c.image_id == image_id)
                & (codings_table.c.coder == coder)
            )
            conn.execute(delete(codings_table).where(mine & codings_table.c.code_id.not_in(wanted or [-1])))
            have = set(conn.execute(select(codings_table.c.code_id).where(mine)).scalars())
            new = [c for c in wanted if c not in have]
            if new:
                rows = [
                    {
                        "run_id": self.run_id,
                        C.IMAGE_ID: image_id,
                        "coder": coder,
                        "code_id": c,
                        "coded_at": now,
                    }
                    for c in new
                ]
                insert = self._insert(codings_table)
                if insert is not None:
                    conn.execute(
                        insert.on_conflict_do_nothing(
                            index_elements=["run_id", C.IMAGE_ID, "coder", "code_id"]
                        ),
                        rows,
                    )
                else:
                    conn.execute(codings_table.insert(), rows)

        self._write(work)

    def coding_for(self, image_id: str, coder: str) -> tuple[set[int], str, bool]:
        """(code ids, memo, has the coder saved this image) for one coder and image."""
        with self.engine.connect() as conn:
            review = conn.execute(
                select(reviews_table.c.memo).where(
                    reviews_table.c.run_id == self.run_id,
                    reviews_table.c.image_id == image_id,
                    reviews_table.c.coder == coder,
                )
            ).first()
            ids = set(
                conn.execute(
                    select(codings_table.c.code_id).where(
                        codings_table.c.run_id == self.run_id,
                        codings_table.c.image_id == image_id,
                        codings_table.c.coder == coder,
                    )
                ).scalars()
            )
        return ids, (review.memo if review else ""), review is not None

    def codings_by_image(self, coder: str, image_ids: Iterable[str]) -> dict[str, tuple[set[int], str]]:
        """The coder's saved codes and memo for each of `image_ids` they have coded."""
        ids = list(image_ids)
        if not ids:
            return {}
        with self.engine.connect() as conn:
            reviews = conn.execute(
                select(reviews_table.c.image_id, reviews_table.c.memo).where(
                    reviews_table.c.run_id == self.run_id,
                    reviews_table.c.coder == coder,
                    reviews_table.c.image_id.in_(ids),
                )
            ).all()
            codings = conn.execute(
                select(codings_table.c.image_id, codings_table.c.code_id).where(
                    codings_table.c.run_id == self.run_id,
                    codings_table.c.coder == coder,
                    codings_table.c.image_id.in_(ids),
                )
            ).all()
        result: dict[str, tuple[set[int], str]] = {r.image_id: (set(), r.memo) for r in reviews}
        for row in codings:
            result.setdefault(row.image_id, (set(), ""))[0].add(row.code_id)
        return result
