"""The monthly cycle over the wire: 2704 declared-detail query (interface.md section 10, seed 000 table 2) and
the cross-region clearing 3260 extract, 3261 confirm, 3262 roll back (interface.md section 2, seed 003).
An institution sees its own declarations and settlements only."""

from __future__ import annotations

from pydantic import Field

from yibao.errors import refuse
from yibao.gateway.fields import Amount, Id, PageNum, Text, Whole, code
from yibao.gateway.registry import Node, interface
from yibao.platform import clearing
from yibao.platform import declaration as dc
from yibao.platform.work import Work
from yibao.rules.monthly import parse_ym, ym_text

TIME = "%Y-%m-%d %H:%M:%S"
PAGE_SIZE_MAX = 1000





def _month(year: int, month: int, field: str) -> str:
    if not 1 <= month <= 12 or not 2000 <= year <= 2100:
        raise refuse(field, f"{year}-{month} is not a month")
    return ym_text(year, month)


# -- 2704 申报明细查询 ------------------------------------------------------------------------------------


class Data2704(Node):
    setl_ym: Text = Field(min_length=6, max_length=7, description="the declared month, yyyyMM")
    insutype: code("insutype", empty=True) = ""
    clr_type: code("clr_type", empty=True) = ""
    insu_admdvs: Text = ""
    page_num: PageNum = 1
    page_size: Whole = Field(default=100, ge=1, le=PAGE_SIZE_MAX)


class Input2704(Node):
    data: Data2704


@interface("2704", "申报明细查询", Input2704)
def declared_details(work: Work, data: Input2704) -> dict:
    d = data.data
    try:
        ym = ym_text(*parse_ym(d.setl_ym))
    except ValueError as exc:
        raise refuse("input.data.setl_ym", str(exc)) from None
    decl = dc.of_month(work.session, work.here.code, ym)
    if decl is None:
        raise refuse("input.data.setl_ym", f"{work.here.code} has not declared {ym}")
    total, rows = dc.detail_page(work.session, decl, dc.DetailFilter(d.insutype or None, d.clr_type or None,
                                                                     d.insu_admdvs or None), d.page_num, d.page_size)
    out = []
    for r in rows:
        out.append({
            "setl_id": r["setl_id"], "mdtrt_id": r["mdtrt_id"], "psn_no": r["psn_no"], "psn_name": r["psn_name"] or "",
            "insutype": r["insutype"], "clr_type": r["clr_type"], "med_type": r["med_type"],
            "setl_time": f"{r['setl_time']:{TIME}}", "medfee_sumamt": r["medfee_sumamt"],
            "fund_pay_sumamt": r["fund_pay_sumamt"], "hifp_pay": r["hifp_pay"], "acct_pay": r["acct_pay"],
            "psn_cash_pay": r["psn_cash_pay"], "refd_setl_flag": r["refd_setl_flag"],
            "acct_mulaid_pay": r["acct_mulaid_pay"], "acct_admdvs": r["acct_admdvs"] or "",
            "acct_mulaid_admdvs": r["acct_mulaid_admdvs"] or "", "insu_admdvs": r["insu_admdvs"],
            # yibao's flag: whether the settlement's list (4101A) was uploaded
            "setl_list_id": r["setl_list_id"] or "", "setl_list_stas": r["setl_list_stas"]})
    return {"data": out, "total": total, "page_num": d.page_num, "page_size": d.page_size,
            "decl_id": decl.decl_id, "decl_stas": decl.status}


# -- 3260 / 3261 / 3262 异地清分 -------------------------------------------------------------------------


class Data3260(Node):
    trt_year: Whole
    trt_month: Whole
    startrow: Whole = Field(default=1, ge=1)


class Input3260(Node):
    data: Data3260


@interface("3260", "提取异地清分明细", Input3260)
def clearing_extract(work: Work, data: Input3260) -> dict:
    d = data.data
    ym = _month(d.trt_year, d.trt_month, "input.data.trt_month")
    total, rows = clearing.extract_page(work.session, work.here, ym, d.startrow)
    for r in rows:
        r["mdtrt_setl_time"] = f"{r['mdtrt_setl_time']:{TIME}}"
    done = clearing.standing(work.session, work.here.code, ym)
    return {"data": rows, "totalrow": total, "startrow": d.startrow,
            "cnfm_stas": "1" if done is not None else "0", "otransid": done.otransid if done else ""}


class Detail3261(Node):
    certno: Id = ""
    mdtrt_id: Id = Field(min_length=1)
    mdtrt_setl_time: Text = ""
    setl_sn: Id = Field(min_length=1)
    medfee_sumamt: Amount
    optins_pay_sumamt: Amount
    cnfm_flag: Text = Field(pattern=r"^[01]$", description="1 confirmed, 0 left out of this clearing")


class Data3261(Node):
    trt_year: Whole
    trt_month: Whole
    totalrow: Whole = Field(ge=0)


class Input3261(Node):
    data: Data3261
    detail: list[Detail3261]


@interface("3261", "异地清分结果确认", Input3261)
def clearing_confirm(work: Work, data: Input3261) -> dict:
    d = data.data
    ym = _month(d.trt_year, d.trt_month, "input.data.trt_month")
    lines = [clearing.ConfirmLine(x.setl_sn, x.mdtrt_id, x.medfee_sumamt, x.optins_pay_sumamt, x.cnfm_flag)
             for x in data.detail]
    conf = clearing.confirm(work.session, work.here, ym, d.totalrow, lines, work.today, work.now)
    return {"result": {"otransid": conf.otransid, "trt_year": d.trt_year, "trt_month": d.trt_month,
                       "totalrow": conf.totalrow, **clearing.summary(work.session, conf.otransid)}}


class Data3262(Node):
    trt_year: Whole
    trt_month: Whole
    otransid: Text = Field(min_length=1)


class Input3262(Node):
    data: Data3262


@interface("3262", "异地清分结果确认回退", Input3262)
def clearing_roll_back(work: Work, data: Input3262) -> dict:
    d = data.data
    ym = _month(d.trt_year, d.trt_month, "input.data.trt_month")
    conf = clearing.roll_back(work.session, work.here, ym, d.otransid, work.today, work.now)
    return {"result": {"otransid": conf.otransid, "stas": conf.status}}
