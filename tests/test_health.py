"""/health and /ready of the platform (docs/operations.md): alive, and able to work."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from helpers import Platform
from sqlalchemy import text

from yibao.app import create_app
from yibao.store.db import Store


def test_health_answers_and_ready_names_every_check(platform: Platform) -> None:
    alive = platform.http.get("/health")
    assert alive.status_code == 200 and alive.json()["status"] == "ok"
    ready = platform.http.get("/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "migrations": "ok"}}


def test_a_schema_behind_the_migrations_is_not_ready(platform: Platform) -> None:
    with platform.store.engine.begin() as conn:
        current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        conn.execute(text("UPDATE alembic_version SET version_num = '0019'"))
    try:
        reply = platform.http.get("/ready")
    finally:  # the PostgreSQL schema is the session's: put its version back
        with platform.store.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": current})
    assert reply.status_code == 503 and reply.headers["content-type"] == "application/problem+json"
    body = reply.json()
    assert body["failed"] == ["migrations"] and body["status"] == 503
    assert body["checks"]["database"] == "ok" and "schema at 0019" in body["checks"]["migrations"]
    assert platform.http.get("/health").status_code == 200  # alive all the same


def test_a_database_that_does_not_answer_is_not_ready(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path}/no/such/dir/yibao.db")
    try:
        http = TestClient(create_app(store))
        reply = http.get("/ready")
        assert reply.status_code == 503
        assert set(reply.json()["failed"]) == {"database", "migrations"}
        assert http.get("/health").status_code == 200
    finally:
        store.dispose()


def test_the_outbox_worker_is_checked_where_it_runs(world: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """With YIBAO_BANK_URL set the process delivers the bank outbox; its thread ended is not ready."""
    monkeypatch.setenv("YIBAO_BANK_URL", "http://127.0.0.1:9")  # nothing listens: the worker keeps retrying
    with TestClient(create_app(world)) as http:
        ready = http.get("/ready")
        assert ready.status_code == 200 and ready.json()["checks"]["bank_outbox_worker"] == "ok", ready.json()
        http.app.state.bank_worker.stop()  # type: ignore[attr-defined]
        reply = http.get("/ready")
        assert reply.status_code == 503 and reply.json()["failed"] == ["bank_outbox_worker"]
