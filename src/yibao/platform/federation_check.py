"""`yibao federation check`: both sides of every cross-province settlement of the nodes named, compared
(docs/federation.md). An operator's audit with read access to each node's database; the nodes themselves never
read each other's.

For each settlement a treatment node asked of an insured node (its outbox) the pair must be one of: settled here
and applied there with the same amounts (deductible, fund, own account, mutual aid); cancelled on both sides;
on neither side (refused, fenced, or applied and reversed). A request still owed its answer or its cancellation
is listed as in flight; every other pair, and a settlement applied on an insured node that no treatment node
asked for, is a difference.

Each node's part is its `side` (plain values): read from its database by the operator, or served by the node
itself to the centre of a province it owns (GET /api/v1/centre/federation/side, that centre's token), so the
check need not read any database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.errors import refuse
from yibao.money import ZERO
from yibao.platform import national_clearing
from yibao.rules.monthly import parse_ym
from yibao.store.db import Store
from yibao.store.models import FederationInbox, FederationOutbox, FederationVoucher, Settlement

AMOUNTS = ("act_pay_dedc", "hifp_pay", "acct_pay", "acct_mulaid_pay")


@dataclass
class Report:
    compared: int = 0
    vouchers: int = 0
    in_flight: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)


def _applied(answer: dict[str, Any]) -> dict[str, str] | None:
    if "act_pay_dedc" not in answer:
        return None
    mutual = sum((Decimal(d[3]) for d in answer.get("draws", [])), ZERO)
    return {"act_pay_dedc": answer["act_pay_dedc"], "hifp_pay": answer["hifp_pay"],
            "acct_pay": str(Decimal(answer["own"]) + mutual), "acct_mulaid_pay": str(mutual)}


def side(session: Session, month: str | None = None, peer: str | None = None) -> dict[str, Any]:
    """This node's side of its cross-province settlements and clearings (with `peer`: with that node only; with
    `month`: asked in that month of the business clock the request carries, the same at both ends)."""
    if month is not None:
        try:
            parse_ym(month)
        except ValueError as exc:
            raise refuse("month", str(exc)) from None
    if peer is not None and (len(peer) != 2 or not peer.isdigit()):
        raise refuse("peer", f"{peer!r} is not a node's 2-digit province")
    O, I, V = FederationOutbox, FederationInbox, FederationVoucher  # noqa: E741
    outbox = []
    for row in session.scalars(select(O).where(O.kind == "settle", *([O.peer == peer] if peer else []))
                               .order_by(O.asked_at, O.msg_id)):
        if month is not None and not str(row.body.get("now", "")).startswith(month):
            continue
        here = session.get(Settlement, row.msg_id)
        outbox.append({"msg_id": row.msg_id, "peer": row.peer, "state": row.state,
                       "settlement": None if here is None else {
                           "status": here.status, **{k: str(getattr(here, k)) for k in AMOUNTS}}})
    inbox = []
    for r in session.scalars(select(I).where(I.kind == "settle", *([I.sender == peer] if peer else []))
                             .order_by(I.msg_id)):
        if month is None or f"{r.created_at:%Y-%m}" == month:
            inbox.append({"msg_id": r.msg_id, "sender": r.sender, "state": r.state, "applied": _applied(r.answer)})
    vouchers = [{"voucher_id": v.voucher_id, "side": v.side, "month": v.month, "payer": v.payer, "payee": v.payee,
                 "lines": v.lines, "fund": str(v.fund), "acct": str(v.acct), "total": str(v.total),
                 "balanced": national_clearing.balanced(v)}
                for v in session.scalars(select(V).order_by(V.voucher_id, V.side))
                if (month is None or v.month == month) and (peer is None or peer in (v.payer, v.payee))]
    return {"outbox": outbox, "inbox": inbox, "vouchers": vouchers}


def check(nodes: dict[str, Store]) -> Report:
    """The check of the nodes named, reading each one's database."""
    sides = {}
    for name, store in nodes.items():
        with store.unit_of_work() as s:
            sides[name] = side(s)
    return compare(sides)


def compare(sides: dict[str, dict[str, Any]]) -> Report:
    """Both sides of every cross-province settlement and clearing between the nodes whose sides are given."""
    out = Report()
    asked: set[str] = set()
    inboxes = {name: {r["msg_id"]: r for r in sd["inbox"]} for name, sd in sides.items()}
    for name, sd in sides.items():
        for row in sd["outbox"]:
            asked.add(row["msg_id"])
            if row["peer"] not in inboxes:
                out.in_flight.append(f"{row['msg_id']}: node {row['peer']} not checked")
                continue
            out.compared += 1
            problem = _pair(row["settlement"], inboxes[row["peer"]].get(row["msg_id"]))
            if problem and row["state"] in ("asked", "compensate"):
                out.in_flight.append(f"{row['msg_id']} ({name} -> {row['peer']}): {row['state']}, {problem}")
            elif problem:
                out.differences.append(f"{row['msg_id']} ({name} -> {row['peer']}): {problem}")
    for name, rows in inboxes.items():
        for msg_id, r in rows.items():
            if r["sender"] in sides and msg_id not in asked and r["state"] in ("applied", "cancelled"):
                out.differences.append(f"{msg_id} ({r['sender']} -> {name}): {r['state']} on the insured node, "
                                       "never asked by the treatment node")
    _vouchers(sides, out)
    return out


def _vouchers(sides: dict[str, dict[str, Any]], out: Report) -> None:
    """Each month's clearing: the voucher at both ends, each balanced, the same amounts."""
    ends: dict[tuple[str, str], dict[str, Any]] = {}
    for name, sd in sides.items():
        for v in sd["vouchers"]:
            if (v["side"] == "payer" and v["payer"] != name) or (v["side"] == "payee" and v["payee"] != name):
                continue
            ends[(v["voucher_id"], v["side"])] = v
            if not v["balanced"]:
                out.differences.append(f"voucher {v['voucher_id']} ({v['side']} end, {name}) does not balance")
    same = ("fund", "acct", "total", "lines", "month")
    for (voucher_id, end), v in sorted(ends.items()):
        other = "payee" if end == "payer" else "payer"
        if (voucher_id, other) in ends:
            if end == "payer":
                out.vouchers += 1
                w = ends[(voucher_id, other)]
                if any(Decimal(str(v[k])) != Decimal(str(w[k])) if k != "month" else v[k] != w[k] for k in same):
                    out.differences.append(f"voucher {voucher_id}: payer {v['total']} ({v['lines']} lines), "
                                           f"payee {w['total']} ({w['lines']} lines)")
            continue
        at = v["payee"] if other == "payee" else v["payer"]
        if at in sides:
            out.differences.append(f"voucher {voucher_id} of {v['month']}: only at the {end}'s end ({at} has none: "
                                   "run `yibao federation clear` again)")


def _pair(here: dict[str, Any] | None, there: dict[str, Any] | None) -> str | None:
    """What is wrong with the pair, or None."""
    state = there["state"] if there is not None else "absent"
    if here is None or here["status"] not in ("settled", "cancelled"):
        if state == "applied":
            return "applied on the insured node, not settled on the treatment node"
        return None
    if here["status"] == "cancelled":
        return None if state == "cancelled" else f"cancelled on the treatment node, {state} on the insured node"
    if state != "applied" or there is None or there["applied"] is None:
        return f"settled on the treatment node, {state} on the insured node"
    wrong = [f"{k} {here[k]} here, {v} there" for k, v in there["applied"].items() if Decimal(here[k]) != Decimal(v)]
    return "; ".join(wrong) or None
