"""Queries: 5203 settlement, 5204 fee details, 5205 chronic/special-disease drug history (interface.md section 2;
yibao's readings in docs/gateway.md). An institution sees its own business only (platform/queries.py)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from yibao.gateway import render
from yibao.gateway.fields import Begin, End, Id
from yibao.gateway.registry import Node, interface
from yibao.platform import fees, queries
from yibao.platform.records import FeeDetail, Settlement
from yibao.platform.work import Work

TIME = "%Y-%m-%d %H:%M:%S"
FLEXIBLY_EMPLOYED = ("1103", "1203")  # psn_type 灵活就业人员在职 / 退休
NEWBORN = "1401"

# -- 5203 settlement query ------------------------------------------------------------------------------

class Data5203(Node):
    psn_no: Id = Field(min_length=1)
    setl_id: Id = Field(min_length=1)
    mdtrt_id: Id = Field(min_length=1)


class Input5203(Node):
    data: Data5203


def _setlinfo(work: Work, view: queries.SettlementView) -> dict[str, Any]:
    """interface.md 3.1 plus the 5203 fields; a cancellation row shows its own (negative) amounts."""
    inst, row, person, visit = work.here, view.row, view.person, view.visit
    info = render.setlinfo_of_row(row, person, mdtrt_cert_type=(visit.mdtrt_cert_type if visit else None) or "",
                                  a_form=True)
    began = visit.begntime if visit else row.setl_time
    ended = visit.endtime if visit and visit.endtime else row.setl_time
    info.update(
        flxempe_flag="1" if person.psn_type in FLEXIBLY_EMPLOYED else "0",
        nwb_flag="1" if person.psn_type == NEWBORN else "0",
        insu_optins=row.insu_admdvs, emp_name=person.emp_name or "", pay_loc=row.pay_loc,
        fixmedins_code=inst.code, fixmedins_name=inst.name, hosp_lv=inst.level or "",
        fixmedins_poolarea=inst.admdvs, lmtpric_hosp_lv=inst.level or "", dedc_hosp_lv=inst.level or "",
        begndate=began.date().isoformat(), enddate=ended.date().isoformat(),
        psn_pay=row.psn_part_amt, cash_payamt=row.psn_cash_pay, refd_setl_flag=row.refd_setl_flag,
        year=str(row.year), dise_codg=row.dise_codg or "", dise_name=row.dise_name or "", invono=row.invono or "",
        opter_id=row.opter or "", opter_name=row.opter_name or "", opt_time=f"{row.setl_time:{TIME}}",
        # yibao's additions: where the record stands, and the record at the other end of a cancellation
        setl_stas=row.status, init_setl_id=row.init_setl_id or "",
        refd_setl_id=view.refd_setl_id)
    return info


@interface("5203", "结算信息查询", Input5203)
def settlement_query(work: Work, data: Input5203) -> dict:
    d = data.data
    view = queries.settlement_of(work, d.setl_id, d.mdtrt_id, d.psn_no)
    return {"setlinfo": _setlinfo(work, view), "setldetail": render.setldetail(view.funds, sign=view.funds_sign)}


# -- 5204 fee-detail query ------------------------------------------------------------------------------

class Data5204(Node):
    psn_no: Id = Field(min_length=1)
    setl_id: Id = ""
    mdtrt_id: Id = Field(min_length=1)


class Input5204(Node):
    data: Data5204


def _fee_row(line: FeeDetail, psn_no: str, setl: Settlement | None) -> dict[str, Any]:
    """A fee line as uploaded (its raw fields), its split (interface.md 3.3) and the 5204 additions."""
    raw = line.raw or {}
    return {
        **raw,
        "feedetl_sn": line.feedetl_sn, "mdtrt_id": line.mdtrt_id, "psn_no": psn_no,
        "chrg_bchno": line.chrg_bchno or "", "init_feedetl_sn": line.init_feedetl_sn or "",
        "dise_codg": line.dise_codg or "", "fee_ocur_time": f"{line.fee_ocur_time:{TIME}}",
        "med_list_codg": line.med_list_codg, "medins_list_codg": line.medins_list_codg or "",
        **fees.result_row(line.feedetl_sn, line.cnt, line.pric, fees.split_to_line(line)),
        "setl_id": line.setl_id or "", "rx_drord_no": raw.get("rxno") or raw.get("drord_no") or "",
        "hilist_code": line.med_list_codg, "hilist_name": line.list_name or "",
        "medins_list_name": raw.get("medins_list_name") or line.list_name or "",
        "list_type": raw.get("list_type", ""), "prodname": "", "spec": "", "dosform_name": "",
        "hosp_prep_flag": "0", "prodplac_type": "",
        "opter_id": (setl.opter or "") if setl else "", "opter_name": (setl.opter_name or "") if setl else "",
        "opt_time": f"{setl.setl_time:{TIME}}" if setl else "",
    }


@interface("5204", "费用明细查询", Input5204)
def fee_query(work: Work, data: Input5204) -> dict:
    d = data.data
    visit, lines, settled = queries.fee_lines_of(work, d.mdtrt_id, d.psn_no, d.setl_id)
    return {"data": [_fee_row(x, visit.psn_no, settled.get(x.setl_id or "")) for x in lines]}


# -- 5205 chronic/special-disease drug history ----------------------------------------------------------

class Data5205(Node):
    psn_no: Id = Field(min_length=1)
    begntime: Begin
    endtime: End


class Input5205(Node):
    data: Data5205


@interface("5205", "人员慢特病用药记录查询", Input5205)
def chronic_drug_history(work: Work, data: Input5205) -> dict:
    d = data.data
    person, rows = queries.chronic_drug_history(work, d.psn_no, d.begntime, d.endtime)
    inst = work.here
    out = []
    for line, setl in rows:
        raw = line.raw or {}
        out.append({
            "feedetl_sn": line.feedetl_sn, "mdtrt_id": line.mdtrt_id, "setl_id": setl.setl_id,
            "psn_no": person.psn_no, "fixmedins_code": inst.code, "fixmedins_name": inst.name,
            "med_type": setl.med_type, "dise_codg": setl.dise_codg or "", "dise_name": setl.dise_name or "",
            "fee_ocur_time": f"{line.fee_ocur_time:{TIME}}", "setl_time": f"{setl.setl_time:{TIME}}",
            "med_list_codg": line.med_list_codg, "medins_list_codg": line.medins_list_codg or "",
            "hilist_code": line.med_list_codg, "hilist_name": line.list_name or "",
            "chrgitm_lv": line.chrgitm_lv, "med_chrgitm_type": line.med_chrgitm_type or "",
            "cnt": line.cnt, "pric": line.pric, "det_item_fee_sumamt": line.det_item_fee_sumamt,
            "sin_dos_dscr": raw.get("sin_dos_dscr", ""), "used_frqu_dscr": raw.get("used_frqu_dscr", ""),
            "prd_days": raw.get("prd_days", ""), "medc_way_dscr": raw.get("medc_way_dscr", ""),
        })
    return {"data": out}
