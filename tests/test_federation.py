"""Provinces as nodes of a federation, the exchange in memory (docs/federation.md): a Taiyuan family at a Shenzhen
hospital settled by node 44 with node 14 applying the insured part, exactly once, within the time box, and every
unanswered settlement reversed on the insured node by the sweeper — on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from federation_world import (
    Node,
    balance,
    federation_doc,
    inbox,
    instructions,
    node_databases,
    outbox,
    quota_used,
    refused,
    settlements,
    usage,
)
from outpatient_world import CHILD, EXAMPLE_B, PARENT, Hub, check_amounts
from sqlalchemy import select
from typer.testing import CliRunner

from yibao import cli
from yibao.federation.config import from_env
from yibao.federation.exchange import FakeNetwork
from yibao.platform import federation_check, national_clearing
from yibao.store.db import Store
from yibao.store.models import FederationInbox, FederationVoucher

D = Decimal
ZERO = D("0.00")
#: the sweeper's "now": past every time box of the test, however long the whole run takes before this test
LATER = datetime.now() + timedelta(hours=6)


@pytest.fixture(params=["sqlite", "postgresql"])
def urls(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[list[str]]:
    """Three migrated, empty databases of one kind: one per node, one for the single-node platform."""
    yield from node_databases(request, tmp_path, sqlite_template, "fed")


class World:
    def __init__(self, urls: list[str]):
        self.net = FakeNetwork()
        self.sz = Node("44", urls[0], ("14",), self.net.exchange("44"), federation_doc())
        self.ty = Node("14", urls[1], ("44",), self.net.exchange("14"), federation_doc())
        self.single_url = urls[2]

    def visit(self):  # noqa: ANN201 - outpatient_world.Visit_
        return self.sz.his().visit(self.sz.who(CHILD), EXAMPLE_B)

    def close(self) -> None:
        self.sz.close()
        self.ty.close()


@pytest.fixture
def world(urls: list[str]) -> Iterator[World]:
    w = World(urls)
    yield w
    w.close()


def untouched(node: Node) -> None:
    """The insured node's books as loaded: the family's accounts, quota and accumulator."""
    assert balance(node, PARENT) == D("3000.00")
    assert quota_used(node, CHILD) == ZERO
    assert usage(node, CHILD) == (ZERO, ZERO)


def settled_once(w: World) -> None:
    """Example B applied once on the insured node: 130.00 from the parent's account, 100.00 of the fund."""
    assert balance(w.ty, PARENT) == D("2870.00")
    assert quota_used(w.ty, CHILD) == D("130.00")
    assert usage(w.ty, CHILD) == (ZERO, D("100.00"))
    # the bank instructions net to one debit of 130.00 (a reversed attempt's debit and credit cancel out)
    assert sum((-a if c == "acct_021" else a for c, p, a in instructions(w.ty) if p == PARENT), ZERO) == D("-130.00")


def test_cross_province_settlement_across_two_nodes_is_what_one_node_computes(world: World) -> None:
    single = Hub(Store(world.single_url)).load(lambda doc: doc.update(federation_doc()))
    alone = single.his().visit(single.who(CHILD), EXAMPLE_B).settle()["output"]["setlinfo"]
    single.store.dispose()

    visit = world.visit()
    pre = visit.presettle()["output"]["setlinfo"]
    untouched(world.ty)  # a pre-settlement is priced by the insured node and applied nowhere
    info = visit.settle()["output"]["setlinfo"]
    figures = ("medfee_sumamt", "inscp_scp_amt", "act_pay_dedc", "hifp_pay", "fund_pay_sumamt", "psn_part_amt",
               "acct_pay", "acct_mulaid_pay", "psn_cash_pay", "balc")
    assert {k: info[k] for k in figures} == {k: alone[k] for k in figures} == {k: pre[k] for k in figures}
    check_amounts(info, {"hifp_pay": "100.00", "acct_pay": "130.00", "acct_mulaid_pay": "130.00",
                         "psn_cash_pay": "0.00", "pool_prop_selfpay": "0.5000"})
    assert info["clr_optins"] == "140100"
    settled_once(world)
    # the treatment node's copy of the family is reference data: its books do not move
    untouched(world.sz)
    assert instructions(world.sz) == []
    assert inbox(world.ty) == {info["setl_id"]: "applied"}
    assert outbox(world.sz) == {info["setl_id"]: "answered"}
    assert [s.status for s in settlements(world.sz)] == ["settled"]

    out = visit.cancel(info["setl_id"])["output"]["setlinfo"]  # 2208 travels the same way
    assert out["setl_id"] == info["setl_id"] and out["acct_pay"] == D("130.00")
    untouched(world.ty)
    assert [c for c, _, _ in instructions(world.ty)] == ["acct_021", "acct_023"]
    assert inbox(world.ty) == {info["setl_id"]: "cancelled", "C" + info["setl_id"]: "done"}
    assert sorted(s.status for s in settlements(world.sz)) == ["cancelled", "reversal"]
    assert agree(world) == 1


