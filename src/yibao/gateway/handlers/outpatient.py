"""Outpatient: 2201 register, 2202 cancel, 2203 visit information, 2204 / 2205 fee lines,
2206(A) pre-settlement, 2207(A) settlement, 2208 cancellation."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from sqlalchemy import select

from yibao.errors import refuse
from yibao.gateway.fields import Amount, CertType, Flag, InsuType, MedType, SetlWay, Text, Time
from yibao.gateway.handlers import render
from yibao.gateway.handlers.common import (
    CancelInput,
    FeeLineBase,
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
from yibao.platform import fees, prescriptions, settlement
from yibao.platform.ids import new_id
from yibao.store.models import FeeDetail, Visit

# -- 2201 / 2202 / 2203 -------------------------------------------------------------------------------

class Data2201(Node):
    psn_no: Text
    insutype: InsuType
    begntime: Time
    mdtrt_cert_type: CertType
    mdtrt_cert_no: Text = ""
    ipt_otp_no: Text = Field(min_length=1)
    atddr_no: Text = ""
    dr_name: Text = ""
    dept_code: Text = ""
    dept_name: Text = ""
    caty: Text = ""


class Input2201(Node):
    data: Data2201


@interface("2201", "门诊挂号", Input2201)
def register(call: Call, data: Input2201) -> dict:
    d = data.data
    person = settlement.person_for_message(call.session, d.psn_no, call.envelope.insuplc_admdvs, call.institution)
    if d.insutype != person.insutype:
        raise refuse("input.data.insutype", f"the person is insured under {person.insutype}, not {d.insutype}")
    if call.institution.kind != "hospital":
        raise refuse("fixmedins_code", "a pharmacy has no outpatient registration; use 2101/2102")
    settlement.case_for(person, call.institution, "outpatient")
    clash = call.session.scalar(select(Visit.mdtrt_id).where(
        Visit.fixmedins_code == call.institution.code, Visit.ipt_otp_no == d.ipt_otp_no, Visit.status != "cancelled"))
    if clash:
        raise refuse("input.data.ipt_otp_no", f"{d.ipt_otp_no} already names visit {clash}")
    mdtrt_id = new_id(call.institution.admdvs, call.now)
    call.session.add(Visit(
        mdtrt_id=mdtrt_id, fixmedins_code=call.institution.code, psn_no=person.psn_no, insutype=d.insutype,
        kind="outpatient", med_type=None, insuplc_admdvs=person.admdvs, mdtrtarea_admvs=call.institution.admdvs,
        ipt_otp_no=d.ipt_otp_no, begntime=d.begntime, mdtrt_cert_type=d.mdtrt_cert_type, status="open",
        info={"atddr_no": d.atddr_no, "dr_name": d.dr_name, "dept_code": d.dept_code, "dept_name": d.dept_name,
              "caty": d.caty}, created_at=call.now))
    return {"data": {"mdtrt_id": mdtrt_id, "psn_no": person.psn_no, "ipt_otp_no": d.ipt_otp_no}}


class Data2202(Node):
    psn_no: Text
    mdtrt_id: Text
    ipt_otp_no: Text = ""


class Input2202(Node):
    data: Data2202


@interface("2202", "门诊挂号撤销", Input2202)
def cancel_registration(call: Call, data: Input2202) -> dict:
    cancel_visit(call, visit_of(call, data.data.mdtrt_id, data.data.psn_no, "outpatient"), "input.data.mdtrt_id",
                 "cancel it (2208)")
    return {}


class MdtrtInfo2203(Node):
    mdtrt_id: Text
    psn_no: Text
    med_type: MedType
    begntime: Time
    main_cond_dscr: Text = ""
    dise_codg: Text = ""
    dise_name: Text = ""


class Input2203(Node):
    mdtrtinfo: MdtrtInfo2203
    diseinfo: list[dict[str, Any]] = []


@interface("2203", "门诊就诊信息上传", Input2203)
def visit_information(call: Call, data: Input2203) -> dict:
    m = data.mdtrtinfo
    visit = visit_of(call, m.mdtrt_id, m.psn_no, "outpatient")
    visit.med_type = m.med_type
    visit.dise_codg, visit.dise_name = m.dise_codg or None, m.dise_name or None
    visit.info = {**visit.info, "main_cond_dscr": m.main_cond_dscr, "diseinfo": data.diseinfo}
    return {}


# -- 2204 / 2205 ------------------------------------------------------------------------------------

class FeeLine(FeeLineBase):
    mdtrt_id: Text
    psn_no: Text
    chrg_bchno: Text = Field(min_length=1)
    dise_codg: Text = ""


class Input2204(Node):
    feedetail: list[FeeLine] = Field(min_length=1)


@interface("2204", "门诊费用明细信息上传", Input2204)
def upload_fees(call: Call, data: Input2204) -> dict:
    visit = one_visit_of_lines(call, data.feedetail, "outpatient")
    person = settlement.person_for_message(call.session, visit.psn_no, call.envelope.insuplc_admdvs,
                                           call.institution)
    case = settlement.case_for(person, call.institution, "outpatient")
    rows = fees.store_lines(call.session, visit, case.catalog_admdvs, visit.insutype,
                            [line_in(f"input.feedetail[{i}]", x, x.chrg_bchno) for i, x in enumerate(data.feedetail)],
                            allow_returns=False)
    return {"result": [fees.result_row(r.feedetl_sn, r.cnt, r.pric, fees.split_to_line(r)) for r in rows]}


class Data2205(Node):
    mdtrt_id: Text
    chrg_bchno: Text = Field(min_length=1)
    psn_no: Text


class Input2205(Node):
    data: Data2205


@interface("2205", "门诊费用明细信息撤销", Input2205)
def delete_fees(call: Call, data: Input2205) -> dict:
    d = data.data
    visit = visit_of(call, d.mdtrt_id, d.psn_no, "outpatient")
    if d.chrg_bchno != "0000":
        settled = call.session.scalar(select(FeeDetail.setl_id).where(
            FeeDetail.mdtrt_id == visit.mdtrt_id, FeeDetail.chrg_bchno == d.chrg_bchno, FeeDetail.setl_id.is_not(None)))
        if settled:
            raise refuse("input.data.chrg_bchno", f"batch {d.chrg_bchno} is settled ({settled}); cancel it first")
    lines = fees.unsettled(call.session, visit.mdtrt_id, None if d.chrg_bchno == "0000" else d.chrg_bchno)
    if not lines:
        raise refuse("input.data.chrg_bchno", f"no unsettled fee lines of batch {d.chrg_bchno} in this visit")
    for line in lines:
        call.session.delete(line)
    return {}


# -- 2206 / 2207 / 2208 ------------------------------------------------------------------------------

class Data2206(Node):
    psn_no: Text
    mdtrt_cert_type: CertType
    mdtrt_cert_no: Text = ""
    med_type: MedType
    medfee_sumamt: Amount
    psn_setlway: SetlWay = "01"
    mdtrt_id: Text
    chrg_bchno: Text = ""
    acct_used_flag: Flag = "0"
    insutype: InsuType
    suppl_flag: Flag = "0"  # 1: supplementary bookkeeping of a visit whose direct settlement failed


class Data2207(Data2206):
    invono: Text = ""
    fulamt_ownpay_amt: Amount
    overlmt_selfpay: Amount
    preselfpay_amt: Amount
    inscp_scp_amt: Amount


class Input2206(Node):
    data: Data2206


class Input2207(Node):
    data: Data2207


def _outpatient_computation(call: Call, d: Data2206, lock: bool) -> tuple[Visit, list[FeeDetail], Any]:
    visit = visit_of(call, d.mdtrt_id, d.psn_no, "outpatient")
    lines = prescriptions.chargeable(fees.unsettled(call.session, visit.mdtrt_id, d.chrg_bchno or None))
    label = f"the unsettled lines of batch {d.chrg_bchno}" if d.chrg_bchno else "the unsettled lines of the visit"
    if not lines:
        raise refuse("input.data.chrg_bchno", f"no unsettled fee lines to settle ({label})")
    person = settlement.person_for_message(call.session, d.psn_no, call.envelope.insuplc_admdvs, call.institution)
    comp = settlement.compute(call.session, person=person, institution=call.institution, kind="outpatient",
                              med_type=d.med_type, insutype=d.insutype,
                              splits=[fees.split_to_line(x) for x in lines], acct_used_flag=d.acct_used_flag,
                              today=call.today, lock=lock, dise_codg=_disease(visit, lines),
                              visit_day=visit.begntime.date(),
                              as_of=supplementary_day(call, d.suppl_flag, visit.begntime.date()))
    check_claimed(comp.sums, d, label, isinstance(d, Data2207))
    call.warnings.extend(comp.warnings)
    return visit, lines, comp


def _disease(visit: Visit, lines: list[FeeDetail]) -> str | None:
    """The one disease of the settlement: the batch's code, else the visit's (2203)."""
    codes = {x.dise_codg for x in lines if x.dise_codg}
    if len(codes) > 1:
        raise refuse("input.data.chrg_bchno", f"the lines to settle carry {len(codes)} disease codes "
                                              f"({', '.join(sorted(codes))}): one disease per settlement")
    return next(iter(codes), None) or visit.dise_codg


@interface_with_a_form("2206", "门诊预结算", Input2206)
def _presettle(call: Call, data: Input2206, a_form: bool) -> dict:
    _visit, _lines, comp = _outpatient_computation(call, data.data, lock=False)
    info = render.setlinfo_of_computation(comp, mdtrt_id=data.data.mdtrt_id, mdtrt_cert_type=data.data.mdtrt_cert_type,
                                          now=call.now, a_form=a_form, msgid=call.envelope.msgid)
    info["clr_type"] = settlement.CLR_TYPE["outpatient"]
    return {"setlinfo": info, "setldetail": render.setldetail_of_computation(comp)}


@interface_with_a_form("2207", "门诊结算", Input2207)
def _settle(call: Call, data: Input2207, a_form: bool) -> dict:
    d = data.data
    visit, lines, comp = _outpatient_computation(call, d, lock=True)
    return settled_output(call, comp, visit=visit, lines=lines, kind="outpatient",
                          mdtrt_cert_type=d.mdtrt_cert_type, a_form=a_form, chrg_bchno=d.chrg_bchno or None,
                          invono=d.invono, dise_codg=_disease(visit, lines), dise_name=visit.dise_name,
                          suppl_flag=d.suppl_flag)


@interface("2208", "门诊结算撤销", CancelInput)
def cancel_settlement(call: Call, data: CancelInput) -> dict:
    return cancel_referenced(call, data, "outpatient")
