"""Test fixtures. Every test that uses a database runs twice: on SQLite and on PostgreSQL.

PostgreSQL is the machine's server at 127.0.0.1:5432 (database `test`); each pytest worker gets a schema
of its own, migrated once and emptied before each test (helpers.empty_tables). With CI=true an unreachable
PostgreSQL fails the run instead of skipping its half.

The hospital service has a database of its own (yibao.hospital.db): `hospital_urls` hands a test as many fresh
hospital databases as it makes hospitals, of the kind the test's platform runs on (SQLite beside SQLite,
PostgreSQL beside PostgreSQL, so the count of runs stays two); a test without a platform names the kind with
`@pytest.mark.parametrize("hospital_kind", [...], indirect=True)`. On SQLite they are copies of a template
migrated once per worker; on PostgreSQL schemas of the worker, migrated once and emptied when handed out.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import PG_SERVER, WORLD, HospitalSchemas, HospitalURLs, Platform, empty_tables
from outpatient_world import Hub
from pharmacy_world import PHARMACY, PHARMACY_SECRET, pharmacy_inpatient_doc
from sqlalchemy import create_engine, text

from yibao.dataset.loader import load_document, load_file
from yibao.hospital.database import HospitalDB
from yibao.store.db import Store, upgrade
from yibao.store.models import Base

# the key sealing personal data at rest (store/vault.py): one for the whole run, inherited by served processes
os.environ.setdefault("YIBAO_DATA_KEY", "y0lBnRjAtpdB1S2Y2hCFOjVSKazgdNGLKt1lGAPwRkE=")
# the key the test federations' nodes seal their messages with (docs/federation.md)
os.environ.setdefault("YIBAO_FEDERATION_KEY", "eNRjd8SnI_Lf-DgjXzCFaFx0rMlBrF9NWkCR9vJ5FKY=")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

#: the adversarial suite's figures, summed and printed where pytest reports (tests/adversarial/report.py)
pytest_plugins = ["adversarial.report"]


def _pg_reachable() -> str | None:
    try:
        engine = create_engine(PG_SERVER)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return str(exc).splitlines()[0]


def pytest_sessionstart(session: pytest.Session) -> None:
    problem = _pg_reachable()
    session.config.pg_problem = problem  # type: ignore[attr-defined]
    if problem and IN_CI:
        pytest.exit(f"PostgreSQL at {PG_SERVER} is required in CI and is not reachable: {problem}", returncode=3)


@pytest.fixture(scope="session")
def worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_schema_url(request: pytest.FixtureRequest, worker: str) -> Iterator[str]:
    problem = request.config.pg_problem  # type: ignore[attr-defined]
    if problem:
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    schema = f"yibao_test_{worker}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_SERVER}?options=-csearch_path%3D{schema}"
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "yibao.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("pg_schema_url")
    engine = create_engine(url)
    with engine.begin() as conn:
        empty_tables(conn, Base.metadata.sorted_tables)
    engine.dispose()
    yield url


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    s = Store(database_url)
    yield s
    s.dispose()


@pytest.fixture
def world(store: Store) -> Store:
    """The store with tests/data/world.yaml loaded."""
    load_file(store, WORLD)
    return store


@pytest.fixture
def platform(world: Store) -> Platform:
    """The platform in-process over tests/data/world.yaml (helpers.Platform)."""
    return Platform(world)


@pytest.fixture
def hub(store: Store) -> Hub:
    """The platform in-process over the conformance dataset, loaded by `hub.load()` (outpatient_world.py)."""
    return Hub(store)


@pytest.fixture
def hospital_world(store: Store) -> Platform:
    """world.yaml with inpatient and pharmacy policies and a pharmacy (pharmacy_world.py)."""
    load_document(store, pharmacy_inpatient_doc())
    Platform.SECRETS = {**Platform.SECRETS, PHARMACY: (PHARMACY_SECRET, "440300")}
    return Platform(store)


# -- the hospital's own databases ----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def hospital_schemas(request: pytest.FixtureRequest, worker: str) -> Iterator[HospitalSchemas]:
    problem = request.config.pg_problem  # type: ignore[attr-defined]
    if problem:
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    schemas = HospitalSchemas(worker)
    yield schemas
    schemas.drop()


@pytest.fixture
def hospital_kind(request: pytest.FixtureRequest) -> str:
    """sqlite | postgresql: the kind the test's platform runs on, unless the test names one (indirect)."""
    if hasattr(request, "param"):
        return str(request.param)
    url = str(request.getfixturevalue("database_url"))
    return "postgresql" if url.startswith("postgresql") else "sqlite"


@pytest.fixture(scope="session")
def hospital_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A hospital database migrated once per worker; each hospital of a test starts from a copy (its migration
    is then a no-op, HospitalDB.upgrade)."""
    path = tmp_path_factory.mktemp("hospital-template") / "hospital.db"
    db = HospitalDB(f"sqlite:///{path}")
    db.upgrade()
    db.dispose()
    return path


@pytest.fixture
def hospital_urls(request: pytest.FixtureRequest, hospital_kind: str, tmp_path: Path) -> HospitalURLs:
    if hospital_kind == "postgresql":
        return HospitalURLs(hospital_kind, tmp_path, request.getfixturevalue("hospital_schemas"))
    return HospitalURLs(hospital_kind, tmp_path, None, request.getfixturevalue("hospital_sqlite_template"))


@pytest.fixture(scope="session")
def simulated_month(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One `yibao simulate` of March 2026 on the demo world (2 visits a day, seed 1), shared by the modules that
    read it (test_simulate.py, test_whatif.py; a worker runs it at most once): its output folder and what the
    command printed. Nothing may write to it."""
    from typer.testing import CliRunner

    from yibao.cli import app

    out = tmp_path_factory.mktemp("simulation")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("YIBAO_TODAY", raising=False)
        result = CliRunner().invoke(app, ["simulate", "--month", "2026-03", "--dataset",
                                          str(Path(__file__).resolve().parents[1] / "examples" / "demo.yaml"),
                                          "--out", str(out), "--visits", "2", "--seed", "1"])
    assert result.exit_code == 0, result.output
    return out, result.output
