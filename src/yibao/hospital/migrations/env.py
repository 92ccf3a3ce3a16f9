"""Alembic environment of the hospital's own database (yibao.hospital.database.HospitalDB.upgrade): its own
MetaData and its own version table, so a hospital and the platform could even share one database. The caller
passes an open connection in `config.attributes["connection"]` (the hospital's engine, in one transaction),
else the URL of its Config is used."""

from alembic import context
from sqlalchemy import create_engine

from yibao.hospital.db import Base

VERSION_TABLE = "hospital_alembic_version"

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      version_table=VERSION_TABLE, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=connection, target_metadata=target_metadata, version_table=VERSION_TABLE,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
