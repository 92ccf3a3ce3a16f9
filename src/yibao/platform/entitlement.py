"""2001 人员待遇享受检查 and 5302 人员定点信息查询: what a desk asks of a person before it registers him.

2001 composes the checks a settlement makes (platform/crossregion.py: suspension, agreement, filing, the chosen
institution, the disease; settlement.person_for_message for the insured region) with the person's insurance,
contributions (90100's arrears) and recognitions (5301), and hands the facts to rules/entitlement.py. Where a
settlement check would refuse, its refusal is the finding's reason, so 2001 and the settlement that follows
never disagree. Nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from yibao.codes import province
from yibao.errors import Refusal, refuse
from yibao.platform import crossregion, diseases, filing, persons
from yibao.platform.filing import TYPE_NAMES
from yibao.platform.regions import region_setting
from yibao.platform.visits import patient
from yibao.platform.work import Work
from yibao.rules import entitlement as rules
from yibao.rules import region_settings
from yibao.rules.aid_sources import arrears_block
from yibao.rules.filing import FilingTerms, covers, filing_needed
from yibao.rules.selection import LOCAL, qualification_problem, settlement_case
from yibao.store.models import Filing, Institution, Person, Region, SettlementSuspension
from yibao.store.reference import reference


@dataclass(frozen=True)
class Query:
    """2001's input: whom, under which insurance, for which kind of care, from when."""

    psn_no: str
    insutype: str
    fixmedins_code: str
    med_type: str
    begntime: datetime
    endtime: datetime | None = None
    dise_codg: str = ""


def _reason(check: Any, *args: Any) -> str | None:
    """The refusal a settlement check would make, without its field path (it names the 2001 finding instead)."""
    try:
        check(*args)
    except Refusal as r:
        head, sep, rest = r.err_msg.partition(": ")
        return rest if sep and " " not in head else r.err_msg
    return None


def check(work: Work, q: Query) -> tuple[Person, list[rules.Finding]]:
    inst, session = work.here, work.session
    if q.fixmedins_code and q.fixmedins_code != inst.code:  # "" is tolerated: the caller's own
        raise refuse("input.data.fixmedins_code", f"{q.fixmedins_code} is not the calling institution {inst.code}: "
                                                  "an institution checks entitlement for its own desk")
    if q.endtime is not None and q.endtime < q.begntime:
        raise refuse("input.data.endtime", f"{q.endtime:%Y-%m-%d %H:%M:%S} is before begntime "
                                           f"{q.begntime:%Y-%m-%d %H:%M:%S}")
    person = patient(work, q.psn_no, check_suspension=False)
    day = q.begntime.date()
    found = [rules.insurance_status(asked=q.insutype, held=person.insutype, insu_date=person.insu_date,
                                    suspended=person.suspended, day=day)]
    held = session.scalars(select(SettlementSuspension).where(
        SettlementSuspension.psn_no == person.psn_no, SettlementSuspension.treatment_admdvs == inst.admdvs,
        SettlementSuspension.lifted_at.is_(None)).order_by(SettlementSuspension.id))
    found += rules.suspensions([(s.since.date(), s.reason) for s in held], inst.admdvs)
    unpaid = [c.ym for c in persons.contributions(session, person.psn_no) if not c.paid]
    owed = rules.arrears(in_arrears=person.arrears, unpaid=unpaid, med_type=q.med_type, day=day,
                         pooled=arrears_block(True, q.med_type, region_setting(
                             session, person.admdvs, region_settings.ARREARS)) is not None)
    if owed is not None:
        found.append(owed)
    regions = reference(session).regions(session)
    case = settlement_case(person.admdvs, inst.admdvs, rules.inpatient(q.med_type))
    if case.kind != LOCAL:
        found += _cross_region(work, person, q.med_type, day, case.kind, regions)
    recognised = [rules.Recognised(r["opsp_dise_code"], r["opsp_dise_name"], _day(r["begndate"]), _day(r["enddate"]))
                  for r in diseases.of_person(session, person)]
    problem = _reason(crossregion.check_disease, session, person, inst, case, q.med_type, q.dise_codg or None, day,
                      regions)
    found += rules.diseases(med_type=q.med_type, dise_codg=q.dise_codg, recognised=recognised, day=day,
                            problem=problem)
    return person, found


