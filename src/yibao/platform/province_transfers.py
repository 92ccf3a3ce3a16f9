"""The bank transfers that pay the month's clearing vouchers between two provinces' nodes (docs/federation.md), and
their entries in each node's fund ledger (docs/ledger.md).

1. When the insured (payer) node agrees a month's clearing it queues, in the same transaction as its voucher, one
   `fund_031` instruction from its province's fund account to the treatment province's (FUND-140000 ->
   FUND-440000) for the voucher's total; the instruction's id is made of the voucher's, so there is one per voucher.
2. The bank outbox delivers it as any other instruction (bank/outbox.py). Once the bank has acknowledged it, the
   payer node posts Dr province_payable(payee) / Cr bank in its province's book and, in the same transaction,
   writes the message `paid` (id P + voucher id) to its federation outbox.
3. The message is sent until the treatment node answers it. The treatment node takes it in its inbox (once) and,
   in the same transaction, posts Dr bank / Cr province_receivable(payer) in its province's book.

Both entries are dated by the instruction's date, so the two ends post in the same month. Steps 2 and 3 run in the
node's sweeper and in `yibao federation transfers`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.money import ZERO
from yibao.platform import fund_ledger
from yibao.platform.allocation import FUND_TRANSFER, fund_account
from yibao.rules import fund_ledger as fl
from yibao.store.db import Store
from yibao.store.models import (
    BankInstruction,
    FederationInbox,
    FederationOutbox,
    FederationVoucher,
    FundJournalLine,
)

PAID = "paid"  # the message telling the treatment node its transfer was paid


def book(province: str) -> str:
    """A province's own book in the fund ledger: the clearing is between provinces, not their regions."""
    return province + "0000"


def instruction_id(voucher_id: str) -> str:
    return "F" + voucher_id


def entry_id(voucher_id: str) -> str:
    return "X" + voucher_id


def message_id(voucher_id: str) -> str:
    return "P" + voucher_id


def instruct(session: Session, voucher: FederationVoucher, now: datetime) -> str | None:
    """Queue the transfer paying a payer's voucher, once; None when the month owes nothing. (A month whose
    cancellations of earlier months exceed its settlements nets to less than nothing: not paid back here.)"""
    if voucher.side != "payer" or voucher.total <= 0:
        return None
    iid = instruction_id(voucher.voucher_id)
    if session.get(BankInstruction, iid) is None:
        session.add(BankInstruction(instruction_id=iid, code=FUND_TRANSFER, psn_no=fund_account(book(voucher.payer)),
                                    acct_admdvs=book(voucher.payer), amount=voucher.total,
                                    setl_id=voucher.voucher_id, payee=fund_account(book(voucher.payee)),
                                    created_at=now, status="pending", attempts=0, next_attempt_at=datetime.now()))
    return iid


def post_paid(store: Store, me: str) -> int:
    """The payer's side: each of its transfers the bank has acknowledged and not yet posted, posted, with the
    message to the payee written to the outbox. How many."""
    done = 0
    with store.unit_of_work() as s:
        due = list(s.execute(select(FederationVoucher, BankInstruction)
                             .join(BankInstruction, BankInstruction.setl_id == FederationVoucher.voucher_id)
                             .where(BankInstruction.code == FUND_TRANSFER, BankInstruction.status == "delivered",
                                    FederationVoucher.side == "payer", FederationVoucher.payer == me)))
        for voucher, ins in due:
            vid = voucher.voucher_id
            if s.get(FundJournalLine, (entry_id(vid), 1)) is not None:
                continue
            fund_ledger.post(s, "clearing", vid, fl.province_transfer_paid(book(me), voucher.payee, ins.amount),
                             ins.created_at, entry_id=entry_id(vid))
            body = {"voucher_id": vid, "month": voucher.month, "payer": me, "amount": str(ins.amount),
                    "instruction_id": ins.instruction_id, "now": ins.created_at.isoformat()}
            s.add(FederationOutbox(msg_id=message_id(vid), kind=PAID, peer=voucher.payee, state="asked", body=body,
                                   asked_at=datetime.now(), updated_at=datetime.now()))
            done += 1
    return done


