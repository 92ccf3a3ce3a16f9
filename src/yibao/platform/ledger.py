"""Personal accounts as a ledger: a balance moves only with a journal entry, and every entry queues a
bookkeeping instruction for the account's bank in the same transaction (the outbox)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.platform.ids import new_id
from yibao.store.models import Account, AccountEntry, BankInstruction, MutualAidAuthorization

DEBIT, CREDIT = "acct_021", "acct_023"


def lock_accounts(session: Session, psn_nos: set[str]) -> dict[str, Account]:
    """The accounts, locked for this transaction, always in psn_no order so two settlements never deadlock."""
    if not psn_nos:
        return {}
    rows = session.scalars(select(Account).where(Account.psn_no.in_(sorted(psn_nos)))
                           .order_by(Account.psn_no).with_for_update())
    return {a.psn_no: a for a in rows}


def move(session: Session, account: Account, amount: Decimal, *, kind: str, setl_id: str, now: datetime,
         beneficiary: str | None = None, authorization_id: int | None = None) -> AccountEntry:
    """Post `amount` (negative = debit) to the account, with its bank instruction."""
    account.balance += amount
    entry = AccountEntry(psn_no=account.psn_no, entry_time=now, kind=kind, amount=amount,
                         balance_after=account.balance, setl_id=setl_id, beneficiary_psn_no=beneficiary,
                         authorization_id=authorization_id,
                         memo="mutual aid" if beneficiary and beneficiary != account.psn_no else None)
    session.add(entry)
    session.flush()
    session.add(BankInstruction(
        instruction_id="I" + new_id(account.admdvs, now), code=DEBIT if amount < 0 else CREDIT,
        psn_no=account.psn_no, acct_admdvs=account.admdvs, amount=abs(amount), setl_id=setl_id,
        beneficiary_psn_no=beneficiary if beneficiary != account.psn_no else None, journal_id=entry.id,
        created_at=now, status="pending", attempts=0, next_attempt_at=datetime.now()))
    return entry


def give_back(session: Session, accounts: dict[str, Account], entries: list[AccountEntry], *, setl_id: str,
              now: datetime) -> None:
    """Refund the account entries of a cancelled settlement, each to its own account, in the order they were
    made; a mutual-aid draw gives its authorization's quota back. Local cancellation and the insured node of a
    federation both call this, so a reversal is the same whichever node applies it."""
    for e in sorted(entries, key=lambda e: e.id):
        move(session, accounts[e.psn_no], -e.amount, kind="refund", setl_id=setl_id, now=now,
             beneficiary=e.beneficiary_psn_no, authorization_id=e.authorization_id)
        if e.authorization_id is not None:
            grant = session.get(MutualAidAuthorization, e.authorization_id)
            if grant is not None:
                grant.quota_used += e.amount  # e.amount is negative: the quota comes back
