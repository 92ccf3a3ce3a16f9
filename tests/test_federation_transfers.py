"""The bank transfer paying a month's clearing voucher between two nodes (docs/federation.md, docs/ledger.md): queued
once by the insured node with its voucher, posted on both nodes' fund ledgers once the bank confirms it, the
treatment node told through the exchange once — each node's trial balance balancing and tying."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_federation import World, urls  # noqa: F401 - the fixture of both databases

from yibao.bank.adapter import HttpBankAdapter
from yibao.bank.outbox import deliver_due
from yibao.bank.simulated import SimulatedBank
from yibao.platform import national_clearing, province_transfers, trial_balance
from yibao.store.models import BankInstruction, FederationInbox, FundJournalLine

D = Decimal
MARCH_END = datetime(2026, 3, 31, 23, 0)


@pytest.fixture
def world(urls: list[str]) -> Iterator[World]:  # noqa: F811
    w = World(urls)
    yield w
    w.close()


@pytest.fixture
def bank(tmp_path: Path) -> Iterator[tuple[SimulatedBank, HttpBankAdapter]]:
    sim = SimulatedBank(str(tmp_path / "bank" / "bank.db"))
    http = TestClient(sim.app)
    yield sim, HttpBankAdapter("http://bank.test", http=http)
    http.close()
    sim.dispose()


def journal(store, entry_id: str) -> list[tuple[str, str, str | None, Decimal]]:  # noqa: ANN001
    with store.unit_of_work() as s:
        return [(r.book, r.account, r.party, r.amount) for r in s.scalars(
            select(FundJournalLine).where(FundJournalLine.entry_id == entry_id).order_by(FundJournalLine.line))]


def books_hold(store, region: str) -> None:  # noqa: ANN001
    with store.unit_of_work() as s:
        tb = trial_balance.trial_balance(s, region, "2026-03")
    assert tb["balanced"] and tb["tied"], tb["ties"]


def test_the_clearing_transfer_is_paid_once_and_posted_at_both_ends(world: World, bank) -> None:  # noqa: ANN001
    sim, adapter = bank
    world.visit().settle()  # example B: fund 100.00, accounts 130.00
    agreed = national_clearing.clear(world.sz.remote, "14", "2026-03", MARCH_END)
    vid = agreed["voucher_id"]
    assert agreed["total"] == "230.00"
    with world.ty.store.unit_of_work() as s:
        ins = s.get(BankInstruction, province_transfers.instruction_id(vid))
        assert ins is not None and ins.status == "pending"
        assert (ins.code, ins.psn_no, ins.payee, ins.amount) == ("fund_031", "FUND-140000", "FUND-440000", D("230"))
    # agreed again (answered from the inbox): still one instruction
    assert national_clearing.clear(world.sz.remote, "14", "2026-03", MARCH_END)["voucher_id"] == vid
    with world.ty.store.unit_of_work() as s:
        assert len(list(s.scalars(select(BankInstruction).where(BankInstruction.code == "fund_031")))) == 1

    # not confirmed by the bank yet: nothing posted, nobody told
    assert province_transfers.advance(world.ty.remote) == {"queued": 0, "posted": 0, "told": 0}
    assert journal(world.ty.store, province_transfers.entry_id(vid)) == []

    report = deliver_due(world.ty.store, adapter)
    assert province_transfers.instruction_id(vid) in report.delivered
    assert province_transfers.advance(world.ty.remote) == {"queued": 0, "posted": 1, "told": 1}
    assert province_transfers.advance(world.ty.remote) == {"queued": 0, "posted": 0, "told": 0}

    assert journal(world.ty.store, province_transfers.entry_id(vid)) == [
        ("140000", "province_payable", "44", D("230.00")), ("140000", "bank", None, D("-230.00"))]
    assert journal(world.sz.store, province_transfers.entry_id(vid)) == [
        ("440000", "bank", None, D("230.00")), ("440000", "province_receivable", "14", D("-230.00"))]
    assert sim.account("FUND-140000")["net"] == "-230.00"

    # the message delivered again: answered from the treatment node's inbox, posted once
    body = {"voucher_id": vid, "month": "2026-03", "payer": "14", "amount": "230.00",
            "instruction_id": province_transfers.instruction_id(vid), "now": MARCH_END.isoformat()}
    again = world.ty.remote.ask("44", province_transfers.PAID, province_transfers.message_id(vid), body)
    assert again is not None and again["state"] == "booked"
    assert len(journal(world.sz.store, province_transfers.entry_id(vid))) == 2
    with world.sz.store.unit_of_work() as s:
        assert [r.state for r in s.scalars(select(FederationInbox).where(FederationInbox.kind == "paid"))] == ["booked"]

    for node, region in ((world.ty, "140000"), (world.sz, "440000"), (world.sz, "140100")):
        books_hold(node.store, region)
    with world.ty.store.unit_of_work() as s:
        (mine,) = province_transfers.listing(s, "14")
    assert (mine["side"], mine["bank"], mine["posted"], mine["payee_told"]) == ("payer", "delivered", True, True)
    with world.sz.store.unit_of_work() as s:
        (theirs,) = province_transfers.listing(s, "44")
    assert (theirs["side"], theirs["posted"], theirs["received"]) == ("payee", True, True)


def test_a_payee_without_its_voucher_yet_is_told_again_later(world: World, bank) -> None:  # noqa: ANN001
    _sim, adapter = bank
    world.visit().settle()
    world.net.hold = lambda msg: msg["kind"] == "answer"  # the agreement's answer lost: node 44 writes no voucher
    answer = None
    try:
        national_clearing.clear(world.sz.remote, "14", "2026-03", MARCH_END, wait=0.2)  # float-ok: seconds
    except Exception as exc:  # noqa: BLE001 - not cleared: no answer in time
        answer = str(exc)
    assert answer is not None and answer.startswith("not cleared")
    world.net.hold = None
    world.net.held.clear()
    deliver_due(world.ty.store, adapter)
    assert province_transfers.advance(world.ty.remote) == {"queued": 0, "posted": 1, "told": 0}
    with world.sz.store.unit_of_work() as s:
        assert province_transfers.received(s, "440000", datetime(2026, 3, 1), datetime(2026, 4, 1)) == 0
    national_clearing.clear(world.sz.remote, "14", "2026-03", MARCH_END)  # asked again: the voucher at both ends
    assert province_transfers.advance(world.ty.remote) == {"queued": 0, "posted": 0, "told": 1}
    books_hold(world.sz.store, "440000")
    books_hold(world.ty.store, "140000")


def test_the_transfers_command_posts_tells_and_lists(world: World, bank, monkeypatch) -> None:  # noqa: ANN001
    from typer.testing import CliRunner

    from yibao import cli
    from yibao.cli import federation as federation_cli
    from yibao.federation.config import NodeConfig
    from yibao.platform.remote import Remote

    _sim, adapter = bank
    world.visit().settle()
    vid = national_clearing.clear(world.sz.remote, "14", "2026-03", MARCH_END)["voucher_id"]
    monkeypatch.setenv("YIBAO_DATABASE_URL", world.ty.store.url)
    monkeypatch.setattr(federation_cli.remote, "node_from_env", lambda store: Remote(
        NodeConfig(("14",), ("44",)), world.net.exchange("14", "cli"), store))
    runner = CliRunner()
    waiting = runner.invoke(cli.app, ["federation", "transfers"])
    assert waiting.exit_code == 1, waiting.output
    assert f"2026-03 {vid} payer 230.00: instruction F{vid} pending, not posted, not yet taken by 44" in waiting.output
    deliver_due(world.ty.store, adapter)
    done = runner.invoke(cli.app, ["federation", "transfers"])
    assert done.exit_code == 0, done.output
    assert f"2026-03 {vid} payer 230.00: instruction F{vid} delivered, posted, taken by 44" in done.output
    assert journal(world.sz.store, province_transfers.entry_id(vid))[0] == ("440000", "bank", None, D("230.00"))
