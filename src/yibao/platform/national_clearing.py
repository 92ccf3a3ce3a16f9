"""The month's national clearing between two provinces' nodes (docs/federation.md): what the insured province owes
the treatment province for the cross-province settlements of the month, agreed through the exchange with a voucher
balancing at both ends.

The treatment node (payee) lists its month's settlements of persons insured in the payer's province — fund part
and personal-account part, a cancellation as a negative line — and sends them (`clearing`, id K + month + the two
provinces + a digest of the lines: the same list asked again is answered from the inbox). The insured node (payer)
lists the same month from its inbox — what it applied for that node, what it reversed — and agrees only if both
lists are the same line for line: then it writes its voucher (fund and account expense against a payable to the
treatment province) in the same transaction as its inbox row, and the treatment node writes its own (a receivable
from the insured province against its advances). Otherwise it answers each difference and nothing is written.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.errors import Refusal, refuse
from yibao.money import ZERO
from yibao.platform import province_transfers
from yibao.rules.monthly import month_end, month_start
from yibao.store.models import FederationInbox, FederationVoucher, Settlement

Line = tuple[str, str, str, str]  # kind (settle | cancel), the settlement's id, fund, account; amounts as text


def _month(ym: str) -> tuple[datetime, datetime]:
    try:
        return month_start(ym), month_end(ym)
    except ValueError:
        raise refuse("month", f"{ym!r} is not a month YYYY-MM") from None


def treatment_lines(session: Session, payer: str, ym: str) -> list[Line]:
    """The payee's side: its settlements of the month of persons insured in province `payer`."""
    start, end = _month(ym)
    S = Settlement
    out: list[Line] = []
    for row in session.execute(select(S.setl_id, S.init_setl_id, S.refd_setl_flag, S.fund_pay_sumamt, S.acct_pay)
                               .where(S.insu_admdvs.like(f"{payer}%"), S.setl_time >= start, S.setl_time < end)):
        if row.refd_setl_flag == "1":
            out.append(("cancel", row.init_setl_id, str(row.fund_pay_sumamt), str(row.acct_pay)))
        else:
            out.append(("settle", row.setl_id, str(row.fund_pay_sumamt), str(row.acct_pay)))
    return sorted(out)


def _applied(answer: dict[str, Any]) -> tuple[Decimal, Decimal]:
    acct = Decimal(answer["own"]) + sum((Decimal(d[3]) for d in answer.get("draws", [])), ZERO)
    return Decimal(answer["fund_pay_sumamt"]), acct


def insured_lines(session: Session, payee: str, ym: str) -> list[Line]:
    """The payer's side: what it applied in the month for node `payee`, and what it reversed."""
    start, end = _month(ym)
    I = FederationInbox  # noqa: E741
    rows = list(session.scalars(select(I).where(I.sender == payee, I.created_at >= start, I.created_at < end,
                                                I.kind.in_(("settle", "cancel")))))
    # compensations, whatever month they came in
    settled = [f"C{r.msg_id}" for r in rows if r.kind == "settle"]
    cancels = rows + (list(session.scalars(select(I).where(I.msg_id.in_(settled)))) if settled else [])
    compensated = {r.msg_id[1:] for r in cancels if r.kind == "cancel" and r.answer.get("compensation")}
    out: list[Line] = []
    for row in rows:
        if row.msg_id in compensated or row.msg_id[1:] in compensated and row.kind == "cancel":
            continue  # applied, then reversed because the treatment node never settled it: nothing to clear
        if row.kind == "settle" and row.state in ("applied", "cancelled"):
            fund, acct = _applied(row.answer)
            out.append(("settle", row.msg_id, str(fund), str(acct)))
        elif row.kind == "cancel" and row.answer.get("applied"):
            original = session.get(I, row.msg_id[1:])
            if original is not None:
                fund, acct = _applied(original.answer)
                out.append(("cancel", original.msg_id, str(-fund), str(-acct)))
    return sorted(out)


def totals(lines: list[Line]) -> tuple[Decimal, Decimal]:
    return (sum((Decimal(x[2]) for x in lines), ZERO), sum((Decimal(x[3]) for x in lines), ZERO))


