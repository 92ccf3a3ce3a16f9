"""Chronic/special disease recognition (门慢特待遇认定): made at an institution (2503, seed 004 art. 10) or by
the insured region's agency, recorded against the person (the insured region keeps it), cancelled (2504) by
whoever made it, and listed (5301). Settlement checks live in platform/crossregion.py (check_disease)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.errors import refuse
from yibao.store.models import Disease, Institution, Person, PersonDisease, Region

AGENCY_PREFIX = "agency:"


def agency_actor(admdvs: str) -> str:
    """`recognized_by` of a recognition made by a region's agency rather than an institution."""
    return AGENCY_PREFIX + admdvs


@dataclass(frozen=True)
class Recognition:
    psn_no: str
    code: str
    since: date
    until: date | None
    by: str  # fixmedins_code, or agency:ADMDVS
    memo: str = ""


def listed_in(session: Session, code: str, regions: list[str]) -> Disease | None:
    """The disease row naming `code`, from the first of `regions` that lists it."""
    rows = {d.admdvs: d for d in session.scalars(select(Disease).where(Disease.code == code,
                                                                        Disease.admdvs.in_(regions)))}
    return next((rows[r] for r in regions if r in rows), None)


def recognize(session: Session, person: Person, rec: Recognition, *, treatment_admdvs: str | None,
              field: str = "input.data.opsp_dise_code") -> PersonDisease:
    """Record a recognition for `person`. The code must be one of the insured region's diseases or, when the
    recognition is made at a treatment institution elsewhere, of that region's (the provincial list as the
    treatment place knows it). A code local to another region (seed 003: Shenzhen's M01103, M08300, M01001)
    is recognised only for that region's own insured."""
    regions = [person.admdvs] + ([treatment_admdvs] if treatment_admdvs and treatment_admdvs != person.admdvs
                                 else [])
    if listed_in(session, rec.code, regions) is None:
        where = " or ".join(f"region {r}" for r in regions)
        raise refuse(field, f"{rec.code} is not a chronic/special disease code of {where}")
    for region in session.scalars(select(Region).where(Region.admdvs != person.admdvs)):
        if rec.code in (region.local_only_diseases or []):
            raise refuse(field, f"{rec.code} is a disease code local to region {region.admdvs} and serves only "
                                f"persons insured there (seed 003 门特门慢结算); this person is insured in "
                                f"{person.admdvs}")
    if rec.until is not None and rec.until < rec.since:
        raise refuse(field.rsplit(".", 1)[0] + ".enddate", f"{rec.until} is before begndate {rec.since}")
    row = session.get(PersonDisease, (person.psn_no, rec.code), with_for_update=True)
    if row is not None and row.status == "active":
        by = row.recognized_by or f"the insured region {person.admdvs} (dataset)"
        raise refuse(field, f"{rec.code} is already recognised for this person (by {by}, "
                            f"{_period(row.since, row.until)}); the recogniser cancels it (2504) before a new "
                            "recognition")
    if row is None:
        row = PersonDisease(psn_no=person.psn_no, code=rec.code)
        session.add(row)
    row.since, row.until, row.recognized_by, row.status = rec.since, rec.until, rec.by, "active"
    session.flush()
    return row


def cancel(session: Session, person: Person, code: str, *, by: str, insured_agency: bool = False,
           field: str = "input.data.opsp_dise_code") -> PersonDisease:
    """End a recognition. Only who made it may (2504: the recognising institution); the insured region's
    agency, which keeps the record, may end any recognition of its insured."""
    row = session.get(PersonDisease, (person.psn_no, code), with_for_update=True)
    if row is None or row.status != "active":
        raise refuse(field, f"{code} is not a recognised chronic/special disease of this person")
    if not insured_agency and row.recognized_by != by:
        made = row.recognized_by or f"the insured region {person.admdvs} (dataset)"
        raise refuse(field, f"{code} was recognised by {made}; only the recognising institution cancels it")
    row.status = "cancelled"
    return row


def of_person(session: Session, person: Person) -> list[dict[str, Any]]:
    """The person's active recognitions (5301 rows), with the disease name of the insured region's list, else
    of the recognising institution's region, else any region's."""
    rows = list(session.scalars(select(PersonDisease).where(PersonDisease.psn_no == person.psn_no,
                                                            PersonDisease.status == "active")
                                .order_by(PersonDisease.code)))
    names: dict[tuple[str, str], str] = {}
    codes = sorted({r.code for r in rows})
    if codes:
        names = {(d.admdvs, d.code): d.name for d in session.scalars(select(Disease).where(Disease.code.in_(codes)))}
    out = []
    for r in rows:
        home = [person.admdvs]
        if r.recognized_by and not r.recognized_by.startswith(AGENCY_PREFIX):
            inst = session.get(Institution, r.recognized_by)
            if inst is not None:
                home.append(inst.admdvs)
        name = next((names[(a, r.code)] for a in home if (a, r.code) in names),
                    next((n for (_a, c), n in sorted(names.items()) if c == r.code), ""))
        out.append({"opsp_dise_code": r.code, "opsp_dise_name": name,
                    "begndate": r.since.isoformat() if r.since else "",
                    "enddate": r.until.isoformat() if r.until else "",
                    "recognized_by": r.recognized_by or ""})
    return out


def _period(since: date | None, until: date | None) -> str:
    return f"from {since or 'the start'} to {until or 'no end'}"
