"""Metrics and structured logs of the platform (docs/operations.md), through its HTTP face in-process."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from helpers import WORLD, Platform, signed_headers
from outpatient_world import EMPLOYEE, EXAMPLE_A, SZ_HOSP, Hub, one_of
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from yibao import wire
from yibao.client import PlatformClient
from yibao.dataset.loader import load_file
from yibao.observe.logs import JsonFormatter
from yibao.store.db import Store, upgrade
from yibao.store.models import Settlement

ID18 = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


def scrape(http: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    reply = http.get("/metrics")
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(reply.text) for s in family.samples}


def value(samples: dict, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels` (0 when none)."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)


def growth(before: dict, after: dict, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """What the platform logs meanwhile, one JSON object a line."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_a_2207_counts_its_message_its_latency_and_its_settlement_after_commit(hub: Hub) -> None:
    hub.load()
    assert hub.http is not None
    his = hub.his(SZ_HOSP)
    visit = his.visit(hub.who(EMPLOYEE), EXAMPLE_A)
    before = scrape(hub.http)
    info = one_of(visit.settle("2207"))
    after = scrape(hub.http)

    def grew(name: str, **labels: str) -> float:
        return growth(before, after, name, **labels)

    assert grew("yibao_messages_total", infno="2207", infcode="0", outcome="ok") == 1
    assert grew("yibao_message_duration_seconds_count", infno="2207") == 1
    assert grew("yibao_message_duration_seconds_sum", infno="2207") > 0
    settled = {"kind": "outpatient", "med_type": "11", "insu_admdvs": "440300"}
    assert grew("yibao_settlements_total", status="settled", **settled) == 1
    for part in ("medfee_sumamt", "acct_pay"):
        assert D(str(grew("yibao_settlement_amount_yuan_total", status="settled", part=part, **settled))) == info[part]
    assert grew("yibao_http_requests_total", service="platform", route="/fsi/api/rsfComIfsService/callService",
                method="POST", status="200") >= 1
    # read at scrape time: the 2207's account debit waits in the bank outbox (no bank configured here)
    assert value(after, "yibao_bank_outbox_pending") >= 1
    assert value(after, "yibao_bank_outbox_oldest_pending_age_seconds") >= 0
    assert ("yibao_db_pool_checked_out", frozenset()) in after

    visit.cancel(info["setl_id"])  # 2208: its negative record counts as a reversal, in positive yuan
    undone = scrape(hub.http)
    assert growth(after, undone, "yibao_settlements_total", status="reversal", **settled) == 1
    assert D(str(growth(after, undone, "yibao_settlement_amount_yuan_total", status="reversal",
                        part="medfee_sumamt", **settled))) == info["medfee_sumamt"]


def test_a_refused_2207_counts_a_refusal_and_no_settlement(hub: Hub) -> None:
    hub.load()
    assert hub.http is not None
    his = hub.his(SZ_HOSP)
    visit = his.visit(hub.who(EMPLOYEE), EXAMPLE_A)
    his.client.sign_no()
    before = scrape(hub.http)
    his.refused("2207", visit.data_2207(medfee_sumamt="249.00"), "440300")
    after = scrape(hub.http)
    assert growth(before, after, "yibao_messages_total", infno="2207", infcode="-1", outcome="refused") == 1
    assert growth(before, after, "yibao_refusals_total", reason="rule") == 1  # the amounts rule of 2207
    assert growth(before, after, "yibao_settlements_total") == 0
    assert growth(before, after, "yibao_settlement_amount_yuan_total") == 0


def test_a_bad_signature_is_a_refusal_of_its_own_class(hub: Hub) -> None:
    hub.load()
    assert hub.http is not None
    before = scrape(hub.http)
    reply = hub.http.post("/fsi/api/rsfComIfsService/callService", content=b"{}",
                          headers=signed_headers(SZ_HOSP, "not-the-secret"))
    assert reply.json()["infcode"] == -1
    after = scrape(hub.http)
    assert growth(before, after, "yibao_refusals_total", reason="signature") == 1


