"""Two or three provinces as nodes of a federation in one test process (docs/federation.md): each node its own
database (SQLite files, or PostgreSQL schemas), the conformance dataset loaded into each (the reference data
every node holds), the exchange in memory (federation/exchange.py FakeNetwork) or NATS JetStream.

The Shenzhen hospital takes national cross-province patients: a Taiyuan person at it is settled by node 44 under
Taiyuan's policy with the Taiyuan node (14) applying the accumulator, the accounts and the mutual aid.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import GATEWAY_TABLES, PG_SERVER, empty_tables, snapshot
from outpatient_world import CHILD, MOTHER, PARENT, SON, SZ_HOSP, His, base_doc, person_in
from sqlalchemy import create_engine, select, text

from yibao.app import create_app
from yibao.client import PlatformClient
from yibao.dataset.loader import load_document
from yibao.federation.config import NodeConfig
from yibao.federation.exchange import Exchange
from yibao.platform.remote import Remote
from yibao.store.db import Store, upgrade
from yibao.store.models import (
    Account,
    Accumulator,
    BankInstruction,
    Base,
    FederationInbox,
    FederationOutbox,
    MutualAidAuthorization,
    Settlement,
)

D = Decimal


def node_databases(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path,
                   tag: str) -> Iterator[list[str]]:
    """Three migrated, empty databases of the kind `request.param` names (SQLite files, or PostgreSQL schemas
    dropped after the test): the nodes' and a single-node platform's."""
    if request.param == "sqlite":
        out = []
        for n in range(3):
            shutil.copy(sqlite_template, tmp_path / f"node{n}.db")
            out.append(f"sqlite:///{tmp_path / f'node{n}.db'}")
        yield out
        return
    if request.config.pg_problem:  # type: ignore[attr-defined]
        pytest.skip(f"PostgreSQL not reachable: {request.config.pg_problem}")  # type: ignore[attr-defined]
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    schemas = [f"yibao_{tag}_{uuid.uuid4().hex[:10]}" for _ in range(3)]
    out = []
    for schema in schemas:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{PG_SERVER}?options=-csearch_path%3D{schema}"
        upgrade(url)
        with admin.begin() as conn:
            empty_tables(conn, Base.metadata.sorted_tables, schema)
        out.append(url)
    yield out
    with admin.connect() as conn:
        for schema in schemas:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def federation_doc() -> dict[str, Any]:
    doc = base_doc()
    for inst in doc["institutions"]:
        if inst["code"] == SZ_HOSP:
            inst["xregion"] = "national"
    # the Taiyuan and Hefei families live in Shenzhen (异地长期居住备案): cross-province settlement there is allowed
    doc["filings"] = [{"psn_no": psn_no, "type": "long_term_resident", "dest_admdvs": "440300",
                       "start": "2026-01-01", "end": "2026-12-31"} for psn_no in (PARENT, CHILD, MOTHER, SON)]
    return doc


class Node:
    """One province's node: its store, its link to the exchange, and a HIS of its hospital speaking to it."""

    def __init__(self, province: str, url: str, peers: tuple[str, ...], exchange: Exchange, doc: dict[str, Any],
                 time_box: float = 5.0):  # float-ok: seconds
        self.province = province
        self.store = Store(url)
        load_document(self.store, doc)
        self.doc = doc
        self.remote = Remote(NodeConfig((province,), peers, time_box=time_box), exchange, self.store).start()
        self.http = TestClient(create_app(self.store))
        self._his: His | None = None

    def his(self, code: str = SZ_HOSP) -> His:
        if self._his is None:
            inst = next(i for i in self.doc["institutions"] if i["code"] == code)
            client = PlatformClient("http://testserver", code, inst["secret"], inst["admdvs"], opter="op01",
                                    http=self.http)
            self._his = His(client, self.store)
        return self._his

    def who(self, psn_no: str) -> dict[str, Any]:
        return person_in(self.doc, psn_no)

    def close(self) -> None:
        self.remote.close()
        self.store.dispose()


# -- reading one node's books --------------------------------------------------------------------------

def balance(node: Node, psn_no: str) -> Decimal:
    with node.store.unit_of_work() as s:
        acct = s.get(Account, psn_no)
        assert acct is not None
        return acct.balance


def usage(node: Node, psn_no: str, bucket: str = "outpatient") -> tuple[Decimal, Decimal]:
    with node.store.unit_of_work() as s:
        acc = s.get(Accumulator, (psn_no, 2026, bucket))
        return (acc.deductible_used, acc.fund_paid) if acc else (D("0.00"), D("0.00"))


def quota_used(node: Node, beneficiary: str) -> Decimal:
    with node.store.unit_of_work() as s:
        return sum(s.scalars(select(MutualAidAuthorization.quota_used).where(
            MutualAidAuthorization.beneficiary == beneficiary)), D("0.00"))


def settlements(node: Node) -> list[Settlement]:
    with node.store.unit_of_work() as s:
        return list(s.scalars(select(Settlement).order_by(Settlement.setl_time, Settlement.setl_id)))


def instructions(node: Node) -> list[tuple[str, str, Decimal]]:
    with node.store.unit_of_work() as s:
        return [(b.code, b.psn_no, b.amount) for b in s.scalars(select(BankInstruction).order_by(
            BankInstruction.created_at, BankInstruction.journal_id))]


def inbox(node: Node) -> dict[str, str]:
    """The requests taken, each with its state (not the rows of settlements still to confirm: recovery.py)."""
    with node.store.unit_of_work() as s:
        return {r.msg_id: r.state for r in s.scalars(select(FederationInbox).where(FederationInbox.kind != "status"))}


def outbox(node: Node) -> dict[str, str]:
    with node.store.unit_of_work() as s:
        return {r.msg_id: r.state for r in s.scalars(select(FederationOutbox))}


def refused(node: Node, infno: str, input_: dict[str, Any], insuplc: str = "140100") -> str:
    """A call that must be refused and write no business state but the outbox's record of what it asked; its
    err_msg."""
    his = node.his()
    his.client.sign_no()
    before = snapshot(node.store, GATEWAY_TABLES | {"federation_outbox"})
    answer = his.call(infno, input_, insuplc)
    assert answer["infcode"] == -1, f"{infno} was not refused: {answer['output']}"
    assert snapshot(node.store, GATEWAY_TABLES | {"federation_outbox"}) == before
    return str(answer["err_msg"])
