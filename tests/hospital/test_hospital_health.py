"""/health, /ready and /metrics of the hospital service (docs/operations.md)."""

from __future__ import annotations

import json
import logging
from decimal import Decimal as D

from fastapi.testclient import TestClient
from hospital_world import EMPLOYEE, PERSONS, World, clinic_visit
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from yibao.hospital.api import create_hospital_app
from yibao.observe.logs import JsonFormatter


def scrape(http: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    reply = http.get("/metrics")
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(reply.text) for s in family.samples}


def growth(before: dict, after: dict, name: str, **labels: str) -> float:
    want = set(labels.items())
    return sum(v for (n, ls), v in after.items() if n == name and want <= ls) - \
        sum(v for (n, ls), v in before.items() if n == name and want <= ls)


def test_health_and_ready_while_serving_then_the_sweeper_gone(world: World) -> None:
    desk = world.hospital()
    app = create_hospital_app(desk.hospital)
    with TestClient(app) as http:  # serving: the lifespan starts the sweeper
        assert http.get("/health").json() == {"status": "ok"}
        ready = http.get("/ready")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready", "checks": {"database": "ok", "migrations": "ok", "sweeper": "ok"}}
    reply = TestClient(app).get("/ready")  # the app stopped: its sweeper with it
    assert reply.status_code == 503 and reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["failed"] == ["sweeper"] and "not running" in reply.json()["checks"]["sweeper"]


def test_a_schema_behind_the_migrations_is_not_ready(world: World) -> None:
    desk = world.hospital()
    db = desk.hospital.db
    with db.engine.begin() as conn:
        current = conn.execute(text(f"SELECT version_num FROM {db.VERSION_TABLE}")).scalar_one()
        conn.execute(text(f"UPDATE {db.VERSION_TABLE} SET version_num = '0001'"))
    try:
        reply = desk.http.get("/ready")
    finally:
        with db.engine.begin() as conn:
            conn.execute(text(f"UPDATE {db.VERSION_TABLE} SET version_num = :v"), {"v": current})
    assert reply.status_code == 503 and "migrations" in reply.json()["failed"]
    assert "schema at 0001" in reply.json()["checks"]["migrations"]


def test_metrics_count_the_channel_calls_and_the_messages_to_the_platform(world: World) -> None:
    desk = world.hospital()
    anon = TestClient(create_hospital_app(desk.hospital))  # /metrics wants no token: the scraper's
    before = scrape(anon)
    pid, _reg, clinic = clinic_visit(desk)
    paid = desk.pay(pid, [clinic], "card")
    assert paid["status"] == "paid" and D(paid["cash"]["amount"]) > 0
    after = scrape(anon)
    assert growth(before, after, "yibao_hospital_channel_calls_total", channel="card", call="pay", result="PAID") == 1
    assert growth(before, after, "yibao_hospital_channel_call_duration_seconds_count", channel="card", call="pay") == 1
    assert growth(before, after, "yibao_hospital_platform_messages_total", infno="2207", infcode="0") == 1
    assert growth(before, after, "yibao_hospital_platform_message_duration_seconds_count", infno="2207") == 1
    assert growth(before, after, "yibao_http_requests_total", service="hospital", route="/payments", method="POST",
                  status="200") == 1
    assert ("yibao_hospital_db_pool_checked_out", frozenset()) in after or \
        not hasattr(desk.hospital.db.engine.pool, "checkedout")


def test_the_platform_logs_the_hospital_requests_id(world: World) -> None:
    """One id from the patient's request at the hospital to the messages it sends the platform."""
    desk = world.hospital()
    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(JsonFormatter().format(record))  # type: ignore[method-assign]
    gateway = logging.getLogger("yibao.gateway")
    gateway.addHandler(handler)
    level = gateway.level
    gateway.setLevel(logging.INFO)
    try:
        reply = desk.http.post("/patients/lookup", json={"mdtrt_cert_type": "02", "mdtrt_cert_no": PERSONS[EMPLOYEE]
                                                         ["certno"]}, headers={"x-request-id": "desk-lookup-1"})
    finally:
        gateway.removeHandler(handler)
        gateway.setLevel(level)
    assert reply.status_code == 200 and reply.headers["x-request-id"] == "desk-lookup-1"
    lines = [json.loads(line) for line in seen]  # formatted as they were logged: in the platform's request
    assert any(line.get("infno") == "1101" and line.get("request_id") == "desk-lookup-1" for line in lines), lines
