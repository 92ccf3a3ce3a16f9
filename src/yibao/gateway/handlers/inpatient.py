"""Inpatient: 2401 admission, 2403 change, 2404 cancel admission, 2402 discharge, 2405 cancel discharge,
2301 / 2302 fee lines (returns with negative cnt), 2303(A) pre-settlement, 2304(A) settlement (interim
with mid_setl_flag 1), 2305 cancellation."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from sqlalchemy import select

from yibao.errors import refuse
from yibao.gateway.fields import Amount, CertType, Flag, InsuType, MedType, SetlWay, Text, Time, code
from yibao.gateway.handlers import render
from yibao.gateway.handlers.common import (
    CancelInput,
    FeeLineBase,
    active_settlements,
    cancel_referenced,
    cancel_visit,
    check_claimed,
    line_in,
    one_visit_of_lines,
    settled_output,
    supplementary_day,
    visit_of,
)
from yibao.gateway.registry import Call, Node, interface, interface_with_a_form
from yibao.platform import fees, settlement
from yibao.platform.ids import new_id
from yibao.store.models import FeeDetail, Visit


def _final_settlement(call: Call, visit: Visit) -> str | None:
    for s in active_settlements(call, visit.mdtrt_id):
        if s.mid_setl_flag != "1":
            return s.setl_id
    return None


# -- admission and discharge -------------------------------------------------------------------------

class AdmInfo(Node):
    psn_no: Text
    insutype: InsuType
    begntime: Time
    mdtrt_cert_type: CertType
    mdtrt_cert_no: Text = ""
    med_type: MedType = "21"
    ipt_no: Text = Field(min_length=1)
    medrcdno: Text = ""
    atddr_no: Text = ""
    chfpdr_name: Text = ""
    adm_diag_dscr: Text = ""
    adm_dept_codg: Text = ""
    adm_dept_name: Text = ""
    adm_bed: Text = ""
    dise_codg: Text = ""
    dise_name: Text = ""


class Input2401(Node):
    mdtrtinfo: AdmInfo
    diseinfo: list[dict[str, Any]] = []


@interface("2401", "入院办理", Input2401)
def admit(call: Call, data: Input2401) -> dict:
    m = data.mdtrtinfo
    person = settlement.person_for_message(call.session, m.psn_no, call.envelope.insuplc_admdvs, call.institution,
                                           "input.mdtrtinfo.psn_no")
    if m.insutype != person.insutype:
        raise refuse("input.mdtrtinfo.insutype", f"the person is insured under {person.insutype}, not {m.insutype}")
    if call.institution.kind != "hospital":
        raise refuse("fixmedins_code", "only a hospital admits patients")
    settlement.case_for(person, call.institution, "inpatient")
    clash = call.session.scalar(select(Visit.mdtrt_id).where(
        Visit.fixmedins_code == call.institution.code, Visit.ipt_otp_no == m.ipt_no, Visit.status != "cancelled"))
    if clash:
        raise refuse("input.mdtrtinfo.ipt_no", f"{m.ipt_no} already names admission {clash}")
    open_stay = call.session.scalar(select(Visit.mdtrt_id).where(
        Visit.fixmedins_code == call.institution.code, Visit.psn_no == person.psn_no, Visit.kind == "inpatient",
        Visit.status == "open"))
    if open_stay:
        raise refuse("input.mdtrtinfo.psn_no", f"the person is already admitted here ({open_stay})")
    mdtrt_id = new_id(call.institution.admdvs, call.now)
    call.session.add(Visit(
        mdtrt_id=mdtrt_id, fixmedins_code=call.institution.code, psn_no=person.psn_no, insutype=m.insutype,
        kind="inpatient", med_type=m.med_type, insuplc_admdvs=person.admdvs, mdtrtarea_admvs=call.institution.admdvs,
        ipt_otp_no=m.ipt_no, begntime=m.begntime, dise_codg=m.dise_codg or None, dise_name=m.dise_name or None,
        mdtrt_cert_type=m.mdtrt_cert_type, status="open",
        info={"admission": m.model_dump(mode="json"), "diseinfo": data.diseinfo}, created_at=call.now))
    return {"result": {"mdtrt_id": mdtrt_id, "psn_no": person.psn_no, "ipt_no": m.ipt_no}}


class ChangeInfo(Node):
    mdtrt_id: Text
    psn_no: Text
    begntime: Time | None = None
    med_type: code("med_type", empty=True) = ""
    dise_codg: Text = ""
    dise_name: Text = ""


class Input2403(Node):
    mdtrtinfo: ChangeInfo
    diseinfo: list[dict[str, Any]] = []


@interface("2403", "入院信息变更", Input2403)
def change_admission(call: Call, data: Input2403) -> dict:
    m = data.mdtrtinfo
    visit = visit_of(call, m.mdtrt_id, m.psn_no, "inpatient")
    if _final_settlement(call, visit):
        raise refuse("input.mdtrtinfo.mdtrt_id", "the stay is settled; cancel the settlement (2305) first")
    if m.begntime is not None:
        visit.begntime = m.begntime
    if m.med_type:
        visit.med_type = m.med_type
    if m.dise_codg:
        visit.dise_codg, visit.dise_name = m.dise_codg, m.dise_name or visit.dise_name
    if data.diseinfo:
        visit.info = {**visit.info, "diseinfo": data.diseinfo}
    return {}


class StayRef(Node):
    mdtrt_id: Text
    psn_no: Text


class InputStay(Node):
    data: StayRef


@interface("2404", "入院办理撤销", InputStay)
def cancel_admission(call: Call, data: InputStay) -> dict:
    cancel_visit(call, visit_of(call, data.data.mdtrt_id, data.data.psn_no, "inpatient"), "input.data.mdtrt_id",
                 "cancel it (2305)")
    return {}


class DischargeInfo(Node):
    mdtrt_id: Text
    psn_no: Text
    insutype: code("insutype", empty=True) = ""
    endtime: Time
    dise_codg: Text = ""
    dise_name: Text = ""
    dscg_way: code("dscg_way")
    dscg_dept_codg: Text = ""
    dscg_dept_name: Text = ""


class Input2402(Node):
    dscginfo: DischargeInfo
    diseinfo: list[dict[str, Any]] = []


@interface("2402", "出院办理", Input2402)
def discharge(call: Call, data: Input2402) -> dict:
    d = data.dscginfo
    visit = visit_of(call, d.mdtrt_id, d.psn_no, "inpatient")
    if visit.status != "open":
        raise refuse("input.dscginfo.mdtrt_id", f"the stay is {visit.status}, not open")
    if d.endtime < visit.begntime:
        raise refuse("input.dscginfo.endtime", f"{d.endtime} is before the admission {visit.begntime}")
    visit.status, visit.endtime = "discharged", d.endtime
    if d.dise_codg:
        visit.dise_codg, visit.dise_name = d.dise_codg, d.dise_name or visit.dise_name
    visit.info = {**visit.info, "discharge": d.model_dump(mode="json")}
    return {}


@interface("2405", "出院撤销", InputStay)
def cancel_discharge(call: Call, data: InputStay) -> dict:
    visit = visit_of(call, data.data.mdtrt_id, data.data.psn_no, "inpatient")
    if visit.status != "discharged":
        raise refuse("input.data.mdtrt_id", f"the stay is {visit.status}, not discharged")
    if _final_settlement(call, visit):
        raise refuse("input.data.mdtrt_id", "the stay is settled; cancel the settlement (2305) first")
    visit.status, visit.endtime = "open", None
    return {}


# -- fee lines ---------------------------------------------------------------------------------------

class InpatientLine(FeeLineBase):
    init_feedetl_sn: Text = ""
    mdtrt_id: Text
    drord_no: Text = ""
    psn_no: Text
    med_type: code("med_type", empty=True) = ""


class Input2301(Node):
    feedetail: list[InpatientLine] = Field(min_length=1)


@interface("2301", "住院费用明细上传", Input2301)
def upload_fees(call: Call, data: Input2301) -> dict:
    visit = one_visit_of_lines(call, data.feedetail, "inpatient")
    if _final_settlement(call, visit):
        raise refuse("input.feedetail[0].mdtrt_id", "the stay is settled; cancel the settlement (2305) first")
    person = settlement.person_for_message(call.session, visit.psn_no, call.envelope.insuplc_admdvs,
                                           call.institution)
    case = settlement.case_for(person, call.institution, "inpatient")
    rows = fees.store_lines(call.session, visit, case.catalog_admdvs, visit.insutype,
                            [line_in(f"input.feedetail[{i}]", x, None) for i, x in enumerate(data.feedetail)],
                            allow_returns=True)
    return {"result": [fees.result_row(r.feedetl_sn, r.cnt, r.pric, fees.split_to_line(r)) for r in rows]}


class Data2302(Node):
    feedetl_sn: Text = Field(min_length=1)
    mdtrt_id: Text
    psn_no: Text


class Input2302(Node):
    data: Data2302


@interface("2302", "住院费用明细撤销", Input2302)
def delete_fees(call: Call, data: Input2302) -> dict:
    d = data.data
    visit = visit_of(call, d.mdtrt_id, d.psn_no, "inpatient")
    lines = fees.unsettled(call.session, visit.mdtrt_id)
    if d.feedetl_sn != "0000":
        target = [x for x in lines if x.feedetl_sn == d.feedetl_sn]
        if not target:
            raise refuse("input.data.feedetl_sn", f"{d.feedetl_sn} is not an unsettled line of this stay")
        returns = [x.feedetl_sn for x in lines if x.init_feedetl_sn == d.feedetl_sn]
        if returns:
            raise refuse("input.data.feedetl_sn", f"returns {', '.join(returns)} refer to it; delete them first")
        lines = target
    for line in lines:
        call.session.delete(line)
    return {}


# -- settlement ------------------------------------------------------------------------------------

class Data2303(Node):
    psn_no: Text
    mdtrt_cert_type: CertType
    mdtrt_cert_no: Text = ""
    medfee_sumamt: Amount
    psn_setlway: SetlWay = "01"
    mdtrt_id: Text
    insutype: InsuType
    acct_used_flag: Flag = "0"
    invono: Text = ""
    mid_setl_flag: Flag = "0"
    suppl_flag: Flag = "0"  # 1: supplementary bookkeeping (the stay's discharge day counts)
    fulamt_ownpay_amt: Amount | None = None
    overlmt_selfpay: Amount | None = None
    preselfpay_amt: Amount | None = None
    inscp_scp_amt: Amount | None = None


class Data2304(Data2303):
    fulamt_ownpay_amt: Amount
    overlmt_selfpay: Amount
    preselfpay_amt: Amount
    inscp_scp_amt: Amount


class Input2303(Node):
    data: Data2303


class Input2304(Node):
    data: Data2304


def _computation(call: Call, d: Data2303, lock: bool) -> tuple[Visit, list[FeeDetail], Any]:
    visit = visit_of(call, d.mdtrt_id, d.psn_no, "inpatient")
    if d.mid_setl_flag != "1" and visit.status != "discharged":
        raise refuse("input.data.mid_setl_flag", "the stay is not discharged (2402): settle it as an interim "
                                                 "settlement (mid_setl_flag 1) or discharge first")
    if _final_settlement(call, visit):
        raise refuse("input.data.mdtrt_id", "the stay is already settled")
    lines = fees.unsettled(call.session, visit.mdtrt_id)
    if not lines:
        raise refuse("input.data.mdtrt_id", "no unsettled fee lines in this stay")
    person = settlement.person_for_message(call.session, d.psn_no, call.envelope.insuplc_admdvs, call.institution)
    comp = settlement.compute(call.session, person=person, institution=call.institution, kind="inpatient",
                              med_type=visit.med_type or "21", insutype=d.insutype,
                              splits=[fees.split_to_line(x) for x in lines], acct_used_flag=d.acct_used_flag,
                              today=call.today, lock=lock, visit_day=visit.begntime.date(),
                              as_of=supplementary_day(call, d.suppl_flag, (visit.endtime or visit.begntime).date()),
                              dise_codg=visit.dise_codg if visit.med_type == "14" else None)
    check_claimed(comp.sums, d, "the unsettled lines of the stay", full=True)
    call.warnings.extend(comp.warnings)
    return visit, lines, comp


@interface_with_a_form("2303", "住院预结算", Input2303)
def _presettle(call: Call, data: Input2303, a_form: bool) -> dict:
    _visit, _lines, comp = _computation(call, data.data, lock=False)
    info = render.setlinfo_of_computation(comp, mdtrt_id=data.data.mdtrt_id,
                                          mdtrt_cert_type=data.data.mdtrt_cert_type, now=call.now, a_form=a_form,
                                          msgid=call.envelope.msgid)
    info["clr_type"] = settlement.CLR_TYPE["inpatient"]
    return {"setlinfo": info, "setldetail": render.setldetail_of_computation(comp)}


@interface_with_a_form("2304", "住院结算", Input2304)
def _settle(call: Call, data: Input2304, a_form: bool) -> dict:
    d = data.data
    visit, lines, comp = _computation(call, d, lock=True)
    return settled_output(call, comp, visit=visit, lines=lines, kind="inpatient", mdtrt_cert_type=d.mdtrt_cert_type,
                          a_form=a_form, mid_setl_flag=d.mid_setl_flag, invono=d.invono, dise_codg=visit.dise_codg,
                          dise_name=visit.dise_name, suppl_flag=d.suppl_flag)


@interface("2305", "住院结算撤销", CancelInput)
def cancel(call: Call, data: CancelInput) -> dict:
    return cancel_referenced(call, data, "inpatient")
