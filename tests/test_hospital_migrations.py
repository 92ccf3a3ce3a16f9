"""The hospital's own database is made by its own Alembic migrations (src/yibao/hospital/migrations, version
table `hospital_alembic_version`), on SQLite and PostgreSQL, through `yibao hospital init` / `db upgrade`.

`test_migrations_match_the_models` is the test that fails when a model of yibao.hospital.db changes without a
migration: the migrated database is compared with Base.metadata by Alembic's autogenerate comparison."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from conftest import PG_SERVER
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from yibao.hospital import cli as hospital_cli
from yibao.hospital.db import Base, Department, HospitalDB, Patient
from yibao.store.db import normalise_url
from yibao.store.db import upgrade as platform_upgrade
from yibao.store.models import Base as PlatformBase

VERSION_TABLE = "hospital_alembic_version"
CREATED = datetime(2026, 3, 16, 9, 0)


@pytest.fixture
def pg_url(request: pytest.FixtureRequest, worker: str) -> Iterator[str]:
    """A PostgreSQL schema of this test alone (xdist-safe), dropped afterwards."""
    problem = request.config.pg_problem  # type: ignore[attr-defined]
    if problem:
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    schema = f"yibao_hosp_mig_{worker}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_SERVER}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind (nothing in it at all)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hospital.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """`yibao hospital ...` against a configuration file naming `url` (YIBAO_HOSPITAL_CONFIG)."""
    for name in ("DATABASE_URL", "FIXMEDINS_CODE", "SECRET", "ADMDVS"):
        monkeypatch.delenv(f"YIBAO_HOSPITAL_{name}", raising=False)
    runner = CliRunner()

    def run(url: str, *args: str) -> Any:
        file = tmp_path / "hospital.yaml"
        file.write_text(yaml.safe_dump({"database_url": url, "institution": {
            "fixmedins_code": "H44030000201", "secret": "s", "admdvs": "440300"}}), encoding="utf-8")
        monkeypatch.setenv("YIBAO_HOSPITAL_CONFIG", str(file))
        return runner.invoke(hospital_cli.hospital_app, list(args))

    return run


def differences(url: str, metadata: Any = Base.metadata) -> list[Any]:
    """What Alembic's autogenerate finds between the database and the models (types too)."""
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={
                "compare_type": True, "version_table": VERSION_TABLE,
                "include_name": lambda name, kind, _parent: kind != "table" or name in metadata.tables})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def tables(url: str) -> set[str]:
    engine = create_engine(normalise_url(url))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def versions(url: str, table: str = VERSION_TABLE) -> list[str]:
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as conn:
            return [row[0] for row in conn.execute(text(f"SELECT version_num FROM {table}"))]
    finally:
        engine.dispose()


def test_migrations_match_the_models(empty_url: str, cli: Any) -> None:
    """`yibao hospital init` on an empty database migrates it to the newest revision, whose schema is exactly
    Base.metadata: a model changed without a migration fails here."""
    result = cli(empty_url, "init")
    assert result.exit_code == 0, result.output
    assert "upgraded from nothing to 0001" in result.stdout
    assert differences(empty_url) == []
    assert tables(empty_url) == set(Base.metadata.tables) | {VERSION_TABLE}  # no `alembic_version` of its own
    assert versions(empty_url) == list(HospitalDB(empty_url).heads()) == ["0001"]
    current = cli(empty_url, "db", "current")
    assert current.exit_code == 0 and "at 0001; newest 0001 (up to date)" in current.stdout


def test_upgrading_twice_changes_nothing(empty_url: str, cli: Any) -> None:
    first = cli(empty_url, "db", "upgrade")
    assert first.exit_code == 0 and "upgraded from nothing to 0001" in first.stdout, first.output
    db = HospitalDB(empty_url)
    with db.session() as s:
        s.add(Department(code="D1", name="内科"))
    second = cli(empty_url, "db", "upgrade")
    assert second.exit_code == 0 and "at 0001 already" in second.stdout, second.output
    assert db.upgrade() == "at 0001 already"
    init = cli(empty_url, "init")
    assert init.exit_code == 0 and "(schema at 0001 already)" in init.stdout, init.output
    with db.session() as s:
        assert s.scalars(select(Department.code)).all() == ["D1"]
    db.dispose()
    assert versions(empty_url) == ["0001"] and differences(empty_url) == []