def _cross_region(work: Work, person: Person, med_type: str, day: date, kind: str,
                  regions: dict[str, Region]) -> list[rules.Finding]:
    """A case of another region: qualification and agreement, the filing where one is needed, the chosen
    institution where the insured region requires one (the order crossregion.check runs them)."""
    inst, session = work.here, work.session
    insured = regions.get(person.admdvs)
    problem = qualification_problem(settlement_case(person.admdvs, inst.admdvs, rules.inpatient(med_type)),
                                    inst.xregion) or _reason(crossregion.check_agreement, session, inst, day)
    out = [rules.verdict("xregion", problem, day=day,
                         ok_text=f"{kind.replace('_', '-')} case: the institution's cross-region qualification "
                                 f"({inst.xregion}) serves it and its cross-region agreement is open")]
    same_province = province(person.admdvs) == province(inst.admdvs)
    if filing_needed(same_province, bool(insured and insured.inprov_outpatient_filing_required)):
        problem = _reason(crossregion.check_filing, session, person, inst, day, regions)
        out.append(_covered("filing", problem, _covering(work, person, day, insured), day))
    if med_type in crossregion.DESIGNATED_MED_TYPES and insured and (insured.settings or {}).get(
            "designated_institutions_required"):
        problem = _reason(crossregion.check_designated, session, person, inst, med_type, day, regions)
        out.append(_covered("designated", problem, _covering(work, person, day, insured, chosen=True), day))
    return out


def _covering(work: Work, person: Person, day: date, insured: Region | None, *,
              chosen: bool = False) -> tuple[Filing, date | None] | None:
    """The first active filing covering a visit here on `day` (with `chosen`: one naming this institution), with
    its last day."""
    inst = work.here
    max_days = filing.referral_cap(insured)
    for f in filing.mine(work.session, person.psn_no):
        if f.status != "active" or (chosen and f.dest_fixmedins != inst.code):
            continue
        if covers(FilingTerms(f.id, f.type, f.dest_admdvs, f.dest_fixmedins, f.start, f.end),
                  treatment_admdvs=inst.admdvs, fixmedins_code=inst.code, visit_day=day,
                  referral_max=max_days) is None:
            return f, filing.last_day(f, max_days)
    return None


def _covered(item: str, problem: str | None, covering: tuple[Filing, date | None] | None,
             day: date) -> rules.Finding:
    if problem or covering is None:
        return rules.verdict(item, problem or "no filing covers the visit", day=day, ok_text="")
    row, last = covering
    what = "the person chose this institution" if item == "designated" else "a cross-region filing covers the visit"
    return rules.verdict(item, None, day=day, begndate=row.start, enddate=last,
                         ok_text=f"{what}: filing {row.id} ({TYPE_NAMES.get(row.type, row.type)})")


def _day(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


# -- 5302 人员定点信息查询 ---------------------------------------------------------------------------------

def designations(work: Work, psn_no: str) -> tuple[Person, list[dict[str, Any]]]:
    """The person's designated institutions and places: his active filings still in force or to come, oldest
    first. A filing to one institution names it; a filing to a region names the region (fixmedins_code "")."""
    person = patient(work, psn_no, check_suspension=False)
    session = work.session
    max_days = filing.referral_max(session, person.psn_no)
    regions = reference(session).regions(session)
    out: list[dict[str, Any]] = []
    for f in filing.mine(session, person.psn_no):
        last = filing.last_day(f, max_days)
        if f.status != "active" or (last is not None and last < work.today):
            continue
        inst = session.get(Institution, f.dest_fixmedins) if f.dest_fixmedins else None
        region = regions.get(f.dest_admdvs or "") if f.dest_admdvs else None
        name = inst.name if inst else (region.name if region else (f.dest_admdvs or f.dest_fixmedins or ""))
        out.append({
            "psn_no": person.psn_no, "insutype": person.insutype, "fix_srt_no": str(len(out) + 1),
            "fixmedins_code": f.dest_fixmedins or "", "fixmedins_name": name,
            "begndate": f.start.isoformat(), "enddate": last.isoformat() if last else "",
            "memo": TYPE_NAMES.get(f.type, f.type) + (f"; {f.memo}" if f.memo else ""),
            # yibao's additions: which filing, of which type, to which place
            "trt_dcla_detl_sn": str(f.id), "filing_type": f.type, "dest_admdvs": f.dest_admdvs or "",
            "in_force": "1" if filing.in_force(f, work.today, max_days) else "0",
        })
    return person, out
