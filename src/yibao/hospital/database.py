"""The hospital database's engine, its units of work and its migrations (the tables are yibao/hospital/db.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from yibao.sqlkit import make_engine, normalise_url


class HospitalDB:
    """The engine of the hospital's database and its units of work. The schema is made and migrated by Alembic
    (yibao/hospital/migrations, shipped in the package) with a version table of its own,
    `hospital_alembic_version`, so a hospital and the platform could even share one database: `upgrade()`."""

    MIGRATIONS = Path(__file__).resolve().parent / "migrations"
    VERSION_TABLE = "hospital_alembic_version"
    BASELINE = "0001"  # every table as the last release without migrations (git 3a51ce2) made them

    class SchemaError(RuntimeError):
        """A database that holds hospital tables without a version row, unlike the baseline: not stamped."""

    def __init__(self, url: str):
        url = normalise_url(url)
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False, autoflush=False)

    def alembic_config(self, connection: Any = None) -> Any:
        """The Alembic Config of this database; with `connection`, migrations run on it (env.py)."""
        cfg = Config()
        cfg.set_main_option("script_location", str(self.MIGRATIONS))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        if connection is not None:
            cfg.attributes["connection"] = connection
        return cfg

    def heads(self) -> tuple[str, ...]:
        """The newest revision(s) of the hospital's migrations."""
        return tuple(ScriptDirectory(str(self.MIGRATIONS)).get_heads())

    def current(self, connection: Any = None) -> tuple[str, ...]:
        """The revision(s) the database is at: () for a database never migrated (or made by `create_all`)."""
        if connection is None:
            with self.engine.connect() as conn:
                return self.current(conn)
        context = MigrationContext.configure(connection, opts={"version_table": self.VERSION_TABLE})
        return tuple(context.get_current_heads())

    def upgrade(self) -> str:
        """Bring the schema to the newest migration, in one transaction (the only way the schema is made);
        says what was done. A database at the newest revision is left alone (no Alembic run at all).

        A database made before migrations existed, by the last release without them (git 3a51ce2's
        `create_all`: the hospital's tables, no `hospital_alembic_version` row), is stamped at the baseline 0001
        (exactly that release's tables) and upgraded to the newest revision keeping every row: 0002 renames its
        payments' 2207 / 2208 columns and moves each settled or cancelled stay's and sale's settlement onto a
        payment of its own. It is stamped only after checking that every table of 0001 exists with exactly
        0001's columns: anything else (some tables missing, a column renamed since the database was made)
        raises HospitalDB.SchemaError and changes nothing, since no migration can know what such a database
        holds. Tables that are not the hospital's (the platform's, in a shared database) are ignored.

        On SQLite foreign keys are not enforced while migrating (batch mode rebuilds tables other tables refer
        to, which SQLite cannot do with them on inside a transaction); every reference is checked before the
        transaction commits instead (PRAGMA foreign_key_check): a dangling one rolls the whole upgrade back."""
        with self.engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:  # outside any transaction, where SQLite obeys it (make_engine turned them on)
                conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
            try:
                with conn.begin():
                    return self._upgrade(conn)
            finally:
                if sqlite:
                    conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]

    def _upgrade(self, conn: Any) -> str:
        if conn.dialect.name == "postgresql":  # two processes starting at once: one migrates, one waits
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('yibao.hospital:' || "
                              "coalesce(current_schema(), '')))"))
        heads = self.heads()
        before = self.current(conn)
        if set(before) == set(heads):
            return f"at {', '.join(heads)} already"
        cfg = self.alembic_config(conn)
        stamped = not before and self._legacy_tables(conn)
        if stamped:
            command.stamp(cfg, self.BASELINE)
        command.upgrade(cfg, "head")
        if conn.dialect.name == "sqlite":
            dangling = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
            if dangling:
                raise HospitalDB.SchemaError(f"the upgrade left {len(dangling)} dangling reference(s), e.g. "
                                             f"{tuple(dangling[0])}: rolled back, nothing was changed")
        after = ", ".join(self.current(conn))
        if stamped:
            return f"tables made before migrations, stamped at {self.BASELINE}; now at {after}"
        return f"upgraded from {', '.join(before) or 'nothing'} to {after}"

    def _legacy_tables(self, conn: Any) -> bool:
        """True if the unversioned database holds the baseline's tables as 0001 makes them (to be stamped);
        False if it holds none of them; HospitalDB.SchemaError otherwise."""
        baseline = self._baseline_columns()
        inspector = inspect(conn)
        present = set(inspector.get_table_names()) & set(baseline)
        if not present:
            return False
        problems = []
        for table in sorted(baseline):
            if table not in present:
                problems.append(f"table {table} missing")
                continue
            columns = {c["name"] for c in inspector.get_columns(table)}
            problems += [f"{table}.{c} missing" for c in sorted(baseline[table] - columns)]
            problems += [f"{table}.{c} unknown to {self.BASELINE}" for c in sorted(columns - baseline[table])]
        if problems:
            raise HospitalDB.SchemaError(
                f"the hospital's tables exist without a {self.VERSION_TABLE} row but differ from migration "
                f"{self.BASELINE}, so the database is not stamped (nothing was changed): " + "; ".join(problems))
        return True

    def _baseline_columns(self) -> dict[str, set[str]]:
        """Each table of migration 0001 and its column names, found by running 0001 on a scratch database."""
        scratch = create_engine("sqlite://")
        try:
            with scratch.begin() as conn:
                command.upgrade(self.alembic_config(conn), self.BASELINE)
                inspector = inspect(conn)
                return {t: {c["name"] for c in inspector.get_columns(t)}
                        for t in inspector.get_table_names() if t != self.VERSION_TABLE}
        finally:
            scratch.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction, committed whole or rolled back whole."""
        session = self._sessions()
        try:
            with session.begin():
                yield session
        finally:
            session.close()

    @cached_property
    def locks(self) -> Engine:
        """Connections that only hold advisory locks (PostgreSQL), each its own, outside the engine's pool: a step
        holding its lock while it waits for a connection to work with must not be what empties the pool."""
        return create_engine(self.url, poolclass=NullPool)

    def dispose(self) -> None:
        self.engine.dispose()
        if "locks" in self.__dict__:
            self.locks.dispose()
