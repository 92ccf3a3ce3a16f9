"""A PostgreSQL backup restores to the same books (docs/deployment.md, "Backups and restore"): settle over the
wire, deliver part of the bank outbox, `pg_dump` the platform's schema, restore it into a fresh database with
`psql`, then `yibao bank reconcile` and a settlement query (5203) answer the same on the copy as on the
original."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from helpers import PG_SERVER, WORLD, Platform
from sqlalchemy import create_engine, make_url, text
from test_bank import PSN, Bank, settle
from typer.testing import CliRunner

from yibao.bank import adapter as bank_adapter
from yibao.bank.outbox import deliver_due
from yibao.bank.simulated import SimulatedBank
from yibao.cli import app as cli_app
from yibao.dataset.loader import load_file
from yibao.store.db import Store, upgrade


def libpq(url: str) -> str:
    """The URL pg_dump and psql take (no SQLAlchemy driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def pg(request: pytest.FixtureRequest) -> Iterator[tuple[str, str, str]]:
    """(schema, the original's URL, a fresh empty database's URL), all dropped afterwards."""
    problem = request.config.pg_problem  # type: ignore[attr-defined]
    if problem:
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    tag = uuid.uuid4().hex[:8]
    schema, fresh = f"yibao_backup_{tag}", f"yibao_restore_{tag}"
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        conn.execute(text(f'CREATE DATABASE "{fresh}"'))
    try:
        yield schema, f"{PG_SERVER}?options=-csearch_path%3D{schema}", make_url(PG_SERVER).set(
            database=fresh).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)'))
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def reconcile_cli(url: str, bank: Bank, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    monkeypatch.setenv("YIBAO_DATABASE_URL", url)
    monkeypatch.setattr(bank_adapter, "make_adapter", lambda _url=None: bank.adapter)
    out = CliRunner().invoke(cli_app, ["bank", "reconcile"])
    return out.exit_code, out.stdout


def query(store: Store, setl: dict[str, str]) -> dict:
    """5203's output over the wire (the settlement, its funds and its details)."""
    return Platform(store).client().ok("5203", {"data": {"psn_no": PSN, "setl_id": setl["setl_id"],
                                                         "mdtrt_id": setl["mdtrt_id"]}})


def test_a_dump_restored_into_a_fresh_database_reconciles_and_answers_the_same(
        pg: tuple[str, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    schema, url, fresh = pg
    upgrade(url)
    original = Store(url)
    sim = SimulatedBank(str(tmp_path / "bank.db"))
    http = TestClient(sim.app)
    bank = Bank(sim, http, bank_adapter.HttpBankAdapter("http://bank.test", http=http))
    try:
        load_file(original, WORLD)
        client = Platform(original).client()
        first = settle(client, "A")
        assert deliver_due(original, bank.adapter).summary().startswith("delivered 1")
        second = settle(client, "B")  # queued, not delivered: reconcile reports it on both sides
        before = reconcile_cli(url, bank, monkeypatch)
        assert before[0] == 1 and before[1].startswith("pending "), before

        dump = tmp_path / "yibao.sql"
        subprocess.run(["pg_dump", "--schema", schema, "--no-owner", "--file", str(dump), libpq(PG_SERVER)],
                       check=True, capture_output=True, timeout=300)
        subprocess.run(["psql", "--quiet", "-v", "ON_ERROR_STOP=1", "--file", str(dump), libpq(fresh)],
                       check=True, capture_output=True, timeout=300)
        restored_url = f"{fresh}?options=-csearch_path%3D{schema}"
        restored = Store(restored_url)
        try:
            assert reconcile_cli(restored_url, bank, monkeypatch) == before
            for setl in (first, second):
                here, there = query(original, setl), query(restored, setl)
                assert here["setlinfo"]["setl_id"] == setl["setl_id"]
                assert there == here
        finally:
            restored.dispose()
    finally:
        http.close()
        sim.dispose()
        original.dispose()