def test_a_settlement_rolled_back_after_its_insert_counts_nothing(hub: Hub) -> None:
    """The count waits for the commit: a record flushed, then undone with its transaction, is not counted."""
    hub.load()
    assert hub.http is not None
    visit = hub.his(SZ_HOSP).visit(hub.who(EMPLOYEE), EXAMPLE_A)
    setl_id = one_of(visit.settle("2207"))["setl_id"]
    before = scrape(hub.http)
    with pytest.raises(RuntimeError), hub.store.unit_of_work() as s:
        row = s.scalars(select(Settlement).where(Settlement.setl_id == setl_id)).one()
        twin = Settlement(**{c.name: getattr(row, c.name) for c in Settlement.__table__.columns})
        twin.setl_id, twin.mdtrt_id, twin.status = "X" + setl_id[1:], "X" + row.mdtrt_id[1:], "reversal"
        s.add(twin)
        s.flush()
        raise RuntimeError("a later step of the same transaction failed")
    assert growth(before, scrape(hub.http), "yibao_settlements_total") == 0


def test_a_2207_logs_one_json_line_with_its_request_id_infno_msgid_and_duration(hub: Hub,
                                                                                 lines: io.StringIO) -> None:
    hub.load()
    assert hub.http is not None
    his = hub.his(SZ_HOSP)
    who = hub.who(EMPLOYEE)
    visit = his.visit(who, EXAMPLE_A)
    env = his.client.envelope("2207", visit.data_2207(), who["admdvs"], his.client.sign_no())
    lines.truncate(0)
    lines.seek(0)
    reply = hub.http.post("/fsi/api/rsfComIfsService/callService", content=wire.encode(env),
                          headers={**his.client.headers(), "x-request-id": "req-2207-a"})
    assert reply.status_code == 200 and wire.decode(reply.content)["infcode"] == 0
    assert reply.headers["x-request-id"] == "req-2207-a"
    logged: list[dict[str, Any]] = [json.loads(line) for line in lines.getvalue().splitlines() if line.strip()]
    assert all(not ID18.search(json.dumps(line, ensure_ascii=False)) for line in logged)
    assert who["certno"] in wire.encode(env).decode("utf-8")  # the message did carry an ID number
    message = next(line for line in logged if line["logger"] == "yibao.gateway" and line.get("infno") == "2207")
    assert message["request_id"] == "req-2207-a" and message["msgid"] == env["msgid"]
    assert message["fixmedins_code"] == SZ_HOSP and message["outcome"] == "ok" and message["infcode"] == 0
    assert message["duration_ms"] >= 0 and message["level"] == "info" and message["ts"]
    access = next(line for line in logged if line["logger"] == "yibao.access")
    assert access["infno"] == "2207" and access["status"] == 200 and access["request_id"] == "req-2207-a"
    assert "infno 2207" in access["msg"]


def test_a_request_without_an_id_gets_one_and_a_bad_one_is_replaced(hub: Hub) -> None:
    hub.load()
    assert hub.http is not None
    made = hub.http.get("/health").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    replaced = hub.http.get("/health", headers={"x-request-id": "a b\tc" * 30}).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", replaced)


# -- one real server: several workers, one sum ----------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_yibao_serve_with_two_workers_sums_their_metrics(tmp_path: Path) -> None:
    """`yibao serve --workers 2`: whichever worker answers the scrape, the counts are both workers' (the
    serve command's PROMETHEUS_MULTIPROC_DIR), and every line on stderr is one JSON object."""
    url = f"sqlite:///{tmp_path}/yibao.db"
    env = {**os.environ, "YIBAO_DATABASE_URL": url, "YIBAO_DEMO": "1"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    store = Store(url)
    try:
        upgrade(url)
        load_file(store, WORLD)
    finally:
        store.dispose()
    port, log = _free_port(), tmp_path / "serve.log"
    yibao = Path(sys.executable).with_name("yibao")
    with log.open("wb") as out:
        proc = subprocess.Popen([str(yibao), "serve", "--port", str(port), "--workers", "2", "--log-format", "json"],
                                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
            try:
                if httpx.get(base + "/ready", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        with httpx.Client(timeout=30) as http:
            secret, area = Platform.SECRETS["H44030000001"]
            client = PlatformClient(base, "H44030000001", secret, area, http=http)
            for _ in range(6):  # new connections: the kernel spreads them over both workers
                client.http = httpx.Client(timeout=30)
                assert client.call("1101", {"data": {"mdtrt_cert_type": "99", "mdtrt_cert_no": "x"}})["infcode"] == -1
                client.http.close()
            for _ in range(4):  # every scrape, whichever worker answers it, says 6
                samples = {(s.name, frozenset(s.labels.items())): s.value for family in
                           text_string_to_metric_families(httpx.get(base + "/metrics", timeout=30).text)
                           for s in family.samples}
                assert value(samples, "yibao_messages_total", infno="1101") == 6
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    lines = [line for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]
    assert any(p["logger"] == "yibao.access" and p.get("infno") == "1101" for p in parsed)
