"""Fund transfers (fund_031, docs/bank.md): the monthly allocation and clearing queue them in the bank outbox;
they are delivered to the simulated bank once, booked with their payee, and reconciled by id, next to the
personal-account instructions and without disturbing their account totals."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, delete, inspect, select, text, update

from yibao.bank.adapter import (
    CODES,
    DEBIT,
    FUND_TRANSFER,
    BankRejected,
    BookedInstruction,
    HttpBankAdapter,
    Instruction,
)
from yibao.bank.outbox import deliver_due
from yibao.bank.reconcile import (
    ACCOUNT_TOTAL,
    MISSING_AT_BANK,
    PENDING,
    REFERENCE_MISMATCH,
    UNKNOWN_AT_PLATFORM,
    reconcile,
)
from yibao.bank.simulated import SimulatedBank, booked
from yibao.platform import ledger
from yibao.platform.allocation import transfer
from yibao.store.db import Store
from yibao.store.models import BankInstruction

D = Decimal
PSN = "44030000000000000001"  # employee of 440300 with a personal account (tests/data/world.yaml)
CENTRE = "CENTRE-440000"  # the provincial centre's cross-region account
FUND = "FUND-440300"  # Shenzhen's fund
HOSPITAL = "H44030000001"
DECL = "DH44030000001202603"


@dataclass
class Bank:
    """The simulated bank in-process (as in tests/test_bank.py): its app, a client on it, the adapter to it."""

    sim: SimulatedBank
    http: TestClient
    adapter: HttpBankAdapter

    def rows(self) -> list[dict[str, Any]]:
        return self.sim.instructions()


@pytest.fixture
def bank(tmp_path: Path) -> Iterator[Bank]:
    sim = SimulatedBank(str(tmp_path / "bank" / "bank.db"))
    http = TestClient(sim.app)
    yield Bank(sim, http, HttpBankAdapter("http://bank.test", http=http))
    http.close()
    sim.dispose()


def queue_transfer(store: Store, payer: str = CENTRE, payer_admdvs: str = "440000", payee: str = HOSPITAL,
                   amount: str = "1234.56", reference: str = DECL) -> str:
    with store.unit_of_work() as s:
        return transfer(s, payer, payer_admdvs, payee, D(amount), reference, datetime.now())


def outbox_row(store: Store, instruction_id: str) -> BankInstruction:
    with store.unit_of_work() as s:
        row = s.get(BankInstruction, instruction_id)
        assert row is not None
        return row


def debit_personal_account(store: Store, amount: str, setl_id: str) -> str:
    """A settlement's debit of PSN's account: a journal entry and its acct_021 instruction."""
    with store.unit_of_work() as s:
        account = ledger.lock_accounts(s, {PSN})[PSN]
        ledger.move(s, account, -D(amount), kind="settlement", setl_id=setl_id, now=datetime.now(), beneficiary=PSN)
    with store.unit_of_work() as s:
        return s.scalars(select(BankInstruction.instruction_id).where(BankInstruction.setl_id == setl_id)).one()


# -- the instruction -------------------------------------------------------------------------------------


def test_a_fund_transfer_carries_its_payee_and_is_a_debit_of_the_paying_account() -> None:
    assert FUND_TRANSFER == "fund_031" and FUND_TRANSFER in CODES
    ins = Instruction("F1", FUND_TRANSFER, CENTRE, "440000", D("10.00"), DECL, payee=HOSPITAL)
    assert ins.signed_amount == D("-10.00")
    assert ins.to_json() == {"instruction_id": "F1", "code": "fund_031", "psn_no": CENTRE, "acct_admdvs": "440000",
                             "amount": "10.00", "setl_id": DECL, "beneficiary_psn_no": None, "payee": HOSPITAL}
    back = BookedInstruction.from_json({**ins.to_json(), "booked_at": "2026-04-20 10:00:00"})
    assert (back.payee, back.amount, back.signed_amount) == (HOSPITAL, D("10.00"), D("-10.00"))
    # an account instruction has no payee, on the wire as in the bank's answer
    assert Instruction("I1", DEBIT, PSN, "440300", D("1.00"), "S1").to_json()["payee"] is None
    assert BookedInstruction.from_json({"instruction_id": "I1", "code": DEBIT, "psn_no": PSN, "acct_admdvs": "440300",
                                        "amount": "1.00", "setl_id": "S1"}).payee is None


# -- end to end ------------------------------------------------------------------------------------------


def test_a_fund_transfer_is_queued_delivered_once_booked_with_its_payee_and_reconciled(
        world: Store, bank: Bank) -> None:
    iid = queue_transfer(world)
    row = outbox_row(world, iid)
    assert (row.code, row.psn_no, row.acct_admdvs, row.amount, row.setl_id, row.payee, row.journal_id,
            row.beneficiary_psn_no, row.status) == (
        FUND_TRANSFER, CENTRE, "440000", D("1234.56"), DECL, HOSPITAL, None, None, "pending")
    assert Instruction.of(row).payee == HOSPITAL

    # before delivery: pending, and nothing else (no journal entry is expected, no account total is off)
    (diff,) = reconcile(world, bank.adapter)
    assert (diff.kind, diff.subject) == (PENDING, iid)
    assert diff.detail.startswith(f"fund_031 1234.56 account {CENTRE}/440000 setl {DECL} to {HOSPITAL}; attempts 0")

    report = deliver_due(world, bank.adapter)
    assert (report.delivered, report.duplicates, report.failed) == ([iid], [], [])
    assert outbox_row(world, iid).status == "delivered"
    assert [(r["instruction_id"], r["code"], r["psn_no"], r["acct_admdvs"], r["amount"], r["setl_id"], r["payee"],
             r["beneficiary_psn_no"], r["deliveries"]) for r in bank.rows()] == [
        (iid, FUND_TRANSFER, CENTRE, "440000", "1234.56", DECL, HOSPITAL, None, 1)]
    assert [(b.instruction_id, b.payee, b.signed_amount) for b in bank.adapter.ledger()] == [
        (iid, HOSPITAL, D("-1234.56"))]
    account = bank.http.get(f"/accounts/{CENTRE}").json()
    assert [(m["code"], m["amount"], m["running"], m["payee"]) for m in account["movements"]] == [
        (FUND_TRANSFER, "1234.56", "-1234.56", HOSPITAL)]
    assert (account["debits"], account["credits"], account["net"]) == ("1234.56", "0.00", "-1234.56")

    # a second delivery is acknowledged as a duplicate and books nothing; the outbox has nothing more due
    ack = bank.adapter.deliver(Instruction.of(outbox_row(world, iid)))
    assert (ack.instruction_id, ack.duplicate) == (iid, True)
    assert deliver_due(world, bank.adapter).attempted == 0
    assert [(r["instruction_id"], r["deliveries"]) for r in bank.rows()] == [(iid, 2)]
    assert bank.http.get(f"/accounts/{CENTRE}").json()["net"] == "-1234.56"
    assert reconcile(world, bank.adapter) == []


def test_fund_transfers_and_personal_account_movements_reconcile_side_by_side(world: Store, bank: Bank) -> None:
    debit = debit_personal_account(world, "154.00", "440300TEST000001")
    allocation = queue_transfer(world)
    clearing = queue_transfer(world, FUND, "440300", CENTRE, "500.00", "T440000260420100000123456")
    assert len(deliver_due(world, bank.adapter).delivered) == 3
    assert reconcile(world, bank.adapter) == []
    assert bank.http.get(f"/accounts/{FUND}").json()["net"] == "-500.00"
    assert bank.http.get(f"/accounts/{PSN}").json()["net"] == "-154.00"

    # the personal account's total still catches a difference of its own, and only its own
    with bank.sim.engine.begin() as conn:
        conn.execute(update(booked).where(booked.c.instruction_id == debit).values(amount="150.00"))
    assert {(d.kind, d.subject) for d in reconcile(world, bank.adapter)} == {
        ("amount_mismatch", debit), (ACCOUNT_TOTAL, PSN)}
    assert {r["instruction_id"] for r in bank.rows()} == {debit, allocation, clearing}


def test_a_payee_the_bank_booked_otherwise_is_a_reference_mismatch(world: Store, bank: Bank) -> None:
    iid = queue_transfer(world)
    deliver_due(world, bank.adapter)
    with bank.sim.engine.begin() as conn:
        conn.execute(update(booked).where(booked.c.instruction_id == iid).values(payee="H44030000002"))
    (diff,) = reconcile(world, bank.adapter)
    assert (diff.kind, diff.subject) == (REFERENCE_MISMATCH, iid)
    assert diff.detail == (f"platform setl {DECL} beneficiary - payee {HOSPITAL}, "
                           f"bank setl {DECL} beneficiary - payee H44030000002")


def test_a_fund_transfer_the_bank_lost_or_never_had_from_the_platform_is_reported(world: Store, bank: Bank) -> None:
    lost = queue_transfer(world)
    deliver_due(world, bank.adapter)
    with bank.sim.engine.begin() as conn:
        conn.execute(delete(booked).where(booked.c.instruction_id == lost))
    foreign = Instruction("FFOREIGN0001", FUND_TRANSFER, CENTRE, "440000", D("9.99"), "FOREIGN", payee=HOSPITAL)
    assert bank.adapter.deliver(foreign).status == "booked"
    diffs = reconcile(world, bank.adapter)
    assert {(d.kind, d.subject) for d in diffs} == {(MISSING_AT_BANK, lost), (UNKNOWN_AT_PLATFORM, "FFOREIGN0001")}
    assert f"to {HOSPITAL}: booked by the bank" in str([d for d in diffs if d.kind == UNKNOWN_AT_PLATFORM][0])


def test_the_same_transfer_id_with_another_payee_is_a_conflict(world: Store, bank: Bank) -> None:
    iid = queue_transfer(world)
    ins = Instruction.of(outbox_row(world, iid))
    bank.adapter.deliver(replace(ins, payee="H44030000002"))
    report = deliver_due(world, bank.adapter)
    assert [i for i, _ in report.failed] == [iid] and "409" in report.failed[0][1] and "payee" in report.failed[0][1]
    assert {(d.kind, d.subject) for d in reconcile(world, bank.adapter)} == {
        (PENDING, iid), (REFERENCE_MISMATCH, iid)}


# -- the simulated bank ----------------------------------------------------------------------------------


def test_the_simulated_bank_wants_a_payee_for_fund_transfers_and_only_for_them(bank: Bank) -> None:
    fund = {"instruction_id": "F1", "code": FUND_TRANSFER, "psn_no": CENTRE, "acct_admdvs": "440000",
            "amount": "10.00", "setl_id": DECL, "beneficiary_psn_no": None, "payee": HOSPITAL}
    personal = {"instruction_id": "I1", "code": DEBIT, "psn_no": PSN, "acct_admdvs": "440300", "amount": "1.00",
                "setl_id": "S1", "beneficiary_psn_no": None}
    for bad in ({**personal, "payee": HOSPITAL}, {**fund, "payee": None}, {**fund, "payee": ""},
                {k: v for k, v in fund.items() if k != "payee"}, {**fund, "payee": CENTRE},
                {**fund, "beneficiary_psn_no": PSN}, {**fund, "payee": "X" * 31}):
        reply = bank.http.post("/instructions", json=bad)
        assert reply.status_code == 422, (bad, reply.text)
    assert "payee is for fund_031 only" in bank.http.post("/instructions", json={**personal, "payee": HOSPITAL}).text
    with pytest.raises(BankRejected, match="422"):
        bank.adapter.deliver(Instruction("I1", DEBIT, PSN, "440300", D("1.00"), "S1", payee=HOSPITAL))
    assert bank.rows() == []

    assert bank.http.post("/instructions", json=fund).json() == {"ack": "F1", "status": "booked"}
    assert bank.http.post("/instructions", json={**personal, "payee": ""}).json() == {"ack": "I1", "status": "booked"}
    assert [(r["code"], r["payee"]) for r in bank.http.get("/ledger").json()["instructions"]] == [
        (FUND_TRANSFER, HOSPITAL), (DEBIT, None)]


def test_a_ledger_made_before_payees_gets_the_column_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old-bank.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:  # booked_instructions as the first simulated bank made it
        conn.execute(text(
            "CREATE TABLE booked_instructions (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
            "instruction_id VARCHAR(40) NOT NULL UNIQUE, code VARCHAR(10) NOT NULL, psn_no VARCHAR(30) NOT NULL, "
            "acct_admdvs VARCHAR(6) NOT NULL, amount VARCHAR(20) NOT NULL, setl_id VARCHAR(30) NOT NULL, "
            "beneficiary_psn_no VARCHAR(30), booked_at VARCHAR(26) NOT NULL, deliveries INTEGER NOT NULL)"))
        conn.execute(text("INSERT INTO booked_instructions (instruction_id, code, psn_no, acct_admdvs, amount, "
                          "setl_id, booked_at, deliveries) VALUES ('I1', 'acct_021', :psn, '440300', '1.00', 'S1', "
                          "'2026-03-16 09:30:00', 1)"), {"psn": PSN})
    engine.dispose()

    sim = SimulatedBank(str(path))
    try:
        assert "payee" in {c["name"] for c in inspect(sim.engine).get_columns("booked_instructions")}
        SimulatedBank(str(path)).dispose()  # a second start finds the column there
        with TestClient(sim.app) as http:
            adapter = HttpBankAdapter("http://bank.test", http=http)
            assert adapter.deliver(Instruction("I1", DEBIT, PSN, "440300", D("1.00"), "S1")).duplicate
            assert adapter.deliver(Instruction("F1", FUND_TRANSFER, CENTRE, "440000", D("2.00"), DECL,
                                               payee=HOSPITAL)).status == "booked"
            assert [(b.instruction_id, b.payee) for b in adapter.ledger()] == [("I1", None), ("F1", HOSPITAL)]
            assert http.get(f"/accounts/{PSN}").json()["net"] == "-1.00"
    finally:
        sim.dispose()
