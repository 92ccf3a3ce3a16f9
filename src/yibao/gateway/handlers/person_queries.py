"""Person queries a HIS makes: 5201 就诊信息查询, 5202 诊断信息查询, 5206 人员累计信息查询, 5303 在院信息查询.
Field names from public HIS clients' copies of the spec (docs/entitlement.md); the use cases in
platform/person_queries.py. Output nodes: 5201 `mdtrtinfo`, 5202 `diseinfo`, 5206 `cuminfo`, 5303 `data`;
5201 and 5202 also carry their list under `data`, as clients disagree on list nodes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import Field

from yibao.gateway.fields import Begin, End, Id, code
from yibao.gateway.handlers.queries import FLEXIBLY_EMPLOYED, NEWBORN
from yibao.gateway.registry import Node, interface
from yibao.platform import person_queries as pq
from yibao.platform.persons import age_on
from yibao.platform.records import Person, Visit
from yibao.platform.work import Work

TIME = "%Y-%m-%d %H:%M:%S"
#: 在院状态 of a stay: 1 in hospital, 0 discharged
IN_HOSPITAL, DISCHARGED = "1", "0"
#: yibao's 累计类别代码 (cum_type_code): 起付线累计 and 基金支付累计, per benefit bucket
DEDUCTIBLE_CUM, FUND_CUM = "Q0000", "J0000"


def _person_fields(p: Person, work: Work) -> dict[str, Any]:
    return {"psn_no": p.psn_no, "psn_cert_type": p.psn_cert_type, "certno": p.certno, "psn_name": p.name,
            "gend": p.gend, "brdy": p.brdy.isoformat(),
            "age": Decimal(age_on(p.brdy, work.today)).quantize(Decimal("0.1"))}


def _when(value: Any) -> str:
    return f"{value:{TIME}}" if value is not None else ""


# -- 5201 visits ----------------------------------------------------------------------------------------

class Data5201(Node):
    psn_no: Id = Field(min_length=1)
    begntime: Begin
    endtime: End
    med_type: code("med_type", empty=True) = ""
    mdtrt_id: Id = ""


class Input5201(Node):
    data: Data5201


def _visit_row(v: Visit, p: Person, work: Work) -> dict[str, Any]:
    info = v.info or {}
    adm = info.get("admission") or {}
    dscg = info.get("discharge") or {}
    stay = v.kind == "inpatient"
    days = ((v.endtime or work.now).date() - v.begntime.date()).days if stay else None
    return {
        **_person_fields(p, work), "mdtrt_id": v.mdtrt_id, "naty": p.naty, "coner_name": "", "tel": "",
        "insutype": v.insutype, "psn_type": p.psn_type, "maf_psn_flag": "0", "cvlserv_flag": "0",
        "flxempe_flag": "1" if p.psn_type in FLEXIBLY_EMPLOYED else "0",
        "nwb_flag": "1" if p.psn_type == NEWBORN else "0", "insu_optins": v.insuplc_admdvs,
        "emp_name": p.emp_name or "", "begntime": _when(v.begntime), "endtime": _when(v.endtime),
        "mdtrt_cert_type": v.mdtrt_cert_type or "", "med_type": v.med_type or "", "ars_year_ipt_flag":
            "1" if stay and v.endtime is not None and v.endtime.year != v.begntime.year else "0",
        "pre_pay_flag": "0", "ipt_otp_no": v.ipt_otp_no or "", "medrcdno": adm.get("medrcdno", ""),
        "atddr_no": adm.get("atddr_no") or info.get("atddr_no", ""),
        "chfpdr_name": adm.get("chfpdr_name") or info.get("dr_name", ""),
        "adm_dept_codg": adm.get("adm_dept_codg") or info.get("dept_code", ""),
        "adm_dept_name": adm.get("adm_dept_name") or info.get("dept_name", ""), "adm_bed": adm.get("adm_bed", ""),
        "dscg_maindiag_code": dscg.get("dise_codg", ""), "dscg_maindiag_name": dscg.get("dise_name", ""),
        "dscg_dept_codg": dscg.get("dscg_dept_codg", ""), "dscg_dept_name": dscg.get("dscg_dept_name", ""),
        "dscg_bed": "", "dscg_way": dscg.get("dscg_way", ""), "main_cond_dscr": info.get("main_cond_dscr", ""),
        "dise_codg": v.dise_codg or "", "dise_name": v.dise_name or "", "oprn_oprt_code": "", "oprn_oprt_name": "",
        "otp_diag_info": "" if stay else (v.dise_name or ""),
        "inhosp_stas": (IN_HOSPITAL if v.status == "open" else DISCHARGED) if stay else "",
        "die_date": "", "ipt_days": max(days, 1) if days is not None else "", "fpsc_no": "", "matn_type": "",
        "birctrl_type": "", "latechb_flag": "", "geso_val": "", "fetts": "", "fetus_cnt": "", "pret_flag": "",
        "birctrl_matn_date": "", "cop_flag": "", "opter_id": "", "opter_name": "", "opt_time": _when(v.created_at),
        "memo": "",
        # yibao's addition: where the visit stands (open, discharged)
        "mdtrt_stas": v.status,
    }


@interface("5201", "就诊信息查询", Input5201)
def visit_query(work: Work, data: Input5201) -> dict:
    d = data.data
    who, rows = pq.visits(work, d.psn_no, d.begntime, d.endtime, med_type=d.med_type, mdtrt_id=d.mdtrt_id)
    out = [_visit_row(v, who, work) for v in rows]
    return {"mdtrtinfo": out, "data": [dict(r) for r in out]}


# -- 5202 diagnoses -------------------------------------------------------------------------------------

class Data5202(Node):
    mdtrt_id: Id = Field(min_length=1)
    psn_no: Id = Field(min_length=1)


class Input5202(Node):
    data: Data5202


@interface("5202", "诊断信息查询", Input5202)
def diagnosis_query(work: Work, data: Input5202) -> dict:
    visit, rows = pq.diagnoses(work, data.data.mdtrt_id, data.data.psn_no)
    inpatient = visit.kind == "inpatient"
    out = []
    for i, r in enumerate(rows, 1):
        out.append({
            "diag_info_id": f"{visit.mdtrt_id}-{i}", "mdtrt_id": visit.mdtrt_id, "psn_no": visit.psn_no,
            # a stay's diagnoses come with the admission (1 入院); an outpatient visit's have no in/out type
            "inout_diag_type": str(r.get("inout_diag_type") or ("1" if inpatient else "")),
            "diag_type": str(r.get("diag_type", "")), "maindiag_flag": str(r.get("maindiag_flag", "")),
            "diag_srt_no": str(r.get("diag_srt_no", i)), "diag_code": str(r.get("diag_code", "")),
            "diag_name": str(r.get("diag_name", "")), "adm_cond": str(r.get("adm_cond", "")),
            "diag_dept": str(r.get("diag_dept", "")),
            "dise_dor_no": str(r.get("dise_dor_no") or r.get("diag_dr_code", "")),
            "dise_dor_name": str(r.get("dise_dor_name") or r.get("diag_dr_name", "")),
            "diag_time": str(r.get("diag_time", "")), "opter_id": "", "opter_name": "",
            "opt_time": _when(visit.created_at),
        })
    return {"diseinfo": out, "data": [dict(r) for r in out]}


# -- 5206 accumulations ---------------------------------------------------------------------------------

class Data5206(Node):
    psn_no: Id = Field(min_length=1)
    cum_ym: Id = ""


class Input5206(Node):
    data: Data5206


@interface("5206", "人员累计信息查询", Input5206)
def accumulation_query(work: Work, data: Input5206) -> dict:
    who, acc = pq.accumulations(work, data.data.psn_no, data.data.cum_ym.strip())
    out = []
    for row in acc.rows:
        for kind, name, value in ((DEDUCTIBLE_CUM, "起付线累计", row.deductible_used),
                                  (FUND_CUM, "基金支付累计", row.fund_paid)):
            out.append({"insutype": who.insutype, "year": str(acc.year), "cum_ym": acc.cum_ym,
                        "cum_type_code": f"{kind}_{row.bucket}", "cum": value,
                        # yibao's additions: the benefit bucket and the name of the figure
                        "bucket": row.bucket, "cum_type_name": name})
    return {"cuminfo": out}


# -- 5303 open stays ------------------------------------------------------------------------------------

class Data5303(Node):
    psn_no: Id = Field(min_length=1)
    begntime: Begin
    endtime: End


class Input5303(Node):
    data: Data5303


@interface("5303", "在院信息查询", Input5303)
def stay_query(work: Work, data: Input5303) -> dict:
    d = data.data
    who, stays = pq.open_stays(work, d.psn_no, d.begntime, d.endtime)
    out = []
    for s in stays:
        v = s.visit
        out.append({
            **_person_fields(who, work),
            # another institution's numbers are its own business: the stay is shown, its identifiers are not
            "mdtrt_id": v.mdtrt_id if s.own else "", "ipt_otp_no": (v.ipt_otp_no or "") if s.own else "",
            "insutype": v.insutype, "begndate": v.begntime.date().isoformat(), "med_type": v.med_type or "",
            "out_flag": "1" if v.mdtrtarea_admvs != v.insuplc_admdvs else "0",
            "fixmedins_code": v.fixmedins_code, "fixmedins_name": s.institution.name if s.institution else "",
        })
    return {"data": out}
