"""Engine and unit of work. `YIBAO_DATABASE_URL` chooses the database: an SQLite file by default,
PostgreSQL through psycopg 3."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from yibao.store.reference import ReferenceCache

DEFAULT_URL = "sqlite:///yibao.db"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def database_url() -> str:
    return normalise_url(os.environ.get("YIBAO_DATABASE_URL", "").strip() or DEFAULT_URL)


def normalise_url(url: str) -> str:
    """Plain postgresql:// URLs go through psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str | None = None) -> Engine:
    url = normalise_url(url or database_url())
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        _sqlite_immediate_transactions(engine)
        return engine
    return create_engine(url, pool_recycle=1800, pool_size=10, max_overflow=10)


def _sqlite_immediate_transactions(engine: Engine) -> None:
    """Every transaction takes SQLite's write lock at BEGIN, so two settlements never interleave."""

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
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None) -> None:
    """Bring the schema to the newest migration (the only way the schema is made)."""
    command.upgrade(alembic_config(url or database_url()), "head")


class Store:
    """The database a process works on, and the units of work it opens."""

    def __init__(self, url: str | None = None, engine: Engine | None = None):
        self.url = normalise_url(url or database_url())
        self.engine = engine or make_engine(self.url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        #: the reference data this process keeps while the database's reference version stays (reference.py)
        self.reference = ReferenceCache()

    @contextmanager
    def unit_of_work(self, durable: bool = True) -> Iterator[Session]:
        """One transaction: committed whole when the block ends, rolled back whole on any error.

        `durable=False` is for bookkeeping whose loss in a crash harms nothing (seen nonces, audit rows of
        refused messages): PostgreSQL then commits without waiting for the WAL flush.
        """
        session = self._sessions()
        session.info["reference_cache"] = self.reference
        try:
            with session.begin():
                if not durable and self.engine.dialect.name == "postgresql":
                    session.execute(text("SET LOCAL synchronous_commit TO OFF"))
                yield session
        finally:
            session.close()

    def stored_today(self, session: Session) -> date | None:
        return self.reference.today(session)

    def dispose(self) -> None:
        self.engine.dispose()