def _old_database(url: str) -> None:
    """A hospital database as the service made it before migrations: create_all, rows, no version table."""
    engine = create_engine(normalise_url(url))
    Base.metadata.create_all(engine)
    with Session(engine) as s, s.begin():
        s.add(Department(code="D1", name="内科"))
        s.add(Patient(name="张三", certno="440300199001010011", created_at=CREATED, updated_at=CREATED))
    engine.dispose()


def test_a_database_made_by_create_all_is_stamped_keeping_its_rows(empty_url: str, cli: Any) -> None:
    _old_database(empty_url)
    assert VERSION_TABLE not in tables(empty_url)
    result = cli(empty_url, "init")
    assert result.exit_code == 0, result.output
    assert "stamped at 0001" in result.stdout
    assert versions(empty_url) == ["0001"] and differences(empty_url) == []
    db = HospitalDB(empty_url)
    with db.session() as s:
        assert s.scalars(select(Patient.certno)).all() == ["440300199001010011"]
        assert s.scalars(select(Department.code)).all() == ["D1"]
    db.dispose()


def test_an_old_database_unlike_the_baseline_is_not_stamped(empty_url: str, cli: Any) -> None:
    """Tables made by an older create_all (a column since renamed): refused, nothing changed, rows kept."""
    _old_database(empty_url)
    engine = create_engine(normalise_url(empty_url))
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE payments RENAME COLUMN env_settle TO env_2207"))
    engine.dispose()
    result = cli(empty_url, "db", "upgrade")
    assert result.exit_code == 1
    assert "not stamped" in result.stderr and "payments.env_settle missing" in result.stderr
    assert "payments.env_2207 unknown to 0001" in result.stderr
    assert cli(empty_url, "init").exit_code == 1
    assert VERSION_TABLE not in tables(empty_url)
    db = HospitalDB(empty_url)
    with db.session() as s:
        assert s.scalars(select(Patient.certno)).all() == ["440300199001010011"]
    db.dispose()


def test_some_hospital_tables_missing_is_not_stamped(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'partial.db'}"
    engine = create_engine(url)
    Base.metadata.create_all(engine, tables=[Base.metadata.tables["departments"]])
    engine.dispose()
    db = HospitalDB(url)
    with pytest.raises(HospitalDB.SchemaError, match="table payments missing"):
        db.upgrade()
    assert db.current() == ()
    db.dispose()
    assert tables(url) == {"departments"}


def test_the_platform_and_a_hospital_can_share_one_database(tmp_path: Path) -> None:
    """Each keeps its own version table; neither sees the other's tables as its own."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    platform_upgrade(url)
    platform_versions = versions(url, "alembic_version")
    db = HospitalDB(url)
    assert db.upgrade() == "upgraded from nothing to 0001"  # the platform's tables are not taken for old ones
    db.dispose()
    platform_upgrade(url)
    assert versions(url, "alembic_version") == platform_versions and versions(url) == ["0001"]
    assert differences(url) == []
    assert differences(url, PlatformBase.metadata) == []


def test_downgrade_to_nothing_and_back(tmp_path: Path) -> None:
    """The Alembic configuration runs without a connection too (the URL alone), both ways."""
    url = f"sqlite:///{tmp_path / 'hospital.db'}"
    db = HospitalDB(url)
    db.upgrade()
    command.downgrade(db.alembic_config(), "base")
    assert tables(url) == {VERSION_TABLE} and db.current() == ()
    command.upgrade(db.alembic_config(), "head")
    assert db.current() == ("0001",) and differences(url) == []
    db.dispose()
