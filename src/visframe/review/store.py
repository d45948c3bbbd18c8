"""Where the codes live: a SQLAlchemy store, SQLite (WAL) by default, PostgreSQL by URL.

Tables (every row carries `run_id`, so one database can hold several runs):
- `codes`: the codebook (name + description), unique per run.
- `reviews`: one row per (run, image, coder) once the coder has coded the image — even with no
  code — holding the coder's memo and when it was first and last saved. This is what makes "coder A
  saw the image and applied nothing" different from "coder A never saw it" for agreement.
- `codings`: one row per (run, image, coder, code) with the UTC time it was applied.

Concurrency: unique constraints + upserts make a save idempotent; on SQLite each write transaction
starts with BEGIN IMMEDIATE (so two writers queue on the busy timeout instead of failing when a reader
upgrades), and a whole transaction is retried on "database is locked" / serialization failures.
Only portable SQL is used, plus the `ON CONFLICT` upserts that SQLite and PostgreSQL both have.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    func,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

log = logging.getLogger(__name__)

MAX_CODER_CHARS = 64
MAX_CODE_NAME_CHARS = 100
SQLITE_BUSY_TIMEOUT_MS = 30_000
_RETRIES = 12
T = TypeVar("T")

metadata = MetaData()

codes_table = Table(
    "codes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False, index=True),
    Column("name", String(MAX_CODE_NAME_CHARS), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("created_by", String(MAX_CODER_CHARS), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("run_id", "name", name="uq_codes_run_name"),
)

reviews_table = Table(
    "reviews",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False),
    Column("image_id", String(16), nullable=False),
    Column("coder", String(MAX_CODER_CHARS), nullable=False),
    Column("memo", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("run_id", "image_id", "coder", name="uq_reviews_run_image_coder"),
)

codings_table = Table(
    "codings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False),
    Column("image_id", String(16), nullable=False),
    Column("coder", String(MAX_CODER_CHARS), nullable=False),
    Column("code_id", Integer, ForeignKey("codes.id"), nullable=False),
    Column("coded_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("run_id", "image_id", "coder", "code_id", name="uq_codings_run_image_coder_code"),
)


class StoreError(ValueError):
    """Bad input to the store (an unknown code, an empty coder name...): shown to the user."""


@dataclass(frozen=True)
class Code:
    id: int
    name: str
    description: str


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes: they were written as UTC, so say so."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def clean_coder_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise StoreError("a coder name is needed (any short name your team recognises)")
    if len(name) > MAX_CODER_CHARS:
        raise StoreError(f"coder names are at most {MAX_CODER_CHARS} characters")
    if any(ord(ch) < 32 for ch in name):
        raise StoreError("coder names cannot contain control characters")
    return name


def clean_code_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise StoreError("a code needs a name")
    if len(name) > MAX_CODE_NAME_CHARS:
        raise StoreError(f"code names are at most {MAX_CODE_NAME_CHARS} characters")
    return name


def _is_retryable(error: DBAPIError) -> bool:
    text = str(error.orig).lower() if error.orig is not None else str(error).lower()
    if "database is locked" in text or "database is busy" in text or "database table is locked" in text:
        return True
    code = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    return code in ("40001", "40P01")  # PostgreSQL serialization failure / deadlock


def _configure_sqlite(engine: Engine) -> None:
    """WAL + busy timeout on every connection; BEGIN IMMEDIATE for write transactions."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy (not the sqlite3 module) emit BEGIN, so we choose its kind below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get("visframe_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def sqlite_url(path: str | Path) -> str:
    return f"sqlite:///{Path(path).expanduser().resolve()}"


