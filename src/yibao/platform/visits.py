"""Visits (就诊): opening one (an outpatient registration 2201, an admission 2401), finding one of the caller's,
describing it (2203, 2403), discharging (2402, 2405) and cancelling it (2202, 2404).

Refusals name the field of the message that asked: `at` is the node its fields sit in (input.data,
input.mdtrtinfo, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from yibao.errors import refuse
from yibao.platform import fees, persons, settlement
from yibao.platform.ids import new_id
from yibao.platform.work import Work
from yibao.store.models import Person, Settlement, Visit

KINDS = {"outpatient": "2201", "inpatient": "2401"}


@dataclass(frozen=True)
class Opening:
    """What a registration (kind outpatient) or an admission (kind inpatient) gives."""

    kind: str
    psn_no: str
    insutype: str
    begntime: datetime
    mdtrt_cert_type: str
    ipt_otp_no: str
    mdtrt_cert_no: str = ""
    med_type: str | None = None
    dise_codg: str = ""
    dise_name: str = ""
    info: dict[str, Any] = field(default_factory=dict)


def visit_of(work: Work, mdtrt_id: str, psn_no: str, kind: str, *, open_only: bool = True,
             at: str = "input.data") -> Visit:
    """A visit of this institution and person; refused if unknown, of another kind, or closed.

    The visit's row is locked for the rest of the unit of work, before any of its lines is read: messages on one
    visit (a 2207 and its retry under a fresh msgid, a 2208 racing a 2207, two uploads) run one after the other,
    and the second sees what the first committed (on SQLite the write lock taken at BEGIN does the same)."""
    visit = work.session.get(Visit, mdtrt_id, with_for_update=True, populate_existing=True)
    if visit is None or visit.fixmedins_code != work.here.code:
        raise refuse(f"{at}.mdtrt_id", f"no visit {mdtrt_id} at this institution")
    if visit.psn_no != psn_no:
        raise refuse(f"{at}.psn_no", f"visit {mdtrt_id} belongs to another person")
    if visit.kind != kind:
        raise refuse(f"{at}.mdtrt_id", f"visit {mdtrt_id} is {visit.kind}, not {kind}")
    if open_only and visit.status == "cancelled":
        raise refuse(f"{at}.mdtrt_id", f"visit {mdtrt_id} was cancelled")
    settlement.person_for_message(work.session, psn_no, work.insuplc_admdvs, work.here)
    return visit


def patient(work: Work, psn_no: str, *, field: str = "input.data.psn_no", check_suspension: bool = True) -> Person:
    """The insured person a message names, the envelope's insured region agreeing (settlement.person_for_message)."""
    return settlement.person_for_message(work.session, psn_no, work.insuplc_admdvs, work.here, field,
                                         check_suspension=check_suspension)


