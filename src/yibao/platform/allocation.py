"""Allocation (拨付) and the provincial centre's cross-region account (seed 004 art. 5, 25(三), 26, 41; seed 000
cases (1)-(3); seed 001 四).

- The treatment region's agency pays its own insured's part of the plan from its funds; the provincial
  centre pays the rest from its cross-region account. Each payment is a `fund_031` bank instruction in the
  same outbox as the personal-account instructions.
- Every movement of the centre's account is a balanced double-entry transaction (FundPosting): `bank` is
  the centre's account, `advance:<admdvs>` what it holds of a region's prepayment (a temporary receipt).
  A region's allocations draw on its advance; the month's clearing settles the difference and tops the
  advance up to the region's target, so `bank` always equals the sum of the advances held.
- Mutual aid between regions: the beneficiary's region paid the institution with the fund part; the centre
  pays that region and charges the account's region."""

from __future__ import annotations

import secrets
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.errors import refuse
from yibao.money import ZERO, money
from yibao.observe.metrics import monthly_step
from yibao.platform import declaration as dc
from yibao.platform import fund_ledger
from yibao.rules.fund_ledger import PlanItem
from yibao.rules.monthly import prepayment_target, shift, window_problem
from yibao.store.models import (
    AllocationItem,
    BankInstruction,
    Declaration,
    DeclarationMutualAid,
    FundPosting,
    MutualAidClearing,
    Region,
)

FUND_TRANSFER = "fund_031"
BANK = "bank"


def province_of(admdvs: str) -> str:
    return admdvs[:2] + "0000"


def centre_account(province: str) -> str:
    return f"CENTRE-{province}"


def fund_account(admdvs: str) -> str:
    return f"FUND-{admdvs}"


def advance(admdvs: str) -> str:
    return f"advance:{admdvs}"


def _txn_id(province: str, now: datetime) -> str:
    return f"T{province}{now:%y%m%d%H%M%S}{secrets.randbelow(10**6):06d}"


def transfer(session: Session, payer: str, payer_admdvs: str, payee: str, amount: Decimal, reference: str,
             now: datetime) -> str:
    """Queue a fund transfer for the bank; the instruction id."""
    instruction_id = f"F{reference}{secrets.randbelow(10**6):06d}"
    session.add(BankInstruction(instruction_id=instruction_id, code=FUND_TRANSFER, psn_no=payer,
                                acct_admdvs=payer_admdvs, amount=amount, setl_id=reference, payee=payee,
                                created_at=now, status="pending", attempts=0, next_attempt_at=datetime.now()))
    return instruction_id


def _pay(session: Session, payer: tuple[str, str], payee: tuple[str, str], amount: Decimal, reference: str,
         now: datetime) -> str | None:
    """Transfer `amount` from payer to payee (account, region); a negative amount flows back the other way,
    e.g. an institution whose month nets to less than nothing (cancellations of earlier months) repays."""
    if amount > 0:
        return transfer(session, payer[0], payer[1], payee[0], amount, reference, now)
    if amount < 0:
        return transfer(session, payee[0], payee[1], payer[0], -amount, reference, now)
    return None


def post(session: Session, province: str, kind: str, ym: str, entries: dict[str, Decimal], now: datetime,
         memo: str | None = None) -> str:
    """One balanced transaction of the centre's account."""
    if sum(entries.values(), ZERO) != 0:
        raise RuntimeError(f"unbalanced {kind} transaction: {entries}")
    txn = _txn_id(province, now)
    for account, amount in entries.items():
        if amount:
            session.add(FundPosting(txn_id=txn, province=province, kind=kind, setl_ym=ym, account=account,
                                    amount=amount, memo=memo, posted_at=now))
    return txn


# -- paying the plan -------------------------------------------------------------------------------------


def _due(session: Session, payer: str, scope: str, ym: str) -> list[tuple[Declaration, list[AllocationItem]]]:
    """Reviewed declarations of month ym with items of `payer` still planned: a province's (centre) or a
    region's (agency)."""
    q = (select(AllocationItem, Declaration).join(Declaration, Declaration.decl_id == AllocationItem.decl_id)
         .where(AllocationItem.setl_ym == ym, AllocationItem.payer == payer, AllocationItem.status == "planned")
         .order_by(AllocationItem.decl_id, AllocationItem.id).with_for_update(of=AllocationItem))
    q = q.where(Declaration.admdvs.like(scope[:2] + "%")) if payer == "centre" else q.where(
        Declaration.admdvs == scope)
    grouped: dict[str, tuple[Declaration, list[AllocationItem]]] = {}
    for item, decl in session.execute(q):
        grouped.setdefault(decl.decl_id, (decl, []))[1].append(item)
    return list(grouped.values())


