"""Posting to the pooled funds' journal (docs/ledger.md), in the caller's unit of work: an effect that rolls
back posts nothing. The rules (rules/fund_ledger.py) say what each movement posts and refuse an entry that is
not balanced; this module writes it in one bulk INSERT."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from yibao.money import ZERO
from yibao.platform.ids import new_id
from yibao.rules import fund_ledger as fl
from yibao.store.models import Account, AccountEntry, FundJournalLine, Settlement

#: the first letter of an entry's id says its kind (a settlement's and a cancellation's: S + the setl_id)
PREFIX = {"allocation": "A", "advance": "P", "mutual_aid": "M", "review": "R", "damages": "D", "claim_paid": "C"}


def post(session: Session, kind: str, reference: str, lines: Iterable[fl.Line], now: datetime,
         entry_id: str | None = None) -> str | None:
    """One balanced entry (rules.checked raises on an unbalanced one); its id, None when nothing moved."""
    kept = fl.checked(lines)
    if not kept:
        return None
    entry = entry_id or PREFIX[kind] + new_id(kept[0].book, now)
    period = f"{now:%Y-%m}"
    # render_nulls: lines with and without a party go in one statement (else grouped by the keys they carry)
    session.execute(insert(FundJournalLine).execution_options(render_nulls=True), [
        {"entry_id": entry, "line": n, "book": x.book, "account": x.account, "party": x.party, "amount": x.amount,
         "kind": kind, "reference": reference, "period": period, "posted_at": now}
        for n, x in enumerate(kept, 1)])
    return entry


FUND_COLUMNS = ("hifp_pay", *fl.FUND_COLUMNS)


def amounts(row: Settlement, mulaid_elsewhere: dict[str, Decimal], claim: bool = False) -> fl.SettledAmounts:
    return fl.SettledAmounts(
        insu_admdvs=row.insu_admdvs, insutype=row.insutype, payee=row.psn_no if claim else row.fixmedins_code,
        fund_pay_sumamt=row.fund_pay_sumamt, funds={c: getattr(row, c) for c in FUND_COLUMNS if getattr(row, c)},
        acct_pay=row.acct_pay, mulaid_elsewhere=mulaid_elsewhere, claim=claim)


def post_settlement(session: Session, row: Settlement, drawn: Iterable[tuple[str, Decimal]], now: datetime,
                    claim: bool = False) -> str | None:
    """A settlement: `drawn` the mutual-aid draws as (account's region, amount)."""
    elsewhere: dict[str, Decimal] = {}
    for region, amount in drawn:
        if region != row.insu_admdvs:
            elsewhere[region] = elsewhere.get(region, ZERO) + amount
    return post(session, "settlement", row.setl_id, fl.settlement(amounts(row, elsewhere, claim)), now,
                entry_id="S" + row.setl_id)


def post_reversal(session: Session, original: Settlement, reversal_id: str, now: datetime) -> str | None:
    """A cancellation (2208 and the like, 2601) posts the settlement's own entry negated, line for line."""
    rows = session.execute(select(FundJournalLine.book, FundJournalLine.account, FundJournalLine.amount,
                                  FundJournalLine.party)
                           .where(FundJournalLine.entry_id == "S" + original.setl_id)
                           .order_by(FundJournalLine.line)).all()
    if rows:
        lines = fl.negated(fl.Line(book, account, amount, party) for book, account, amount, party in rows)
    else:  # settled before the journal began: the stored amounts say what it posted
        lines = fl.negated(fl.settlement(amounts(original, _mulaid_elsewhere(session, original))))
    return post(session, "reversal", reversal_id, lines, now, entry_id="S" + reversal_id)


def _mulaid_elsewhere(session: Session, row: Settlement) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for region, amount in session.execute(
            select(Account.admdvs, AccountEntry.amount).join(Account, Account.psn_no == AccountEntry.psn_no)
            .where(AccountEntry.setl_id == row.setl_id, AccountEntry.authorization_id.is_not(None))):
        if region != row.insu_admdvs:
            out[region] = out.get(region, ZERO) - amount
    return out


def post_allocation(session: Session, institution: str, decl_id: str, items: Iterable[fl.PlanItem],
                    now: datetime) -> str | None:
    return post(session, "allocation", decl_id, fl.allocation(institution, items), now)


def post_advance(session: Session, region: str, amount: Decimal, txn_id: str, now: datetime) -> str | None:
    return post(session, "advance", txn_id, fl.advance_paid(region, amount), now)


def post_mutual_aid(session: Session, acct_admdvs: str, insu_admdvs: str, amount: Decimal, txn_id: str,
                    now: datetime) -> str | None:
    return post(session, "mutual_aid", txn_id, fl.mutual_aid_cleared(acct_admdvs, insu_admdvs, amount), now)


def post_review(session: Session, institution: str, decl_id: str, outcomes: Iterable[fl.ReviewOutcome],
                now: datetime) -> str | None:
    return post(session, "review", decl_id, fl.review(institution, outcomes), now)


def post_liquidated_damages(session: Session, *, region: str, fixmedins_code: str, amount: Decimal,
                            reference: str, now: datetime) -> str | None:
    """违约金 (liquidated damages) withheld from institution `fixmedins_code` by the fund of `region` (the
    insured region whose payable it reduces); `reference` the review decision (declaration or penalty id).
    To be called in the same unit of work as the review step that fixes the amount (docs/ledger.md)."""
    return post(session, "damages", reference, fl.liquidated_damages(region, fixmedins_code, amount), now)


def post_claim_paid(session: Session, region: str, psn_no: str, amount: Decimal, to_account: bool, reference: str,
                    now: datetime) -> str | None:
    return post(session, "claim_paid", reference, fl.claim_paid(region, psn_no, amount, to_account), now)