def tell(remote: Any) -> int:
    """The payer's side: each `paid` message not yet taken by its payee, sent again. How many were taken."""
    store = remote.store
    with store.unit_of_work() as s:
        owed = [(r.msg_id, r.peer, r.body) for r in s.scalars(select(FederationOutbox).where(
            FederationOutbox.kind == PAID, FederationOutbox.state == "asked"))]
    taken = 0
    for msg_id, peer, body in owed:
        answer = remote.ask(peer, PAID, msg_id, body)
        if answer is None or answer.get("state") != "booked":
            continue  # not answered, or the payee has not written its voucher yet: asked again next time
        with store.unit_of_work() as s:
            row = s.get(FederationOutbox, msg_id, with_for_update=True)
            if row is not None:
                row.state, row.answer, row.updated_at = "answered", answer, datetime.now()
        taken += 1
    return taken


def advance(remote: Any) -> dict[str, int]:
    """What is due on this node: the transfers of its payer vouchers queued (those agreed before transfers
    existed), the confirmed ones posted, their payees told."""
    store, me = remote.store, remote.config.name
    queued = 0
    with store.unit_of_work() as s:
        for v in s.scalars(select(FederationVoucher).where(FederationVoucher.side == "payer",
                                                           FederationVoucher.payer == me)):
            if v.total > 0 and s.get(BankInstruction, instruction_id(v.voucher_id)) is None:
                instruct(s, v, v.created_at)
                queued += 1
    return {"queued": queued, "posted": post_paid(store, me), "told": tell(remote)}


def answer_paid(session: Session, msg: dict[str, Any]) -> dict[str, Any]:
    """The payee's side (elsewhere.py): the transfer of its voucher received, posted once with the inbox row."""
    b = msg["body"]
    voucher = session.get(FederationVoucher, (b["voucher_id"], "payee"))
    amount = Decimal(b["amount"])
    if voucher is None or voucher.payer != msg["sender"]:
        return {"state": "refused", "reason": f"no clearing voucher {b['voucher_id']} of province {msg['sender']} "
                                              "here yet"}
    if voucher.total != amount:
        return {"state": "refused", "reason": f"voucher {voucher.voucher_id} is {voucher.total}, paid {amount}"}
    fund_ledger.post(session, "clearing", voucher.voucher_id,
                     fl.province_transfer_received(book(voucher.payee), voucher.payer, amount),
                     datetime.fromisoformat(b["now"]), entry_id=entry_id(voucher.voucher_id))
    return {"state": "booked", "voucher_id": voucher.voucher_id, "amount": str(amount), "book": book(voucher.payee)}


def received(session: Session, region: str, start: datetime, end: datetime) -> Decimal:
    """The clearing transfers received into `region`'s fund account between start and end (for the trial
    balance's bank tie: the instruction that paid them is in the payer node's outbox, not here)."""
    rows = session.scalars(select(FederationInbox).where(FederationInbox.kind == PAID,
                                                         FederationInbox.created_at >= start,
                                                         FederationInbox.created_at < end))
    return sum((Decimal(r.answer["amount"]) for r in rows if r.answer.get("book") == region), ZERO)


def listing(session: Session, me: str) -> list[dict[str, Any]]:
    """Each voucher at this node with its transfer: queued, confirmed by the bank, posted here, taken there."""
    out = []
    for v in session.scalars(select(FederationVoucher).order_by(FederationVoucher.month,
                                                                FederationVoucher.voucher_id)):
        vid = v.voucher_id
        posted = session.get(FundJournalLine, (entry_id(vid), 1)) is not None
        row: dict[str, Any] = {"voucher_id": vid, "month": v.month, "side": v.side, "payer": v.payer,
                               "payee": v.payee, "total": str(v.total), "posted": posted}
        if v.side == "payer" and v.payer == me:
            ins = session.get(BankInstruction, instruction_id(vid))
            told = session.get(FederationOutbox, message_id(vid))
            row.update(instruction=ins.instruction_id if ins else None, bank=ins.status if ins else None,
                       payee_told=told is not None and told.state == "answered")
        elif v.side == "payee" and v.payee == me:
            row.update(received=session.get(FederationInbox, message_id(vid)) is not None)
        else:
            continue
        out.append(row)
    return out
