"""Engine and unit of work. `YIBAO_DATABASE_URL` chooses the database, an SQLite file or PostgreSQL through
psycopg 3. It has no default: a command run in the wrong directory must not quietly make a new empty database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from yibao import sqlkit
from yibao.sqlkit import normalise_url
from yibao.store import metered
from yibao.store.reference import ReferenceCache

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class NoDatabase(RuntimeError):
    """YIBAO_DATABASE_URL is not set."""


def database_url() -> str:
    url = os.environ.get("YIBAO_DATABASE_URL", "").strip()
    if not url:
        raise NoDatabase("YIBAO_DATABASE_URL is not set: name the platform's database, e.g. "
                         "YIBAO_DATABASE_URL=sqlite:///var/yibao.db or postgresql://yibao@db:5432/yibao")
    return normalise_url(url)


def make_engine(url: str | None = None) -> Engine:
    """The platform's engine (`yibao.sqlkit.make_engine`: SQLite's immediate transactions, psycopg 3)."""
    return sqlkit.make_engine(url or database_url())


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def schema_problem(engine: Engine) -> str | None:
    """Why the database's schema is not the newest migration's (None when it is): for /ready."""
    heads = set(ScriptDirectory(str(MIGRATIONS)).get_heads())
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    if current != heads:
        return f"schema at {', '.join(sorted(current)) or 'no revision'}; the newest is {', '.join(sorted(heads))}"
    return None


def database_problem(engine: Engine) -> str | None:
    """Why the database does not answer (None when `SELECT 1` does): for /ready."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure to answer is the answer
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
    return None


def upgrade(url: str | None = None) -> None:
    """Bring the schema to the newest migration (the only way the schema is made)."""
    command.upgrade(alembic_config(url or database_url()), "head")


class Store:
    """The database a process works on, and the units of work it opens."""

    def __init__(self, url: str | None = None, engine: Engine | None = None):
        self.url = normalise_url(url or database_url())
        self.engine = engine or make_engine(self.url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        metered.meter(self._sessions)
        self._reading = self.engine.execution_options(yibao_read=True)
        #: the reference data this process keeps while the database's reference version stays (reference.py)
        self.reference = ReferenceCache()
        #: a node of a federation: its link to the other nodes (platform/remote.py); None alone (docs/federation.md)
        self.remote: object | None = None

    @contextmanager
    def unit_of_work(self, durable: bool = True, read: bool = False) -> Iterator[Session]:
        """One transaction: committed whole when the block ends, rolled back whole on any error.

        `durable=False` is for bookkeeping whose loss in a crash harms nothing (seen nonces, audit rows of
        refused messages): PostgreSQL then commits without waiting for the WAL flush.
        `read=True` is for long reading work (a what-if): the database refuses any write in it (PostgreSQL: a READ
        ONLY transaction; SQLite: `query_only`), its reads see one snapshot, and on SQLite it does not hold the
        write lock settlements wait for.
        """
        session = self._sessions(bind=self._reading) if read else self._sessions()
        session.info["reference_cache"] = self.reference
        session.info["remote"] = self.remote
        try:
            with session.begin():
                postgresql = self.engine.dialect.name == "postgresql"
                if read and postgresql:  # one snapshot for all its reads; SQLite's is set at BEGIN (sqlkit)
                    session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
                if not durable and postgresql:
                    session.execute(text("SET LOCAL synchronous_commit TO OFF"))
                yield session
        finally:
            session.close()

    def stored_today(self, session: Session) -> date | None:
        return self.reference.today(session)

    def dispose(self) -> None:
        self.engine.dispose()
