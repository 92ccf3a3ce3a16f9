"""Bank bookkeeping (docs/bank.md): settlements over the wire queue acct_021 / acct_023 instructions, the
outbox delivers them to the simulated bank once, with retries while the bank is down, and reconciliation
lists every difference between the platform's books and the bank's."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import yaml
from fastapi.testclient import TestClient
from helpers import WORLD, Platform
from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from yibao.app import create_app
from yibao.bank import adapter as bank_adapter
from yibao.bank.adapter import (
    CREDIT,
    DEBIT,
    BankAdapter,
    BankUnavailable,
    BookedInstruction,
    HttpBankAdapter,
    Instruction,
)
from yibao.bank.outbox import backoff, deliver_due
from yibao.bank.reconcile import (
    ACCOUNT_TOTAL,
    AMOUNT_MISMATCH,
    CODE_MISMATCH,
    MISSING_AT_BANK,
    PENDING,
    UNKNOWN_AT_PLATFORM,
    reconcile,
)
from yibao.bank.simulated import SimulatedBank, booked
from yibao.cli import app as cli_app
from yibao.client import PlatformClient
from yibao.dataset.loader import load_document
from yibao.platform import ledger
from yibao.store.db import Store
from yibao.store.models import BankInstruction

PSN = "44030000000000000001"  # employee of 440300: balance 500.00, 20.00 of the outpatient deductible used
CHILD = "44030000000000000002"  # his daughter, no account of her own, his mutual-aid beneficiary (quota 300.00)
CERT = {"mdtrt_cert_type": "02", "mdtrt_cert_no": "440301199001011234"}
D = Decimal
YIBAO = Path(sys.executable).parent / "yibao"

# -- helpers ---------------------------------------------------------------------------------------------


def settle(client: PlatformClient, suffix: str,
           items: tuple[tuple[str, str, str], ...] = (("EX-DRUG-A", "50.00", "2"), ("EX-DRUG-B", "120.00", "1")),
           psn_no: str = PSN, certno: str = CERT["mdtrt_cert_no"], insutype: str = "310") -> dict[str, Any]:
    """One outpatient visit through the wire as a HIS sends it: 2201, 2203, 2204, 2206, 2207 (account used)."""
    cert = {"mdtrt_cert_type": "02", "mdtrt_cert_no": certno}
    reg = client.ok("2201", {"data": {"psn_no": psn_no, "insutype": insutype, "begntime": "2026-03-16 09:00:00",
                                      **cert,
                                      "ipt_otp_no": f"OTP-{suffix}", "atddr_no": "DR01", "dr_name": "医生",
                                      "dept_code": "D01", "dept_name": "内科", "caty": "A03"}})
    mdtrt_id = reg["data"]["mdtrt_id"]
    client.ok("2203", {"mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": psn_no, "med_type": "11",
                                     "begntime": "2026-03-16 09:00:00", "main_cond_dscr": "", "dise_codg": "",
                                     "dise_name": ""},
                       "diseinfo": [{"diag_type": "1", "diag_srt_no": 1, "diag_code": "J06.900",
                                     "diag_name": "上呼吸道感染", "diag_dept": "内科", "dise_dor_no": "DR01",
                                     "dise_dor_name": "医生", "diag_time": "2026-03-16 09:10:00",
                                     "vali_flag": "1"}]})
    batch = f"B{suffix}"
    lines = [{"feedetl_sn": f"{batch}-{i}", "mdtrt_id": mdtrt_id, "psn_no": psn_no, "chrg_bchno": batch,
              "fee_ocur_time": "2026-03-16 09:30:00", "med_list_codg": code, "medins_list_codg": "H-" + code,
              "det_item_fee_sumamt": str(D(pric) * D(cnt)), "cnt": cnt, "pric": pric, "bilg_dept_codg": "D01",
              "bilg_dept_name": "内科", "bilg_dr_codg": "DR01", "bilg_dr_name": "医生", "hosp_appr_flag": "0"}
             for i, (code, pric, cnt) in enumerate(items, 1)]
    rows = client.ok("2204", {"feedetail": lines})["result"]
    sums = {k: sum((r[k] for r in rows), D("0.00")) for k in
            ("det_item_fee_sumamt", "fulamt_ownpay_amt", "overlmt_amt", "preselfpay_amt", "inscp_scp_amt")}
    data = {"psn_no": psn_no, **cert, "med_type": "11", "medfee_sumamt": str(sums["det_item_fee_sumamt"]),
            "psn_setlway": "01", "mdtrt_id": mdtrt_id, "chrg_bchno": batch, "acct_used_flag": "1",
            "insutype": insutype}
    client.ok("2206", {"data": data})
    data.update({"invono": "", "fulamt_ownpay_amt": str(sums["fulamt_ownpay_amt"]),
                 "overlmt_selfpay": str(sums["overlmt_amt"]), "preselfpay_amt": str(sums["preselfpay_amt"]),
                 "inscp_scp_amt": str(sums["inscp_scp_amt"])})
    return client.ok("2207", {"data": data})["setlinfo"]


def outbox(store: Store) -> list[BankInstruction]:
    with store.unit_of_work() as s:
        return list(s.scalars(select(BankInstruction).order_by(BankInstruction.created_at, BankInstruction.code,
                                                               BankInstruction.instruction_id)))


def instruction_for(store: Store, setl_id: str) -> BankInstruction:
    (row,) = [r for r in outbox(store) if r.setl_id == setl_id]
    return row


@dataclass
class Bank:
    """The simulated bank in-process: its app, an HTTP client on it, and the platform's adapter to it."""

    sim: SimulatedBank
    http: TestClient
    adapter: HttpBankAdapter

    def mode(self, mode: str, delay_seconds: str = "0") -> None:
        reply = self.http.post("/admin/mode", json={"mode": mode, "delay_seconds": delay_seconds})
        assert reply.status_code == 200, reply.text
        assert self.http.get("/admin/mode").json()["mode"] == mode

    def rows(self) -> list[dict[str, Any]]:
        return self.sim.instructions()


