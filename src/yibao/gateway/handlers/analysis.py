"""Pre- and mid-event analysis: 3101 明细审核事前事中分析服务 (and 3102 事中, the same body), 3103 事前事中服务反馈服务
(interface-integration.md section 6; docs/analysis.md). The handler only translates; platform/analysis.py judges.

Neither needs a sign-in: the public clients send `sign_no` "" for both (section 10), and what 3103 writes is the
calling institution's own feedback on its own results, under the x-tif signature that names it."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from yibao.gateway.fields import Amount, Day, MaybeDay, Number, Text, code
from yibao.gateway.registry import Node, interface
from yibao.platform import analysis
from yibao.platform.work import Work

Ident = Field(strict=True, min_length=1, max_length=50)

#: the most orders one message judges (all its patients and encounters together): every rule reads them all and
#: the answer may name each several times, so a long stay is sent in parts
MAX_ORDERS = 1000
#: the most patients a message, encounters a patient, diagnoses an encounter
MAX_ITEMS = 100


class Order3101(Node):
    rx_id: str = Ident
    hilist_code: str = Ident
    hilist_name: Text = ""
    cnt: Number
    sumamt: Amount
    drord_begn_date: Day
    drord_dept_codg: Text = ""
    chrg_type: code("chrg_type", empty=True) = ""  # type: ignore[valid-type]
    hilist_lv: code("hilist_lv", empty=True) = ""  # type: ignore[valid-type]

    @field_validator("cnt")
    @classmethod
    def _not_negative(cls, value: Any) -> Any:
        if value < 0:
            raise ValueError("must not be negative")
        return value


class Diagnose3101(Node):
    dise_codg: Text = ""


class Encounter3101(Node):
    mdtrt_id: str = Ident
    adm_date: Day
    dscg_date: MaybeDay = None
    dscg_main_dise_codg: Text = ""
    adm_dept_codg: Text = ""
    med_mdtrt_type: code("med_mdtrt_type", empty=True) = ""  # type: ignore[valid-type]
    fsi_diagnose_dtos: list[Diagnose3101] = Field(default=[], max_length=MAX_ITEMS)
    fsi_order_dtos: list[Order3101] = Field(default=[], max_length=MAX_ORDERS)

    @field_validator("fsi_order_dtos")
    @classmethod
    def _distinct(cls, value: list[Order3101]) -> list[Order3101]:
        seen: set[str] = set()
        for i, order in enumerate(value):
            if order.rx_id in seen:
                raise ValueError(f"[{i}].rx_id {order.rx_id} appears twice in one encounter")
            seen.add(order.rx_id)
        return value


class Patient3101(Node):
    patn_id: str = Ident
    patn_name: Text = ""
    gend: code("gend")  # type: ignore[valid-type]
    brdy: Day
    fsi_encounter_dtos: list[Encounter3101] = Field(min_length=1, max_length=MAX_ITEMS)


class Data3101(Node):
    syscode: Text = ""
    task_id: str = Field(default="", strict=True, max_length=50)
    trig_scen: code("trig_scen")  # type: ignore[valid-type]
    #: OS sends a list, BZ a string; an empty set means every rule of the region
    rule_ids: list[str] | str = []
    patient_dtos: list[Patient3101] = Field(min_length=1, max_length=MAX_ITEMS)

    @field_validator("patient_dtos")
    @classmethod
    def _not_too_many_orders(cls, value: list[Patient3101]) -> list[Patient3101]:
        n = sum(len(e.fsi_order_dtos) for p in value for e in p.fsi_encounter_dtos)
        if n > MAX_ORDERS:
            raise ValueError(f"{n} orders in one message, at most {MAX_ORDERS}: send them in parts")
        return value


class Input3101(Node):
    data: Data3101


def _patients(d: Data3101) -> list[analysis.Patient]:
    return [analysis.Patient(p.patn_id, p.gend, p.brdy, tuple(
        analysis.Encounter(e.mdtrt_id, e.adm_date, e.adm_dept_codg,
                           tuple(c for c in [e.dscg_main_dise_codg, *(x.dise_codg for x in e.fsi_diagnose_dtos)] if c),
                           tuple(analysis.Order(o.rx_id, o.hilist_code, o.cnt, o.drord_begn_date, o.sumamt,
                                                o.drord_dept_codg) for o in e.fsi_order_dtos))
        for e in p.fsi_encounter_dtos)) for p in d.patient_dtos]


def _rule_ids(value: list[str] | str) -> set[str]:
    items = value.split(",") if isinstance(value, str) else value
    return {str(x).strip() for x in items if str(x).strip()}


def _result(f: analysis.Finding) -> dict[str, Any]:
    v, rule = f.violation, f.violation.rule
    return {"jr_id": f.jr_id, "rule_id": rule.rule_id, "rule_name": rule.name,
            "vola_cont": f"{rule.message}: {v.evidence}"[:500], "patn_id": f.patn_id, "mdtrt_id": f.mdtrt_id,
            "judge_result_detail_dtos": [{"jrd_id": jrd_id, "patn_id": f.patn_id, "mdtrt_id": f.mdtrt_id,
                                          "rx_id": rx_id, "vola_item_type": kind, "vola_amt": amount}
                                         for jrd_id, rx_id, kind, amount in f.details],
            "vola_amt": v.amount, "vola_amt_stas": "1", "sev_deg": rule.sev_deg, "vola_evid": v.evidence[:500],
            "vola_bhvr_type": rule.vola_bhvr_type, "task_id": f.task_id}


def _analyse(infno: str):  # type: ignore[no-untyped-def]
    def run(work: Work, data: Input3101) -> dict[str, Any]:
        d = data.data
        found = analysis.judge(work, infno, d.trig_scen, d.task_id, _patients(d), only=_rule_ids(d.rule_ids))
        return {"result": [_result(f) for f in found]}
    return run


interface("3101", "明细审核事前事中分析服务", Input3101)(_analyse("3101"))
interface("3102", "明细审核事中分析服务", Input3101)(_analyse("3102"))


class Warn3103(Node):
    warn_rslt_id: str = Ident
    dspo_way: code("dspo_way")  # type: ignore[valid-type]
    dspo_way_rea: Text = ""


class Data3103(Node):
    warn_type: code("warn_type")  # type: ignore[valid-type]
    warns: list[Warn3103] = Field(min_length=1)


class Input3103(Node):
    data: Data3103


@interface("3103", "事前事中服务反馈服务", Input3103)
def feedback(work: Work, data: Input3103) -> dict[str, Any]:
    d = data.data
    analysis.feedback(work, d.warn_type, [analysis.Feedback(w.warn_rslt_id, w.dspo_way, w.dspo_way_rea)
                                          for w in d.warns])
    return {}
