"""Review (审核) by the treatment region's agency (seed 004 art. 25(二), art. 30; seed 001 四 acceptance):
reject declared settlements with a reason, deduct amounts of violations, then finish the review, which
fixes the approved amount and writes the allocation plan. A rejection the agency later agrees to pay is
declared again with the institution's next declaration. 违约金 (art. 30: imposed under the service agreement)
also reduces what the institution is paid; unlike a deduction it stays with the treatment region's fund."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.errors import Refusal, refuse
from yibao.money import ZERO, round2
from yibao.observe.metrics import monthly_step
from yibao.platform import declaration as dc
from yibao.platform import fund_ledger
from yibao.rules.fund_ledger import ReviewOutcome
from yibao.rules.monthly import window_problem
from yibao.store.models import (
    Account,
    AccountEntry,
    AllocationItem,
    Declaration,
    LiquidatedDamages,
    ReviewDeduction,
    ReviewRejection,
    Settlement,
)


def open_declaration(session: Session, agency: str, decl_id: str, today: date) -> Declaration:
    """The agency's declaration still under review, locked, inside the review window."""
    decl = dc.find(session, decl_id, lock=True)
    if decl is None or decl.admdvs != agency:
        # another region's declaration looks like an unknown one: 404 on the API
        raise Refusal(f"decl_id: no declaration {decl_id} for the agency of {agency} to review", http_status=404)
    if decl.status != "declared":
        raise refuse("decl_id", f"declaration {decl_id} is {decl.status}: its review is finished")
    problem = window_problem(decl.setl_ym, "review", dc.cycle_of(session, decl.admdvs), today)
    if problem:
        raise refuse("decl_id", problem)
    return decl


def _mulaid_by_region(session: Session, setl_id: str) -> dict[str, Decimal]:
    rows = session.execute(select(Account.admdvs, -func.sum(AccountEntry.amount))
                           .join(Account, Account.psn_no == AccountEntry.psn_no)
                           .where(AccountEntry.setl_id == setl_id, AccountEntry.authorization_id.is_not(None))
                           .group_by(Account.admdvs))
    return {admdvs: fen for admdvs, fen in rows if fen}


def reject(session: Session, agency: str, decl_id: str, setl_id: str, reason: str, today: date,
           now: datetime) -> ReviewRejection:
    decl = open_declaration(session, agency, decl_id, today)
    if not reason.strip():
        raise refuse("reason", "a rejection states its reason")
    s = session.scalar(select(Settlement).where(Settlement.setl_id == setl_id, dc.covered(decl)))
    if s is None:
        raise refuse("setl_id", f"settlement {setl_id} is not in declaration {decl_id}")
    if s.refd_setl_flag != "0" or s.status != "settled":
        raise refuse("setl_id", f"settlement {setl_id} is {s.status}: only a standing settlement can be rejected")
    if session.scalar(select(ReviewRejection).where(ReviewRejection.decl_id == decl_id,
                                                    ReviewRejection.setl_id == setl_id)) is not None:
        raise refuse("setl_id", f"settlement {setl_id} is already rejected in {decl_id}")
    mulaid = _mulaid_by_region(session, setl_id)
    row = ReviewRejection(
        decl_id=decl_id, fixmedins_code=decl.fixmedins_code, setl_id=setl_id, insu_admdvs=s.insu_admdvs,
        insutype=s.insutype, fund_pay=s.fund_pay_sumamt, acct_pay=s.acct_pay, amount=s.fund_pay_sumamt + s.acct_pay,
        mulaid={k: str(v) for k, v in mulaid.items()}, reason=reason.strip(), status="rejected", rejected_at=now)
    session.add(row)
    decl.rejected += row.amount
    session.flush()
    return row


