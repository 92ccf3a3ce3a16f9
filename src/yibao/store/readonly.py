"""A block of a unit of work on a connection that cannot write (docs/whatif.md): reading code that must never
change a stored row runs here, so a slip is refused by the database rather than committed.

PostgreSQL: a savepoint whose transaction is made READ ONLY; rolling the savepoint back ends the read-only mode,
so the unit of work goes on as before. SQLite: `PRAGMA query_only` on the connection, reset after (the connection
goes back to the pool)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session


@contextmanager
def read_only(session: Session) -> Iterator[Session]:
    """The session, unable to write for the block; whatever the block did is rolled back after it."""
    if session.connection().get_execution_options().get("yibao_read"):  # a reading unit of work: read only already
        yield session
        return
    session.flush()  # what the unit of work wrote before stays its own, out of the savepoint's rollback
    savepoint = session.begin_nested()
    conn = session.connection()
    sqlite = conn.dialect.name == "sqlite"
    conn.exec_driver_sql("PRAGMA query_only = ON" if sqlite else "SET TRANSACTION READ ONLY")
    try:
        yield session
    finally:
        if savepoint.is_active:
            savepoint.rollback()
        if sqlite:
            conn.exec_driver_sql("PRAGMA query_only = OFF")
