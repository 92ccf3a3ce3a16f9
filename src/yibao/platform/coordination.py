"""Sporadic reimbursement coordination (零星报销协办, seed 004 art. 17-18; rules.md section 6).

A person treated in another region who did not settle directly claims at home. The insured region's agency
files a request; the treatment region's agency dispatches it to the institution within 3 working days; the
institution uploads the records within 5 working days (2560); the claim is computed by the cross-region
rules with the policy in force on the day of computation and recorded as a settlement; the insured region's
agency pays the fund part to the person's account (acct_023) or records it for cash payment. Steps past
their deadlines are listed for agreement management (art. 17: "纳入协议管理").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from yibao.errors import refuse
from yibao.money import ZERO
from yibao.platform import fees, fund_ledger, ledger, settlement
from yibao.platform.ids import new_id
from yibao.platform.workdays import deadline
from yibao.rules.calendar import overdue
from yibao.store.models import (
    CoordinationRequest,
    FeeDetail,
    Institution,
    Person,
    Settlement,
    SettlementFund,
    Visit,
)

DISPATCH_DAYS = 3  # the treatment region's agency passes the request on (art. 17)
UPLOAD_DAYS = 5  # the institution uploads the records (art. 17)
STATUSES = ("requested", "dispatched", "uploaded", "paid")
METHODS = ("account", "cash")
MARK = "reimbursement coordination (零星报销协办)"


@dataclass(frozen=True)
class RequestIn:
    psn_no: str
    fixmedins_code: str
    begndate: date
    enddate: date
    memo: str | None = None


def file_request(session: Session, region: str, body: RequestIn, *, today: date, now: datetime) -> CoordinationRequest:
    """The insured region's agency asks the institution's region for the records of a stay or purchases."""
    person = session.get(Person, body.psn_no)
    if person is None or person.admdvs != region:
        raise refuse("psn_no", f"no insured person {body.psn_no} in region {region}: the insured region's "
                               "agency files the request")
    inst = session.get(Institution, body.fixmedins_code)
    if inst is None:
        raise refuse("fixmedins_code", f"no designated institution {body.fixmedins_code}")
    if inst.admdvs == region:
        raise refuse("fixmedins_code", f"{inst.code} is in region {region} itself: a local claim needs no "
                                       "coordination across regions")
    # art. 18: what the cross-region rules cannot settle is claimed under the insured region's own rules
    settlement.case_for(person, inst, "outpatient")
    if body.begndate > body.enddate:
        raise refuse("enddate", f"{body.enddate} is before begndate {body.begndate}")
    if body.enddate > today:
        raise refuse("enddate", f"{body.enddate} is after today {today}: only past costs are claimed")
    clash = session.scalars(select(CoordinationRequest).where(
        CoordinationRequest.psn_no == person.psn_no, CoordinationRequest.fixmedins_code == inst.code,
        CoordinationRequest.begndate <= body.enddate, CoordinationRequest.enddate >= body.begndate)).first()
    if clash is not None:
        raise refuse("begndate", f"request {clash.id} ({clash.begndate} to {clash.enddate}, {clash.status}) "
                                 "already covers these days at this institution")
    row = CoordinationRequest(
        psn_no=person.psn_no, insu_admdvs=region, fixmedins_code=inst.code, treatment_admdvs=inst.admdvs,
        begndate=body.begndate, enddate=body.enddate, memo=body.memo or None, status="requested",
        requested_at=now, dispatch_deadline=deadline(session, today, DISPATCH_DAYS))
    session.add(row)
    session.flush()
    return row


def find(session: Session, coord_id: int, *, lock: bool = False) -> CoordinationRequest | None:
    q = select(CoordinationRequest).where(CoordinationRequest.id == coord_id)
    return session.scalars(q.with_for_update() if lock else q).first()


def of_region(session: Session, region: str, side: str | None = None,
              status: str | None = None) -> list[CoordinationRequest]:
    """The requests a region's agency sees: filed by it (`outgoing`), sent to it (`incoming`), or both."""
    sides = {"outgoing": CoordinationRequest.insu_admdvs == region,
             "incoming": CoordinationRequest.treatment_admdvs == region}
    q = select(CoordinationRequest).where(sides[side] if side else or_(*sides.values()))
    if status:
        q = q.where(CoordinationRequest.status == status)
    return list(session.scalars(q.order_by(CoordinationRequest.id)))


