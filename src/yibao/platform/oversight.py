"""What the provincial centre watches of its agencies (seed 004 art. 21, 29). docs/duties.md.

- Art. 29: a suspension of a person's direct settlement is reported to the centre, which coordinates with the
  insured region: the centre sees every suspension made in its province, who (the treatment region's agency,
  the person and his insured region), when and why.
- Art. 21: a change of an institution's cross-region agreement is reported within 10 working days of the day
  it happens: each change with its effective day, when it was recorded, the deadline, and whether it was late."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.rules.calendar import CalendarUnknown, working_days_after
from yibao.store.models import Institution, InstitutionStatusChange, Person, SettlementSuspension

#: art. 21: "应当在10个工作日内 … 报送省医保中心"
REPORT_WORKING_DAYS = 10


def _in(column: Any, province: str) -> Any:
    return column.like(province[:2] + "%")


def suspensions(session: Session, province: str, active: bool | None = None) -> list[dict[str, Any]]:
    S = SettlementSuspension
    q = (select(S, Person.admdvs).join(Person, Person.psn_no == S.psn_no, isouter=True)
         .where(_in(S.treatment_admdvs, province)))
    if active is not None:
        q = q.where(S.lifted_at.is_(None) if active else S.lifted_at.is_not(None))
    return [{"id": s.id, "psn_no": s.psn_no, "insured_admdvs": insured, "suspended_by": s.treatment_admdvs,
             "since": s.since, "reason": s.reason, "active": s.lifted_at is None, "lifted_at": s.lifted_at,
             "lifted_reason": s.lifted_reason}
            for s, insured in session.execute(q.order_by(S.id))]


def agreement_changes(session: Session, province: str, late_only: bool = False) -> list[dict[str, Any]]:
    C = InstitutionStatusChange
    q = (select(C, Institution.admdvs).join(Institution, Institution.code == C.fixmedins_code)
         .where(_in(Institution.admdvs, province)).order_by(C.id))
    out = []
    for c, admdvs in session.execute(q):
        try:
            deadline = working_days_after(c.effective, REPORT_WORKING_DAYS)
        except CalendarUnknown:
            deadline = None  # a year the calendar does not know: not judged
        late = (c.recorded_at.date() - deadline).days if deadline and c.recorded_at.date() > deadline else 0
        if late_only and not late:
            continue
        out.append({"id": c.id, "fixmedins_code": c.fixmedins_code, "admdvs": admdvs, "change": c.change,
                    "effective": c.effective, "recorded_at": c.recorded_at, "reported_by": c.reported_by,
                    "deadline": deadline, "late": bool(late), "days_late": late, "memo": c.memo or ""})
    return out
