"""Inpatient: 2401 admission, 2403 change, 2404 cancel admission, 2402 discharge, 2405 cancel discharge,
2301 / 2302 fee lines (returns with negative cnt), 2303(A) pre-settlement, 2304(A) settlement (interim
with mid_setl_flag 1), 2305 cancellation."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from yibao.errors import refuse
from yibao.gateway import render
from yibao.gateway.fields import Amount, CertType, Flag, Id, InsuType, MedType, SetlWay, Text, Time, code
from yibao.gateway.lines import CancelInput, FeeLineBase, claim_of, line_in, one_visit, result
from yibao.gateway.registry import Node, interface, interface_with_a_form
from yibao.gateway.render import cancel_output, settled_output
from yibao.platform import checkout, settlement, uploads, visits
from yibao.platform.work import Work

# -- admission and discharge -------------------------------------------------------------------------

class AdmInfo(Node):
    psn_no: Id
    insutype: InsuType
    begntime: Time
    mdtrt_cert_type: CertType
    mdtrt_cert_no: Text = ""
    med_type: MedType = "21"
    ipt_no: Id = Field(min_length=1)
    medrcdno: Text = ""
    atddr_no: Id = ""
    chfpdr_name: Text = ""
    adm_diag_dscr: Text = ""
    adm_dept_codg: Text = ""
    adm_dept_name: Text = ""
    adm_bed: Text = ""
    dise_codg: Id = ""
    dise_name: Text = ""


class Input2401(Node):
    mdtrtinfo: AdmInfo
    diseinfo: list[dict[str, Any]] = []


@interface("2401", "入院办理", Input2401)
def admit(work: Work, data: Input2401) -> dict:
    m = data.mdtrtinfo
    visit = visits.open_visit(work, visits.Opening(
        "inpatient", m.psn_no, m.insutype, m.begntime, m.mdtrt_cert_type, m.ipt_no, m.mdtrt_cert_no,
        med_type=m.med_type,
        dise_codg=m.dise_codg, dise_name=m.dise_name,
        info={"admission": m.model_dump(mode="json"), "diseinfo": data.diseinfo}), at="input.mdtrtinfo")
    return {"result": {"mdtrt_id": visit.mdtrt_id, "psn_no": visit.psn_no, "ipt_no": m.ipt_no}}


class ChangeInfo(Node):
    mdtrt_id: Id
    psn_no: Id
    begntime: Time | None = None
    med_type: code("med_type", empty=True) = ""
    dise_codg: Id = ""
    dise_name: Text = ""


class Input2403(Node):
    mdtrtinfo: ChangeInfo
    diseinfo: list[dict[str, Any]] = []


@interface("2403", "入院信息变更", Input2403)
def change_admission(work: Work, data: Input2403) -> dict:
    m = data.mdtrtinfo
    visit = visits.visit_of(work, m.mdtrt_id, m.psn_no, "inpatient")
    if visits.final_settlement(work, visit):
        raise refuse("input.mdtrtinfo.mdtrt_id", "the stay is settled; cancel the settlement (2305) first")
    visits.describe(work, visit, begntime=m.begntime, med_type=m.med_type, dise_codg=m.dise_codg,
                    dise_name=m.dise_name, info={"diseinfo": data.diseinfo} if data.diseinfo else None,
                    replace_disease=False)
    return {}


class StayRef(Node):
    mdtrt_id: Id
    psn_no: Id


class InputStay(Node):
    data: StayRef


@interface("2404", "入院办理撤销", InputStay)
def cancel_admission(work: Work, data: InputStay) -> dict:
    visits.cancel_visit(work, visits.visit_of(work, data.data.mdtrt_id, data.data.psn_no, "inpatient"),
                        "input.data.mdtrt_id", "cancel it (2305)")
    return {}


class DischargeInfo(Node):
    mdtrt_id: Id
    psn_no: Id
    insutype: code("insutype", empty=True) = ""
    endtime: Time
    dise_codg: Id = ""
    dise_name: Text = ""
    dscg_way: code("dscg_way")
    dscg_dept_codg: Text = ""
    dscg_dept_name: Text = ""


class Input2402(Node):
    dscginfo: DischargeInfo
    diseinfo: list[dict[str, Any]] = []


@interface("2402", "出院办理", Input2402)
def discharge(work: Work, data: Input2402) -> dict:
    d = data.dscginfo
    visits.discharge(work, visits.visit_of(work, d.mdtrt_id, d.psn_no, "inpatient"), endtime=d.endtime,
                     dise_codg=d.dise_codg, dise_name=d.dise_name, record=d.model_dump(mode="json"),
                     at="input.dscginfo")
    return {}


@interface("2405", "出院撤销", InputStay)
def cancel_discharge(work: Work, data: InputStay) -> dict:
    visits.cancel_discharge(work, visits.visit_of(work, data.data.mdtrt_id, data.data.psn_no, "inpatient"),
                            at="input.data")
    return {}


# -- fee lines ---------------------------------------------------------------------------------------

class InpatientLine(FeeLineBase):
    init_feedetl_sn: Id = ""
    mdtrt_id: Id
    drord_no: Id = ""
    psn_no: Id
    med_type: code("med_type", empty=True) = ""


class Input2301(Node):
    feedetail: list[InpatientLine] = Field(min_length=1)


@interface("2301", "住院费用明细上传", Input2301)
def upload_fees(work: Work, data: Input2301) -> dict:
    mdtrt_id, psn_no = one_visit(data.feedetail)
    rows = uploads.upload(work, "inpatient", mdtrt_id, psn_no,
                          [line_in(f"input.feedetail[{i}]", x, None) for i, x in enumerate(data.feedetail)])
    return {"result": result(rows)}


class Data2302(Node):
    feedetl_sn: Id = Field(min_length=1)
    mdtrt_id: Id
    psn_no: Id


class Input2302(Node):
    data: Data2302


@interface("2302", "住院费用明细撤销", Input2302)
def delete_fees(work: Work, data: Input2302) -> dict:
    d = data.data
    uploads.delete_stay_line(work, d.mdtrt_id, d.psn_no, d.feedetl_sn)
    return {}


# -- settlement ------------------------------------------------------------------------------------

class Data2303(Node):
    psn_no: Id
    mdtrt_cert_type: CertType
    mdtrt_cert_no: Text = ""
    medfee_sumamt: Amount
    psn_setlway: SetlWay = "01"
    mdtrt_id: Id
    insutype: InsuType
    acct_used_flag: Flag = "0"
    invono: Id = ""
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


def _bill(d: Data2303) -> checkout.Bill:
    return checkout.Bill(d.psn_no, d.mdtrt_id, d.insutype, d.acct_used_flag, claim_of(d), suppl_flag=d.suppl_flag,
                         mid_setl_flag=d.mid_setl_flag, invono=d.invono)


@interface_with_a_form("2303", "住院预结算", Input2303)
def _presettle(work: Work, data: Input2303, a_form: bool) -> dict:
    comp = checkout.price_stay(work, _bill(data.data)).comp
    info = render.setlinfo_of_computation(comp, mdtrt_id=data.data.mdtrt_id,
                                          mdtrt_cert_type=data.data.mdtrt_cert_type, now=work.now, a_form=a_form,
                                          msgid=work.msgid)
    info["clr_type"] = settlement.CLR_TYPE["inpatient"]
    return {"setlinfo": info, "setldetail": render.setldetail_of_computation(comp)}


@interface_with_a_form("2304", "住院结算", Input2304)
def _settle(work: Work, data: Input2304, a_form: bool) -> dict:
    return settled_output(checkout.settle_stay(work, _bill(data.data)), mdtrt_cert_type=data.data.mdtrt_cert_type,
                          a_form=a_form)


@interface("2305", "住院结算撤销", CancelInput)
def cancel(work: Work, data: CancelInput) -> dict:
    d = data.data
    return cancel_output(checkout.cancel(work, d.setl_id, d.mdtrt_id, d.psn_no, "inpatient"))