@pytest.fixture
def bank(tmp_path: Path) -> Iterator[Bank]:
    sim = SimulatedBank(str(tmp_path / "bank" / "bank.db"))
    http = TestClient(sim.app)
    yield Bank(sim, http, HttpBankAdapter("http://bank.test", http=http))
    http.close()
    sim.dispose()


# -- queueing --------------------------------------------------------------------------------------------


def test_a_settlement_queues_exactly_one_debit_with_its_amount_account_and_setl_id(platform: Platform) -> None:
    s = settle(platform.client(), "A")
    assert (s["acct_pay"], s["acct_mulaid_pay"], s["balc"]) == (D("154.00"), D("0.00"), D("346.00"))
    assert [(r.code, r.psn_no, r.acct_admdvs, r.amount, r.setl_id, r.beneficiary_psn_no, r.status, r.attempts,
             r.delivered_at) for r in outbox(platform.store)] == [
        (DEBIT, PSN, "440300", D("154.00"), s["setl_id"], None, "pending", 0, None)]


def test_a_cancellation_queues_a_credit_of_the_amount_debited(platform: Platform, bank: Bank) -> None:
    client = platform.client()
    s = settle(client, "A")
    out = client.ok("2208", {"data": {"setl_id": s["setl_id"], "mdtrt_id": s["mdtrt_id"], "psn_no": PSN}})
    refund_setl_id = out["setlinfo"]["refd_setl_id"]
    assert [(r.code, r.psn_no, r.acct_admdvs, r.amount, r.setl_id, r.status) for r in outbox(platform.store)] == [
        (DEBIT, PSN, "440300", D("154.00"), s["setl_id"], "pending"),
        (CREDIT, PSN, "440300", D("154.00"), refund_setl_id, "pending")]

    report = deliver_due(platform.store, bank.adapter)
    assert len(report.delivered) == 2 and not report.failed
    account = bank.http.get(f"/accounts/{PSN}").json()
    assert [(m["code"], m["amount"], m["running"]) for m in account["movements"]] == [
        (DEBIT, "154.00", "-154.00"), (CREDIT, "154.00", "0.00")]
    assert (account["debits"], account["credits"], account["net"]) == ("154.00", "154.00", "0.00")
    assert reconcile(platform.store, bank.adapter) == []