def clearing_id(ym: str, payee: str, payer: str, lines: list[Line]) -> str:
    digest = hashlib.sha256(json.dumps(lines).encode()).hexdigest()[:12]
    return f"K{ym.replace('-', '')}{payee}{payer}{digest}"


def _voucher(voucher_id: str, side: str, ym: str, payer: str, payee: str, lines: int, fund: Decimal,
             acct: Decimal, now: datetime) -> FederationVoucher:
    total = fund + acct
    if side == "payer":
        entries = [["cross-province fund expense (异地就医基金支出)", str(fund), "0.00"],
                   ["cross-province personal-account payments (异地个人账户支付)", str(acct), "0.00"],
                   [f"payable to province {payee} (应付清算款)", "0.00", str(total)]]
    else:
        entries = [[f"receivable from province {payer} (应收清算款)", str(total), "0.00"],
                   ["cross-province fund advance (异地就医基金垫付)", "0.00", str(fund)],
                   ["cross-province personal-account advance (异地个人账户垫付)", "0.00", str(acct)]]
    return FederationVoucher(voucher_id=voucher_id, side=side, month=ym, payer=payer, payee=payee, lines=lines,
                             fund=fund, acct=acct, total=total, entries=entries, created_at=now)


def balanced(v: FederationVoucher) -> bool:
    return sum((Decimal(e[1]) for e in v.entries), ZERO) == sum((Decimal(e[2]) for e in v.entries), ZERO)


def answer_clearing(session: Session, msg: dict[str, Any]) -> dict[str, Any]:
    """The payer node's answer to a clearing proposal, its voucher written when it agrees (elsewhere.py)."""
    b = msg["body"]
    now = datetime.fromisoformat(b["now"])
    theirs = sorted(tuple(x) for x in b["lines"])
    ours = insured_lines(session, msg["sender"], b["month"])
    if theirs != ours:
        only_theirs = sorted(set(theirs) - set(ours))
        only_ours = sorted(set(ours) - set(theirs))
        return {"state": "disputed",
                "differences": [f"{k} {ref} fund {f} account {a}: only on the treatment node"
                                for k, ref, f, a in only_theirs] +
                               [f"{k} {ref} fund {f} account {a}: only on the insured node"
                                for k, ref, f, a in only_ours]}
    fund, acct = totals(ours)
    voucher = _voucher(msg["id"], "payer", b["month"], b["payer"], msg["sender"], len(ours), fund, acct, now)
    session.add(voucher)
    province_transfers.instruct(session, voucher, now)  # its payment, queued once with the voucher
    return {"state": "agreed", "voucher_id": msg["id"], "lines": len(ours), "fund": str(fund), "acct": str(acct),
            "total": str(fund + acct)}


def clear(remote: Any, payer: str, ym: str, now: datetime, wait: float = 30.0) -> dict[str, Any]:  # float-ok: s
    """The payee node's side: propose the month's lines to the payer's node; on its agreement, write the voucher.
    The answer: agreed (with the voucher) or disputed (with each difference)."""
    store = remote.store
    payee = remote.config.name
    with store.unit_of_work() as s:
        lines = treatment_lines(s, payer, ym)
    voucher_id = clearing_id(ym, payee, payer, lines)
    fund, acct = totals(lines)
    body = {"month": ym, "payer": payer, "lines": [list(x) for x in lines], "fund": str(fund), "acct": str(acct),
            "now": now.isoformat()}
    answer = remote.ask(payer, "clearing", voucher_id, body, wait)
    if answer is None:
        raise Refusal(f"not cleared: the node of province {payer} did not answer within {wait:g} s; run it again")
    if answer["state"] == "agreed":
        with store.unit_of_work() as s:
            if s.get(FederationVoucher, (voucher_id, "payee")) is None:
                s.add(_voucher(voucher_id, "payee", ym, payer, payee, len(lines), fund, acct, now))
    return {**answer, "voucher_id": voucher_id, "lines": len(lines), "fund": str(fund), "acct": str(acct),
            "total": str(fund + acct)}