def dispatch(session: Session, row: CoordinationRequest, *, today: date, now: datetime) -> CoordinationRequest:
    """The treatment region's agency passes the request to the institution: 5 working days to upload."""
    if row.status != "requested":
        raise refuse("id", f"request {row.id} was already dispatched on {row.dispatched_at:%Y-%m-%d}"
                     if row.dispatched_at else f"request {row.id} is {row.status}")
    row.status, row.dispatched_at = "dispatched", now
    row.upload_deadline = deadline(session, today, UPLOAD_DAYS)
    return row


@dataclass
class Uploaded:
    request: CoordinationRequest
    settlement: Settlement
    funds: list[SettlementFund]
    lines: list[FeeDetail]


def upload(session: Session, row: CoordinationRequest, *, institution: Institution, person: Person, med_type: str,
           dise_codg: str | None, lines: list[fees.LineIn], today: date, now: datetime, msgid: str, opter: str,
           opter_name: str) -> Uploaded:
    """The institution's records: each line split by the case's catalog, the claim computed by the insured
    region's policy in force today (art. 18: "待遇计算以零星报销补结算时间为准") and recorded as a settlement."""
    if row.status == "requested":
        raise refuse("input.data.coord_id", f"request {row.id} has not been dispatched to the institution yet "
                                            f"(the agency of region {row.treatment_admdvs} dispatches it)")
    if row.status != "dispatched":
        raise refuse("input.data.coord_id", f"the records of request {row.id} were already uploaded "
                                            f"(settlement {row.setl_id})")
    if med_type.startswith("2"):
        raise refuse("input.data.med_type", f"{med_type} is an inpatient type; coordination covers outpatient "
                                            "and pharmacy costs (seed 004 art. 17)")
    for line in lines:
        day = line.fee_ocur_time.date()
        if not row.begndate <= day <= row.enddate:
            raise refuse(f"{line.path}.fee_ocur_time", f"{day} is outside the request's days {row.begndate} to "
                                                       f"{row.enddate}")
    case = settlement.case_for(person, institution, "outpatient")
    visit = Visit(
        mdtrt_id=new_id(institution.admdvs, now), fixmedins_code=institution.code, psn_no=person.psn_no,
        insutype=person.insutype, kind="coordination", med_type=med_type, insuplc_admdvs=person.admdvs,
        mdtrtarea_admvs=institution.admdvs, begntime=datetime.combine(row.begndate, time()),
        endtime=datetime.combine(row.enddate, time()), dise_codg=dise_codg, status="discharged",
        info={"coordination_request": row.id}, created_at=now)
    session.add(visit)
    stored = fees.store_lines(session, visit, case.catalog_admdvs, person.insutype, lines, allow_returns=False)
    comp = settlement.compute(session, person=person, institution=institution, kind="outpatient", med_type=med_type,
                              insutype=person.insutype, splits=[fees.split_to_line(x) for x in stored],
                              acct_used_flag="0", today=today, lock=True, dise_codg=dise_codg,
                              visit_day=row.begndate, as_of=today, direct=False)
    done = settlement.settle(session, comp, mdtrt_id=visit.mdtrt_id, institution=institution, kind="outpatient",
                             now=now, msgid=msgid, opter=opter, opter_name=opter_name, lines=stored,
                             dise_codg=dise_codg, claim=True)
    s = done.settlement
    # told apart from a direct settlement, and out of reach of 2208 (settlement.find_settlement checks the
    # kind): the fund part goes to the person, not to the institution
    s.kind = "coordination"
    s.explanation = [*s.explanation, f"{MARK} request {row.id}: costs of {row.begndate} to {row.enddate}, "
                                     f"policy in force on {today} (seed 004 art. 18); the fund part "
                                     f"{s.fund_pay_sumamt} is paid to the person by region {row.insu_admdvs}"]
    row.status, row.uploaded_at, row.mdtrt_id, row.setl_id = "uploaded", now, visit.mdtrt_id, s.setl_id
    return Uploaded(row, s, done.funds, stored)


