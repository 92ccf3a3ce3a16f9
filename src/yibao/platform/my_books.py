"""What an insured person reads of his own books: his personal account and its journal, his settlements and the
slip of each (the figures of the settlement and its fee lines). Only his own: another's setl_id is not found."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.store.models import Account, AccountEntry, FeeDetail, Institution, Settlement

JOURNAL_ROWS = 200
SETTLEMENT_ROWS = 200


def account(session: Session, psn_no: str) -> Account | None:
    return session.get(Account, psn_no)


def journal(session: Session, psn_no: str, limit: int = JOURNAL_ROWS) -> list[AccountEntry]:
    """The newest entries of his account first: what moved, when, and the balance after each."""
    return list(session.scalars(select(AccountEntry).where(AccountEntry.psn_no == psn_no)
                                .order_by(AccountEntry.entry_time.desc(), AccountEntry.id.desc()).limit(limit)))


def settlements(session: Session, psn_no: str, limit: int = SETTLEMENT_ROWS) -> list[Settlement]:
    """His settlements and their cancellations, newest first."""
    return list(session.scalars(select(Settlement).where(Settlement.psn_no == psn_no)
                                .order_by(Settlement.setl_time.desc(), Settlement.setl_id.desc()).limit(limit)))


def settlement(session: Session, psn_no: str, setl_id: str) -> Settlement | None:
    row = session.get(Settlement, setl_id)
    return row if row is not None and row.psn_no == psn_no else None


def fee_lines(session: Session, row: Settlement) -> list[FeeDetail]:
    """The fee lines the settlement paid (those of a cancellation are its original's)."""
    setl_id = row.init_setl_id if row.refd_setl_flag == "1" and row.init_setl_id else row.setl_id
    return list(session.scalars(select(FeeDetail).where(FeeDetail.mdtrt_id == row.mdtrt_id,
                                                        FeeDetail.setl_id == setl_id).order_by(FeeDetail.id)))


def institution_names(session: Session, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    return dict(session.execute(select(Institution.code, Institution.name).where(Institution.code.in_(codes))).all())
