"""Reference snapshots between the nodes of a federation, the exchange in memory (docs/federation.md): each node
loads only the provinces it owns; another province's reference data arrives as that node's versioned snapshots,
applied once and in order; a visiting person is asked of his insured node and kept as a visitor record — on SQLite
and on PostgreSQL."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from federation_served import NATS_URL, SEALER, nats_problem, wait_until
from federation_world import Node, federation_doc, inbox, node_databases, settlements
from helpers import snapshot
from outpatient_world import CHILD, EXAMPLE_B, PARENT, SZ_HOSP, Hub, check_amounts, region_in
from sqlalchemy import select
from typer.testing import CliRunner

from yibao import cli, sqlkit
from yibao.app import create_app
from yibao.dataset.loader import load_document
from yibao.federation.config import NodeConfig
from yibao.federation.exchange import Exchange, FakeNetwork
from yibao.federation.jetstream import JetStreamExchange
from yibao.platform import snapshots, switches
from yibao.platform.remote import Remote
from yibao.store.db import Store
from yibao.store.models import (
    FederationSnapshot,
    FederationVisitor,
    Person,
    PersonDisease,
    Policy,
    Region,
    Settlement,
)

D = Decimal
FIGURES = ("medfee_sumamt", "inscp_scp_amt", "act_pay_dedc", "hifp_pay", "fund_pay_sumamt", "psn_part_amt",
           "acct_pay", "acct_mulaid_pay", "psn_cash_pay", "balc")


@pytest.fixture(params=["sqlite", "postgresql"])
def urls(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[list[str]]:
    """Three migrated, empty databases of one kind: node 44, node 14, and the single-node platform."""
    yield from node_databases(request, tmp_path, sqlite_template, "fsn")


class OwnNode(Node):
    """A node that loads only its own province (YIBAO_PROVINCES), connected when the test says."""

    def __init__(self, province: str, url: str, peers: tuple[str, ...], net: FakeNetwork, doc: dict[str, Any]):
        self.province, self.doc, self.net = province, doc, net
        self.store = Store(url)
        load_document(self.store, doc, (province,))
        self.peers = peers
        self._his = None

    def connect(self, exchange: Exchange | None = None) -> OwnNode:
        self.remote = Remote(NodeConfig((self.province,), self.peers), exchange or self.net.exchange(self.province),
                             self.store).start()
        self.http = TestClient(create_app(self.store))
        return self


class World:
    def __init__(self, urls: list[str], connect: bool = True):
        self.net = FakeNetwork()
        self.sz = OwnNode("44", urls[0], ("14",), self.net, federation_doc())
        self.ty = OwnNode("14", urls[1], ("44",), self.net, federation_doc())
        self.single_url = urls[2]
        if connect:
            self.connect()

    def connect(self) -> None:
        self.sz.connect()
        self.ty.connect()

    def alone(self, change: Any = None) -> dict[str, Any]:
        """Example B settled by one node holding everything: the figures to match."""
        doc = federation_doc()
        if change is not None:
            change(doc)
        single = Hub(Store(self.single_url)).load(lambda d: d.update(doc))
        try:
            return dict(single.his().visit(single.who(CHILD), EXAMPLE_B).presettle()["output"]["setlinfo"])
        finally:
            single.store.dispose()

    def quote(self) -> dict[str, Any]:
        return dict(self.sz.his().visit(self.sz.who(CHILD), EXAMPLE_B).presettle()["output"]["setlinfo"])

    def close(self) -> None:
        for node in (self.sz, self.ty):
            if hasattr(node, "remote"):
                node.remote.close()
            node.store.dispose()


@pytest.fixture
def world(urls: list[str]) -> Iterator[World]:
    w = World(urls)
    yield w
    w.close()


def held(node: Node) -> dict[str, set[str]]:
    """The persons, regions and policy rows a node holds, by their region's province."""
    with node.store.unit_of_work() as s:
        return {"persons": {a[:2] for a in s.scalars(select(Person.admdvs))},
                "regions": {a[:2] for a in s.scalars(select(Region.admdvs))},
                "policies": {a[:2] for a in s.scalars(select(Policy.admdvs))}}


def applied(node: Node) -> dict[tuple[str, str], int]:
    with node.store.unit_of_work() as s:
        return {(r.province, r.kind): r.version for r in s.scalars(select(FederationSnapshot))}


