"""Test fixtures. Every test that uses a database runs twice: on SQLite and on PostgreSQL.

PostgreSQL is the machine's server at 127.0.0.1:5432 (database `test`); each pytest worker gets a schema
of its own, migrated once and truncated before each test. With CI=true an unreachable PostgreSQL fails
the run instead of skipping its half.

The hospital service has a database of its own (yibao.hospital.db): `hospital_urls` hands a test as many fresh
hospital databases as it makes hospitals, of the kind the test's platform runs on (SQLite beside SQLite,
PostgreSQL beside PostgreSQL, so the count of runs stays two); a test without a platform names the kind with
`@pytest.mark.parametrize("hospital_kind", [...], indirect=True)`. On PostgreSQL they are schemas of the
worker, migrated once and truncated when handed out.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from yibao import wire
from yibao.app import create_app
from yibao.client import PlatformClient
from yibao.dataset.loader import load_file
from yibao.gateway.auth import signature
from yibao.hospital.database import HospitalDB
from yibao.hospital.db import Base as HospitalBase
from yibao.store.db import Store, upgrade
from yibao.store.models import Base

DATA = Path(__file__).parent / "data"
WORLD = DATA / "world.yaml"
# the key sealing personal data at rest (store/vault.py): one for the whole run, inherited by served processes
os.environ.setdefault("YIBAO_DATA_KEY", "y0lBnRjAtpdB1S2Y2hCFOjVSKazgdNGLKt1lGAPwRkE=")
PG_SERVER = os.environ.get("YIBAO_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
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
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
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


class Platform:
    """The platform app in-process, reached over HTTP semantics through Starlette's test client."""

    SECRETS = {"H44030000001": ("test-secret-sz", "440300"), "H44010000001": ("test-secret-gz", "440100")}

    def __init__(self, store: Store):
        self.store = store
        self.app = create_app(store)
        self.http = TestClient(self.app)
        self._clients: dict[tuple[str, str], PlatformClient] = {}

    def client(self, code: str = "H44030000001", opter: str = "op01", **kw: Any) -> PlatformClient:
        """One client per institution and operator, as a HIS has: its msgid sequence never repeats itself
        (fresh clients of one institution in the same second could draw the same 4-digit sequence)."""
        key = (code, opter)
        if kw or key not in self._clients:
            secret, area = self.SECRETS[code]
            client = PlatformClient("http://testserver", code, secret, area, opter=opter, http=self.http, **kw)
            if kw:
                return client
            self._clients[key] = client
        return self._clients[key]

    def post_raw(self, body: bytes | dict, code: str = "H44030000001", headers: dict | None = None,
                 path: str = "/fsi/api/rsfComIfsService/callService") -> tuple[int, dict]:
        raw = body if isinstance(body, bytes) else wire.encode(body)
        reply = self.http.post(path, content=raw, headers=headers or signed_headers(code, self.SECRETS[code][0]))
        return reply.status_code, wire.decode(reply.content)


def signed_headers(code: str, secret: str, ts: str | None = None, nonce: str | None = None) -> dict[str, str]:
    import time

    ts = ts or str(int(time.time()))
    nonce = nonce or uuid.uuid4().hex
    return {"Content-Type": "application/json", "x-tif-paasid": code, "x-tif-timestamp": ts,
            "x-tif-nonce": nonce, "x-tif-signature": signature(ts, secret, nonce)}


@pytest.fixture
def platform(world: Store) -> Platform:
    return Platform(world)


# -- the hospital's own databases ----------------------------------------------------------------------------------

class HospitalSchemas:
    """The worker's PostgreSQL schemas for hospital databases, made and migrated on first use, then reused."""

    def __init__(self, worker: str):
        self.prefix = f"yibao_hosp_{worker}_{uuid.uuid4().hex[:6]}"
        self.made: list[str] = []
        self.admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")

    def url(self, n: int) -> str:
        """The n-th schema of the worker, emptied."""
        while len(self.made) <= n:
            schema = f"{self.prefix}_{len(self.made)}"
            with self.admin.connect() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            db = HospitalDB(f"{PG_SERVER}?options=-csearch_path%3D{schema}")
            db.upgrade()
            db.dispose()
            self.made.append(schema)
        schema = self.made[n]
        tables = ", ".join(f'"{schema}"."{t.name}"' for t in HospitalBase.metadata.sorted_tables)
        with self.admin.connect() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        return f"{PG_SERVER}?options=-csearch_path%3D{schema}"

    def drop(self) -> None:
        with self.admin.connect() as conn:
            for schema in self.made:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        self.admin.dispose()


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


class HospitalURLs:
    """Fresh hospital databases for one test: `new(name)` gives the next one (a file, or an emptied schema)."""

    def __init__(self, kind: str, tmp: Path, schemas: HospitalSchemas | None):
        self.kind, self.tmp, self.schemas, self.count = kind, tmp, schemas, 0

    def new(self, name: str = "hospital") -> str:
        n, self.count = self.count, self.count + 1
        if self.schemas is None:
            return f"sqlite:///{self.tmp / f'{name}-{n}.db'}"
        return self.schemas.url(n)


@pytest.fixture
def hospital_urls(request: pytest.FixtureRequest, hospital_kind: str, tmp_path: Path) -> HospitalURLs:
    schemas = request.getfixturevalue("hospital_schemas") if hospital_kind == "postgresql" else None
    return HospitalURLs(hospital_kind, tmp_path, schemas)
