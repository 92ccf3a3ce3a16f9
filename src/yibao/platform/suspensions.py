"""Suspensions of direct settlement (seed 004 art. 29): the treatment region's agency suspends, in its region,
the direct settlement of a person insured elsewhere, and lifts it; settlements there are refused meanwhile
(platform/crossregion.py). Reported to the provincial centre, which coordinates with the insured region."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from yibao.errors import Refusal, refuse
from yibao.platform.work import Work
from yibao.store.models import Person, SettlementSuspension


def describe(s: SettlementSuspension) -> dict[str, Any]:
    return {"id": s.id, "psn_no": s.psn_no, "treatment_admdvs": s.treatment_admdvs, "reason": s.reason,
            "since": s.since, "active": s.lifted_at is None, "lifted_at": s.lifted_at,
            "lifted_reason": s.lifted_reason}


def suspend(work: Work, region: str, psn_no: str, reason: str) -> tuple[SettlementSuspension, Person]:
    who = work.session.scalars(select(Person).where(Person.psn_no == psn_no).with_for_update()).first()
    if who is None:
        raise Refusal(f"psn_no: no insured person {psn_no}", http_status=404)
    if not reason.strip():
        raise refuse("reason", "a suspension states its reason")
    if who.admdvs == region:
        raise refuse("psn_no", f"the person is insured in {region}: suspension of direct settlement concerns "
                               "persons insured elsewhere who are treated here (seed 004 art. 29); the "
                               "insured region deals with its own insured")
    current = work.session.scalars(select(SettlementSuspension).where(
        SettlementSuspension.psn_no == who.psn_no, SettlementSuspension.treatment_admdvs == region,
        SettlementSuspension.lifted_at.is_(None))).first()
    if current is not None:
        raise refuse("psn_no", f"the person's direct settlement in {region} is already suspended "
                               f"(suspension {current.id} since {current.since:%Y-%m-%d}: {current.reason})")
    row = SettlementSuspension(psn_no=who.psn_no, treatment_admdvs=region, reason=reason.strip(), since=work.now)
    work.session.add(row)
    work.session.flush()
    return row, who


def lift(work: Work, region: str, suspension_id: int, reason: str) -> SettlementSuspension:
    row = work.session.scalars(select(SettlementSuspension).where(SettlementSuspension.id == suspension_id)
                               .with_for_update()).first()
    if row is None or row.treatment_admdvs != region:
        raise Refusal(f"id: no suspension {suspension_id} in region {region}", http_status=404)
    if row.lifted_at is not None:
        raise refuse("id", f"suspension {suspension_id} was already lifted on {row.lifted_at:%Y-%m-%d} "
                           f"({row.lifted_reason})")
    row.lifted_at, row.lifted_reason = work.now, reason.strip()
    return row


def of_region(work: Work, region: str, scope: str = "treatment", active: bool | None = None,
              psn_no: str | None = None) -> list[SettlementSuspension]:
    """Suspensions made by `region` (scope treatment) or of its insured, made elsewhere (scope insured)."""
    if scope not in ("treatment", "insured"):
        raise refuse("scope", "must be treatment (suspensions made by my region) or insured (of my insured, "
                              "made elsewhere)")
    q = select(SettlementSuspension)
    if scope == "treatment":
        q = q.where(SettlementSuspension.treatment_admdvs == region)
    else:
        q = q.join(Person, Person.psn_no == SettlementSuspension.psn_no).where(Person.admdvs == region)
    if active is not None:
        q = q.where(SettlementSuspension.lifted_at.is_(None) if active
                    else SettlementSuspension.lifted_at.is_not(None))
    if psn_no:
        q = q.where(SettlementSuspension.psn_no == psn_no)
    return list(work.session.scalars(q.order_by(SettlementSuspension.id)))