def deduct(session: Session, agency: str, decl_id: str, amount: Decimal, reason: str, today: date, now: datetime,
           setl_id: str | None = None, insu_admdvs: str | None = None,
           insutype: str | None = None) -> ReviewDeduction:
    """Withhold `amount` for a violation (art. 30), from one settlement's region or a named insured region."""
    decl = open_declaration(session, agency, decl_id, today)
    if amount <= 0 or round2(amount) != amount:
        raise refuse("amount", "a deduction is a positive amount with at most 2 decimals")
    if not reason.strip():
        raise refuse("reason", "a deduction states the violation")
    if setl_id:
        s = session.scalar(select(Settlement).where(Settlement.setl_id == setl_id, dc.covered(decl)))
        if s is None:
            raise refuse("setl_id", f"settlement {setl_id} is not in declaration {decl_id}")
        insu_admdvs, insutype = s.insu_admdvs, s.insutype
        if amount > s.fund_pay_sumamt + s.acct_pay:
            raise refuse("amount", f"{amount} exceeds what settlement {setl_id} asks for "
                                   f"({s.fund_pay_sumamt + s.acct_pay})")
    if not insu_admdvs or not insutype:
        raise refuse("insu_admdvs", "a deduction names its settlement, or the insured region and insutype")
    left = _remaining(session, decl)[(insu_admdvs, insutype)]["fund"]
    if amount > left:
        raise refuse("amount", f"{amount} exceeds the fund payment still due for {insu_admdvs}/{insutype} ({left})")
    row = ReviewDeduction(decl_id=decl_id, setl_id=setl_id or None, insu_admdvs=insu_admdvs, insutype=insutype,
                          amount=amount, reason=reason.strip(), deducted_at=now)
    session.add(row)
    decl.deducted += amount
    session.flush()
    return row


def impose_damages(session: Session, agency: str, decl_id: str, amount: Decimal, reason: str, today: date,
                   now: datetime, insutype: str | None = None) -> LiquidatedDamages:
    """违约金 on the institution for breaking its service agreement (art. 30), shown in the tables of `insutype`
    (by default the declaration's first insurance type)."""
    decl = open_declaration(session, agency, decl_id, today)
    if amount <= 0 or round2(amount) != amount:
        raise refuse("amount", "违约金 is a positive amount with at most 2 decimals")
    if not reason.strip():
        raise refuse("reason", "违约金 states the clause of the agreement broken")
    remaining = _remaining(session, decl)
    types = sorted({t for _, t in remaining})  # declared, or declared again after a rejection
    if insutype and insutype not in types:
        raise refuse("insutype", f"declaration {decl_id} has no {insutype} settlements to pay (it has "
                                 f"{', '.join(types) or 'none'})")
    due = sum((v for parts in remaining.values() for v in parts.values()), ZERO) - sum(
        (x.amount for x in subtractions(session, decl_id) if x.kind == "damages"), ZERO)
    if amount > due:
        raise refuse("amount", f"{amount} exceeds what declaration {decl_id} still pays the institution ({due})")
    # due > 0: the declaration pays something, so it has an insurance type
    row = LiquidatedDamages(decl_id=decl_id, fixmedins_code=decl.fixmedins_code, admdvs=decl.admdvs,
                            insutype=insutype or types[0], amount=amount, reason=reason.strip(), imposed_at=now)
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class Subtraction:
    """An amount the allocation of a declaration withholds from the institution, besides rejections: a
    deduction (the insured region's money, it reduces what that region is charged) or 违约金 (kept by the
    treatment region, `insu_admdvs` is then the treatment region)."""

    kind: str  # deduction | damages
    id: int
    insu_admdvs: str
    insutype: str
    amount: Decimal
    reason: str
    setl_id: str | None = None


