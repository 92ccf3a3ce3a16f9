"""Pharmacy: 2101(A) pre-settlement, 2102(A) settlement with its fee lines, 2103 cancellation.
A pharmacy has no registration: the platform issues the mdtrt_id when it settles."""

from __future__ import annotations

import hashlib

from pydantic import Field
from sqlalchemy import select

from yibao.errors import refuse
from yibao.gateway.fields import Amount, CertType, Flag, InsuType, MedType, SetlWay, Text, Time
from yibao.gateway.handlers import render
from yibao.gateway.handlers.common import (
    CancelInput,
    FeeLineBase,
    cancel_referenced,
    check_claimed,
    line_in,
    settled_output,
    supplementary_day,
)
from yibao.gateway.registry import Call, Node, interface, interface_with_a_form
from yibao.platform import fees, prescriptions, settlement
from yibao.platform.ids import new_id
from yibao.store.models import Visit


class DrugInfo(Node):
    psn_no: Text
    mdtrt_cert_type: CertType
    mdtrt_cert_no: Text = ""
    begntime: Time | None = None
    medfee_sumamt: Amount
    invono: Text = ""
    insutype: InsuType
    dise_codg: Text = ""
    dise_name: Text = ""
    acct_used_flag: Flag = "0"
    med_type: MedType = "41"
    psn_setlway: SetlWay = "01"
    suppl_flag: Flag = "0"  # 1: supplementary bookkeeping of a purchase whose direct settlement failed
    fulamt_ownpay_amt: Amount | None = None
    overlmt_selfpay: Amount | None = None
    preselfpay_amt: Amount | None = None
    inscp_scp_amt: Amount | None = None


class Input2101(Node):
    druginfo: DrugInfo
    drugdetail: list[FeeLineBase] = Field(min_length=1)


def _prepare(call: Call, data: Input2101, lock: bool):  # type: ignore[no-untyped-def]
    info = data.druginfo
    if call.institution.kind != "pharmacy":
        raise refuse("infno", "2101/2102 settle pharmacy purchases; this institution is a hospital (use 2201-2208)")
    person = settlement.person_for_message(call.session, info.psn_no, call.envelope.insuplc_admdvs,
                                           call.institution, "input.druginfo.psn_no")
    case = settlement.case_for(person, call.institution, "pharmacy")
    lines = [line_in(f"input.drugdetail[{i}]", x, None) for i, x in enumerate(data.drugdetail)]
    seen: set[str] = set()
    for line in lines:
        fees.check_amount(line)
        if line.cnt <= 0:
            raise refuse(f"{line.path}.cnt", "must be positive")
        if line.feedetl_sn in seen:
            raise refuse(f"{line.path}.feedetl_sn", f"{line.feedetl_sn} appears twice")
        seen.add(line.feedetl_sn)
    prescriptions.check(call.session, person.psn_no, lines)
    splits = fees.split_lines(call.session, case.catalog_admdvs, info.insutype, lines)
    visit_day = info.begntime.date() if info.begntime else call.today
    comp = settlement.compute(call.session, person=person, institution=call.institution, kind="pharmacy",
                              med_type=info.med_type, insutype=info.insutype, splits=splits,
                              acct_used_flag=info.acct_used_flag, today=call.today, lock=lock,
                              dise_codg=info.dise_codg or None, visit_day=visit_day,
                              as_of=supplementary_day(call, info.suppl_flag, visit_day, "input.druginfo.suppl_flag"))
    check_claimed(comp.sums, info, "the drugdetail lines", full=True, node="input.druginfo")
    call.warnings.extend(comp.warnings)
    return person, case, lines, splits, comp


def _cut_info(lines, splits):  # type: ignore[no-untyped-def]
    return [fees.result_row(x.feedetl_sn, x.cnt, x.pric, sp) for x, sp in zip(lines, splits, strict=True)]


@interface_with_a_form("2101", "药店预结算", Input2101)
def _presettle(call: Call, data: Input2101, a_form: bool) -> dict:
    _person, _case, lines, splits, comp = _prepare(call, data, lock=False)
    info = render.setlinfo_of_computation(comp, mdtrt_id="", mdtrt_cert_type=data.druginfo.mdtrt_cert_type,
                                          now=call.now, a_form=a_form, msgid=call.envelope.msgid)
    info["clr_type"] = settlement.CLR_TYPE["pharmacy"]
    return {"setlinfo": info, "setldetail": render.setldetail_of_computation(comp),
            "detlcutinfo": _cut_info(lines, splits)}


def sale_key(psn_no: str, lines: list[fees.LineIn]) -> str:
    """What makes two 2102 messages the same sale: the person and every line (serial, item, price, quantity,
    time), in any order. A pharmacy retrying a sale under a fresh msgid sends the same lines."""
    rows = sorted((x.feedetl_sn, x.med_list_codg, str(x.pric), str(x.cnt), x.fee_ocur_time.isoformat())
                  for x in lines)
    return hashlib.sha256(repr((psn_no, rows)).encode("utf-8")).hexdigest()


@interface_with_a_form("2102", "药店结算", Input2101)
def _settle(call: Call, data: Input2101, a_form: bool) -> dict:
    info = data.druginfo
    person, case, lines, splits, comp = _prepare(call, data, lock=True)
    key = sale_key(person.psn_no, lines)
    twin = call.session.scalar(select(Visit.mdtrt_id).where(
        Visit.fixmedins_code == call.institution.code, Visit.sale_key == key, Visit.status != "cancelled"))
    if twin:  # sequential case; concurrent twins meet the unique index uq_visits_open_sale_key at commit
        raise refuse("input.drugdetail", f"this sale was already settled (mdtrt_id {twin}); a retry is answered "
                                         "by resending its msgid, or cancel it (2103) to sell it again")
    mdtrt_id = new_id(call.institution.admdvs, call.now)
    visit = Visit(mdtrt_id=mdtrt_id, fixmedins_code=call.institution.code, psn_no=person.psn_no,
                  insutype=info.insutype, kind="pharmacy", med_type=info.med_type, insuplc_admdvs=person.admdvs,
                  mdtrtarea_admvs=call.institution.admdvs, begntime=info.begntime or call.now, endtime=call.now,
                  dise_codg=info.dise_codg or None, dise_name=info.dise_name or None,
                  mdtrt_cert_type=info.mdtrt_cert_type, status="open", info={}, created_at=call.now, sale_key=key)
    call.session.add(visit)
    rows = fees.store_lines(call.session, visit, case.catalog_admdvs, info.insutype, lines, allow_returns=False)
    out = settled_output(call, comp, visit=visit, lines=rows, kind="pharmacy", mdtrt_cert_type=info.mdtrt_cert_type,
                         a_form=a_form, invono=info.invono, dise_codg=visit.dise_codg, dise_name=visit.dise_name,
                         suppl_flag=info.suppl_flag)
    return {**out, "detlcutinfo": _cut_info(lines, splits)}


@interface("2103", "药店结算撤销", CancelInput)
def cancel(call: Call, data: CancelInput) -> dict:
    out = cancel_referenced(call, data, "pharmacy")
    out["setlinfo"]["psn_pay"] = out["setlinfo"]["psn_part_amt"]
    out["setlinfo"]["cash_payamt"] = out["setlinfo"]["psn_cash_pay"]
    visit = call.session.get(Visit, data.data.mdtrt_id)
    if visit is not None:
        visit.status = "cancelled"  # a purchase has no second settlement: the returned drugs end the visit
    return out