def test_a_mutual_aid_movement_names_its_beneficiary_and_so_does_its_refund(store: Store, bank: Bank) -> None:
    doc = yaml.safe_load(WORLD.read_text(encoding="utf-8"))
    doc["regions"][0]["policies"].append({"insutype": "390", "med_types": ["11"], "bucket": "outpatient",
                                          "deductible": "0.00", "ratio": "0.50", "annual_cap": "1000.00",
                                          "acct_scope": "all"})
    load_document(store, doc)
    client = Platform(store).client()
    # the child has no account of her own: her father's account pays, by mutual aid
    s = settle(client, "K", (("EX-DRUG-A", "50.00", "2"),), psn_no=CHILD, certno="440301201506010026",
               insutype="390")
    assert (s["acct_pay"], s["acct_mulaid_pay"]) == (D("50.00"), D("50.00"))
    out = client.ok("2208", {"data": {"setl_id": s["setl_id"], "mdtrt_id": s["mdtrt_id"], "psn_no": CHILD}})
    assert [(r.code, r.psn_no, r.amount, r.setl_id, r.beneficiary_psn_no) for r in outbox(store)] == [
        (DEBIT, PSN, D("50.00"), s["setl_id"], CHILD),
        (CREDIT, PSN, D("50.00"), out["setlinfo"]["refd_setl_id"], CHILD)]
    assert len(deliver_due(store, bank.adapter).delivered) == 2
    assert [(b.code, b.psn_no, b.beneficiary_psn_no) for b in bank.adapter.ledger()] == [
        (DEBIT, PSN, CHILD), (CREDIT, PSN, CHILD)]
    assert reconcile(store, bank.adapter) == []


# -- delivery --------------------------------------------------------------------------------------------


def test_delivery_marks_the_instruction_delivered_and_the_bank_books_it_once(platform: Platform, bank: Bank) -> None:
    s = settle(platform.client(), "A")
    queued = instruction_for(platform.store, s["setl_id"])
    report = deliver_due(platform.store, bank.adapter)
    assert (report.delivered, report.duplicates, report.failed) == ([queued.instruction_id], [], [])

    row = instruction_for(platform.store, s["setl_id"])
    assert (row.status, row.attempts, row.last_error) == ("delivered", 1, None)
    assert row.delivered_at is not None
    assert bank.adapter.ledger() == [BookedInstruction(
        instruction_id=queued.instruction_id, code=DEBIT, psn_no=PSN, acct_admdvs="440300", amount=D("154.00"),
        setl_id=s["setl_id"], beneficiary_psn_no=None, booked_at=bank.rows()[0]["booked_at"])]
    assert bank.rows()[0]["deliveries"] == 1

    assert deliver_due(platform.store, bank.adapter).attempted == 0  # nothing left to deliver
    assert bank.http.get(f"/accounts/{PSN}").json()["net"] == "-154.00"