def subtractions(session: Session, decl_id: str) -> list[Subtraction]:
    """Every amount the allocation of `decl_id` subtracts, in the order made: the one list a ledger posts."""
    out = [Subtraction("deduction", d.id, d.insu_admdvs, d.insutype, d.amount, d.reason, d.setl_id)
           for d in session.scalars(select(ReviewDeduction).where(ReviewDeduction.decl_id == decl_id)
                                    .order_by(ReviewDeduction.id))]
    out += [Subtraction("damages", x.id, x.admdvs, x.insutype, x.amount, x.reason)
            for x in session.scalars(select(LiquidatedDamages).where(LiquidatedDamages.decl_id == decl_id)
                                     .order_by(LiquidatedDamages.id))]
    return out


Parts = dict[str, Decimal]  # fund, acct (own account), mulaid:<admdvs>


def _remaining(session: Session, decl: Declaration) -> defaultdict[tuple[str, str], Parts]:
    """What is still to pay, by (insured region, insutype) and part: declared, minus rejections and deductions,
    plus rejections declared again."""
    out: defaultdict[tuple[str, str], Parts] = defaultdict(lambda: defaultdict(lambda: ZERO))
    mulaid_total: defaultdict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for m in dc.mutual_aid(session, decl.decl_id):
        out[(m.insu_admdvs, m.insutype)][f"mulaid:{m.acct_admdvs}"] += m.amount
        mulaid_total[(m.insu_admdvs, m.insutype)] += m.amount
    for line in dc.lines(session, decl.decl_id):
        key = (line.insu_admdvs, line.insutype)
        out[key]["fund"] += line.fund_pay_sumamt
        out[key]["acct"] += line.acct_pay
    for key, total in mulaid_total.items():
        out[key]["acct"] -= total

    def apply(r: ReviewRejection, sign: int) -> None:
        parts = out[(r.insu_admdvs, r.insutype)]
        mulaid = {k: Decimal(v) for k, v in (r.mulaid or {}).items()}
        parts["fund"] += sign * r.fund_pay
        parts["acct"] += sign * (r.acct_pay - sum(mulaid.values(), ZERO))
        for admdvs, amount in mulaid.items():
            parts[f"mulaid:{admdvs}"] += sign * amount

    R = ReviewRejection
    for r in session.scalars(select(R).where(R.decl_id == decl.decl_id)):
        apply(r, -1)
    for r in session.scalars(select(R).where(R.redeclared_in == decl.decl_id)):
        apply(r, +1)
    for x in subtractions(session, decl.decl_id):
        if x.kind == "deduction":
            out[(x.insu_admdvs, x.insutype)]["fund"] -= x.amount
    return out


@monthly_step("finish_review")
def finish(session: Session, agency: str, decl_id: str, today: date, now: datetime) -> Declaration:
    """Close the review: the approved amount and the allocation plan (annexes 17-18). The treatment region's
    agency pays its own insured (fund and accounts; mutual aid from other regions is cleared through the
    centre afterwards); the provincial centre pays everything else and charges each part to its region."""
    decl = open_declaration(session, agency, decl_id, today)
    total, planned = ZERO, 0
    for (insu_admdvs, insutype), parts in sorted(_remaining(session, decl).items()):
        payer = "agency" if insu_admdvs == decl.admdvs else "centre"
        for part, amount in sorted(parts.items()):
            if amount == 0:
                continue
            charged = part.split(":", 1)[1] if part.startswith("mulaid:") else insu_admdvs
            session.add(AllocationItem(decl_id=decl.decl_id, fixmedins_code=decl.fixmedins_code,
                                       setl_ym=decl.setl_ym, payer=payer, charged_admdvs=charged,
                                       insu_admdvs=insu_admdvs, insutype=insutype, part=part.split(":")[0],
                                       amount=amount, status="planned"))
            total += amount
            planned += 1
    damages: defaultdict[str, Decimal] = defaultdict(lambda: ZERO)
    for x in subtractions(session, decl.decl_id):
        if x.kind == "damages":
            damages[x.insutype] += x.amount
    for insutype, amount in sorted(damages.items()):  # the agency withholds it from its own payment
        session.add(AllocationItem(decl_id=decl.decl_id, fixmedins_code=decl.fixmedins_code, setl_ym=decl.setl_ym,
                                   payer="agency", charged_admdvs=decl.admdvs, insu_admdvs=decl.admdvs,
                                   insutype=insutype, part="damages", amount=-amount, status="planned"))
        total -= amount
        planned += 1
    expected = decl.payable + decl.redeclared - decl.rejected - decl.deducted - sum(damages.values(), ZERO)
    if total != expected:  # the plan must pay exactly what the review approved
        raise RuntimeError(f"allocation plan of {decl_id} sums to {total}, the review approved {expected}")
    fund_ledger.post_review(session, decl.fixmedins_code, decl.decl_id, _outcomes(session, decl), now)
    if damages:  # withheld by the treatment region's fund: its plan carries the negative line posted at allocation
        fund_ledger.post_liquidated_damages(session, region=decl.admdvs, fixmedins_code=decl.fixmedins_code,
                                            amount=sum(damages.values(), ZERO), reference=decl.decl_id, now=now)
    decl.approved, decl.status, decl.reviewed_at = expected, "reviewed", now
    if planned == 0:
        decl.status, decl.allocated_at = "allocated", now  # nothing to pay: no plan line waits for allocation
    session.flush()
    return decl


