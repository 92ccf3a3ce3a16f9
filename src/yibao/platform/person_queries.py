"""What a HIS reads of a person besides his settlements: his visits here (5201), a visit's diagnoses (5202), his
accumulations of the year (5206) and his open inpatient stays (5303). Readings in docs/entitlement.md.

Visits and diagnoses are an institution's business: another institution's are not shown (5202 answers such a
visit as unknown, as 5204 does). Accumulations are the person's and shown to any institution that may serve
him. An open stay elsewhere is shown without its identifiers, so that the desk learns the person is in
hospital there (a second admission is not made) without learning that institution's numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from yibao.errors import refuse
from yibao.platform.queries import own_visit, person
from yibao.platform.work import Work
from yibao.store.models import Accumulator, Institution, Person, Visit


def _window(begin: datetime, end: datetime) -> None:
    if end < begin:
        raise refuse("input.data.endtime", f"{end:%Y-%m-%d %H:%M:%S} is before begntime {begin:%Y-%m-%d %H:%M:%S}")


def visits(work: Work, psn_no: str, begin: datetime, end: datetime, *, med_type: str = "",
           mdtrt_id: str = "") -> tuple[Person, list[Visit]]:
    """5201: this institution's visits of the person begun within the window (cancelled ones left out), oldest
    first; narrowed to a med_type or one visit when named."""
    _window(begin, end)
    who = person(work, psn_no)
    q = select(Visit).where(Visit.psn_no == who.psn_no, Visit.fixmedins_code == work.here.code,
                            Visit.status != "cancelled", Visit.begntime >= begin, Visit.begntime <= end)
    if med_type:
        q = q.where(Visit.med_type == med_type)
    if mdtrt_id:
        q = q.where(Visit.mdtrt_id == mdtrt_id)
    return who, list(work.session.scalars(q.order_by(Visit.begntime, Visit.mdtrt_id)))


def diagnoses(work: Work, mdtrt_id: str, psn_no: str) -> tuple[Visit, list[dict[str, Any]]]:
    """5202: the diagnoses uploaded with a visit of this institution (2203 diseinfo, or 2401/2403 for a stay),
    as sent."""
    visit = own_visit(work, mdtrt_id, psn_no)
    person(work, psn_no)
    rows = (visit.info or {}).get("diseinfo") or []
    return visit, [r for r in rows if isinstance(r, dict)]


@dataclass(frozen=True)
class Accumulation:
    year: int
    cum_ym: str
    rows: list[Accumulator]


CUM_YM = re.compile(r"^(\d{4})(0[1-9]|1[0-2])$")


def accumulations(work: Work, psn_no: str, cum_ym: str) -> tuple[Person, Accumulation]:
    """5206: the person's year-to-date usage by benefit bucket. Accumulators are kept by year: cum_ym (yyyyMM)
    names the year; without it, the business year."""
    if cum_ym and not CUM_YM.match(cum_ym):
        raise refuse("input.data.cum_ym", f"{cum_ym[:20]!r} is not a month as yyyyMM")
    who = person(work, psn_no)
    year = int(cum_ym[:4]) if cum_ym else work.today.year
    as_of = cum_ym or (f"{year}{work.today.month:02d}" if year == work.today.year else f"{year}12")
    rows = list(work.session.scalars(select(Accumulator).where(Accumulator.psn_no == who.psn_no,
                                                               Accumulator.year == year)
                                     .order_by(Accumulator.bucket)))
    return who, Accumulation(year, as_of, rows)


@dataclass(frozen=True)
class Stay:
    visit: Visit
    own: bool
    institution: Institution | None


def open_stays(work: Work, psn_no: str, begin: datetime, end: datetime) -> tuple[Person, list[Stay]]:
    """5303: the person's inpatient stays still open (not discharged) that began by the end of the window, at
    any institution; `own` says whether the stay is the caller's."""
    _window(begin, end)
    who = person(work, psn_no)
    rows = work.session.scalars(select(Visit).where(
        Visit.psn_no == who.psn_no, Visit.kind == "inpatient", Visit.status == "open", Visit.begntime <= end)
        .order_by(Visit.begntime, Visit.mdtrt_id))
    here = work.here.code
    return who, [Stay(v, v.fixmedins_code == here, work.session.get(Institution, v.fixmedins_code)) for v in rows]