def test_a_node_holds_its_own_province_and_prices_a_visitor_under_the_insured_policy(urls: list[str]) -> None:
    engines: list[str] = []
    real = sqlkit.make_engine

    def recorded(url: str, *args: Any, **kwargs: Any) -> Any:
        engines.append(sqlkit.normalise_url(str(url)))
        return real(url, *args, **kwargs)

    w = World(urls, connect=False)
    try:
        # loaded with YIBAO_PROVINCES: nothing of the other province, not even its reference data
        assert held(w.sz) == {"persons": {"44"}, "regions": {"44"}, "policies": {"44"}}
        assert held(w.ty) == {"persons": {"14"}, "regions": {"14"}, "policies": {"14"}}
        sqlkit.make_engine = recorded  # type: ignore[assignment]
        w.connect()  # each node publishes its own at start; the other applies it at once
        assert applied(w.sz) == {("44", "regions"): 1, ("44", "policies"): 1,   # published
                                 ("14", "regions"): 1, ("14", "policies"): 1}   # applied
        assert held(w.sz) == {"persons": {"44"}, "regions": {"44", "14"}, "policies": {"44", "14"}}

        visit = w.sz.his().visit(w.sz.who(CHILD), EXAMPLE_B)  # 2201 asks node 14 who the child is
        pre = visit.presettle()["output"]["setlinfo"]
        info = visit.settle()["output"]["setlinfo"]
        alone = w.alone()
        assert {k: info[k] for k in FIGURES} == {k: pre[k] for k in FIGURES} == {k: alone[k] for k in FIGURES}
        check_amounts(info, {"hifp_pay": "100.00", "acct_pay": "130.00", "acct_mulaid_pay": "130.00",
                             "psn_cash_pay": "0.00", "pool_prop_selfpay": "0.5000"})
        assert inbox(w.ty) == {info["setl_id"]: "applied"}
        # the visitor is the one person of province 14 node 44 holds; his family's accounts stay on node 14
        with w.sz.store.unit_of_work() as s:
            assert {p.psn_no for p in s.scalars(select(Person).where(Person.admdvs.like("14%")))} == {CHILD}
            assert [v.psn_no for v in s.scalars(select(FederationVisitor))] == [CHILD]
            assert s.get(Person, PARENT) is None
            row = s.get(Settlement, info["setl_id"])
            assert row is not None
            policy = s.get(Policy, row.policy_id)  # priced under node 14's policy row, as its snapshot carried it
            assert policy is not None and (policy.admdvs, policy.ratio) == ("140100", D("0.50"))
        out = visit.cancel(info["setl_id"])["output"]["setlinfo"]  # 2208 of a visitor: reversed on node 14
        assert out["setl_id"] == info["setl_id"] and out["acct_pay"] == D("130.00")
        assert inbox(w.ty) == {info["setl_id"]: "cancelled", "C" + info["setl_id"]: "done"}
        # no node opened another's database: the only engines made are the single node's of the comparison
        assert set(engines) <= {sqlkit.normalise_url(w.single_url)}
        assert w.sz.store.url != w.ty.store.url
    finally:
        sqlkit.make_engine = real  # type: ignore[assignment]
        w.close()


def test_a_changed_policy_or_setting_is_a_new_version_the_next_quote_uses(world: World) -> None:
    assert world.quote()["hifp_pay"] == D("100.00")
    doc = federation_doc()
    region_in(doc, "140100")["policies"][0]["ratio"] = "0.60"  # the resident policy pays 60 % from now
    load_document(world.ty.store, doc, ("14",))
    sent = world.ty.remote.publish_if_changed()
    assert [(s["kind"], s["version"]) for s in sent] == [("policies", 2)]
    assert applied(world.sz)[("14", "policies")] == 2 and applied(world.sz)[("14", "regions")] == 1
    with world.sz.store.unit_of_work() as s:
        ratios = sorted(p.ratio for p in s.scalars(select(Policy).where(Policy.admdvs == "140100")))
    assert ratios == [D("0.60"), D("0.60")]
    quote = world.quote()
    assert quote["hifp_pay"] == D("120.00") and quote["acct_pay"] == D("110.00")
    assert world.ty.remote.publish_if_changed() == []  # nothing moved: nothing sent

    # a setting node 44 decides by: Taiyuan keeps no account books now, so the account is not used
    def no_books(d: dict[str, Any]) -> None:
        region_in(d, "140100")["policies"][0]["ratio"] = "0.60"
        region_in(d, "140100")["acct_bookkeeping"] = False
    no_books(doc)
    load_document(world.ty.store, doc, ("14",))
    assert [(s["kind"], s["version"]) for s in world.ty.remote.publish_if_changed()] == [("regions", 2)]
    quote = world.quote()
    alone = world.alone(no_books)
    assert {k: quote[k] for k in FIGURES} == {k: alone[k] for k in FIGURES}
    assert quote["acct_pay"] == D("0.00") and quote["psn_cash_pay"] == D("110.00")


