"""The insured province's node: what a treatment node asks of it through the exchange (docs/federation.md).

`settle`: the insured part of a cross-province settlement (settlement.insured_part: the accumulator, the personal
account and the family mutual-aid waterfall under the insured region's policy) computed and applied, with the
bank instructions. `cancel`: that part reversed exactly, or, when the settlement never arrived, fenced off so that
it never applies if it arrives late (as 2601 fences an unknown msgid). `quote`: the insured part of a
pre-settlement (2206), computed and applied to nothing.

Each request is applied exactly once: its id is taken in the inbox in the same transaction as its effect, with the
answer it got; a duplicate is answered from the inbox. A request met by a concurrent twin (the unique id) is
not answered now and is delivered again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from yibao.errors import Refusal
from yibao.money import ZERO
from yibao.platform import catalog, ledger, national_clearing, province_transfers, recovery, settlement, visitors
from yibao.platform.ids import new_id
from yibao.rules.selection import settlement_case
from yibao.rules.splitting import Sums
from yibao.store.db import Store
from yibao.store.models import AccountEntry, Accumulator, FederationInbox, Person
from yibao.store.reference import reference

SUMS = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt")
CANCEL = "C"  # a cancellation's id: C + the settlement's


class _Undone(Exception):
    """Leaves a unit of work rolled back, with the answer to give."""

    def __init__(self, answer: dict[str, Any]):
        super().__init__(answer.get("reason", ""))
        self.answer = answer


def handle(store: Store, msg: dict[str, Any]) -> dict[str, Any] | None:
    """The answer to a request from another node, or None: not applied now, to be delivered again."""
    kind = msg["kind"]
    try:
        if kind == "quote":
            try:
                with store.unit_of_work() as session:
                    raise _Undone(_insured_part(session, msg, lock=False)[0])
            except _Undone as done:
                return done.answer
        if kind == "settle":
            return _settle(store, msg)
        if kind == "cancel":
            return _cancel(store, msg)
        if kind == "clearing":
            return _clearing(store, msg)
        if kind == province_transfers.PAID:
            return _paid(store, msg)
        if kind == recovery.STATUS:  # this node as the treatment node: what became of a settlement it asked
            return recovery.answer_status(store, msg)
        if kind == "person":  # who a visitor is (platform/visitors.py): read, applied to nothing
            with store.unit_of_work() as session:
                return visitors.answer(session, msg["body"])
    except (IntegrityError, OperationalError):  # a twin delivered at the same time, a deadlock: again later
        return None
    return {"state": "refused", "reason": f"unknown request kind {kind!r}"}


def _insured_part(session: Session, msg: dict[str, Any], lock: bool) -> tuple[dict[str, Any],
                                                                              settlement.Computation | None]:
    b = msg["body"]
    person = session.get(Person, b["psn_no"])
    if person is None:
        return {"state": "refused", "reason": f"no insured person {b['psn_no']} in this province"}, None
    try:
        today, as_of = date.fromisoformat(b["today"]), date.fromisoformat(b["as_of"])
        policy = catalog.policy_for(session, person.admdvs, b["insutype"], b["med_type"], b["level"], as_of)
        case = settlement_case(person.admdvs, b["treatment_admdvs"], b["kind"] == "inpatient")
        sums = Sums(**{k: Decimal(b["sums"][k]) for k in SUMS})
        comp = settlement.insured_part(session, person=person, case=case, policy=policy, med_type=b["med_type"],
                                       sums=sums, use_accounts=b["use_accounts"], today=today, year=as_of.year,
                                       lock=lock, warnings=[], regions=reference(session).regions(session))
    except Refusal as refused:
        return {"state": "refused", "reason": str(refused)}, None
    s, pay = comp.shares, comp.payment
    own = comp.own_account
    return {"state": "applied" if lock else "quoted", "policy_id": policy.id, "bucket": policy.bucket,
            "year": as_of.year,
            "act_pay_dedc": str(s.act_pay_dedc), "hifp_pay": str(s.hifp_pay), "coinsurance": str(s.coinsurance),
            "pool_prop_selfpay": str(s.pool_prop_selfpay), "fund_pay_sumamt": str(s.fund_pay_sumamt),
            "psn_part_amt": str(s.psn_part_amt), "cap_left_before": str(s.cap_left_before),
            "explanation": list(s.explanation), "warnings": comp.warnings, "own": str(pay.own),
            "acct_admdvs": own.admdvs if own is not None else None,
            "draws": [[d.source.authorization_id, d.source.authorizer, d.source.acct_admdvs, str(d.amount)]
                      for d in pay.draws], "balc": str(comp.balc)}, comp


def _settle(store: Store, msg: dict[str, Any]) -> dict[str, Any]:
    now = datetime.fromisoformat(msg["body"]["now"])
    try:
        with store.unit_of_work() as session:
            seen = session.get(FederationInbox, msg["id"], with_for_update=True)
            if seen is not None:
                if seen.state == "fenced":
                    return {"state": "refused", "reason": "cancelled before it arrived: not settled"}
                return seen.answer
            answer, comp = _insured_part(session, msg, lock=True)
            if comp is None:
                raise _Undone(answer)
            settlement.apply_insured(session, comp, msg["id"], now)
            session.add(_row(msg, "settle", "applied", answer, now))
            if msg["body"].get("confirm"):  # a treatment node on SQLite: asked about later (recovery.py)
                session.add(_row(msg, recovery.STATUS, recovery.OWED, {"state": recovery.OWED}, now,
                                 msg_id=recovery.PREFIX + msg["id"]))
            return answer
    except _Undone as refused:  # nothing applied; the refusal kept, so a duplicate gets the same answer
        with store.unit_of_work() as session:
            session.add(_row(msg, "settle", "refused", refused.answer, now))
        return refused.answer


def _row(msg: dict[str, Any], kind: str, state: str, answer: dict[str, Any], now: datetime,
         msg_id: str | None = None) -> FederationInbox:
    return FederationInbox(msg_id=msg_id or msg["id"], kind=kind, sender=msg["sender"], state=state,
                           psn_no=msg["body"].get("psn_no"), answer=answer, created_at=now, updated_at=now)


def _cancel(store: Store, msg: dict[str, Any]) -> dict[str, Any]:
    setl_id = msg["body"]["setl_id"]
    now = datetime.fromisoformat(msg["body"]["now"])
    with store.unit_of_work() as session:
        seen = session.get(FederationInbox, msg["id"], with_for_update=True)
        if seen is not None:
            return seen.answer
        original = session.get(FederationInbox, setl_id, with_for_update=True)
        # a compensation: the treatment node never settled it, so it is in no month's clearing
        compensation = bool(msg["body"].get("compensation"))
        if original is None:  # never arrived: fenced, never to apply
            session.add(_row(msg, "settle", "fenced", {"state": "fenced"}, now, msg_id=setl_id))
            answer = {"state": "cancelled", "applied": False, "balc": None, "compensation": compensation}
        elif original.state != "applied":
            answer = {"state": "cancelled", "applied": False, "balc": None, "compensation": compensation}
        else:
            answer = {"state": "cancelled", "applied": True, "balc": str(_reverse(session, original, now)),
                      "compensation": compensation}
            original.state, original.updated_at = "cancelled", now
            owed = session.get(FederationInbox, recovery.PREFIX + setl_id)
            if owed is not None and owed.state == recovery.OWED:  # reversed: nothing left to ask about
                owed.state, owed.updated_at = "cancelled", now
        session.add(_row(msg, "cancel", "done", answer, now))
    return answer


def _clearing(store: Store, msg: dict[str, Any]) -> dict[str, Any]:
    # a dispute writes nothing: asked again, it is looked at again
    return _once(store, msg, national_clearing.answer_clearing, "clearing", "agreed")


def _paid(store: Store, msg: dict[str, Any]) -> dict[str, Any]:
    """The insured node's transfer paying a clearing voucher, received: posted once, with the inbox row (else
    nothing written: told again later, it looks again)."""
    return _once(store, msg, province_transfers.answer_paid, province_transfers.PAID, "booked")


def _once(store: Store, msg: dict[str, Any], answer: Callable[[Session, dict[str, Any]], dict[str, Any]], kind: str,
          kept: str) -> dict[str, Any]:
    """A request answered once: its answer kept in the inbox, in the transaction of its effect, when it is `kept`;
    asked again, the kept answer."""
    now = datetime.fromisoformat(msg["body"]["now"])
    with store.unit_of_work() as session:
        seen = session.get(FederationInbox, msg["id"], with_for_update=True)
        if seen is not None:
            return seen.answer
        answered = answer(session, msg)
        if answered["state"] == kept:
            session.add(_row(msg, kind, kept, answered, now))
        return answered


def _reverse(session: Session, original: FederationInbox, now: datetime) -> Decimal:
    """What settle applied, reversed exactly (settlement.cancel's insured part); the own balance after."""
    a = original.answer
    entries = list(session.scalars(select(AccountEntry).where(AccountEntry.setl_id == original.msg_id,
                                                              AccountEntry.amount < 0)))
    accounts = ledger.lock_accounts(session, {e.psn_no for e in entries})
    psn_no = original.psn_no or ""
    year = int(a["year"])
    acc = session.get(Accumulator, (psn_no, year, a["bucket"]), with_for_update=True)
    if acc is not None:
        acc.deductible_used -= Decimal(a["act_pay_dedc"])
        acc.fund_paid -= Decimal(a["hifp_pay"])
    reversal_id = new_id(original.msg_id[:6], now)
    ledger.give_back(session, accounts, entries, setl_id=reversal_id, now=now)
    own = accounts.get(psn_no) or (ledger.lock_accounts(session, {psn_no}).get(psn_no) if psn_no else None)
    return own.balance if own is not None and own.status == "open" else ZERO
