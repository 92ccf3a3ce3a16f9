"""What the staff desks read besides the wire's queries: an institution's settlements searched by day, person,
kind and status; a region's settlements of a day; the lines of the month's allocation plans of a region."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, or_, select

from yibao.money import ZERO
from yibao.platform.work import Work
from yibao.store.models import AllocationItem, Declaration, Institution, Person, Settlement

LIMIT = 200


@dataclass(frozen=True)
class SettlementSearch:
    day: date | None = None
    person: str = ""  # psn_no or the person's name
    kind: str = ""
    status: str = ""


def _day(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min)
    return start, start + timedelta(days=1)


def settlements(work: Work, code: str, f: SettlementSearch) -> list[tuple[Settlement, Person | None]]:
    """The institution's settlement records (cancellation rows included), newest first, at most LIMIT."""
    q = (select(Settlement, Person).outerjoin(Person, Person.psn_no == Settlement.psn_no)
         .where(Settlement.fixmedins_code == code))
    if f.day is not None:
        start, stop = _day(f.day)
        q = q.where(Settlement.setl_time >= start, Settlement.setl_time < stop)
    if f.person.strip():
        q = q.where(or_(Settlement.psn_no == f.person.strip(), Person.name == f.person.strip()))
    if f.kind:
        q = q.where(Settlement.kind == f.kind)
    if f.status:
        q = q.where(Settlement.status == f.status)
    rows = work.session.execute(q.order_by(Settlement.setl_time.desc(), Settlement.setl_id).limit(LIMIT))
    return [(s, p) for s, p in rows]


def of_institution(work: Work, code: str, setl_id: str) -> Settlement | None:
    row = work.session.get(Settlement, setl_id)
    return row if row is not None and row.fixmedins_code == code else None


@dataclass(frozen=True)
class DayFigures:
    count: int
    medfee: Decimal
    fund: Decimal
    acct: Decimal


def region_day(work: Work, region: str, day: date) -> DayFigures:
    """The settlements made on `day` at the region's institutions (cancellations counted with their sign)."""
    start, stop = _day(day)
    count, medfee, fund, acct = work.session.execute(
        select(func.count(), func.coalesce(func.sum(Settlement.medfee_sumamt), 0),
               func.coalesce(func.sum(Settlement.fund_pay_sumamt), 0), func.coalesce(func.sum(Settlement.acct_pay), 0))
        .join(Institution, Institution.code == Settlement.fixmedins_code)
        .where(Institution.admdvs == region, Settlement.setl_time >= start, Settlement.setl_time < stop)).one()
    return DayFigures(int(count), medfee or ZERO, fund or ZERO, acct or ZERO)


def declarations(work: Work, region: str, ym: str | None = None, status: str | None = None) -> list[Declaration]:
    q = select(Declaration).where(Declaration.admdvs == region)
    if ym:
        q = q.where(Declaration.setl_ym == ym)
    if status:
        q = q.where(Declaration.status == status)
    return list(work.session.scalars(q.order_by(Declaration.setl_ym, Declaration.fixmedins_code)))


def own_declarations(work: Work, code: str) -> list[Declaration]:
    return list(work.session.scalars(select(Declaration).where(Declaration.fixmedins_code == code)
                                     .order_by(Declaration.setl_ym.desc())))


def plan_items(work: Work, region: str, ym: str) -> list[AllocationItem]:
    """The allocation plan lines of the region's declarations of `ym` (both payers)."""
    return list(work.session.scalars(
        select(AllocationItem).join(Declaration, Declaration.decl_id == AllocationItem.decl_id)
        .where(Declaration.admdvs == region, AllocationItem.setl_ym == ym)
        .order_by(AllocationItem.fixmedins_code, AllocationItem.payer, AllocationItem.id)))
