"""What an institution may read of its own business: a settlement (5203), a visit's fee lines (5204), a person's
chronic-disease drug history (5205), and the settlement records a reconciliation compares (3201/3202).

Another institution's settlement, visit or file is answered as unknown. A reconciliation counts every
settlement record in its window, cancellation rows included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, func, select

from yibao.errors import refuse
from yibao.platform import settlement
from yibao.platform.visits import patient
from yibao.platform.work import Work
from yibao.store.models import FeeDetail, Person, Settlement, SettlementFund, Visit

CHRONIC_MED_TYPE = "14"  # 门诊慢特病; local subdivisions (140104, 140201) start with it


def person(work: Work, psn_no: str) -> Person:
    """Unlike a settlement, a query is answered for a person whose benefits are suspended."""
    return patient(work, psn_no, check_suspension=False)


def own_visit(work: Work, mdtrt_id: str, psn_no: str) -> Visit:
    visit = work.session.get(Visit, mdtrt_id)
    if visit is None or visit.fixmedins_code != work.here.code:
        raise refuse("input.data.mdtrt_id", f"no visit {mdtrt_id} at this institution")
    if visit.psn_no != psn_no:
        raise refuse("input.data.psn_no", f"visit {mdtrt_id} belongs to another person")
    return visit


def own_settlement(work: Work, setl_id: str, mdtrt_id: str, psn_no: str) -> Settlement:
    """A settlement record of this institution: a settlement (even cancelled) or a cancellation row."""
    row = work.session.get(Settlement, setl_id)
    if row is None or row.fixmedins_code != work.here.code:
        raise refuse("input.data.setl_id", f"no settlement {setl_id} of this institution")
    if row.mdtrt_id != mdtrt_id:
        raise refuse("input.data.mdtrt_id", f"settlement {setl_id} belongs to visit {row.mdtrt_id}")
    if row.psn_no != psn_no:
        raise refuse("input.data.psn_no", f"settlement {setl_id} belongs to another person")
    return row


@dataclass
class SettlementView:
    """5203: a settlement record with what its answer shows beside it."""

    row: Settlement
    person: Person
    visit: Visit | None
    funds: list[SettlementFund]
    funds_sign: int
    refd_setl_id: str


def settlement_of(work: Work, setl_id: str, mdtrt_id: str, psn_no: str) -> SettlementView:
    row = own_settlement(work, setl_id, mdtrt_id, psn_no)
    who = person(work, psn_no)
    # a cancellation row shows its original's fund lines, negated
    cancelling = row.refd_setl_flag == "1" and bool(row.init_setl_id)
    funds = settlement.funds_of(work.session, row.init_setl_id if cancelling else row.setl_id)  # type: ignore[arg-type]
    refd = ""
    if row.status == "cancelled":
        refd = work.session.scalar(select(Settlement.setl_id).where(Settlement.init_setl_id == row.setl_id)) or ""
    return SettlementView(row, who, work.session.get(Visit, row.mdtrt_id), funds, -1 if cancelling else 1, refd)


def fee_lines_of(work: Work, mdtrt_id: str, psn_no: str, setl_id: str = "") -> tuple[Visit, list[FeeDetail],
                                                                                    dict[str, Settlement]]:
    """5204: a visit's lines (of one standing settlement when setl_id is given) and the settlements they belong to."""
    visit = own_visit(work, mdtrt_id, psn_no)
    q = select(FeeDetail).where(FeeDetail.mdtrt_id == visit.mdtrt_id)
    if setl_id:
        row = own_settlement(work, setl_id, mdtrt_id, psn_no)
        if row.refd_setl_flag == "1":
            raise refuse("input.data.setl_id", f"{row.setl_id} is the cancellation of settlement {row.init_setl_id}; "
                                               "it has no fee lines of its own")
        if row.status != "settled":
            raise refuse("input.data.setl_id", f"settlement {row.setl_id} was cancelled; its fee lines went back to "
                                               "the visit: query them with setl_id empty")
        q = q.where(FeeDetail.setl_id == row.setl_id)
    person(work, psn_no)
    lines = list(work.session.scalars(q.order_by(FeeDetail.id)))
    settled = {s.setl_id: s for s in work.session.scalars(select(Settlement).where(
        Settlement.setl_id.in_(sorted({x.setl_id for x in lines if x.setl_id}))))} if lines else {}
    return visit, lines, settled