class ReviewStore:
    """The codebook and the codes of one run, in any SQLAlchemy database."""

    def __init__(self, url: str, run_id: str, echo: bool = False):
        self.url = url
        self.run_id = run_id
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        self._writer = self.engine.execution_options(visframe_write=True)
        self.retries_used = 0  # how many transactions had to be retried (reported by the load test)
        metadata.create_all(self.engine)

    # -- plumbing -------------------------------------------------------------------------------
    def _write(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in one write transaction, retried whole when the database is busy."""
        delay = 0.01
        for attempt in range(_RETRIES):
            try:
                with self._writer.begin() as conn:
                    return work(conn)
            except (OperationalError, DBAPIError) as error:
                if not _is_retryable(error) or attempt == _RETRIES - 1:
                    raise
                self.retries_used += 1
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 1.0)
        raise AssertionError("unreachable")

    def _insert(self, table: Table):
        """An INSERT that can say ON CONFLICT on the dialects that have it."""
        name = self.engine.dialect.name
        if name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        elif name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            return None
        return insert(table)

    def dispose(self) -> None:
        self.engine.dispose()

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
        description = (description or "").strip()

        def work(conn: Connection) -> Code:
            now = utcnow()
            values = {
                "run_id": self.run_id, "name": name, "description": description, "created_by": coder,
                "created_at": now, "updated_at": now,
            }
            insert = self._insert(codes_table)
            if insert is not None:
                conn.execute(insert.values(**values).on_conflict_do_nothing(index_elements=["run_id", "name"]))
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
        name = clean_code_name(name)
        description = (description or "").strip()

        def work(conn: Connection) -> Code:
            clash = conn.execute(
                select(codes_table.c.id).where(
                    codes_table.c.run_id == self.run_id, codes_table.c.name == name, codes_table.c.id != code_id
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
    def save_coding(self, image_id: str, coder: str, code_ids: Iterable[int], memo: str = "") -> None:
        """Make `code_ids` exactly the codes `coder` gives `image_id`, with `memo`; idempotent."""
        coder = clean_coder_name(coder)
        wanted = sorted({int(c) for c in code_ids})
        memo = memo or ""

        def work(conn: Connection) -> None:
            now = utcnow()
            # Write first: the transaction holds the write lock from its first statement.
            review = {"run_id": self.run_id, "image_id": image_id, "coder": coder, "memo": memo,
                          "created_at": now, "updated_at": now}
            insert = self._insert(reviews_table)
            if insert is not None:
                stmt = insert.values(**review)
                conn.execute(stmt.on_conflict_do_update(
                    index_elements=["run_id", "image_id", "coder"],
                    set_={"memo": stmt.excluded.memo, "updated_at": stmt.excluded.updated_at},
                ))
            else:
                changed = conn.execute(
                    update(reviews_table).where(
                        reviews_table.c.run_id == self.run_id, reviews_table.c.image_id == image_id,
                        reviews_table.c.coder == coder,
                    ).values(memo=memo, updated_at=now)
                ).rowcount
                if not changed:
                    conn.execute(reviews_table.insert().values(**review))
            if wanted:
                known = set(conn.execute(
                    select(codes_table.c.id).where(
                        codes_table.c.run_id == self.run_id, codes_table.c.id.in_(wanted)
                    )
                ).scalars())
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
                rows = [{"run_id": self.run_id, "image_id": image_id, "coder": coder, "code_id": c, "coded_at": now}
                        for c in new]
                insert = self._insert(codings_table)
                if insert is not None:
                    conn.execute(insert.on_conflict_do_nothing(
                        index_elements=["run_id", "image_id", "coder", "code_id"]), rows)
                else:
                    conn.execute(codings_table.insert(), rows)

        self._write(work)

    def coding_for(self, image_id: str, coder: str) -> tuple[set[int], str, bool]:
        """(code ids, memo, has the coder saved this image) for one coder and image."""
        with self.engine.connect() as conn:
            review = conn.execute(
                select(reviews_table.c.memo).where(
                    reviews_table.c.run_id == self.run_id, reviews_table.c.image_id == image_id,
                    reviews_table.c.coder == coder,
                )
            ).first()
            ids = set(conn.execute(
                select(codings_table.c.code_id).where(
                    codings_table.c.run_id == self.run_id, codings_table.c.image_id == image_id,
                    codings_table.c.coder == coder,
                )
            ).scalars())
        return ids, (review.memo if review else ""), review is not None

    def codings_by_image(self, coder: str, image_ids: Iterable[str]) -> dict[str, tuple[set[int], str]]:
        """The coder's saved codes and memo for each of `image_ids` they have coded."""
        ids = list(image_ids)
        if not ids:
            return {}
        with self.engine.connect() as conn:
            reviews = conn.execute(
                select(reviews_table.c.image_id, reviews_table.c.memo).where(
                    reviews_table.c.run_id == self.run_id, reviews_table.c.coder == coder,
                    reviews_table.c.image_id.in_(ids),
                )
            ).all()
            codings = conn.execute(
                select(codings_table.c.image_id, codings_table.c.code_id).where(
                    codings_table.c.run_id == self.run_id, codings_table.c.coder == coder,
                    codings_table.c.image_id.in_(ids),
                )
            ).all()
        result: dict[str, tuple[set[int], str]] = {r.image_id: (set(), r.memo) for r in reviews}
        for row in codings:
            result.setdefault(row.image_id, (set(), ""))[0].add(row.code_id)
        return result

    def progress(self, image_ids: Iterable[str]) -> dict[str, int]:
        """coder -> how many of `image_ids` they have coded."""
        universe = set(image_ids)
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
            rows = conn.execute(
                select(reviews_table).where(reviews_table.c.run_id == self.run_id).order_by(reviews_table.c.id)
            ).mappings().all()
        frame = pd.DataFrame(rows, columns=[c.name for c in reviews_table.columns])
        for column in ("created_at", "updated_at"):
            frame[column] = pd.to_datetime([as_utc(v) for v in frame[column]], utc=True)
        return frame.drop(columns=["id"])

    def codings_frame(self) -> pd.DataFrame:
        """One row per applied code: run_id, image_id, coder, code_id, code, coded_at (UTC)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    codings_table.c.run_id, codings_table.c.image_id, codings_table.c.coder,
                    codings_table.c.code_id, codes_table.c.name.label("code"), codings_table.c.coded_at,
                )
                .join(codes_table, codes_table.c.id == codings_table.c.code_id)
                .where(codings_table.c.run_id == self.run_id)
                .order_by(codings_table.c.id)
            ).mappings().all()
        frame = pd.DataFrame(rows, columns=["run_id", "image_id", "coder", "code_id", "code", "coded_at"])
        frame["coded_at"] = pd.to_datetime([as_utc(v) for v in frame["coded_at"]], utc=True)
        return frame

    def count_codings(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(
                select(func.count()).select_from(codings_table).where(codings_table.c.run_id == self.run_id)
            ).scalar_one())