def test_a_duplicate_or_older_snapshot_changes_nothing(world: World) -> None:
    v1 = world.net.retained[("14", "policies")]
    doc = federation_doc()
    region_in(doc, "140100")["policies"][0]["ratio"] = "0.60"
    load_document(world.ty.store, doc, ("14",))
    world.ty.remote.publish_if_changed()
    v2 = world.net.retained[("14", "policies")]
    assert (v1["body"]["version"], v2["body"]["version"]) == (1, 2)
    before = snapshot(world.sz.store)
    for msg in (v2, v1, v2):  # a duplicate, then the older one overtaken, then the duplicate again
        assert snapshots.receive(world.sz.store, msg, ("44",), ("14",)) == {"state": "ignored"}
    forged = {**v2, "body": {**v2["body"], "version": 3, "rows": {"policies": []}}}  # rows not its digest's
    assert snapshots.receive(world.sz.store, forged, ("44",), ("14",)) == {"state": "ignored"}
    own = {**world.net.retained[("44", "policies")]}
    own["body"] = {**own["body"], "version": 9}
    assert snapshots.receive(world.sz.store, own, ("44",), ("14",)) == {"state": "ignored"}  # its own: never
    stranger = {**v2, "body": {**v2["body"], "province": "34", "version": 4}}  # none of node 44's peers
    assert snapshots.receive(world.sz.store, stranger, ("44",), ("14",)) == {"state": "ignored"}
    assert snapshot(world.sz.store) == before
    assert world.quote()["hifp_pay"] == D("120.00")


def test_before_any_snapshot_a_cross_province_settlement_is_refused(urls: list[str]) -> None:
    w = World(urls, connect=False)
    try:
        w.net.hold = lambda msg: bool(msg.get("snapshot"))  # the snapshots are late
        w.connect()
        assert applied(w.sz) == {("44", "regions"): 1, ("44", "policies"): 1}
        visit = w.sz.his().visit(w.sz.who(CHILD), EXAMPLE_B)
        answer = w.sz.his().call("2207", visit.data_2207(), "140100")
        assert answer["infcode"] == -1
        assert answer["err_msg"] == ("insuplc_admdvs: the reference data of province 14 (regions, policies) has "
                                     "not arrived from its node yet; the settlement cannot be priced under its "
                                     "policy — try again once that node has published it")
        assert settlements(w.sz) == [] and inbox(w.ty) == {}
        w.net.hold = None
        w.net.release()
        w.net.pump()
        info = visit.settle()["output"]["setlinfo"]
        assert info["hifp_pay"] == D("100.00") and info["acct_pay"] == D("130.00")
    finally:
        w.close()


def test_the_insured_node_answers_1101_for_a_visitor(world: World) -> None:
    his = world.sz.his(SZ_HOSP)
    who = world.sz.who(PARENT)
    out = his.ok("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": who["certno"]}}, "140100")["output"]
    assert out["baseinfo"]["psn_no"] == PARENT and out["baseinfo"]["certno"] == who["certno"]
    assert D(out["insuinfo"][0]["balc"]) == D("3000.00")  # as node 14 has it now
    nobody = his.call("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": "140101199901011019"}}, "140100")
    assert nobody["infcode"] == -1 and "no person insured in region 140100" in nobody["err_msg"]
    with world.sz.store.unit_of_work() as s:
        assert [v.psn_no for v in s.scalars(select(FederationVisitor))] == [PARENT]