def chronic_drug_history(work: Work, psn_no: str, begin: datetime, end: datetime) -> tuple[Person, list[tuple[
        FeeDetail, Settlement]]]:
    """5205: the lines dispensed here to a person under chronic/special-disease settlements, in a time window."""
    if end < begin:
        raise refuse("input.data.endtime", f"{end:%Y-%m-%d %H:%M:%S} is before begntime {begin:%Y-%m-%d %H:%M:%S}")
    who = person(work, psn_no)
    rows = work.session.execute(
        select(FeeDetail, Settlement).join(Settlement, FeeDetail.setl_id == Settlement.setl_id)
        .where(Settlement.psn_no == who.psn_no, Settlement.fixmedins_code == work.here.code,
               Settlement.status == "settled", Settlement.med_type.startswith(CHRONIC_MED_TYPE),
               FeeDetail.fee_ocur_time >= begin, FeeDetail.fee_ocur_time <= end)
        .order_by(FeeDetail.fee_ocur_time, FeeDetail.id)).all()
    return who, [(line, setl) for line, setl in rows]


# -- reconciliation ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scope:
    """The settlement records of this institution a reconciliation covers: cleared by `setl_optins`, settled
    within the dates. refd_setl_flag "0" leaves the cancellation rows out; "1" or empty keeps them (they carry
    negative amounts)."""

    setl_optins: str
    begin: date
    end: date
    insutype: str = ""
    clr_type: str = ""
    refd_setl_flag: str = ""


def _where(work: Work, scope: Scope) -> list[ColumnElement[bool]]:
    if scope.end < scope.begin:
        raise refuse("input.data.stmt_enddate", f"{scope.end} is before stmt_begndate {scope.begin}")
    start, stop = datetime.combine(scope.begin, time.min), datetime.combine(scope.end + timedelta(days=1), time.min)
    where = [Settlement.fixmedins_code == work.here.code, Settlement.clr_optins == scope.setl_optins,
             Settlement.setl_time >= start, Settlement.setl_time < stop]
    if scope.insutype:
        where.append(Settlement.insutype == scope.insutype)
    if scope.clr_type:
        where.append(Settlement.clr_type == scope.clr_type)
    if scope.refd_setl_flag == "0":
        where.append(Settlement.refd_setl_flag == "0")
    return where


def totals(work: Work, scope: Scope) -> tuple[Decimal, Decimal, Decimal, int]:
    """3201: medfee_sumamt, fund_pay_sumamt, acct_pay and the count of the records in scope."""
    medfee, fund, acct, count = work.session.execute(select(
        func.coalesce(func.sum(Settlement.medfee_sumamt), 0), func.coalesce(func.sum(Settlement.fund_pay_sumamt), 0),
        func.coalesce(func.sum(Settlement.acct_pay), 0), func.count()).where(*_where(work, scope))).one()
    return medfee, fund, acct, count


def records(work: Work, scope: Scope) -> list[Settlement]:
    """3202: the records in scope, in settlement order."""
    return list(work.session.scalars(select(Settlement).where(*_where(work, scope)).order_by(
        Settlement.setl_time, Settlement.refd_setl_flag, Settlement.setl_id)))


def own_records(work: Work, setl_ids: list[str]) -> dict[str, Settlement]:
    """This institution's records among `setl_ids` (to say why a record of the institution's file is not in scope)."""
    if not setl_ids:
        return {}
    return {s.setl_id: s for s in work.session.scalars(select(Settlement).where(
        Settlement.setl_id.in_(setl_ids), Settlement.fixmedins_code == work.here.code))}
