"""Complaints of cross-region patients (seed 004 art. 28): the patient files one about an institution where he
was treated outside his insured region, or about one of its settlements; the treatment region's agency accepts
it, handles it and answers; the patient reads the answer. Open complaints past the region's deadline
(`settings.complaint_answer_working_days`, working days after filing) are listed; a complaint found to be a
serious violation is reported up to the provincial centre ("逐级上报"). docs/duties.md."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.errors import Refusal, refuse
from yibao.rules.calendar import CalendarUnknown, working_days_after
from yibao.store.models import Complaint, Institution, Person, Region, Settlement

#: working days the treatment region's agency has to answer, unless the region's settings say otherwise
ANSWER_DAYS = 10
OPEN = ("filed", "accepted")


def file(session: Session, psn_no: str, content: str, now: datetime, *, fixmedins_code: str | None = None,
         setl_id: str | None = None) -> Complaint:
    who = session.get(Person, psn_no)
    if who is None:
        raise Refusal(f"psn_no: no insured person {psn_no}", http_status=404)
    if not content.strip():
        raise refuse("content", "a complaint says what happened")
    if setl_id:
        s = session.get(Settlement, setl_id)
        if s is None or s.psn_no != psn_no:
            raise refuse("setl_id", f"{setl_id} is not a settlement of yours")
        if fixmedins_code and fixmedins_code != s.fixmedins_code:
            raise refuse("fixmedins_code", f"settlement {setl_id} was made at {s.fixmedins_code}, not "
                                           f"{fixmedins_code}")
        fixmedins_code = s.fixmedins_code
    if not fixmedins_code:
        raise refuse("fixmedins_code", "a complaint names the institution, or the settlement (setl_id)")
    inst = session.get(Institution, fixmedins_code)
    if inst is None:
        raise refuse("fixmedins_code", f"no institution {fixmedins_code}")
    if inst.admdvs == who.admdvs:
        raise refuse("fixmedins_code", f"{fixmedins_code} is in your insured region {who.admdvs}: these "
                                       "complaints are of patients treated outside it (seed 004 art. 28); "
                                       "complain to your own agency")
    row = Complaint(psn_no=psn_no, fixmedins_code=inst.code, treatment_admdvs=inst.admdvs, setl_id=setl_id or None,
                    content=content.strip(), status="filed", filed_at=now, serious_violation=False)
    session.add(row)
    session.flush()
    return row


def _mine(session: Session, agency: str, complaint_id: int) -> Complaint:
    row = session.get(Complaint, complaint_id, with_for_update=True)
    if row is None or row.treatment_admdvs != agency:
        raise Refusal(f"id: no complaint {complaint_id} about an institution of {agency}", http_status=404)
    return row


def accept(session: Session, agency: str, complaint_id: int, now: datetime) -> Complaint:
    row = _mine(session, agency, complaint_id)
    if row.status != "filed":
        raise refuse("id", f"complaint {complaint_id} is already {row.status}")
    row.status, row.accepted_at = "accepted", now
    return row


def answer(session: Session, agency: str, complaint_id: int, text: str, serious_violation: bool,
           now: datetime) -> Complaint:
    """The result told to the patient; a confirmed serious violation is reported to the centre at once."""
    row = _mine(session, agency, complaint_id)
    if row.status != "accepted":
        raise refuse("id", f"complaint {complaint_id} is {row.status}: "
                           + ("accept it first" if row.status == "filed" else "it is answered already"))
    if not text.strip():
        raise refuse("answer", "an answer tells the patient the result")
    row.status, row.answer, row.answered_at = "answered", text.strip(), now
    if serious_violation:
        row.serious_violation, row.reported_at = True, now
    return row


def answer_days(session: Session, admdvs: str) -> int:
    region = session.get(Region, admdvs)
    return int((region.settings or {}).get("complaint_answer_working_days", ANSWER_DAYS)) if region else ANSWER_DAYS


def deadline(session: Session, c: Complaint) -> date | None:
    """The last day to answer; None when the working-day calendar does not know the year yet."""
    try:
        return working_days_after(c.filed_at.date(), answer_days(session, c.treatment_admdvs))
    except CalendarUnknown:
        return None


def describe(session: Session, c: Complaint, today: date) -> dict[str, Any]:
    due = deadline(session, c)
    return {"id": c.id, "psn_no": c.psn_no, "fixmedins_code": c.fixmedins_code,
            "treatment_admdvs": c.treatment_admdvs, "setl_id": c.setl_id, "content": c.content, "status": c.status,
            "filed_at": c.filed_at, "accepted_at": c.accepted_at, "answer": c.answer, "answered_at": c.answered_at,
            "deadline": due, "overdue": c.status in OPEN and due is not None and today > due,
            "serious_violation": c.serious_violation, "reported_at": c.reported_at}


def of_person(session: Session, psn_no: str, today: date) -> list[dict[str, Any]]:
    rows = session.scalars(select(Complaint).where(Complaint.psn_no == psn_no).order_by(Complaint.id))
    return [describe(session, c, today) for c in rows]


def of_region(session: Session, agency: str, today: date, status: str | None = None,
              overdue: bool = False) -> list[dict[str, Any]]:
    q = select(Complaint).where(Complaint.treatment_admdvs == agency)
    if status:
        q = q.where(Complaint.status == status)
    if overdue:
        q = q.where(Complaint.status.in_(OPEN))
    out = [describe(session, c, today) for c in session.scalars(q.order_by(Complaint.id))]
    return [c for c in out if c["overdue"]] if overdue else out


def reported(session: Session, province: str, today: date) -> list[dict[str, Any]]:
    """The serious violations the province's agencies reported up (for the centre)."""
    q = select(Complaint).where(Complaint.reported_at.is_not(None),
                                Complaint.treatment_admdvs.like(province[:2] + "%")).order_by(Complaint.id)
    return [describe(session, c, today) for c in session.scalars(q)]
