"""2601 reversal (冲正): undo a committing message whose answer the institution lost.

The original is found by its msgid. A settlement is cancelled exactly as 2208/2103/2305 would; a
registration or admission is cancelled. A message that never arrived is fenced off: its msgid is taken,
so if it arrives late it is refused instead of committing. A repeated 2601 changes nothing more.
"""

from __future__ import annotations

from datetime import datetime

from yibao.errors import refuse
from yibao.gateway.fields import Text
from yibao.gateway.handlers import common
from yibao.gateway.registry import Call, Node, interface
from yibao.gateway.service import legacy_effect
from yibao.store.models import MessageReplay, Settlement, Visit

SETTLING = {"2207": "outpatient", "2207A": "outpatient", "2102": "pharmacy", "2102A": "pharmacy",
            "2304": "inpatient", "2304A": "inpatient"}
OPENING = {"2201": "outpatient", "2401": "inpatient"}


class Data2601(Node):
    psn_no: Text
    omsgid: Text
    oinfno: Text


class Input2601(Node):
    data: Data2601


@interface("2601", "冲正交易", Input2601)
def reverse(call: Call, data: Input2601) -> dict:
    d = data.data
    if d.oinfno not in SETTLING and d.oinfno not in OPENING:
        raise refuse("input.data.oinfno", f"{d.oinfno} cannot be reversed; reversible: "
                                          f"{', '.join(sorted({*SETTLING, *OPENING}))}")
    original = call.session.get(MessageReplay, (call.institution.code, d.omsgid))
    answer = {"omsgid": d.omsgid, "oinfno": d.oinfno}
    if original is None:
        call.session.add(MessageReplay(fixmedins_code=call.institution.code, msgid=d.omsgid, infno="2601",
                                       body_sha256="fenced-by-reversal", response="{}", created_at=datetime.now()))
        return {"data": {**answer, "rvs_rslt": "not received: nothing to reverse; the msgid is now closed"}}
    if original.infno == "2601" and original.body_sha256 == "fenced-by-reversal":
        return {"data": {**answer, "rvs_rslt": "not received: nothing to reverse; the msgid is now closed"}}
    if original.infno != d.oinfno:
        raise refuse("input.data.oinfno", f"message {d.omsgid} was a {original.infno}, not {d.oinfno}")
    effect = original.effect_id or legacy_effect(original.response)
    if d.oinfno in SETTLING:
        setl_id = effect
        row = call.session.get(Settlement, setl_id)
        if row is None or row.psn_no != d.psn_no:
            raise refuse("input.data.psn_no", f"message {d.omsgid} did not settle for person {d.psn_no}")
        if row.status == "cancelled":
            return {"data": {**answer, "setl_id": setl_id, "rvs_rslt": "already reversed"}}
        common.cancel_output(call, row)
        return {"data": {**answer, "setl_id": setl_id, "rvs_rslt": "reversed"}}
    visit = call.session.get(Visit, effect)
    if visit is None or visit.psn_no != d.psn_no:
        raise refuse("input.data.psn_no", f"message {d.omsgid} did not open a visit for person {d.psn_no}")
    if visit.status == "cancelled":
        return {"data": {**answer, "mdtrt_id": visit.mdtrt_id, "rvs_rslt": "already reversed"}}
    common.cancel_visit(call, visit, "input.data.omsgid", "reverse it")
    return {"data": {**answer, "mdtrt_id": visit.mdtrt_id, "rvs_rslt": "reversed"}}