def agree(w: World) -> int:
    """`yibao federation check`'s comparison finds no difference and nothing in flight; how many it compared."""
    report = federation_check.check({"44": w.sz.store, "14": w.ty.store})
    assert report.differences == [] and report.in_flight == []
    return report.compared


def test_the_check_lists_each_difference(world: World) -> None:
    info = world.visit().settle()["output"]["setlinfo"]
    assert agree(world) == 1
    with world.ty.store.unit_of_work() as s:  # the insured node's record says the fund paid 1 cent more
        row = s.get(FederationInbox, info["setl_id"])
        row.answer = {**row.answer, "hifp_pay": "100.01"}
    with world.sz.store.unit_of_work() as s:  # and one it applied that no treatment node asked for
        s.add(FederationInbox(msg_id="X1", kind="settle", sender="44", state="applied", psn_no=CHILD,
                              answer={}, created_at=LATER, updated_at=LATER))
    report = federation_check.check({"44": world.sz.store, "14": world.ty.store})
    assert report.differences == [f"{info['setl_id']} (44 -> 14): hifp_pay 100.00 here, 100.01 there",
                                  "X1 (44 -> 44): applied on the insured node, never asked by the treatment node"]
    done = CliRunner().invoke(cli.app, ["federation", "check", "--node", f"44={world.sz.store.url}",
                                        "--node", f"14={world.ty.store.url}"])
    assert done.exit_code == 1
    assert f"difference: {info['setl_id']} (44 -> 14): hifp_pay 100.00 here, 100.01 there" in done.output
    bad = CliRunner().invoke(cli.app, ["federation", "check", "--node", "44"])
    assert bad.exit_code != 0 and str(bad.exception).startswith("--node: '44': give NAME=DATABASE_URL")


def test_insured_node_down_the_his_is_refused_in_time_and_the_sweeper_reverses(world: World) -> None:
    world.net.down.add("14")
    visit = world.visit()
    err = refused(world.sz, "2207", visit.data_2207())
    assert err.startswith("not settled: the insured province's node 14 did not answer within 5 s")
    assert settlements(world.sz) == []
    agree(world)
    (setl_id, state), = outbox(world.sz).items()
    assert state == "compensate"
    # the node comes back: the settlement it was asked for is applied, then the cancellation owed reverses it
    world.net.down.clear()
    assert world.sz.remote.sweep(LATER) == {"compensated": 1, "cancelled": 0}
    untouched(world.ty)
    assert inbox(world.ty) == {setl_id: "cancelled", "C" + setl_id: "done"}
    assert outbox(world.sz) == {setl_id: "compensated"}
    assert world.sz.remote.sweep(LATER) == {"compensated": 0, "cancelled": 0}
    agree(world)
    # the HIS sends the settlement again: settled once, on both sides
    info = world.sz.his().ok("2207", visit.data_2207(), "140100")["output"]["setlinfo"]
    assert info["acct_pay"] == D("130.00")
    settled_once(world)


def test_a_cancellation_overtaking_its_settlement_fences_it(world: World) -> None:
    """Reordered delivery: the owed cancellation reaches the insured node before the settlement it cancels."""
    world.net.hold = lambda msg: msg["kind"] == "settle"
    visit = world.visit()
    assert refused(world.sz, "2207", visit.data_2207()).startswith("not settled")
    world.net.hold = None
    assert world.sz.remote.sweep(LATER)["compensated"] == 1
    world.net.release()
    world.net.pump()  # the settlement arrives late: fenced, never applied
    untouched(world.ty)
    assert sorted(inbox(world.ty).values()) == ["done", "fenced"]
    assert instructions(world.ty) == []
    agree(world)


def test_duplicates_and_a_lost_answer_apply_once(world: World) -> None:
    world.net.duplicate = True  # every message delivered twice
    visit = world.visit()
    info = visit.settle()["output"]["setlinfo"]
    settled_once(world)
    # an answer delayed past the time box: refused to the HIS, reversed on the insured node, never twice
    world.net.duplicate = False
    second = world.sz.his().visit(world.sz.who(CHILD), [("EX-DRUG-A", "10.00", "1")])
    world.net.hold = lambda msg: msg["kind"] == "answer"
    assert refused(world.sz, "2207", second.data_2207()).startswith("not settled")
    assert balance(world.ty, PARENT) == D("2865.00")  # applied there, the answer lost on the way
    world.net.hold = None
    world.net.release()
    world.sz.remote.sweep(LATER)
    settled_once(world)
    assert [s.setl_id for s in settlements(world.sz)] == [info["setl_id"]]
    agree(world)