def test_while_the_bank_is_down_settlements_go_on_deliveries_back_off_and_nothing_is_lost(
        platform: Platform, bank: Bank) -> None:
    store = platform.store
    bank.mode("fail")
    client = platform.client()
    first, second = settle(client, "A"), settle(client, "B")  # the platform does not wait for the bank
    assert (first["acct_pay"], second["acct_pay"]) == (D("154.00"), D("106.00"))
    ids = sorted(r.instruction_id for r in outbox(store))
    assert len(ids) == 2

    t0 = datetime.now() + timedelta(seconds=1)
    one = deliver_due(store, bank.adapter, now=t0)
    assert one.stopped and len(one.failed) == 1 and not one.delivered  # the pass stops at the closed door
    two = deliver_due(store, bank.adapter, now=t0)
    assert two.stopped and len(two.failed) == 1
    assert {one.failed[0][0], two.failed[0][0]} == set(ids)
    for r in outbox(store):
        assert (r.status, r.attempts, r.next_attempt_at) == ("pending", 1, t0 + timedelta(seconds=1))
        assert "503" in (r.last_error or "")
    assert deliver_due(store, bank.adapter, now=t0).attempted == 0  # not due again before the backoff

    t1 = t0 + timedelta(seconds=1)
    deliver_due(store, bank.adapter, now=t1)
    deliver_due(store, bank.adapter, now=t1)
    assert [(r.attempts, r.next_attempt_at) for r in outbox(store)] == [(2, t1 + timedelta(seconds=2))] * 2
    bank.mode("ok")
    assert bank.rows() == []  # nothing was booked while the bank was failing

    assert deliver_due(store, bank.adapter, now=t1 + timedelta(seconds=1)).attempted == 0  # still backing off
    back = deliver_due(store, bank.adapter, now=t1 + timedelta(seconds=2))
    assert sorted(back.delivered) == ids and not back.failed
    assert [(r.status, r.attempts) for r in outbox(store)] == [("delivered", 3)] * 2
    assert sorted((r["instruction_id"], r["deliveries"]) for r in bank.rows()) == [(i, 1) for i in ids]

    # a re-delivery of an instruction already booked is acknowledged as a duplicate, not booked twice
    ack = bank.adapter.deliver(Instruction.of(instruction_for(store, first["setl_id"])))
    assert (ack.instruction_id, ack.status, ack.duplicate) == (instruction_for(store, first["setl_id"]).instruction_id,
                                                              "duplicate", True)
    assert len(bank.rows()) == 2
    assert bank.http.get(f"/accounts/{PSN}").json()["net"] == "-260.00"
    assert reconcile(store, bank.adapter) == []


def test_an_instruction_the_bank_refuses_stays_pending_and_the_pass_goes_on(platform: Platform, bank: Bank) -> None:
    store = platform.store
    client = platform.client()
    first, second = settle(client, "A"), settle(client, "B")
    refused = instruction_for(store, first["setl_id"])
    # the bank already holds this id with another amount: it will not book the real one under it
    bank.adapter.deliver(replace(Instruction.of(refused), amount=D("1.00")))

    report = deliver_due(store, bank.adapter)
    assert not report.stopped and [i for i, _ in report.failed] == [refused.instruction_id]
    assert "409" in report.failed[0][1]
    assert report.delivered == [instruction_for(store, second["setl_id"]).instruction_id]
    row = instruction_for(store, first["setl_id"])
    assert (row.status, row.attempts) == ("pending", 1)
    assert (row.last_error or "").startswith("BankRejected: HTTP 409")
    assert {(d.kind, d.subject) for d in reconcile(store, bank.adapter)} == {
        (PENDING, refused.instruction_id), (AMOUNT_MISMATCH, refused.instruction_id), (ACCOUNT_TOTAL, PSN)}


def test_backoff_doubles_from_one_second_up_to_five_minutes() -> None:
    assert [backoff(n).total_seconds() for n in range(1, 12)] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    assert backoff(10_000) == timedelta(seconds=300)


class Serving(uvicorn.Server):
    """A uvicorn server that says when it listens (`ready`), so that no one polls `started`."""

    def __init__(self, config: uvicorn.Config):
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.ready.set()