def pay(session: Session, row: CoordinationRequest, method: str, *, now: datetime) -> CoordinationRequest:
    """The fund part of the claim, to the person's open personal account (acct_023) or recorded for cash."""
    if method not in METHODS:
        raise refuse("method", f"must be one of {', '.join(METHODS)}")
    if row.status == "paid":
        raise refuse("id", f"request {row.id} was already paid ({row.pay_method}, {row.paid_amount}) on "
                           f"{row.paid_at:%Y-%m-%d}")
    if row.status != "uploaded" or row.setl_id is None:
        raise refuse("id", f"request {row.id} is {row.status}: the institution has not uploaded the records, "
                           "there is no claim to pay")
    claim = session.get(Settlement, row.setl_id)
    if claim is None or claim.status != "settled":
        raise refuse("id", f"the claim {row.setl_id} of request {row.id} is not in force")
    amount = claim.fund_pay_sumamt
    if method == "account" and amount > ZERO:
        account = ledger.lock_accounts(session, {row.psn_no}).get(row.psn_no)
        if account is None or account.status != "open":
            state = "no personal account" if account is None else f"the personal account is {account.status}"
            raise refuse("method", f"person {row.psn_no} has {state}: pay in cash")
        entry = ledger.move(session, account, amount, kind="reimbursement", setl_id=claim.setl_id, now=now,
                            beneficiary=row.psn_no)
        row.journal_id = entry.id
    fund_ledger.post_claim_paid(session, claim.insu_admdvs, row.psn_no, amount, method == "account" and amount > ZERO,
                                claim.setl_id, now)
    row.status, row.pay_method, row.paid_amount, row.paid_at = "paid", method, amount, now
    return row


@dataclass(frozen=True)
class LateStep:
    request: CoordinationRequest
    step: str  # dispatch | upload
    responsible: str  # the treatment region's agency, or the institution
    deadline: date
    done_at: datetime | None
    days_late: int


def late_steps(session: Session, region: str, today: date) -> list[LateStep]:
    """Every step of the region's requests (either side) past its deadline on `today`: still open, or done
    late."""
    out = []
    for row in of_region(session, region):
        late = overdue(row.dispatch_deadline, row.dispatched_at, today)
        if late:
            out.append(LateStep(row, "dispatch", row.treatment_admdvs, row.dispatch_deadline, row.dispatched_at,
                                late))
        if row.upload_deadline is not None:
            late = overdue(row.upload_deadline, row.uploaded_at, today)
            if late:
                out.append(LateStep(row, "upload", row.fixmedins_code, row.upload_deadline, row.uploaded_at, late))
    return out


def _day(value: datetime | None) -> str | None:
    return value.date().isoformat() if value else None


def describe(row: CoordinationRequest, claim: Settlement | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": row.id, "psn_no": row.psn_no, "insu_admdvs": row.insu_admdvs, "fixmedins_code": row.fixmedins_code,
        "treatment_admdvs": row.treatment_admdvs, "begndate": row.begndate.isoformat(),
        "enddate": row.enddate.isoformat(), "memo": row.memo, "status": row.status,
        "requested_on": _day(row.requested_at), "dispatch_deadline": row.dispatch_deadline.isoformat(),
        "dispatched_on": _day(row.dispatched_at),
        "upload_deadline": row.upload_deadline.isoformat() if row.upload_deadline else None,
        "uploaded_on": _day(row.uploaded_at), "mdtrt_id": row.mdtrt_id, "setl_id": row.setl_id,
        "pay_method": row.pay_method, "paid_amount": row.paid_amount, "paid_on": _day(row.paid_at),
    }
    if claim is not None:
        out["claim"] = {name: getattr(claim, name) for name in (
            "setl_id", "med_type", "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
            "inscp_scp_amt", "act_pay_dedc", "hifp_pay", "pool_prop_selfpay", "fund_pay_sumamt", "psn_part_amt",
            "catalog_admdvs", "policy_admdvs", "policy_id", "pay_loc")}
        out["claim"]["computed_on"] = claim.setl_time.date().isoformat()
    return out


def describe_late(step: LateStep) -> dict[str, Any]:
    row = step.request
    return {"id": row.id, "step": step.step, "responsible": step.responsible, "deadline": step.deadline.isoformat(),
            "done_on": _day(step.done_at), "days_late": step.days_late, "status": row.status, "psn_no": row.psn_no,
            "fixmedins_code": row.fixmedins_code, "insu_admdvs": row.insu_admdvs,
            "treatment_admdvs": row.treatment_admdvs}
