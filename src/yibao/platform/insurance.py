"""Buying an approved commercial health insurance product with personal accounts (Hefei 四, 五; rules.md
section 5 "scope of use").

The premium is paid by the same waterfall as a settlement (`rules/waterfall.py`): the buyer's own open
account first, then his in-force family mutual-aid authorizations in order, each min(authorizer balance,
quota left, what is uncovered); the rest (`cash_pay`) the buyer pays the insurer directly. Arrears do
not block it: buying insurance is not a pooling benefit. Every debit is a journal movement with its
`acct_021` bank instruction (`ledger.move`, kind `insurance`, `setl_id` = the purchase id); a refund
returns each one to its origin with `acct_023` and gives the quota back. Both happen in the caller's unit
of work, and each leaves a `mutual_aid_events` row for the buyer (kind `insurance_purchased` /
`insurance_refunded`) whose detail keeps the figures and why an account was or was not used.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.errors import Refusal, refuse
from yibao.money import ZERO
from yibao.platform import ledger
from yibao.platform.ids import new_id
from yibao.platform.mutual_aid import in_force
from yibao.rules.invariants import Totals, violations
from yibao.rules.waterfall import AidSource, pay_from_accounts
from yibao.store.models import (
    Account,
    AccountEntry,
    InsuranceProduct,
    InsurancePurchase,
    MutualAidAuthorization,
    MutualAidEvent,
    Person,
    Region,
)

PURCHASED, REFUNDED = "insurance_purchased", "insurance_refunded"
DEBIT_KIND, REFUND_KIND = "insurance", "insurance_refund"


# -- products ------------------------------------------------------------------------------------------

def products(session: Session, admdvs: str, *, include_withdrawn: bool = False) -> list[InsuranceProduct]:
    q = select(InsuranceProduct).where(InsuranceProduct.admdvs == admdvs)
    if not include_withdrawn:
        q = q.where(InsuranceProduct.active.is_(True))
    return list(session.scalars(q.order_by(InsuranceProduct.code)))


def save_product(session: Session, admdvs: str, code: str, *, name: str, insurer: str,
                 premium: Decimal) -> tuple[InsuranceProduct, bool]:
    """Add or update a product of the region (an update approves a withdrawn product again).
    Returns the product and whether it was new."""
    if session.get(Region, admdvs) is None:
        raise refuse("admdvs", f"region {admdvs} is not defined")
    if premium <= 0:
        raise refuse("premium", f"must be above 0; is {premium}")
    product = session.get(InsuranceProduct, (admdvs, code), with_for_update=True)
    if product is None:
        product = InsuranceProduct(admdvs=admdvs, code=code, name=name, insurer=insurer, premium=premium,
                                   active=True)
        session.add(product)
        session.flush()
        return product, True
    product.name, product.insurer, product.premium, product.active = name, insurer, premium, True
    return product, False


def withdraw_product(session: Session, admdvs: str, code: str) -> InsuranceProduct:
    """No new purchases of the product; purchases already made (and their refunds) are not affected."""
    product = session.get(InsuranceProduct, (admdvs, code), with_for_update=True)
    if product is None:
        raise refuse("code", f"no insurance product {code} in region {admdvs}")
    if not product.active:
        raise refuse("code", f"insurance product {code} of region {admdvs} is already withdrawn")
    product.active = False
    return product


# -- purchase ------------------------------------------------------------------------------------------

def _grants(session: Session, psn_no: str, today: date) -> list[MutualAidAuthorization]:
    """The buyer's in-force authorizations in drawing order: priority, then oldest first (as settlement)."""
    grants = session.scalars(
        select(MutualAidAuthorization).where(
            MutualAidAuthorization.beneficiary == psn_no, MutualAidAuthorization.status == "active",
            MutualAidAuthorization.start <= today)
        .order_by(MutualAidAuthorization.priority.is_(None), MutualAidAuthorization.priority,
                  MutualAidAuthorization.created_at, MutualAidAuthorization.id))
    # a self-authorization pays one's own resident medical costs only (Hefei 二), not a premium
    return [g for g in grants if in_force(g, today) and g.relation != "self"]


