"""Database plumbing shared by every service of yibao, each over a database of its own: the platform
(`yibao.store`), the hospital (`yibao.hospital.db`), the simulated bank and payment providers.

Nothing here knows a table of any service, so a service imports it without loading another's models:

- `normalise_url` / `make_engine`: the engine a service works on. On SQLite every transaction takes the write
  lock at BEGIN (`BEGIN IMMEDIATE`, WAL, a 30 s busy timeout, foreign keys on), so two writers never interleave;
  PostgreSQL goes through psycopg 3.
- `engine_of`: the engine of a small simulated service, named by a file path or a URL, with no such discipline
  (each keeps its own lock around its ledger).
- `insert_or_ignore`: an INSERT that leaves an existing row alone, on either database (a row made on first use
  by whichever process comes first).
- `Money` and `ExactDecimal`: column types that keep money and ratios exact on every database.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, Engine, String, create_engine, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

from yibao.money import from_fen, to_decimal, to_fen


def normalise_url(url: str) -> str:
    """Plain postgresql:// URLs go through psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str) -> Engine:
    """The engine of a service's own database (SQLite: immediate transactions; PostgreSQL: a pool of 10 + 10)."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        sqlite_immediate_transactions(engine)
        return engine
    return create_engine(url, pool_recycle=1800, pool_size=10, max_overflow=10)


def sqlite_immediate_transactions(engine: Engine) -> None:
    """Every transaction takes SQLite's write lock at BEGIN, so two settlements never interleave; a reading one
    (execution option `yibao_read`) takes it only if it writes, which its unit of work forbids."""

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # let us issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn):  # type: ignore[no-untyped-def]
        # a reading unit of work (Store.unit_of_work(read=True)) must not hold the one write lock while it reads
        # (a long what-if would make every settlement wait), and cannot write: query_only, kept per connection
        read = bool(conn.get_execution_options().get("yibao_read"))
        if conn.info.get("query_only", False) != read:
            conn.exec_driver_sql(f"PRAGMA query_only = {'ON' if read else 'OFF'}")
            conn.info["query_only"] = read
        conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")


def engine_of(db: str) -> Engine:
    """A simulated service's engine: `db` is a database URL, or a path to an SQLite file (its folder made)."""
    if "://" not in db:
        path = Path(db)
        path.parent.mkdir(parents=True, exist_ok=True)
        db = f"sqlite:///{path}"
    db = normalise_url(db)
    if db.startswith("sqlite"):
        return create_engine(db, connect_args={"timeout": 30, "check_same_thread": False})
    return create_engine(db, pool_pre_ping=True)


def insert_or_ignore(session: Session, model: Any, **values: Any) -> bool:
    """INSERT the row unless one with the same key exists (ON CONFLICT DO NOTHING), in the session's transaction;
    whether it was inserted. A concurrent transaction's uncommitted twin makes it wait for that one's end."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    key = getattr(model, "__table__", model).primary_key.columns
    # RETURNING, not rowcount: psycopg's rowcount is -1 here
    return session.execute(insert(model).values(**values).on_conflict_do_nothing().returning(*key)).first() is not None


class Money(TypeDecorator[Decimal]):
    """Two-place yuan amounts stored as integer fen: exact sums in SQL on SQLite and PostgreSQL alike."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: object) -> int | None:
        return None if value is None else to_fen(to_decimal(value))

    def process_result_value(self, value: int | None, dialect: object) -> Decimal | None:
        return None if value is None else from_fen(int(value))


class ExactDecimal(TypeDecorator[Decimal]):
    """Ratios and unit prices (more than two places), stored as their decimal text."""

    impl = String(32)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: object) -> str | None:
        return None if value is None else str(to_decimal(value))

    def process_result_value(self, value: str | None, dialect: object) -> Decimal | None:
        return None if value is None else Decimal(value)
