"""Pieces shared by the outpatient, inpatient and pharmacy handlers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import Field
from sqlalchemy import select

from yibao.errors import refuse
from yibao.gateway.fields import Amount, Flag, Number, Text, Time, code
from yibao.gateway.handlers import render
from yibao.gateway.registry import Call, Node
from yibao.platform import fees, settlement
from yibao.store.models import Region, Settlement, Visit


def visit_of(call: Call, mdtrt_id: str, psn_no: str, kind: str, *, open_only: bool = True) -> Visit:
    """A visit of this institution and person; refused if unknown, of another kind, or closed.

    The visit's row is locked for the rest of the unit of work, before any of its lines is read: messages on one
    visit (a 2207 and its retry under a fresh msgid, a 2208 racing a 2207, two uploads) run one after the other,
    and the second sees what the first committed (on SQLite the write lock taken at BEGIN does the same)."""
    visit = call.session.get(Visit, mdtrt_id, with_for_update=True, populate_existing=True)
    if visit is None or visit.fixmedins_code != call.institution.code:
        raise refuse("input.data.mdtrt_id", f"no visit {mdtrt_id} at this institution")
    if visit.psn_no != psn_no:
        raise refuse("input.data.psn_no", f"visit {mdtrt_id} belongs to another person")
    if visit.kind != kind:
        raise refuse("input.data.mdtrt_id", f"visit {mdtrt_id} is {visit.kind}, not {kind}")
    if open_only and visit.status == "cancelled":
        raise refuse("input.data.mdtrt_id", f"visit {mdtrt_id} was cancelled")
    settlement.person_for_message(call.session, psn_no, call.envelope.insuplc_admdvs, call.institution)
    return visit


def active_settlements(call: Call, mdtrt_id: str) -> list[Settlement]:
    return list(call.session.scalars(select(Settlement).where(Settlement.mdtrt_id == mdtrt_id,
                                                              Settlement.status == "settled")))


def cancel_visit(call: Call, visit: Visit, field: str, then: str) -> None:
    """Undo a registration or an admission: refused while a settlement of it stands; its lines go."""
    if active_settlements(call, visit.mdtrt_id):
        raise refuse(field, f"visit {visit.mdtrt_id} has a settlement; {then} first")
    for line in fees.unsettled(call.session, visit.mdtrt_id):
        call.session.delete(line)
    visit.status = "cancelled"


def line_in(path: str, x: Any, chrg_bchno: str | None) -> fees.LineIn:
    return fees.LineIn(path=path, feedetl_sn=x.feedetl_sn, med_list_codg=x.med_list_codg,
                       medins_list_codg=x.medins_list_codg, pric=x.pric, cnt=x.cnt,
                       det_item_fee_sumamt=x.det_item_fee_sumamt, fee_ocur_time=x.fee_ocur_time,
                       chrg_bchno=chrg_bchno, init_feedetl_sn=getattr(x, "init_feedetl_sn", None) or None,
                       dise_codg=getattr(x, "dise_codg", "") or None, hosp_appr_flag=x.hosp_appr_flag or "0",
                       raw=x.model_dump(mode="json"))


def one_visit_of_lines(call: Call, lines: list[Any], kind: str) -> Visit:
    first = lines[0]
    for i, x in enumerate(lines):
        if x.mdtrt_id != first.mdtrt_id or x.psn_no != first.psn_no:
            raise refuse(f"input.feedetail[{i}].mdtrt_id", "every line of one upload must be of the same visit")
    return visit_of(call, first.mdtrt_id, first.psn_no, kind)


def check_claimed(sums: Any, d: Any, lines_label: str, full: bool, node: str = "input.data") -> None:
    """2206/2207 amounts must be what the platform computed from the uploaded lines (issue: item 5)."""
    claims = [("medfee_sumamt", sums.medfee_sumamt)]
    if full:
        claims += [("fulamt_ownpay_amt", sums.fulamt_ownpay_amt), ("overlmt_selfpay", sums.overlmt_selfpay),
                   ("preselfpay_amt", sums.preselfpay_amt), ("inscp_scp_amt", sums.inscp_scp_amt)]
    for name, computed in claims:
        sent: Decimal | None = getattr(d, name, None)
        if sent is not None and sent != computed:
            raise refuse(f"{node}.{name}", f"{sent} sent, but {lines_label} sum to {computed}")


class FeeLineBase(Node):
    """The fields every fee line shares (2204 feedetail, 2301 feedetail, 2101 drugdetail, 2560)."""

    feedetl_sn: Text = Field(min_length=1, max_length=30)
    rxno: Text = ""
    rx_circ_flag: Flag = "0"
    fee_ocur_time: Time
    med_list_codg: Text = Field(min_length=1)
    medins_list_codg: Text = ""
    det_item_fee_sumamt: Amount
    cnt: Number
    pric: Number
    hosp_appr_flag: code("hosp_appr_flag", empty=True) = "0"


class SettlementRef(Node):
    """The input `data` of 2208 / 2103 / 2305: which settlement to cancel."""

    setl_id: Text
    mdtrt_id: Text
    psn_no: Text


class CancelInput(Node):
    data: SettlementRef


def cancel_referenced(call: Call, data: CancelInput, kind: str) -> dict:
    """2208 / 2103 / 2305: the institution's own settlement of that visit, person and kind, cancelled."""
    d = data.data
    original = settlement.find_settlement(call.session, call.institution, d.setl_id, d.mdtrt_id, d.psn_no, (kind,))
    return cancel_output(call, original)


