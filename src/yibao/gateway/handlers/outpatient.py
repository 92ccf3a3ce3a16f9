"""Outpatient: 2201 register, 2202 cancel, 2203 visit information, 2204 / 2205 fee lines,
2206(A) pre-settlement, 2207(A) settlement, 2208 cancellation."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from yibao.gateway import render
from yibao.gateway.fields import Amount, CertType, Flag, Id, InsuType, MedType, SetlWay, Text, Time
from yibao.gateway.lines import CancelInput, FeeLine, claim_of, line_in, one_visit, result
from yibao.gateway.registry import Node, interface, interface_with_a_form
from yibao.gateway.render import cancel_output, settled_output
from yibao.platform import checkout, settlement, uploads, visits
from yibao.platform.work import Work

# -- 2201 / 2202 / 2203 -------------------------------------------------------------------------------

class Data2201(Node):
    psn_no: Id
    insutype: InsuType
    begntime: Time
    mdtrt_cert_type: CertType
    mdtrt_cert_no: Text = ""
    ipt_otp_no: Id = Field(min_length=1)
    atddr_no: Id = ""
    dr_name: Text = ""
    dept_code: Text = ""
    dept_name: Text = ""
    caty: Text = ""


class Input2201(Node):
    data: Data2201


@interface("2201", "门诊挂号", Input2201)
def register(work: Work, data: Input2201) -> dict:
    d = data.data
    visit = visits.open_visit(work, visits.Opening(
        "outpatient", d.psn_no, d.insutype, d.begntime, d.mdtrt_cert_type, d.ipt_otp_no, d.mdtrt_cert_no,
        info={"atddr_no": d.atddr_no, "dr_name": d.dr_name, "dept_code": d.dept_code, "dept_name": d.dept_name,
              "caty": d.caty}), at="input.data")
    return {"data": {"mdtrt_id": visit.mdtrt_id, "psn_no": visit.psn_no, "ipt_otp_no": d.ipt_otp_no}}


class Data2202(Node):
    psn_no: Id
    mdtrt_id: Id
    ipt_otp_no: Id = ""


class Input2202(Node):
    data: Data2202


@interface("2202", "门诊挂号撤销", Input2202)
def cancel_registration(work: Work, data: Input2202) -> dict:
    visits.cancel_visit(work, visits.visit_of(work, data.data.mdtrt_id, data.data.psn_no, "outpatient"),
                        "input.data.mdtrt_id", "cancel it (2208)")
    return {}


class MdtrtInfo2203(Node):
    mdtrt_id: Id
    psn_no: Id
    med_type: MedType
    begntime: Time
    main_cond_dscr: Text = ""
    dise_codg: Id = ""
    dise_name: Text = ""


class Input2203(Node):
    mdtrtinfo: MdtrtInfo2203
    diseinfo: list[dict[str, Any]] = []


@interface("2203", "门诊就诊信息上传", Input2203)
def visit_information(work: Work, data: Input2203) -> dict:
    m = data.mdtrtinfo
    visits.describe(work, visits.visit_of(work, m.mdtrt_id, m.psn_no, "outpatient"), med_type=m.med_type,
                    dise_codg=m.dise_codg, dise_name=m.dise_name, replace_disease=True,
                    info={"main_cond_dscr": m.main_cond_dscr, "diseinfo": data.diseinfo})
    return {}


# -- 2204 / 2205 ------------------------------------------------------------------------------------

class Input2204(Node):
    feedetail: list[FeeLine] = Field(min_length=1)


@interface("2204", "门诊费用明细信息上传", Input2204)
def upload_fees(work: Work, data: Input2204) -> dict:
    mdtrt_id, psn_no = one_visit(data.feedetail)
    rows = uploads.upload(work, "outpatient", mdtrt_id, psn_no,
                          [line_in(f"input.feedetail[{i}]", x, x.chrg_bchno) for i, x in enumerate(data.feedetail)])
    return {"result": result(rows)}


class Data2205(Node):
    mdtrt_id: Id
    chrg_bchno: Id = Field(min_length=1)
    psn_no: Id


class Input2205(Node):
    data: Data2205


@interface("2205", "门诊费用明细信息撤销", Input2205)
def delete_fees(work: Work, data: Input2205) -> dict:
    d = data.data
    uploads.delete_batch(work, d.mdtrt_id, d.psn_no, d.chrg_bchno)
    return {}


# -- 2206 / 2207 / 2208 ------------------------------------------------------------------------------

class Data2206(Node):
    psn_no: Id
    mdtrt_cert_type: CertType
    mdtrt_cert_no: Text = ""
    med_type: MedType
    medfee_sumamt: Amount
    psn_setlway: SetlWay = "01"
    mdtrt_id: Id
    chrg_bchno: Id = ""
    acct_used_flag: Flag = "0"
    insutype: InsuType
    suppl_flag: Flag = "0"  # 1: supplementary bookkeeping of a visit whose direct settlement failed


class Data2207(Data2206):
    invono: Id = ""
    fulamt_ownpay_amt: Amount
    overlmt_selfpay: Amount
    preselfpay_amt: Amount
    inscp_scp_amt: Amount


class Input2206(Node):
    data: Data2206


class Input2207(Node):
    data: Data2207


def _bill(d: Data2206) -> checkout.Bill:
    return checkout.Bill(d.psn_no, d.mdtrt_id, d.insutype, d.acct_used_flag, claim_of(d), med_type=d.med_type,
                         chrg_bchno=d.chrg_bchno, suppl_flag=d.suppl_flag, invono=getattr(d, "invono", ""))


@interface_with_a_form("2206", "门诊预结算", Input2206)
def _presettle(work: Work, data: Input2206, a_form: bool) -> dict:
    comp = checkout.price_outpatient(work, _bill(data.data)).comp
    info = render.setlinfo_of_computation(comp, mdtrt_id=data.data.mdtrt_id, mdtrt_cert_type=data.data.mdtrt_cert_type,
                                          now=work.now, a_form=a_form, msgid=work.msgid)
    info["clr_type"] = settlement.CLR_TYPE["outpatient"]
    return {"setlinfo": info, "setldetail": render.setldetail_of_computation(comp)}


@interface_with_a_form("2207", "门诊结算", Input2207)
def _settle(work: Work, data: Input2207, a_form: bool) -> dict:
    return settled_output(checkout.settle_outpatient(work, _bill(data.data)),
                          mdtrt_cert_type=data.data.mdtrt_cert_type, a_form=a_form)


@interface("2208", "门诊结算撤销", CancelInput)
def cancel_settlement(work: Work, data: CancelInput) -> dict:
    d = data.data
    return cancel_output(checkout.cancel(work, d.setl_id, d.mdtrt_id, d.psn_no, "outpatient"))