@monthly_step("allocate")
def allocate(session: Session, payer: str, scope: str, ym: str, today: date, now: datetime) -> dict[str, Any]:
    """Pay the planned items of month ym: payer "centre" (scope: the province) or "agency" (scope: its region).
    A declaration outside its region's payment days is left for later and listed."""
    paid: list[dict[str, Any]] = []
    waiting: list[dict[str, str]] = []
    province = province_of(scope)
    for decl, items in _due(session, payer, scope, ym):
        problem = window_problem(ym, "allocate", dc.cycle_of(session, decl.admdvs), today)
        if problem:
            waiting.append({"decl_id": decl.decl_id, "why": problem})
            continue
        amount = sum((i.amount for i in items), ZERO)
        source = centre_account(province) if payer == "centre" else fund_account(decl.admdvs)
        source_admdvs = province if payer == "centre" else decl.admdvs
        instruction = _pay(session, (source, source_admdvs), (decl.fixmedins_code, decl.admdvs), amount,
                           decl.decl_id, now)
        if payer == "centre":
            charges: defaultdict[str, Decimal] = defaultdict(lambda: ZERO)
            for i in items:
                charges[advance(i.charged_admdvs)] += i.amount
            post(session, province, "allocation", ym, {**charges, BANK: -amount}, now, memo=decl.decl_id)
        fund_ledger.post_allocation(session, decl.fixmedins_code, decl.decl_id,
                                    [PlanItem(payer, i.insu_admdvs, i.charged_admdvs, i.amount) for i in items], now)
        for i in items:
            i.status, i.instruction_id = "paid", instruction
        session.flush()  # the sessions do not autoflush: the count below must see these items paid
        if session.scalar(select(func.count()).where(AllocationItem.decl_id == decl.decl_id,
                                                     AllocationItem.status == "planned")) == 0:
            decl.status, decl.allocated_at = "allocated", now
        paid.append({"decl_id": decl.decl_id, "fixmedins_code": decl.fixmedins_code, "amount": amount,
                     "instruction_id": instruction})
    if not paid and not waiting:
        raise refuse("setl_ym", f"nothing reviewed and unpaid for {payer} {scope} in {ym}")
    return {"payer": payer, "scope": scope, "setl_ym": ym, "paid": paid, "waiting": waiting,
            "total": sum((p["amount"] for p in paid), ZERO)}


# -- mutual aid between regions --------------------------------------------------------------------------


@monthly_step("clear_mutual_aid")
def clear_mutual_aid(session: Session, province: str, ym: str, now: datetime) -> list[MutualAidClearing]:
    """Seed 000 case (1): for each pair (account's region, beneficiary's region) of the province, the amount
    the beneficiary's agency paid institutions out of other regions' accounts in month ym's allocation: the
    centre pays it to the beneficiary's region and charges the account's region. Once per month and pair."""
    A = AllocationItem
    rows = session.execute(
        select(A.charged_admdvs, A.insu_admdvs, func.sum(A.amount))
        .join(Declaration, Declaration.decl_id == A.decl_id)
        .where(A.setl_ym == ym, A.payer == "agency", A.part == "mulaid", A.status == "paid",
               A.charged_admdvs != A.insu_admdvs, Declaration.admdvs.like(province[:2] + "%"))
        .group_by(A.charged_admdvs, A.insu_admdvs))
    drawn = _drawn(session, province, ym)
    out = []
    for acct_admdvs, insu_admdvs, fen in rows:
        amount = fen
        row = session.get(MutualAidClearing, (ym, acct_admdvs, insu_admdvs), with_for_update=True)
        if row is None:
            row = MutualAidClearing(setl_ym=ym, acct_admdvs=acct_admdvs, insu_admdvs=insu_admdvs, drawn=ZERO,
                                    cleared=ZERO)
            session.add(row)
        row.drawn = drawn.get((acct_admdvs, insu_admdvs), ZERO)
        due = amount - row.cleared
        if due:
            row.txn_id = post(session, province, "mutual_aid", ym, {advance(acct_admdvs): due, BANK: -due}, now,
                              memo=f"mutual aid {acct_admdvs}->{insu_admdvs}")
            _pay(session, (centre_account(province), province), (fund_account(insu_admdvs), insu_admdvs), due,
                 row.txn_id, now)
            fund_ledger.post_mutual_aid(session, acct_admdvs, insu_admdvs, due, row.txn_id, now)
            row.cleared, row.cleared_at = amount, now
        out.append(row)
    session.flush()
    return out


def _drawn(session: Session, province: str, ym: str) -> dict[tuple[str, str], Decimal]:
    """Mutual-aid money drawn from the accounts for settlements declared for ym in the beneficiary's own
    region, by (account region, insured region): the journal's figure, which the clearing must match."""
    M = DeclarationMutualAid
    rows = session.execute(select(M.acct_admdvs, M.insu_admdvs, func.sum(M.amount))
                           .join(Declaration, Declaration.decl_id == M.decl_id)
                           .where(Declaration.setl_ym == ym, Declaration.admdvs == M.insu_admdvs,
                                  M.acct_admdvs != M.insu_admdvs, Declaration.admdvs.like(province[:2] + "%"))
                           .group_by(M.acct_admdvs, M.insu_admdvs))
    return {(a, i): fen for a, i, fen in rows}