def purchase(session: Session, psn_no: str, product_code: str, *, now: datetime, today: date) -> InsurancePurchase:
    """Buy an active product of the buyer's insured region, paying the premium from personal accounts as
    far as they reach; the rest is `cash_pay`."""
    person = session.get(Person, psn_no)
    if person is None:
        raise refuse("psn_no", f"no insured person {psn_no}")
    if person.suspended:
        raise refuse("psn_no", "the person's benefits are suspended (psn_insu_stas 2); personal accounts pay "
                               "nothing for him until the insured region lifts the suspension")
    product = session.get(InsuranceProduct, (person.admdvs, product_code))
    if product is None:
        raise refuse("product_code", f"no approved commercial health insurance product {product_code} in the "
                                     f"buyer's insured region {person.admdvs}")
    if not product.active:
        raise refuse("product_code", f"insurance product {product_code} of region {person.admdvs} has been "
                                     "withdrawn")
    premium = product.premium
    regions = {r.admdvs: r for r in session.scalars(select(Region))}
    notes: list[str] = []

    home = regions.get(person.admdvs)
    use_accounts = home is not None and home.acct_bookkeeping
    if not use_accounts:
        notes.append(f"personal accounts not used, all paid in cash: the insured region {person.admdvs} does not "
                     "support account bookkeeping (seed 000)")
    grants = _grants(session, psn_no, today) if use_accounts else []
    wanted = ({psn_no} | {g.authorizer for g in grants}) if use_accounts else set()
    accounts = ledger.lock_accounts(session, wanted)
    for g in grants:  # read before the accounts were locked: read again, locked (quota_used, status)
        session.refresh(g, with_for_update=True)
    grants = [g for g in grants if in_force(g, today)]

    own = accounts.get(psn_no)
    own_balance: Decimal | None = None
    # the account of a suspended employee insurance is never an own account: its self-authorization pays
    # resident medical costs only (Hefei 二), so it buys no insurance
    if own is not None and own.status == "open" and not own.from_suspended_employment:
        if own.admdvs in regions and not regions[own.admdvs].acct_bookkeeping:
            notes.append(f"own account not used: its region {own.admdvs} does not support account bookkeeping")
        else:
            own_balance = own.balance

    sources: list[AidSource] = []
    by_id: dict[int, MutualAidAuthorization] = {}
    for g in grants:
        acct = accounts.get(g.authorizer)
        region = regions.get(acct.admdvs) if acct else None
        if acct is None or acct.status != "open":
            notes.append(f"authorization {g.id} not used: the authorizer's account is "
                         f"{acct.status if acct else 'missing'}")
            continue
        if region is None or not region.acct_bookkeeping:
            notes.append(f"authorization {g.id} not used: the authorizer's account region {acct.admdvs} does not "
                         "support account bookkeeping")
            continue
        quota_left = None if g.quota is None else g.quota - g.quota_used
        sources.append(AidSource(g.id, g.authorizer, acct.admdvs, acct.balance, quota_left))
        by_id[g.id] = g

    payment = pay_from_accounts(premium, own_balance, sources)
    cash_pay = premium - payment.total
    _check(premium, payment.total, payment.mutual_aid, cash_pay, own, payment.own, payment.draws)

    purchase_id = new_id(person.admdvs, now)
    if own is not None and payment.own > 0:
        ledger.move(session, own, -payment.own, kind=DEBIT_KIND, setl_id=purchase_id, now=now, beneficiary=psn_no)
    for draw in payment.draws:
        grant = by_id[draw.source.authorization_id]
        ledger.move(session, accounts[draw.source.authorizer], -draw.amount, kind=DEBIT_KIND, setl_id=purchase_id,
                    now=now, beneficiary=psn_no, authorization_id=grant.id)
        grant.quota_used += draw.amount
    if cash_pay > 0 and use_accounts:
        notes.append(f"{cash_pay} not covered by personal accounts: paid to the insurer in cash")
    row = InsurancePurchase(
        purchase_id=purchase_id, psn_no=psn_no, admdvs=person.admdvs, product_code=product.code,
        insurer=product.insurer, premium=premium, acct_pay=payment.total, acct_mulaid_pay=payment.mutual_aid,
        cash_pay=cash_pay, status="paid", created_at=now)
    session.add(row)
    _event(session, psn_no, PURCHASED, now, purchase_id=purchase_id, product_code=product.code,
           product_name=product.name, insurer=product.insurer, premium=premium, acct_pay=payment.total,
           own_acct_pay=payment.own, acct_mulaid_pay=payment.mutual_aid, cash_pay=cash_pay,
           draws=[{"authorization_id": d.source.authorization_id, "authorizer": d.source.authorizer,
                   "amount": str(d.amount)} for d in payment.draws],
           notes=notes)
    session.flush()
    return row


def _check(premium: Decimal, acct_pay: Decimal, mulaid: Decimal, cash_pay: Decimal, own: Account | None,
           own_pay: Decimal, draws: tuple[Any, ...]) -> None:
    """The settlement invariants, for a premium: premium = account + cash; no balance or quota below 0."""
    balances: dict[str, Decimal] = {}
    if own is not None and own_pay > 0:
        balances[own.psn_no] = own.balance - own_pay
    quotas: dict[int, Decimal] = {}
    for d in draws:
        balances[d.source.authorizer] = balances.get(d.source.authorizer, d.source.balance) - d.amount
        if d.source.quota_left is not None:
            quotas[d.source.authorization_id] = d.source.quota_left - d.amount
    broken = violations(Totals(premium, ZERO, premium, acct_pay, mulaid, cash_pay, ZERO, ()), balances, quotas, ZERO)
    if broken:
        raise Refusal("insurance purchase refused, an invariant would break: " + "; ".join(broken))


