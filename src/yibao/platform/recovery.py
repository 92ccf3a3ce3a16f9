"""A treatment node on SQLite that dies between asking and committing (docs/federation.md, "nothing half done").

On PostgreSQL the treatment node writes its outbox row in a transaction of its own before it asks, so a crash
leaves the trace its sweeper compensates. On SQLite one writer at a time forbids that: the row goes with the
settlement's transaction, and a process that dies before the commit loses both, while the insured node may
already have applied the request. So a treatment node on SQLite asks with `confirm`, and the insured node, once
the time box is well past, asks it `status` (id S + setl_id) for each such request it applied:

- settled: nothing owed; the answer replaces the insured node's inbox row `owed`, so it is asked once;
- known to its outbox: its sweeper owes the cancellation already;
- neither: the treatment node writes the outbox row `compensate` now and its sweeper sends the cancellation,
  which the insured node applies as for any compensation (reversed, and left out of the month's clearing).

The treatment node answers `status` in a unit of work of its own: on SQLite an immediate transaction, which waits
for a settlement's transaction still open, so it never takes a settlement still being committed for lost.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from yibao.store.db import Store
from yibao.store.models import FederationInbox, FederationOutbox, Settlement

STATUS = "status"
PREFIX = "S"
OWED = "owed"  # the insured node's inbox row of a request to confirm, until the treatment node answers


def answer_status(store: Store, msg: dict[str, Any]) -> dict[str, Any]:
    """The treatment node's side: what became of a settlement it asked of the sender."""
    setl_id = msg["body"]["setl_id"]
    now = datetime.now()
    with store.unit_of_work() as s:
        if s.get(Settlement, setl_id) is not None:
            return {"state": "settled"}
        row = s.get(FederationOutbox, setl_id)
        if row is not None:
            return {"state": "known", "outbox": row.state}
        s.add(FederationOutbox(msg_id=setl_id, kind="settle", peer=msg["sender"], state="compensate",
                               body={"psn_no": msg["body"]["psn_no"], "now": msg["body"]["now"]},
                               asked_at=now, updated_at=now))
        return {"state": "compensating"}


def confirm(remote: Any, before: datetime) -> int:
    """The insured node's side: each request applied before `before` for a treatment node that asked it to
    confirm (its inbox row S + setl_id `owed`, written with the effect), asked about. How many were answered."""
    store = remote.store
    I = FederationInbox  # noqa: E741
    with store.unit_of_work() as s:
        owed = [(r.msg_id, r.sender, r.psn_no, r.created_at) for r in s.scalars(
            select(I).where(I.kind == STATUS, I.state == OWED, I.created_at < before))]
    done = 0
    for msg_id, sender, psn_no, created in owed:
        answer = remote.ask(sender, STATUS, msg_id, {"setl_id": msg_id.removeprefix(PREFIX), "psn_no": psn_no,
                                                     "now": created.isoformat()})
        if answer is None:
            continue
        with store.unit_of_work() as s:
            row = s.get(I, msg_id, with_for_update=True)
            if row is not None and row.state == OWED:
                row.state, row.answer, row.updated_at = answer["state"][:12], answer, datetime.now()
        done += 1
    return done