@pytest.fixture
def real_bank(bank: Bank) -> Iterator[str]:
    """The same simulated bank served over real HTTP by uvicorn in a thread, so that timeouts are real."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = Serving(uvicorn.Config(bank.sim.app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    assert server.ready.wait(10) and server.started
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    sock.close()


def test_an_instruction_whose_ack_was_lost_is_sent_again_and_booked_once(
        platform: Platform, bank: Bank, real_bank: str) -> None:
    store = platform.store
    adapter = HttpBankAdapter(real_bank, timeout=0.3)
    s = settle(platform.client(), "A")
    iid = instruction_for(store, s["setl_id"]).instruction_id
    bank.mode("delay", "1")  # books at once, answers after 1 s: the platform has given up by then

    lost = deliver_due(store, adapter)
    assert lost.stopped and lost.failed[0][0] == iid and "within 0.3 s" in lost.failed[0][1]
    assert [r["instruction_id"] for r in bank.rows()] == [iid]  # booked although the platform never heard so
    (diff,) = reconcile(store, bank.adapter)
    assert diff.kind == PENDING and diff.subject == iid and "ack was lost" in diff.detail

    bank.mode("ok")
    again = deliver_due(store, adapter, now=datetime.now() + timedelta(seconds=2))
    assert (again.delivered, again.duplicates) == ([], [iid])
    assert [(r["instruction_id"], r["deliveries"]) for r in bank.rows()] == [(iid, 2)]
    assert instruction_for(store, s["setl_id"]).status == "delivered"
    assert reconcile(store, HttpBankAdapter(real_bank)) == []


def test_an_unreachable_bank_is_unavailable() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nobody listens there
    adapter = HttpBankAdapter(f"http://127.0.0.1:{port}", timeout=2)
    with pytest.raises(BankUnavailable, match="unreachable"):
        adapter.deliver(Instruction("I1", DEBIT, PSN, "440300", D("1.00"), "S1"))
    with pytest.raises(BankUnavailable):
        adapter.ledger()


class CountingAdapter(BankAdapter):
    """Records every delivery it passes on, and takes a little time over each, so two workers overlap."""

    def __init__(self, inner: BankAdapter):
        self.inner, self.sent, self.lock = inner, [], threading.Lock()

    def deliver(self, instruction: Instruction):  # type: ignore[no-untyped-def]
        with self.lock:
            self.sent.append(instruction.instruction_id)
        time.sleep(0.005)
        return self.inner.deliver(instruction)

    def ledger(self) -> list[BookedInstruction]:
        return self.inner.ledger()


def test_two_workers_at_once_deliver_each_instruction_once(world: Store, bank: Bank) -> None:
    """Runs on both databases; on PostgreSQL the workers claim rows with FOR UPDATE SKIP LOCKED."""
    with world.unit_of_work() as s:
        account = ledger.lock_accounts(s, {PSN})[PSN]
        for i in range(40):
            ledger.move(s, account, D("-1.00"), kind="settlement", setl_id=f"440300TEST{i:06d}", now=datetime.now(),
                        beneficiary=PSN)
    queued = sorted(r.instruction_id for r in outbox(world))
    assert len(queued) == 40
    adapter = CountingAdapter(bank.adapter)
    start = threading.Barrier(2)
    reports: list[Any] = [None, None]

    def work(n: int) -> None:
        start.wait()
        reports[n] = deliver_due(world, adapter)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert all(r is not None and not r.failed for r in reports)
    assert all(r.delivered for r in reports), "both workers should have delivered some"
    assert sorted(adapter.sent) == queued  # each sent once: never claimed by both
    assert sorted(reports[0].delivered + reports[1].delivered) == queued
    assert sorted((r["instruction_id"], r["deliveries"]) for r in bank.rows()) == [(i, 1) for i in queued]
    assert {(r.status, r.attempts) for r in outbox(world)} == {("delivered", 1)}
    assert reconcile(world, bank.adapter) == []


# -- reconciliation --------------------------------------------------------------------------------------


def test_reconcile_lists_every_kind_of_difference(platform: Platform, bank: Bank) -> None:
    store = platform.store
    client = platform.client()
    settled = [settle(client, suffix) for suffix in "ABC"]
    assert deliver_due(store, bank.adapter).delivered
    assert reconcile(store, bank.adapter) == []

    i1, i2, i3 = (instruction_for(store, s["setl_id"]).instruction_id for s in settled)
    pending = settle(client, "D")  # queued, not delivered
    i4 = instruction_for(store, pending["setl_id"]).instruction_id
    with bank.sim.engine.begin() as conn:
        conn.execute(delete(booked).where(booked.c.instruction_id == i1))  # the bank lost it
        conn.execute(update(booked).where(booked.c.instruction_id == i2).values(amount="1.00"))
        conn.execute(update(booked).where(booked.c.instruction_id == i3).values(code=CREDIT))
    bank.adapter.deliver(Instruction("IFOREIGN0001", DEBIT, PSN, "440300", D("12.34"), "440300FOREIGN"))

    diffs = reconcile(store, bank.adapter)
    assert {(d.kind, d.subject) for d in diffs} == {
        (PENDING, i4), (MISSING_AT_BANK, i1), (AMOUNT_MISMATCH, i2), (CODE_MISMATCH, i3),
        (UNKNOWN_AT_PLATFORM, "IFOREIGN0001"), (ACCOUNT_TOTAL, PSN)}
    assert len(diffs) == 6
    by_kind = {d.kind: d for d in diffs}
    assert str(by_kind[AMOUNT_MISMATCH]) == f"amount_mismatch {i2}: platform 106.00, bank 1.00"
    assert str(by_kind[CODE_MISMATCH]) == f"code_mismatch {i3}: platform acct_021, bank acct_023"
    assert str(by_kind[PENDING]).startswith(f"pending {i4}: acct_021 106.00 account {PSN}/440300 setl ")
    assert str(by_kind[MISSING_AT_BANK]).endswith("the bank has no record")
    assert "acct_021 12.34" in str(by_kind[UNKNOWN_AT_PLATFORM])
    # platform: 154 + 106 + 106 + 106 debited; bank: 1.00 and 12.34 debited, 106.00 credited
    assert str(by_kind[ACCOUNT_TOTAL]) == (
        f"account_total {PSN}: net movement: platform -472.00, bank 92.66 (difference -564.66)")


# -- the command -----------------------------------------------------------------------------------------


def test_the_bank_commands_deliver_and_reconcile_with_exit_codes(
        platform: Platform, bank: Bank, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str | None] = []

    def in_process_bank(url: str | None = None) -> BankAdapter:
        asked.append(url)
        return bank.adapter

    monkeypatch.setenv("YIBAO_DATABASE_URL", database_url)
    monkeypatch.setenv("YIBAO_BANK_URL", "http://bank.example:8010")
    monkeypatch.setattr(bank_adapter, "make_adapter", in_process_bank)
    runner = CliRunner()
    client = platform.client()
    settle(client, "A")

    done = runner.invoke(cli_app, ["bank", "deliver"])
    assert (done.exit_code, done.stdout) == (0, "delivered 1, duplicates 0, failed 0\n"), done.output
    clean = runner.invoke(cli_app, ["bank", "reconcile"])
    assert (clean.exit_code, clean.stdout) == (0, "no difference\n"), clean.output

    s = settle(client, "B")
    dirty = runner.invoke(cli_app, ["bank", "reconcile", "--url", "http://other-bank:9000"])
    assert dirty.exit_code == 1, dirty.output
    lines = dirty.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"pending {instruction_for(platform.store, s['setl_id']).instruction_id}: acct_021")
    assert lines[1] == f"account_total {PSN}: net movement: platform -260.00, bank -154.00 (difference -106.00)"
    assert asked == ["http://bank.example:8010", "http://bank.example:8010", "http://other-bank:9000"]

    bank.mode("fail")
    failed = runner.invoke(cli_app, ["bank", "deliver"])
    assert failed.exit_code == 1 and "failed 1" in failed.stdout and "503" in failed.stderr
    unreadable = runner.invoke(cli_app, ["bank", "reconcile"])
    assert unreadable.exit_code == 2 and "cannot read the bank's ledger" in unreadable.stderr


def test_the_platform_delivers_in_the_background_when_a_bank_is_named(
        world: Store, bank: Bank, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YIBAO_BANK_URL", "http://bank.test")
    monkeypatch.setattr(bank_adapter, "make_adapter", lambda url=None: bank.adapter)
    app = create_app(world)
    with TestClient(app) as http:  # runs the lifespan: the delivery thread starts, and stops at the end
        worker = app.state.bank_worker
        assert worker is not None and worker.thread.is_alive()
        secret, area = Platform.SECRETS["H44030000001"]
        s = settle(PlatformClient("http://testserver", "H44030000001", secret, area, opter="op01", http=http), "A")
        assert worker.wait_delivered(1, timeout=15)  # woken by the pass that delivered it
        assert instruction_for(world, s["setl_id"]).status == "delivered"
    assert not worker.thread.is_alive()
    assert [r["setl_id"] for r in bank.rows()] == [s["setl_id"]]


def test_without_a_bank_named_the_platform_starts_no_delivery_thread(
        world: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YIBAO_BANK_URL", raising=False)
    app = create_app(world)
    with TestClient(app):
        assert app.state.bank_worker is None


# -- the simulated bank itself ---------------------------------------------------------------------------


def test_the_simulated_bank_refuses_malformed_and_conflicting_instructions(bank: Bank) -> None:
    good = {"instruction_id": "I1", "code": DEBIT, "psn_no": PSN, "acct_admdvs": "440300", "amount": "10.50",
            "setl_id": "S1", "beneficiary_psn_no": None}
    assert bank.http.post("/instructions", json=good).json() == {"ack": "I1", "status": "booked"}
    assert bank.http.post("/instructions", json=good).json() == {"ack": "I1", "status": "duplicate"}
    conflict = bank.http.post("/instructions", json={**good, "amount": "10.51"})
    assert conflict.status_code == 409 and "amount" in conflict.json()["detail"]
    for bad in ({"amount": 10.5}, {"amount": "10.505"}, {"amount": "0.00"}, {"amount": "-1.00"},
                {"code": "acct_099"}, {"acct_admdvs": "4403"}, {"instruction_id": ""}):
        reply = bank.http.post("/instructions", json={**good, "instruction_id": "I2", **bad})
        assert reply.status_code == 422, (bad, reply.text)
    assert bank.http.get("/ledger").json()["count"] == 1

    bank.mode("fail")
    assert bank.http.post("/instructions", json={**good, "instruction_id": "I3"}).status_code == 503
    assert bank.http.get("/ledger").status_code == 503
    bank.mode("ok")
    assert [r["instruction_id"] for r in bank.http.get("/ledger").json()["instructions"]] == ["I1"]
    assert bank.http.post("/admin/mode", json={"mode": "sideways"}).status_code == 422


def listens(proc: subprocess.Popen[bytes], log: Path) -> threading.Event:
    """Set when the process's output says uvicorn listens; its output is copied to `log` all along (a thread
    reads it as it comes, so the test blocks on the event instead of polling the port)."""
    up = threading.Event()

    def copy() -> None:
        assert proc.stdout is not None
        with log.open("wb") as out:
            for line in proc.stdout:
                out.write(line)
                out.flush()
                if b"Uvicorn running on" in line:
                    up.set()
        up.set()  # the process ended: the waiter sees it did not answer

    threading.Thread(target=copy, daemon=True).start()
    return up


def test_yibao_bank_serve_runs_the_simulated_bank_with_its_own_ledger_file(tmp_path: Path) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    db = tmp_path / "var" / "bank.db"
    log = tmp_path / "bank.log"
    proc = subprocess.Popen([str(YIBAO), "bank", "serve", "--port", str(port), "--db", str(db)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ})
    try:
        listening = listens(proc, log)
        assert listening.wait(30) and proc.poll() is None, \
            f"yibao bank serve did not listen:\n{log.read_text(errors='replace')}"
        adapter = HttpBankAdapter(f"http://127.0.0.1:{port}", timeout=2)
        ack = adapter.deliver(Instruction("I1", DEBIT, PSN, "440300", D("196.00"), "S1"))
        assert ack.status == "booked"
        assert [(b.instruction_id, b.amount) for b in adapter.ledger()] == [("I1", D("196.00"))]
        assert db.is_file()
    finally:
        proc.terminate()
        proc.wait(10)