def test_exchange_down_refuses_at_once_and_nothing_stays_half_done(world: World) -> None:
    world.net.exchange_down = True
    visit = world.visit()
    assert refused(world.sz, "2207", visit.data_2207()).startswith("not settled")
    assert world.sz.remote.sweep(LATER)["compensated"] == 0  # still down: owed, kept
    world.net.exchange_down = False
    assert world.sz.remote.sweep(LATER)["compensated"] == 1
    untouched(world.ty)
    assert settlements(world.sz) == []


def test_node_configuration_from_the_environment() -> None:
    assert from_env({}) is None
    key = {"YIBAO_FEDERATION_KEY": os.environ["YIBAO_FEDERATION_KEY"]}
    node = from_env({"YIBAO_PROVINCES": "44", "YIBAO_FEDERATION_PEERS": "14,34", "YIBAO_FEDERATION_TIME_BOX": "2",
                     **key})
    assert node is not None and node.name == "44" and node.time_box == 2  # float-ok: seconds
    assert node.node_of("140100") == "14" and node.node_of("440300") is None and node.node_of("510100") is None
    for env, field in (({"YIBAO_PROVINCES": "4", **key}, "YIBAO_PROVINCES"),
                       ({"YIBAO_PROVINCES": "44", "YIBAO_FEDERATION_TIME_BOX": "0", **key},
                        "YIBAO_FEDERATION_TIME_BOX"),
                       ({"YIBAO_PROVINCES": "44", "YIBAO_FEDERATION_TIME_BOX": "soon", **key},
                        "YIBAO_FEDERATION_TIME_BOX"),
                       ({"YIBAO_PROVINCES": "44"}, "YIBAO_FEDERATION_KEY")):
        with pytest.raises(Exception, match=field):
            from_env(env)


def test_the_months_clearing_agrees_line_for_line_with_a_voucher_at_both_ends(world: World) -> None:
    first = world.visit().settle()["output"]["setlinfo"]
    small = world.sz.his().visit(world.sz.who(CHILD), [("EX-DRUG-A", "10.00", "1")])
    second = small.settle()["output"]["setlinfo"]
    small.cancel(second["setl_id"])
    # one applied on the insured node whose answer was lost: the treatment node has not settled it
    lost = world.sz.his().visit(world.sz.who(CHILD), [("EX-DRUG-A", "20.00", "1")])
    world.net.hold = lambda msg: msg["kind"] == "answer"
    assert refused(world.sz, "2207", lost.data_2207()).startswith("not settled")
    world.net.hold = None
    world.net.held.clear()
    end = datetime(2026, 3, 31, 23, 0)

    disputed = national_clearing.clear(world.sz.remote, "14", "2026-03", end)
    assert disputed["state"] == "disputed"
    (line,) = disputed["differences"]
    assert line.endswith("fund 10.00 account 10.00: only on the insured node")
    assert count_vouchers(world) == (0, 0)

    world.sz.remote.sweep(LATER)  # reversed there: nothing of it to clear
    agreed = national_clearing.clear(world.sz.remote, "14", "2026-03", end)
    assert (agreed["state"], agreed["lines"], agreed["fund"], agreed["acct"], agreed["total"]) == \
        ("agreed", 3, "100.00", "130.00", "230.00")
    assert national_clearing.clear(world.sz.remote, "14", "2026-03", end) == agreed  # answered from the inbox
    assert count_vouchers(world) == (1, 1)
    with world.ty.store.unit_of_work() as s:
        (payer,) = s.scalars(select(FederationVoucher))
        assert national_clearing.balanced(payer) and payer.total == D("230.00") and payer.side == "payer"
        assert payer.entries[-1] == ["payable to province 44 (应付清算款)", "0.00", "230.00"]
    report = federation_check.check({"44": world.sz.store, "14": world.ty.store})
    assert (report.differences, report.vouchers) == ([], 1)
    assert first["setl_id"] != second["setl_id"]


def count_vouchers(w: World) -> tuple[int, int]:
    counts = []
    for node in (w.sz, w.ty):
        with node.store.unit_of_work() as s:
            counts.append(len(list(s.scalars(select(FederationVoucher)))))
    return counts[0], counts[1]


def test_a_2601_reversal_travels_the_same_way(world: World) -> None:
    visit = world.visit()
    client = world.sz.his().client
    env = client.envelope("2207", visit.data_2207(), "140100", sign_no=client.sign_no())
    lost = client.send(env)  # the HIS never saw this answer
    assert lost["infcode"] == 0
    settled_once(world)
    ref = {"data": {"psn_no": CHILD, "omsgid": env["msgid"], "oinfno": "2207"}}
    assert world.sz.his().ok("2601", ref, "140100")["output"]["data"]["rvs_rslt"] == "reversed"
    untouched(world.ty)
    assert world.sz.his().ok("2601", ref, "140100")["output"]["data"]["rvs_rslt"] == "already reversed"
    untouched(world.ty)
    assert sorted(inbox(world.ty).values()) == ["cancelled", "done"]
    agree(world)
