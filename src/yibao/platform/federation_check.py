"""`yibao federation check`: both sides of every cross-province settlement of the nodes named, compared
(docs/federation.md). An operator's audit with read access to each node's database; the nodes themselves never
read each other's.

For each settlement a treatment node asked of an insured node (its outbox) the pair must be one of: settled here
and applied there with the same amounts (deductible, fund, own account, mutual aid); cancelled on both sides;
on neither side (refused, fenced, or applied and reversed). A request still owed its answer or its cancellation
is listed as in flight; every other pair, and a settlement applied on an insured node that no treatment node
asked for, is a difference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select

from yibao.money import ZERO
from yibao.platform import national_clearing
from yibao.store.db import Store
from yibao.store.models import FederationInbox, FederationOutbox, FederationVoucher, Settlement


@dataclass
class Report:
    compared: int = 0
    vouchers: int = 0
    in_flight: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)


def _applied(answer: dict) -> dict[str, Decimal]:
    mutual = sum((Decimal(d[3]) for d in answer.get("draws", [])), ZERO)
    return {"act_pay_dedc": Decimal(answer["act_pay_dedc"]), "hifp_pay": Decimal(answer["hifp_pay"]),
            "acct_pay": Decimal(answer["own"]) + mutual, "acct_mulaid_pay": mutual}


def check(nodes: dict[str, Store]) -> Report:
    out = Report()
    asked: set[str] = set()
    inboxes: dict[str, dict[str, FederationInbox]] = {}
    for name, store in nodes.items():
        with store.unit_of_work() as s:
            inboxes[name] = {r.msg_id: r for r in s.scalars(select(FederationInbox).where(
                FederationInbox.kind == "settle"))}
    for name, store in nodes.items():
        with store.unit_of_work() as s:
            for row in s.scalars(select(FederationOutbox).where(FederationOutbox.kind == "settle")
                                 .order_by(FederationOutbox.asked_at)):
                asked.add(row.msg_id)
                if row.peer not in inboxes:
                    out.in_flight.append(f"{row.msg_id}: node {row.peer} not checked")
                    continue
                there = inboxes[row.peer].get(row.msg_id)
                here = s.get(Settlement, row.msg_id)
                out.compared += 1
                problem = _pair(here, there)
                if problem and row.state in ("asked", "compensate"):
                    out.in_flight.append(f"{row.msg_id} ({name} -> {row.peer}): {row.state}, {problem}")
                elif problem:
                    out.differences.append(f"{row.msg_id} ({name} -> {row.peer}): {problem}")
    for name, rows in inboxes.items():
        for msg_id, row in rows.items():
            if row.sender in nodes and msg_id not in asked and row.state in ("applied", "cancelled"):
                out.differences.append(f"{msg_id} ({row.sender} -> {name}): {row.state} on the insured node, "
                                       "never asked by the treatment node")
    _vouchers(nodes, out)
    return out


def _vouchers(nodes: dict[str, Store], out: Report) -> None:
    """Each month's clearing: the voucher at both ends, each balanced, the same amounts."""
    ends: dict[tuple[str, str], FederationVoucher] = {}
    for name, store in nodes.items():
        with store.unit_of_work() as s:
            for v in s.scalars(select(FederationVoucher)):
                if (v.side == "payer" and v.payer != name) or (v.side == "payee" and v.payee != name):
                    continue
                ends[(v.voucher_id, v.side)] = v
                if not national_clearing.balanced(v):
                    out.differences.append(f"voucher {v.voucher_id} ({v.side} end, {name}) does not balance")
    for (voucher_id, side), v in sorted(ends.items()):
        other = "payee" if side == "payer" else "payer"
        if (voucher_id, other) in ends:
            if side == "payer":
                out.vouchers += 1
                w = ends[(voucher_id, other)]
                if (v.fund, v.acct, v.total, v.lines, v.month) != (w.fund, w.acct, w.total, w.lines, w.month):
                    out.differences.append(f"voucher {voucher_id}: payer {v.total} ({v.lines} lines), "
                                           f"payee {w.total} ({w.lines} lines)")
            continue
        at = v.payee if other == "payee" else v.payer
        if at in nodes:
            out.differences.append(f"voucher {voucher_id} of {v.month}: only at the {side}'s end ({at} has none: "
                                   "run `yibao federation clear` again)")


def _pair(here: Settlement | None, there: FederationInbox | None) -> str | None:
    """What is wrong with the pair, or None."""
    state = there.state if there is not None else "absent"
    if here is None or here.status not in ("settled", "cancelled"):
        if state == "applied":
            return "applied on the insured node, not settled on the treatment node"
        return None
    if here.status == "cancelled":
        return None if state == "cancelled" else f"cancelled on the treatment node, {state} on the insured node"
    if state != "applied" or there is None:
        return f"settled on the treatment node, {state} on the insured node"
    theirs = _applied(there.answer)
    wrong = [f"{k} {getattr(here, k)} here, {v} there" for k, v in theirs.items() if getattr(here, k) != v]
    return "; ".join(wrong) or None