# -- refund --------------------------------------------------------------------------------------------

def refund(session: Session, purchase_id: str, psn_no: str, *, now: datetime) -> InsurancePurchase:
    """Return every account movement of the purchase to its origin (acct_023) and the quota used; the cash
    part is the insurer's to return. A purchase is refunded once."""
    row = session.get(InsurancePurchase, purchase_id)
    if row is None or row.psn_no != psn_no:
        raise refuse("purchase_id", f"no insurance purchase {purchase_id} of person {psn_no}")
    if row.status != "paid":
        raise refuse("purchase_id", f"insurance purchase {purchase_id} was already refunded ({row.refund_id})")
    entries = list(session.scalars(select(AccountEntry).where(AccountEntry.setl_id == purchase_id,
                                                              AccountEntry.amount < 0)))
    accounts = ledger.lock_accounts(session, {e.psn_no for e in entries})
    session.refresh(row, with_for_update=True)
    if row.status != "paid":  # refunded by a concurrent request while we waited for the locks
        raise refuse("purchase_id", f"insurance purchase {purchase_id} was already refunded ({row.refund_id})")
    refund_id = new_id(row.admdvs, now)
    returned: list[dict[str, str | None]] = []
    for e in sorted(entries, key=lambda e: e.id):
        ledger.move(session, accounts[e.psn_no], -e.amount, kind=REFUND_KIND, setl_id=refund_id, now=now,
                    beneficiary=e.beneficiary_psn_no, authorization_id=e.authorization_id)
        if e.authorization_id is not None:
            grant = session.get(MutualAidAuthorization, e.authorization_id, with_for_update=True)
            if grant is not None:
                grant.quota_used += e.amount  # e.amount is negative: the quota comes back
        returned.append({"psn_no": e.psn_no, "amount": str(-e.amount),
                         "authorization_id": str(e.authorization_id) if e.authorization_id else None})
    row.status, row.refunded_at, row.refund_id = "refunded", now, refund_id
    _event(session, psn_no, REFUNDED, now, purchase_id=purchase_id, refund_id=refund_id, returned=returned,
           cash_pay=row.cash_pay)
    session.flush()
    return row


# -- reading -------------------------------------------------------------------------------------------

def of_person(session: Session, psn_no: str) -> list[tuple[InsurancePurchase, list[str]]]:
    """The person's purchases in the order they were made, each with the notes it recorded (why an account was
    or was not used). The order is that of their events: `created_at` alone ties within a second."""
    rows = {r.purchase_id: r for r in session.scalars(select(InsurancePurchase)
                                                       .where(InsurancePurchase.psn_no == psn_no))}
    events = session.scalars(select(MutualAidEvent).where(MutualAidEvent.psn_no == psn_no,
                                                          MutualAidEvent.kind == PURCHASED)
                             .order_by(MutualAidEvent.id))
    seen: dict[str, list[str]] = {}
    for e in events:
        purchase_id = str(e.detail.get("purchase_id", ""))
        if purchase_id in rows:
            seen[purchase_id] = list(e.detail.get("notes") or [])
    unseen = sorted((r for r in rows.values() if r.purchase_id not in seen),
                    key=lambda r: (r.created_at, r.purchase_id))  # rows written without an event (none today)
    return [(rows[pid], notes) for pid, notes in seen.items()] + [(r, []) for r in unseen]


def notes_of(session: Session, purchase: InsurancePurchase) -> list[str]:
    """The notes the purchase recorded."""
    events = session.scalars(select(MutualAidEvent).where(MutualAidEvent.psn_no == purchase.psn_no,
                                                          MutualAidEvent.kind == PURCHASED))
    for e in events:
        if e.detail.get("purchase_id") == purchase.purchase_id:
            return list(e.detail.get("notes") or [])
    return []


def describe(row: InsurancePurchase, notes: list[str] | None = None) -> dict[str, Any]:
    return {
        "purchase_id": row.purchase_id, "psn_no": row.psn_no, "admdvs": row.admdvs,
        "product_code": row.product_code, "insurer": row.insurer, "premium": str(row.premium),
        "acct_pay": str(row.acct_pay), "acct_mulaid_pay": str(row.acct_mulaid_pay), "cash_pay": str(row.cash_pay),
        "status": row.status, "created_at": row.created_at, "refunded_at": row.refunded_at,
        "refund_id": row.refund_id, "notes": list(notes or []),
    }


def describe_product(p: InsuranceProduct) -> dict[str, Any]:
    return {"admdvs": p.admdvs, "code": p.code, "name": p.name, "insurer": p.insurer, "premium": str(p.premium),
            "active": p.active}


def _event(session: Session, psn_no: str, kind: str, at: datetime, **detail: Any) -> None:
    session.add(MutualAidEvent(authorization_id=None, psn_no=psn_no, kind=kind, at=at, actor=f"person:{psn_no}",
                               detail={k: _plain(v) for k, v in detail.items()}))


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (str, list, dict)):
        return value
    return str(value)