# -- prepayment and the month's clearing ------------------------------------------------------------------


def _setting(region: Region | None, key: str, default: str) -> Decimal:
    return money((region.settings or {}).get(key, default)) if region is not None else money(default)


def held(session: Session, province: str) -> dict[str, Decimal]:
    """Every account of the centre's ledger with its balance (advances shown as held: credit positive)."""
    rows = session.execute(select(FundPosting.account, func.sum(FundPosting.amount))
                           .where(FundPosting.province == province).group_by(FundPosting.account))
    return {account: fen for account, fen in rows}


def spending(session: Session, province: str, admdvs: str, months: list[str]) -> list[Decimal]:
    """What the centre paid out of a region's advance in each month (allocations and mutual aid)."""
    rows = dict(session.execute(select(FundPosting.setl_ym, func.sum(FundPosting.amount))
                                .where(FundPosting.province == province, FundPosting.account == advance(admdvs),
                                       FundPosting.kind.in_(("allocation", "mutual_aid")),
                                       FundPosting.setl_ym.in_(months))
                                .group_by(FundPosting.setl_ym)).all())
    return [rows.get(m, ZERO) for m in months]


@monthly_step("settle_advances")
def settle_advances(session: Session, province: str, ym: str, now: datetime) -> list[dict[str, Any]]:
    """The month's clearing: each region pays back what month ym drew on its advance and tops it up to its
    target (prepayment_months × its average monthly spending of the last prepayment_basis_months months; with
    no spending yet, prepayment_initial), or gets the excess back. The first call is the initial prepayment."""
    session.execute(select(Region.admdvs).with_for_update())  # one clearing at a time
    # the province's own regions only: another province's regions keep their advances with their own centre
    regions = {r.admdvs: r for r in session.scalars(select(Region).where(Region.admdvs.like(province[:2] + "%")))}
    balances = held(session, province)
    charged = {a.split(":", 1)[1] for a in balances if a.startswith("advance:")}
    out = []
    for admdvs in sorted(set(regions) | charged):
        region = regions.get(admdvs)
        basis = int(_setting(region, "prepayment_basis_months", "3"))
        months = [shift(ym, -k) for k in range(basis - 1, -1, -1)]
        history = spending(session, province, admdvs, months)
        if any(history):
            target = prepayment_target(history, _setting(region, "prepayment_months", "2"),
                                       _setting(region, "prepayment_minimum", "0"))
        else:
            target = _setting(region, "prepayment_initial", "0")
        holding = -balances.get(advance(admdvs), ZERO)
        difference = target - holding
        if difference == 0:
            continue
        txn = post(session, province, "prepayment" if holding == 0 and not any(history) else "clearing", ym,
                   {BANK: difference, advance(admdvs): -difference}, now, memo=f"advance of {admdvs} to {target}")
        _pay(session, (fund_account(admdvs), admdvs), (centre_account(province), province), difference, txn, now)
        fund_ledger.post_advance(session, admdvs, difference, txn, now)
        out.append({"admdvs": admdvs, "held_before": holding, "drawn": sum(history[-1:], ZERO), "target": target,
                    "paid_in": difference, "txn_id": txn})
    session.flush()
    return out


def centre_view(session: Session, province: str) -> dict[str, Any]:
    """The centre's account and every region's advance held (its temporary receipts); they always balance."""
    balances = held(session, province)
    bank = balances.get(BANK, ZERO)
    advances = {a.split(":", 1)[1]: -v for a, v in sorted(balances.items()) if a.startswith("advance:")}
    return {"province": province, "bank": bank, "advances": advances,
            "temporary_receipts": sum(advances.values(), ZERO),
            "balanced": bank == sum(advances.values(), ZERO) and sum(balances.values(), ZERO) == 0}


def region_view(session: Session, province: str, admdvs: str) -> dict[str, Any]:
    """One region's side: what it advanced, what was drawn on it, what the centre holds, month by month."""
    rows = session.execute(select(FundPosting.setl_ym, FundPosting.kind, func.sum(FundPosting.amount))
                           .where(FundPosting.province == province, FundPosting.account == advance(admdvs))
                           .group_by(FundPosting.setl_ym, FundPosting.kind).order_by(FundPosting.setl_ym))
    months: dict[str, dict[str, Decimal]] = {}
    for ym, kind, fen in rows:
        months.setdefault(ym, {})[kind] = -fen if kind in ("prepayment", "clearing") \
            else fen
    paid_in = sum((v.get("prepayment", ZERO) + v.get("clearing", ZERO) for v in months.values()), ZERO)
    drawn = sum((v.get("allocation", ZERO) + v.get("mutual_aid", ZERO) for v in months.values()), ZERO)
    return {"province": province, "admdvs": admdvs, "prepaid": paid_in, "drawn": drawn, "held": paid_in - drawn,
            "months": months}
