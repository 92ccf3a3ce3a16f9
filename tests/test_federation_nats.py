"""Two provinces' nodes as `yibao serve` processes over NATS JetStream, each on its own PostgreSQL database
(docs/federation.md): a cross-province settlement and its cancellation across them; the insured node killed (kill -9)
with a settlement in flight and restarted; a duplicate delivered on the exchange. After each: the books of both
sides agree to the cent and `yibao federation check` finds no difference."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from federation_served import NATS_URL, SEALER, Databases, PrivateExchange, ServedNode, nats_problem, wait_until
from federation_world import balance, federation_doc, inbox, outbox, quota_used, settlements, usage
from outpatient_world import CHILD, EXAMPLE_B, MOTHER, PARENT, SON, SZ_HOSP, His, person_in
from sqlalchemy import select

from yibao.client import PlatformClient
from yibao.federation.jetstream import JetStreamExchange
from yibao.store.db import Store
from yibao.store.models import Person

D = Decimal
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


class Books:
    """One node's database, read directly by the test (federation_world's readers take `.store`)."""

    def __init__(self, url: str):
        self.url = url
        self.store = Store(url)

    def holds(self, psn_no: str) -> bool:
        with self.store.unit_of_work() as s:
            return s.get(Person, psn_no) is not None

    def persons(self) -> list[str]:
        """The regions of the persons it holds."""
        with self.store.unit_of_work() as s:
            return list(s.scalars(select(Person.admdvs)))


@pytest.fixture
def nodes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[ServedNode, ServedNode, str]]:
    for problem in (request.config.pg_problem, nats_problem()):  # type: ignore[attr-defined]
        if problem:
            if IN_CI:
                pytest.fail(f"required in CI: {problem}")
            pytest.skip(problem)
    databases = Databases()
    space = f"t{uuid.uuid4().hex[:10]}"
    # two workers each: requests shared between a node's workers, each answer back to the worker that asked
    sz = ServedNode("44", ("14",), databases.new(federation_doc(), ("44",)), space, tmp_path, workers=2)
    ty = ServedNode("14", ("44",), databases.new(federation_doc(), ("14",)), space, tmp_path, workers=2)
    try:
        ty.start()
        sz.start()
        yield sz, ty, space
    finally:
        sz.stop()
        ty.stop()
        databases.drop()


def check(sz: ServedNode, ty: ServedNode) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(Path(os.sys.executable).parent / "yibao"), "federation", "check",
                           "--node", f"44={sz.url}", "--node", f"14={ty.url}"],
                          capture_output=True, text=True, timeout=120, env={**os.environ})


def test_across_two_served_nodes_kill_restart_and_duplicates(nodes: tuple[ServedNode, ServedNode, str]) -> None:
    sz, ty, space = nodes
    a, b = Books(sz.url), Books(ty.url)
    doc = federation_doc()
    his = His(PlatformClient(sz.base, SZ_HOSP, "conf-secret-sz", "440300", opter="op01"), a.store)
    child = person_in(doc, CHILD)

    visit = his.visit(child, EXAMPLE_B)
    info = visit.settle()["output"]["setlinfo"]
    assert (info["hifp_pay"], info["acct_mulaid_pay"], info["psn_cash_pay"]) == (D("100.00"), D("130.00"),
                                                                                 D("0.00"))
    assert balance(b, PARENT) == D("2870.00")
    assert a.holds(CHILD) and not a.holds(PARENT)  # node 44: the visiting child only, no account of Taiyuan
    assert usage(b, CHILD) == (D("0.00"), D("100.00")) and quota_used(b, CHILD) == D("130.00")

    # the same request delivered again on the exchange: answered from the inbox, applied once
    exchange = JetStreamExchange(NATS_URL, "44", ("14",), space, sealer=SEALER)
    exchange.start(None)
    try:
        with a.store.unit_of_work() as s:
            from yibao.store.models import FederationOutbox
            body = s.get(FederationOutbox, info["setl_id"]).body
        exchange.send("14", "settle", info["setl_id"], body)
        again = exchange.wait(info["setl_id"], 30)
    finally:
        exchange.close()
    assert again is not None and again["state"] == "applied" and again["draws"][0][3] == "130.00"
    assert balance(b, PARENT) == D("2870.00")

    # the insured node killed: the HIS is refused within the time box, nothing stays half done
    ty.kill()
    second = his.visit(child, [("EX-DRUG-A", "10.00", "1")])
    answer = his.call("2207", second.data_2207(), "140100")
    assert answer["infcode"] == -1 and answer["err_msg"].startswith("not settled: the insured province's node 14")
    (pending,) = [k for k, v in outbox(a).items() if v != "answered"]
    ty.start()
    assert wait_until(lambda: outbox(a)[pending] == "compensated"), outbox(a)
    assert inbox(b)[pending] in ("cancelled", "fenced")
    assert balance(b, PARENT) == D("2870.00") and quota_used(b, CHILD) == D("130.00")
    assert [s.setl_id for s in settlements(a) if s.status == "settled"] == [info["setl_id"]]

    done = check(sz, ty)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no difference" in done.stdout

    # 2208 across the nodes, after the restart
    visit.cancel(info["setl_id"])
    assert balance(b, PARENT) == D("3000.00") and usage(b, CHILD) == (D("0.00"), D("0.00"))
    assert check(sz, ty).returncode == 0
    a.store.dispose()
    b.store.dispose()


@pytest.fixture
def three(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[PrivateExchange, dict[str, ServedNode]]]:
    problem = request.config.pg_problem or (None if shutil.which("nats-server") else  # type: ignore[attr-defined]
                                            "nats-server is not on PATH")
    if problem:
        if IN_CI:
            pytest.fail(f"required in CI: {problem}")
        pytest.skip(problem)
    exchange = PrivateExchange(tmp_path / "jetstream").start()
    databases = Databases()
    space = f"t{uuid.uuid4().hex[:10]}"
    peers = {"44": ("14", "34"), "14": ("44", "34"), "34": ("44", "14")}
    # each node its own database, holding only its own province: the others' reference data comes as snapshots
    nodes = {p: ServedNode(p, peers[p], databases.new(federation_doc(), (p,)), space, tmp_path,
                           nats_url=exchange.url) for p in peers}
    try:
        for node in nodes.values():
            node.start()
        yield exchange, nodes
    finally:
        for node in nodes.values():
            node.stop()
        exchange.stop()
        databases.drop()


def test_three_nodes_and_the_exchange_stopped_and_restarted(
        three: tuple[PrivateExchange, dict[str, ServedNode]]) -> None:
    exchange, nodes = three
    books = {p: Books(n.url) for p, n in nodes.items()}
    doc = federation_doc()
    his = His(PlatformClient(nodes["44"].base, SZ_HOSP, "conf-secret-sz", "440300", opter="op01"),
              books["44"].store)
    child, son = person_in(doc, CHILD), person_in(doc, SON)

    first = his.visit(child, EXAMPLE_B).settle()["output"]["setlinfo"]
    # example C at a Shenzhen hospital: a Hefei son's 40.00, then his mother's account, applied by node 34
    hefei = his.call("2207", his.visit(son, EXAMPLE_B).data_2207(), "340100")
    assert hefei["infcode"] == 0, hefei["err_msg"]
    paid = hefei["output"]["setlinfo"]
    assert (paid["hifp_pay"], paid["acct_pay"], paid["acct_mulaid_pay"]) == (D("100.00"), D("130.00"), D("90.00"))
    assert balance(books["34"], SON) == D("0.00")
    held = {p: {a[:2] for a in books[p].persons()} for p in books}  # each node: its own, and the visitors it met
    assert held == {"44": {"44", "14", "34"}, "14": {"14"}, "34": {"34"}}, held
    assert balance(books["34"], MOTHER) == D("1910.00")
    assert balance(books["14"], PARENT) == D("2870.00")

    # the exchange stopped: refused at once as not settled; started again: the owed cancellation is delivered
    exchange.stop()
    second = his.visit(child, [("EX-DRUG-A", "10.00", "1")])
    answer = his.call("2207", second.data_2207(), "140100")
    assert answer["infcode"] == -1 and answer["err_msg"].startswith("not settled"), answer["err_msg"]
    exchange.start()
    (pending,) = [k for k, v in outbox(books["44"]).items() if v != "answered"]
    assert wait_until(lambda: outbox(books["44"])[pending] == "compensated"), outbox(books["44"])
    assert balance(books["14"], PARENT) == D("2870.00")
    # and the nodes, reconnected, settle again
    again = wait_until(lambda: his.call("2207", second.data_2207(), "140100")["infcode"] == 0, timeout=60,
                       every=1)
    assert again
    assert balance(books["14"], PARENT) == D("2865.00")
    # the month's clearing, run on node 44 with each insured province's node
    yibao = str(Path(os.sys.executable).parent / "yibao")
    for payer, total in (("14", "240.00"), ("34", "230.00")):
        cleared = subprocess.run([yibao, "federation", "clear", "2026-03", "--payer", payer], env=nodes["44"].env,
                                 capture_output=True, text=True, timeout=120)
        assert cleared.returncode == 0, cleared.stdout + cleared.stderr
        assert cleared.stdout.startswith("agreed: voucher K20260344" + payer), cleared.stdout
        assert f"total {total} owed by {payer}" in cleared.stdout, cleared.stdout
    done = subprocess.run([yibao, "federation", "check",
                           *(f"--node={p}={n.url}" for p, n in nodes.items())],
                          capture_output=True, text=True, timeout=120)
    asked = len(outbox(books["44"]))  # the two, the one compensated, the one settled after the restart (or more)
    assert asked >= 4
    assert done.returncode == 0 and f"no difference ({asked} cross-province settlements compared, 2 clearing " \
        "vouchers)" in done.stdout, \
        done.stdout + done.stderr
    assert first["setl_id"] in inbox(books["14"])
    for b in books.values():
        b.store.dispose()
