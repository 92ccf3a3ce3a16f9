"""A region's trial balance (试算平衡表) of a month: every account of its fund's book with its opening balance,
the month's debits and credits and its closing balance, and the ties a reader checks it against: the month's
settlements, the bank instructions and the provincial centre's books (docs/ledger.md)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, literal, or_, select, type_coerce
from sqlalchemy.orm import Session

from yibao.errors import refuse
from yibao.money import ZERO
from yibao.platform import province_transfers
from yibao.platform.allocation import FUND_TRANSFER, advance, fund_account
from yibao.rules import fund_ledger as fl
from yibao.rules.monthly import month_end, month_start, parse_ym, ym_text
from yibao.store.models import BankInstruction, FundJournalLine, FundPosting, Region, Settlement
from yibao.store.types import Money

J = FundJournalLine


def _money(expr: Any) -> Any:
    """A sum of Money read back as money (a CASE over a Money column loses the column's type)."""
    return type_coerce(func.coalesce(func.sum(expr), literal(0)), Money())


def month_of(text: str) -> str:
    try:
        return ym_text(*parse_ym(text))
    except ValueError as exc:
        raise refuse("month", str(exc)) from None


def accounts(session: Session, region: str, ym: str) -> list[dict[str, Any]]:
    """Opening, debits, credits and closing of every account of the book that has moved by the month's end."""
    in_month = J.period == ym
    rows = session.execute(
        select(J.account,
               _money(case((J.period < ym, J.amount), else_=0)),
               _money(case((in_month & (J.amount > 0), J.amount), else_=0)),
               _money(case((in_month & (J.amount < 0), -J.amount), else_=0)))
        .where(J.book == region, J.period <= ym).group_by(J.account))
    moved = {code: (opening, debits, credits) for code, opening, debits, credits in rows}
    out = []
    for account in fl.CHART:
        if account.code not in moved:
            continue
        opening, debits, credits = moved[account.code]
        closing = opening + debits - credits
        out.append({"code": account.code, "name": account.name, "kind": account.kind, "opening": opening,
                    "debits": debits, "credits": credits, "closing": closing,
                    "closing_debit": closing if closing > 0 else ZERO,
                    "closing_credit": -closing if closing < 0 else ZERO})
    return out


def unbalanced_entries(session: Session, region: str | None = None, ym: str | None = None) -> list[str]:
    """Entries that do not sum to zero in a book: none, ever (the posting refuses them)."""
    q = select(J.entry_id, J.book).group_by(J.entry_id, J.book).having(func.sum(J.amount) != 0)
    if region:
        q = q.where(J.book == region)
    if ym:
        q = q.where(J.period == ym)
    return [f"{entry} in {book}" for entry, book in session.execute(q)]


def _movement(session: Session, region: str, ym: str, *codes: str, kinds: tuple[str, ...] = ()) -> Decimal:
    q = select(_money(J.amount)).where(J.book == region, J.period == ym, J.account.in_(codes))
    if kinds:
        q = q.where(J.kind.in_(kinds))
    return session.scalar(q) or ZERO


def ties(session: Session, region: str, ym: str) -> dict[str, dict[str, Any]]:
    """Each figure of the book against the record it must equal to the cent."""
    S = Settlement
    month = (S.setl_time >= month_start(ym), S.setl_time < month_end(ym))
    settled = session.execute(select(_money(S.fund_pay_sumamt), _money(S.acct_pay))
                              .where(S.insu_admdvs == region, *month)).one()
    direct = session.execute(select(_money(S.fund_pay_sumamt), _money(S.acct_pay))
                             .where(S.insu_admdvs == region, S.kind != "coordination", *month)).one()
    expenses = tuple(a.code for a in fl.CHART if a.kind == fl.EXPENSE)
    own, B = fund_account(region), BankInstruction
    created = (B.created_at >= month_start(ym), B.created_at < month_end(ym), B.code == FUND_TRANSFER)
    bank = session.scalar(select(_money(case((B.payee == own, B.amount), else_=-B.amount)))
                          .where(or_(B.payee == own, B.psn_no == own), *created)) or ZERO
    # a province's clearing transfers received: their instruction is in the paying node's outbox
    bank += province_transfers.received(session, region, month_start(ym), month_end(ym))
    centre = session.scalar(select(_money(FundPosting.amount)).where(
        FundPosting.account == advance(region), FundPosting.posted_at >= month_start(ym),
        FundPosting.posted_at < month_end(ym))) or ZERO

    def tie(book: Decimal, other: Decimal, what: str) -> dict[str, Any]:
        return {"ledger": book, "record": other, "difference": book - other, "record_is": what}

    return {
        "fund_expense": tie(_movement(session, region, ym, *expenses), settled[0],
                            "fund_pay_sumamt of the month's settlement records of the region's insured"),
        "payable_from_settlements": tie(
            -_movement(session, region, ym, fl.PAYABLE, kinds=("settlement", "reversal")), direct[0] + direct[1],
            "fund_pay_sumamt + acct_pay of the month's direct settlement records of the region's insured"),
        "bank": tie(_movement(session, region, ym, fl.BANK), bank,
                    f"the month's fund_031 instructions into {own} (and clearing transfers received) "
                    "less those out of it"),
        "advance_centre": tie(_movement(session, region, ym, fl.ADVANCE), -centre,
                              f"the centre's postings of the month to {advance(region)}, sign turned"),
    }


def trial_balance(session: Session, region: str, ym: str) -> dict[str, Any]:
    if session.get(Region, region) is None and session.scalar(select(J.book).where(J.book == region).limit(1)) is None:
        raise refuse("region", f"no region {region}: neither loaded nor in the books")
    rows = accounts(session, region, ym)
    debits = sum((r["debits"] for r in rows), ZERO)
    credits = sum((r["credits"] for r in rows), ZERO)
    closing_debit = sum((r["closing_debit"] for r in rows), ZERO)
    closing_credit = sum((r["closing_credit"] for r in rows), ZERO)
    tied = ties(session, region, ym)
    broken = unbalanced_entries(session, region, ym)
    return {"region": region, "month": ym, "accounts": rows,
            "totals": {"debits": debits, "credits": credits, "closing_debit": closing_debit,
                       "closing_credit": closing_credit},
            "balanced": debits == credits and closing_debit == closing_credit and not broken,
            "unbalanced_entries": broken, "ties": tied,
            "tied": all(t["difference"] == 0 for t in tied.values())}