def settled_output(call: Call, comp: Any, *, visit: Visit, lines: list[Any], kind: str, mdtrt_cert_type: str,
                   a_form: bool, **details: Any) -> dict:
    """Commit a computed settlement of a visit and answer setlinfo + setldetail (interface.md 3.1, 3.2)."""
    done = settlement.settle(call.session, comp, mdtrt_id=visit.mdtrt_id, institution=call.institution, kind=kind,
                             now=call.now, msgid=call.envelope.msgid, opter=call.envelope.opter,
                             opter_name=call.envelope.opter_name, lines=lines, **details)
    return {"setlinfo": render.setlinfo_of_row(done.settlement, comp.person, mdtrt_cert_type=mdtrt_cert_type,
                                               a_form=a_form),
            "setldetail": render.setldetail(done.funds)}


def cancel_output(call: Call, original: Settlement) -> dict:
    person = settlement.person_for_message(call.session, original.psn_no, call.envelope.insuplc_admdvs,
                                           call.institution)
    reversal, _balc = settlement.cancel(call.session, original, now=call.now, msgid=call.envelope.msgid,
                                        opter=call.envelope.opter, opter_name=call.envelope.opter_name)
    info = render.setlinfo_of_row(reversal, person, mdtrt_cert_type="", a_form=True, sign=-1)
    info["setl_id"], info["refd_setl_id"] = original.setl_id, reversal.setl_id
    info["pdn_cash_pay"] = info["psn_cash_pay"]
    return {"setlinfo": info, "setldetail": render.setldetail(settlement.funds_of(call.session, original.setl_id))}


def supplementary_day(call: Call, suppl_flag: str, visit_day: date,
                      field: str = "input.data.suppl_flag") -> date | None:
    """Supplementary bookkeeping (补记账, seed 004 art. 16): a settlement that failed for a system fault is
    made later under the rules of the visit day, within the treatment region's
    `settings.supplementary_bookkeeping_days`. Returns the day whose rules apply, or None (a normal one)."""
    if suppl_flag != "1":
        return None
    region = call.session.get(Region, call.institution.admdvs)
    days = (region.settings or {}).get("supplementary_bookkeeping_days") if region else None
    if not isinstance(days, int) or days <= 0:
        raise refuse(field, f"region {call.institution.admdvs} has no supplementary bookkeeping "
                            "(settings.supplementary_bookkeeping_days)")
    late = (call.today - visit_day).days
    if late > days:
        raise refuse(field, f"the visit of {visit_day} is {late} days ago; supplementary bookkeeping in region "
                            f"{call.institution.admdvs} is allowed within {days} days")
    if late < 0:
        raise refuse(field, f"the visit day {visit_day} is after today {call.today}")
    return visit_day