def open_visit(work: Work, o: Opening, *, at: str) -> Visit:
    """Register an outpatient visit or admit a patient: the person insured under the type named, at an
    institution qualified for his case, under a visit number not already open here."""
    inst = work.here
    inpatient = o.kind == "inpatient"
    person = patient(work, o.psn_no, field=f"{at}.psn_no")
    if o.insutype != person.insutype:
        raise refuse(f"{at}.insutype", f"the person is insured under {person.insutype}, not {o.insutype}")
    presented = persons.presented_problem(person, o.mdtrt_cert_type, o.mdtrt_cert_no)
    if presented:
        raise refuse(f"{at}.mdtrt_cert_no", presented)
    if inst.kind != "hospital":
        raise refuse("fixmedins_code", "only a hospital admits patients" if inpatient
                     else "a pharmacy has no outpatient registration; use 2101/2102")
    settlement.case_for(person, inst, o.kind)
    number = "ipt_no" if inpatient else "ipt_otp_no"
    clash = work.session.scalar(select(Visit.mdtrt_id).where(
        Visit.fixmedins_code == inst.code, Visit.ipt_otp_no == o.ipt_otp_no, Visit.status != "cancelled"))
    if clash:
        raise refuse(f"{at}.{number}", f"{o.ipt_otp_no} already names {'admission' if inpatient else 'visit'} {clash}")
    if inpatient:
        open_stay = work.session.scalar(select(Visit.mdtrt_id).where(
            Visit.fixmedins_code == inst.code, Visit.psn_no == person.psn_no, Visit.kind == "inpatient",
            Visit.status == "open"))
        if open_stay:
            raise refuse(f"{at}.psn_no", f"the person is already admitted here ({open_stay})")
    visit = Visit(mdtrt_id=new_id(inst.admdvs, work.now), fixmedins_code=inst.code, psn_no=person.psn_no,
                  insutype=o.insutype, kind=o.kind, med_type=o.med_type, insuplc_admdvs=person.admdvs,
                  mdtrtarea_admvs=inst.admdvs, ipt_otp_no=o.ipt_otp_no, begntime=o.begntime,
                  dise_codg=o.dise_codg or None, dise_name=o.dise_name or None, mdtrt_cert_type=o.mdtrt_cert_type,
                  status="open", info=o.info, created_at=work.now)
    work.session.add(visit)
    return visit


def active_settlements(work: Work, mdtrt_id: str) -> list[Settlement]:
    return list(work.session.scalars(select(Settlement).where(Settlement.mdtrt_id == mdtrt_id,
                                                              Settlement.status == "settled")))


def final_settlement(work: Work, visit: Visit) -> str | None:
    """The setl_id of a stay's final (not interim) settlement, while it stands."""
    for s in active_settlements(work, visit.mdtrt_id):
        if s.mid_setl_flag != "1":
            return s.setl_id
    return None


def cancel_visit(work: Work, visit: Visit, field: str, then: str) -> None:
    """Undo a registration or an admission: refused while a settlement of it stands; its lines go."""
    if active_settlements(work, visit.mdtrt_id):
        raise refuse(field, f"visit {visit.mdtrt_id} has a settlement; {then} first")
    for line in fees.unsettled(work.session, visit.mdtrt_id):
        work.session.delete(line)
    visit.status = "cancelled"


def describe(work: Work, visit: Visit, *, med_type: str | None = None, dise_codg: str = "", dise_name: str = "",
             begntime: datetime | None = None, info: dict[str, Any] | None = None, replace_disease: bool) -> Visit:
    """2203 (replace_disease: the visit's disease is what is sent) and 2403 (only what is sent changes)."""
    if begntime is not None:
        visit.begntime = begntime
    if med_type:
        visit.med_type = med_type
    if replace_disease:
        visit.dise_codg, visit.dise_name = dise_codg or None, dise_name or None
    elif dise_codg:
        visit.dise_codg, visit.dise_name = dise_codg, dise_name or visit.dise_name
    if info:
        visit.info = {**visit.info, **info}
    return visit


def discharge(work: Work, visit: Visit, *, endtime: datetime, dise_codg: str, dise_name: str,
              record: dict[str, Any], at: str) -> None:
    if visit.status != "open":
        raise refuse(f"{at}.mdtrt_id", f"the stay is {visit.status}, not open")
    if endtime < visit.begntime:
        raise refuse(f"{at}.endtime", f"{endtime} is before the admission {visit.begntime}")
    visit.status, visit.endtime = "discharged", endtime
    if dise_codg:
        visit.dise_codg, visit.dise_name = dise_codg, dise_name or visit.dise_name
    visit.info = {**visit.info, "discharge": record}


def cancel_discharge(work: Work, visit: Visit, *, at: str) -> None:
    if visit.status != "discharged":
        raise refuse(f"{at}.mdtrt_id", f"the stay is {visit.status}, not discharged")
    if final_settlement(work, visit):
        raise refuse(f"{at}.mdtrt_id", "the stay is settled; cancel the settlement (2305) first")
    visit.status, visit.endtime = "open", None
