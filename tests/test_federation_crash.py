"""A treatment node on SQLite dying between asking the insured node and committing the settlement (docs/federation.md,
platform/recovery.py): its outbox row is lost with the settlement's transaction, the insured node has applied the
request; the insured node asks what became of it, the treatment node's sweeper compensates, the check is clean."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from federation_world import inbox, outbox, settlements
from outpatient_world import CHILD, EXAMPLE_B
from sqlalchemy import select
from test_federation import LATER, World, settled_once, untouched

from yibao.platform import federation_check, recovery, settlement
from yibao.platform.remote import Remote
from yibao.store.models import FederationInbox


@pytest.fixture
def world(tmp_path: Path, sqlite_template: Path) -> Iterator[World]:
    urls = []
    for n in range(3):
        shutil.copy(sqlite_template, tmp_path / f"node{n}.db")
        urls.append(f"sqlite:///{tmp_path / f'node{n}.db'}")
    w = World(urls)
    yield w
    w.close()


class Killed(Exception):
    """The process's end, as far as the database can tell: the transaction never commits."""


def confirmed(w: World) -> dict[str, str]:
    with w.ty.store.unit_of_work() as s:
        return {r.msg_id: r.state for r in s.scalars(select(FederationInbox).where(FederationInbox.kind == "status"))}


def crash_after_the_ask(monkeypatch: pytest.MonkeyPatch) -> None:
    """The process dies once the insured node has answered, before the settlement commits: nothing of the
    transaction is kept, and nothing runs after it (no outbox row written after the rollback)."""
    def die(*_a, **_k):  # noqa: ANN002, ANN003, ANN202
        raise Killed
    monkeypatch.setattr(settlement.fund_ledger, "post_settlement", die)
    monkeypatch.setattr(Remote, "_after_rollback", lambda self, rows: None)


def test_a_crash_between_asking_and_committing_is_compensated(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    visit = world.visit()
    crash_after_the_ask(monkeypatch)
    assert world.sz.his().call("2207", visit.data_2207(), "140100")["infcode"] == -1
    monkeypatch.undo()
    setl_id = next(iter(inbox(world.ty)))
    assert inbox(world.ty) == {setl_id: "applied"} and outbox(world.sz) == {} and settlements(world.sz) == []
    settled_once(world)  # applied there, for a settlement that exists nowhere
    report = federation_check.check({"44": world.sz.store, "14": world.ty.store})
    assert report.differences == [f"{setl_id} (44 -> 14): applied on the insured node, never asked by the "
                                  "treatment node"]

    assert recovery.confirm(world.ty.remote, LATER) == 1  # the insured node asks what became of it
    assert outbox(world.sz) == {setl_id: "compensate"}
    assert recovery.confirm(world.ty.remote, LATER) == 0  # asked once
    assert world.sz.remote.sweep(LATER)["compensated"] == 1
    untouched(world.ty)
    assert inbox(world.ty)[setl_id] == "cancelled" and outbox(world.sz) == {setl_id: "compensated"}
    report = federation_check.check({"44": world.sz.store, "14": world.ty.store})
    assert (report.differences, report.in_flight) == ([], [])

    # the HIS sends the visit again: settled once, and the settlement confirmed, not compensated
    info = world.sz.his().visit(world.sz.who(CHILD), EXAMPLE_B).settle()["output"]["setlinfo"]
    settled_once(world)
    assert recovery.confirm(world.ty.remote, LATER) == 1
    assert confirmed(world)["S" + info["setl_id"]] == "settled"
    assert world.sz.remote.sweep(LATER)["compensated"] == 0
    settled_once(world)
    report = federation_check.check({"44": world.sz.store, "14": world.ty.store})
    assert (report.differences, report.in_flight) == ([], [])


def test_a_failed_commit_still_leaves_its_trace(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The settlement refused after the answer (an error, not a crash): the outbox row is written after the
    rollback, and the sweeper compensates without the insured node's asking."""
    visit = world.visit()

    def fail(*_a, **_k):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("the disk is full")
    monkeypatch.setattr(settlement.fund_ledger, "post_settlement", fail)
    assert world.sz.his().call("2207", visit.data_2207(), "140100")["infcode"] == -1
    monkeypatch.undo()
    (setl_id,) = outbox(world.sz)
    assert outbox(world.sz) == {setl_id: "asked"} and inbox(world.ty) == {setl_id: "applied"}
    assert world.sz.remote.sweep(LATER)["compensated"] == 1
    untouched(world.ty)
    assert recovery.confirm(world.ty.remote, LATER) == 0  # cancelled: nothing to ask
    assert list(confirmed(world).values()) == ["cancelled"]
