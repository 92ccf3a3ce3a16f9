"""4101A 医疗保障基金结算清单信息上传: the settlement list of one of the institution's settlements
(interface-integration.md section 7; yibao's readings in docs/setl_list.md). The checks against the settlement
and the versions are platform/setl_list.py's."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from yibao.gateway.fields import Amount, Day, Flag, Id, Number, Text, code
from yibao.gateway.registry import Node, interface
from yibao.platform import setl_list
from yibao.platform.work import Work
from yibao.rules.setl_list import Listed

Required = Annotated[str, Field(strict=True, min_length=1, max_length=500)]


class SetlInfo(Node):
    """表154: the fields yibao reads; the rest of the list's many fields are kept as sent."""

    psn_no: Id = Field(min_length=1)
    mdtrt_id: Id = Field(min_length=1)
    setl_id: Id = Field(min_length=1)
    setl_begn_date: Day
    setl_end_date: Day
    medins_fill_dept: Required
    medins_fill_psn: Required
    hi_paymtd: code("hi_paymtd", empty=True) = ""
    medcasno: Text = ""
    gend: code("gend", empty=True) = ""
    patn_cert_type: code("psn_cert_type", empty=True) = ""
    dscg_way: code("dscg_way", empty=True) = ""
    acct_pay: Amount | None = None
    psn_cashpay: Amount | None = None
    psn_selfpay: Amount | None = None
    psn_ownpay: Amount | None = None


class PayInfo(Node):
    """表155: what a fund paid."""

    fund_pay_type: code("fund_pay_type")
    fund_payamt: Amount


class OpspDiseInfo(Node):
    """表156: an outpatient chronic/special disease diagnosis (and its operation, if any)."""

    diag_name: Required
    diag_code: Required
    oprn_oprt_name: Text = ""
    oprn_oprt_code: Text = ""


class DiseInfo(Node):
    """表157: an inpatient diagnosis."""

    diag_type: code("diag_type")
    diag_code: Required
    diag_name: Required
    adm_cond_type: code("adm_cond_type", empty=True) = ""
    maindiag_flag: Flag = "0"


class ItemInfo(Node):
    """表158: the charges by charge item (医疗收费项目类别)."""

    med_chrgitm: code("med_chrgitm")
    amt: Amount
    claa_sumfee: Amount | None = None
    clab_amt: Amount | None = None
    fulamt_ownpay_amt: Amount | None = None
    oth_amt: Amount | None = None


class OprnInfo(Node):
    """表159: an operation."""

    oprn_oprt_type: code("oprn_oprt_type", empty=True) = ""
    oprn_oprt_name: Required
    oprn_oprt_code: Required


class IcuInfo(Node):
    """表160: a stay in intensive care; the duration as days/hours/minutes (1/13/24)."""

    scs_cutd_ward_type: code("scs_cutd_ward_type")
    scs_cutd_inpool_time: Required
    scs_cutd_exit_time: Required
    scs_cutd_sum_dura: Annotated[str, Field(strict=True, pattern=r"^\d{1,4}/\d{1,2}/\d{1,2}$")]


class BldInfo(Node):
    """表194: a transfusion."""

    bld_cat: code("bld_cat")
    bld_amt: Number
    bld_unt: Text = ""


class Input4101A(Node):
    setlinfo: SetlInfo
    #: payinfo and iteminfo are 4101's; the A form may leave them out, and they are compared when sent
    payinfo: list[PayInfo] | None = None
    opspdiseinfo: list[OpspDiseInfo] = []
    diseinfo: list[DiseInfo] = []
    iteminfo: list[ItemInfo] | None = None
    oprninfo: list[OprnInfo] = []
    icuinfo: list[IcuInfo] = []
    bldinfo: list[BldInfo] = []


def _figures(data: Input4101A) -> Listed:
    s, items = data.setlinfo, data.iteminfo
    ownpay = None
    if items is not None and all(i.fulamt_ownpay_amt is not None for i in items):
        ownpay = [i.fulamt_ownpay_amt for i in items if i.fulamt_ownpay_amt is not None]
    return Listed(
        item_amts=[i.amt for i in items] if items is not None else None, item_ownpay=ownpay,
        payinfo=[(p.fund_pay_type, p.fund_payamt) for p in data.payinfo] if data.payinfo is not None else None,
        acct_pay=s.acct_pay, psn_cashpay=s.psn_cashpay, psn_selfpay=s.psn_selfpay, psn_ownpay=s.psn_ownpay,
        setl_begn_date=s.setl_begn_date, setl_end_date=s.setl_end_date, diseinfo_count=len(data.diseinfo))


@interface("4101A", "医疗保障基金结算清单信息上传", Input4101A)
def upload_setl_list(work: Work, data: Input4101A) -> dict:
    s = data.setlinfo
    row = setl_list.upload(work, setl_list.Upload(s.setl_id, s.mdtrt_id, s.psn_no, _figures(data),
                                                  data.model_dump(mode="json", exclude_none=True)))
    # clients read the id at output.setl_list_id (GZ) or at output.data.setl_list_id: both are answered
    return {"setl_list_id": row.setl_list_id, "setl_id": row.setl_id, "vers": row.version,
            "data": {"setl_list_id": row.setl_list_id}}