def test_a_recognition_made_at_the_treatment_place_outlives_the_next_1101(world: World) -> None:
    """A disease recognised on node 44 by its hospital (what 2503 at the treatment place records,
    test_crossregion.py) is node 44's own: the insured node's answer to the next 1101 replaces the rest of the
    visitor record, not that."""
    his = world.sz.his(SZ_HOSP)
    cred = {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": world.sz.who(PARENT)["certno"]}}
    his.ok("1101", cred, "140100")
    with world.sz.store.unit_of_work() as s:
        s.add(PersonDisease(psn_no=PARENT, code="M04600", since=date(2026, 3, 1), until=date(2027, 2, 28),
                            recognized_by=SZ_HOSP, status="active"))
        s.add(PersonDisease(psn_no=PARENT, code="M09900", recognized_by=None, status="active"))  # stale copy
    his.ok("1101", cred, "140100")
    with world.sz.store.unit_of_work() as s:
        kept = {d.code: d.recognized_by for d in s.scalars(select(PersonDisease).where(PersonDisease.psn_no == PARENT))}
    assert kept == {"M04600": SZ_HOSP}  # node 14 knows no disease of his: the stale copy went, the recognition stays


def test_snapshots_over_jetstream(tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same over the real exchange: node 44 follows node 14's stream with a durable consumer, gets the latest
    of each kind, then the next version; a quote of a visitor then crosses JetStream too."""
    problem = nats_problem()
    if problem:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"required in CI: {problem}")
        pytest.skip(problem)
    space = f"s{uuid.uuid4().hex[:10]}"
    for n in ("44", "14"):
        shutil.copy(sqlite_template, tmp_path / f"{n}.db")
    net = FakeNetwork()  # not used: each node on JetStream
    ty = OwnNode("14", f"sqlite:///{tmp_path / '14.db'}", ("44",), net, federation_doc())
    sz = OwnNode("44", f"sqlite:///{tmp_path / '44.db'}", ("14",), net, federation_doc())
    try:
        ty.connect(JetStreamExchange(NATS_URL, "14", ("44",), space, sealer=SEALER))  # published before node 44 follows
        sz.connect(JetStreamExchange(NATS_URL, "44", ("14",), space, sealer=SEALER))
        assert wait_until(lambda: {("14", "regions"), ("14", "policies")} <= set(applied(sz)), timeout=20)
        doc = federation_doc()
        region_in(doc, "140100")["policies"][0]["ratio"] = "0.60"
        load_document(ty.store, doc, ("14",))
        assert [(s["kind"], s["version"]) for s in ty.remote.publish_if_changed()] == [("policies", 2)]
        assert wait_until(lambda: applied(sz).get(("14", "policies")) == 2, timeout=20)
        assert applied(sz)[("14", "regions")] == 1
        quote = sz.his().visit(sz.who(CHILD), EXAMPLE_B).presettle()["output"]["setlinfo"]
        assert quote["hifp_pay"] == D("120.00") and quote["acct_pay"] == D("110.00")
        # `yibao federation publish` on node 14: nothing changed; with --again the current versions again
        for name, value in (("YIBAO_DATABASE_URL", ty.store.url), ("YIBAO_PROVINCES", "14"),
                            ("YIBAO_FEDERATION_PEERS", "44"), ("YIBAO_FEDERATION_SPACE", space),
                            ("YIBAO_FEDERATION_KEY", os.environ["YIBAO_FEDERATION_KEY"]),
                            ("YIBAO_NATS_URL", NATS_URL)):
            monkeypatch.setenv(name, value)
        done = CliRunner().invoke(cli.app, ["federation", "publish"])
        assert (done.exit_code, done.output) == (0, "nothing changed since last published\n")
        done = CliRunner().invoke(cli.app, ["federation", "publish", "--again"])
        assert done.exit_code == 0, done.output
        assert [line.split(" (")[0] for line in done.output.splitlines()] == [
            "published 14 regions version 1", "published 14 policies version 2"]
        monkeypatch.delenv("YIBAO_PROVINCES")
        done = CliRunner().invoke(cli.app, ["federation", "publish"])
        assert done.exit_code != 0 and str(done.exception).startswith("YIBAO_PROVINCES: not set")
    finally:
        for node in (sz, ty):
            if hasattr(node, "remote"):
                node.remote.close()
            node.store.dispose()


def test_an_agency_switch_change_is_published_by_the_next_round(world: World) -> None:
    doc = federation_doc()
    region_in(doc, "140100")["switches"] = [{"name": "epidemic_outpatient", "on": False, "from": "2026-01-01"}]
    load_document(world.ty.store, doc, ("14",))
    assert [(s["kind"], s["version"]) for s in world.ty.remote.publish_if_changed()] == [("regions", 2)]
    with world.ty.store.unit_of_work() as s:  # Taiyuan's agency turns it on from tomorrow (docs/duties.md)
        switches.change(s, "140100", "epidemic_outpatient", True, date(2026, 3, 17), by="agency-14",
                        why="policy notice", today=date(2026, 3, 16), now=datetime(2026, 3, 16, 10))
    assert [(s["kind"], s["version"]) for s in world.ty.remote.publish_if_changed()] == [("regions", 3)]
    with world.sz.store.unit_of_work() as s:
        assert switches.in_force(s, "140100", date(2026, 3, 16)) == set()
        assert switches.in_force(s, "140100", date(2026, 3, 17)) == {"epidemic_outpatient"}
    assert applied(world.sz)[("14", "regions")] == 3