def _outcomes(session: Session, decl: Declaration) -> list[ReviewOutcome]:
    """What the review withheld and declared again, by insured region: the books it posts to."""
    parts: defaultdict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    R = ReviewRejection
    for r in session.scalars(select(R).where(R.decl_id == decl.decl_id)):
        parts[r.insu_admdvs]["rejected"] += r.amount
    for r in session.scalars(select(R).where(R.redeclared_in == decl.decl_id)):
        parts[r.insu_admdvs]["redeclared"] += r.amount
    for d in session.scalars(select(ReviewDeduction).where(ReviewDeduction.decl_id == decl.decl_id)):
        parts[d.insu_admdvs]["deducted"] += d.amount
    return [ReviewOutcome(region, **p) for region, p in sorted(parts.items())]


def agree(session: Session, agency: str, rejection_id: int, now: datetime) -> ReviewRejection:
    """After agreement with the institution, a rejected settlement is paid with its next declaration."""
    r = session.get(ReviewRejection, rejection_id, with_for_update=True)
    decl = dc.find(session, r.decl_id) if r is not None else None
    if r is None or decl is None or decl.admdvs != agency:
        raise refuse("rejection_id", f"no rejection {rejection_id} of the agency of {agency}")
    if r.status != "rejected":
        raise refuse("rejection_id", f"rejection {rejection_id} is already {r.status}")
    if decl.status == "declared":
        raise refuse("rejection_id", f"the review of {decl.decl_id} is still open: withdraw the rejection instead")
    r.status, r.agreed_at = "agreed", now
    return r


def withdraw(session: Session, agency: str, rejection_id: int, today: date) -> None:
    """Take a rejection back while the review is still open."""
    r = session.get(ReviewRejection, rejection_id)
    if r is None:
        raise refuse("rejection_id", f"no rejection {rejection_id}")
    decl = open_declaration(session, agency, r.decl_id, today)
    decl.rejected -= r.amount
    session.delete(r)


def rejections(session: Session, decl_id: str) -> list[ReviewRejection]:
    return list(session.scalars(select(ReviewRejection).where(ReviewRejection.decl_id == decl_id)
                                .order_by(ReviewRejection.id)))


def deductions(session: Session, decl_id: str) -> list[ReviewDeduction]:
    return list(session.scalars(select(ReviewDeduction).where(ReviewDeduction.decl_id == decl_id)
                                .order_by(ReviewDeduction.id)))


def plan(session: Session, decl_id: str) -> list[AllocationItem]:
    return list(session.scalars(select(AllocationItem).where(AllocationItem.decl_id == decl_id)
                                .order_by(AllocationItem.id)))
