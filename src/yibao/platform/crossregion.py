"""The checks a cross-region settlement adds (rules.md section 6; seeds 003, 004): suspension of direct
settlement, the filing, and the chronic/special disease of the settlement."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.codes import province
from yibao.errors import Refusal, refuse
from yibao.platform.filing import referral_cap
from yibao.rules import region_settings
from yibao.rules.filing import FilingTerms, agreement_open, covers, dialysis_problem, filing_needed
from yibao.rules.selection import LOCAL, Case
from yibao.store.models import (
    Filing,
    Institution,
    InstitutionStatusChange,
    Person,
    PersonDisease,
    Region,
    SettlementSuspension,
)

CHRONIC_MED_TYPES = ("14",)


def check(session: Session, *, person: Person, institution: Institution, case: Case, med_type: str,
          dise_codg: str | None, visit_day: date, regions: dict[str, Region], direct: bool = True) -> None:
    if direct:
        check_suspension(session, person, institution)
    if direct and case.kind != LOCAL:
        check_agreement(session, institution, visit_day)
        check_filing(session, person, institution, visit_day, regions)
        check_designated(session, person, institution, med_type, visit_day, regions)
        check_dialysis(session, person, institution, dise_codg, visit_day, regions)
    check_disease(session, person, institution, case, med_type, dise_codg, visit_day, regions)


def check_suspension(session: Session, person: Person, institution: Institution) -> None:
    row = session.scalars(select(SettlementSuspension).where(
        SettlementSuspension.psn_no == person.psn_no, SettlementSuspension.treatment_admdvs == institution.admdvs,
        SettlementSuspension.lifted_at.is_(None))).first()
    if row is not None:
        raise Refusal(f"input.data.psn_no: direct settlement of this person in region {institution.admdvs} is "
                      f"suspended by its agency since {row.since:%Y-%m-%d} ({row.reason}); settle after it is "
                      f"lifted, or claim at the insured region")


def check_agreement(session: Session, institution: Institution, day: date) -> None:
    """An institution whose cross-region agreement is suspended or ended on the day settles local cases only."""
    changes = [(c.effective, c.change) for c in session.scalars(
        select(InstitutionStatusChange).where(InstitutionStatusChange.fixmedins_code == institution.code))]
    if not agreement_open(changes, day):
        last = max((c for c in changes if c[0] <= day), default=None)
        raise refuse("fixmedins_code", f"the institution's cross-region agreement is {last[1] if last else 'closed'}"
                                       f" since {last[0] if last else '-'}: it settles local cases only (seed 004 "
                                       "art. 21)")


def check_filing(session: Session, person: Person, institution: Institution, visit_day: date,
                 regions: dict[str, Region]) -> None:
    insured = regions.get(person.admdvs)
    same_province = province(person.admdvs) == province(institution.admdvs)
    if not filing_needed(same_province, bool(insured and insured.inprov_outpatient_filing_required)):
        return
    filings = list(session.scalars(select(Filing).where(Filing.psn_no == person.psn_no, Filing.status == "active")
                                   .order_by(Filing.id)))
    max_days = referral_cap(insured)
    reasons = []
    for f in filings:
        why = covers(FilingTerms(f.id, f.type, f.dest_admdvs, f.dest_fixmedins, f.start, f.end),
                     treatment_admdvs=institution.admdvs, fixmedins_code=institution.code, visit_day=visit_day,
                     referral_max=max_days)
        if why is None:
            return
        reasons.append(why)
    case = "cross-province" if not same_province else f"in-province (insured region {person.admdvs} requires it)"
    detail = "; ".join(reasons) if reasons else "the person has no active filing"
    raise Refusal(f"input.data.psn_no: a cross-region filing (异地备案) is needed for {case} settlement on "
                  f"{visit_day} at {institution.code}: {detail}")


DESIGNATED_MED_TYPES = ("11", "14")


def check_designated(session: Session, person: Person, institution: Institution, med_type: str, visit_day: date,
                     regions: dict[str, Region]) -> None:
    """Where the insured region requires it (`settings.designated_institutions_required`), general outpatient
    and special-disease settlement at the treatment place only at an institution the person chose there
    (2505; seed 004 art. 8, 13)."""
    insured = regions.get(person.admdvs)
    if med_type not in DESIGNATED_MED_TYPES or not (insured and (insured.settings or {}).get(
            "designated_institutions_required")):
        return
    chosen = [f for f in session.scalars(select(Filing).where(
        Filing.psn_no == person.psn_no, Filing.status == "active", Filing.dest_fixmedins == institution.code))
        if covers(FilingTerms(f.id, f.type, f.dest_admdvs, f.dest_fixmedins, f.start, f.end),
                  treatment_admdvs=institution.admdvs, fixmedins_code=institution.code, visit_day=visit_day,
                  referral_max=referral_cap(insured)) is None]
    if not chosen:
        raise refuse("fixmedins_code", f"region {person.admdvs} settles general outpatient and special-disease "
                                       f"care at the treatment place only at institutions the person chose (2505); "
                                       f"{institution.code} is not one of them on {visit_day}")


def check_dialysis(session: Session, person: Person, institution: Institution, dise_codg: str | None,
                   visit_day: date, regions: dict[str, Region]) -> None:
    """A dialysis disease of the insured region's settings.dialysis_diseases is settled across regions only at an
    institution the person is filed to, whatever his filing needs otherwise (seed 003 异地备案登记)."""
    insured = regions.get(person.admdvs)
    codes = (insured.settings or {}).get(region_settings.DIALYSIS) if insured else None
    if not dise_codg or dise_codg not in (codes or []):
        return
    cap = referral_cap(insured)
    filed_to = [f.dest_fixmedins for f in session.scalars(select(Filing).where(
        Filing.psn_no == person.psn_no, Filing.status == "active", Filing.dest_fixmedins.is_not(None)))
        if f.dest_fixmedins and covers(FilingTerms(f.id, f.type, f.dest_admdvs, f.dest_fixmedins, f.start, f.end),
                                       treatment_admdvs=institution.admdvs, fixmedins_code=f.dest_fixmedins,
                                       visit_day=visit_day, referral_max=cap) is None]
    why = dialysis_problem(dise_codg, codes, filed_to, institution.code)
    if why:
        raise refuse("fixmedins_code", why)


def check_disease(session: Session, person: Person, institution: Institution, case: Case, med_type: str,
                  dise_codg: str | None, visit_day: date, regions: dict[str, Region]) -> None:
    if dise_codg and case.kind != LOCAL:
        for admdvs in (person.admdvs, institution.admdvs):
            region = regions.get(admdvs)
            if region is not None and dise_codg in (region.local_only_diseases or []):
                raise refuse("dise_codg", f"{dise_codg} is a disease code local to region {admdvs}; it is not "
                                          "settled cross-region (seed 003 门特门慢结算)")
    if med_type not in CHRONIC_MED_TYPES:
        return
    if not dise_codg:
        raise refuse("dise_codg", f"med_type {med_type} settles one recognised chronic/special disease: name its "
                                  "code (one disease per settlement, seed 004 art. 15)")
    row = session.get(PersonDisease, (person.psn_no, dise_codg))
    if row is None or row.status != "active" or (row.since and visit_day < row.since) or (
            row.until and visit_day > row.until):
        raise refuse("dise_codg", f"{dise_codg} is not a chronic/special disease recognised for this person on "
                                  f"{visit_day} (2503 records a recognition)")
