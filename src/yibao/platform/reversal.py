"""2601 reversal (冲正): undo a committing message whose answer the institution lost.

The original is found by its msgid. A settlement is cancelled exactly as 2208/2103/2305 would; a
registration or admission is cancelled. A message that never arrived is fenced off: its msgid is taken,
so if it arrives late it is refused instead of committing. A repeated 2601 changes nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from yibao.errors import refuse
from yibao.platform import checkout, replay
from yibao.platform.visits import cancel_visit
from yibao.platform.work import Work
from yibao.store.models import MessageReplay, Settlement, Visit

SETTLING = {"2207": "outpatient", "2207A": "outpatient", "2102": "pharmacy", "2102A": "pharmacy",
            "2304": "inpatient", "2304A": "inpatient"}
OPENING = {"2201": "outpatient", "2401": "inpatient"}
FENCED = "fenced-by-reversal"


@dataclass(frozen=True)
class Reversed:
    rvs_rslt: str
    setl_id: str | None = None
    mdtrt_id: str | None = None


def reverse(work: Work, psn_no: str, omsgid: str, oinfno: str) -> Reversed:
    inst = work.here
    if oinfno not in SETTLING and oinfno not in OPENING:
        raise refuse("input.data.oinfno", f"{oinfno} cannot be reversed; reversible: "
                                          f"{', '.join(sorted({*SETTLING, *OPENING}))}")
    original = work.session.get(MessageReplay, (inst.code, omsgid))
    if original is None:
        work.session.add(MessageReplay(fixmedins_code=inst.code, msgid=omsgid, infno="2601", body_sha256=FENCED,
                                       response="{}", created_at=datetime.now()))
        return Reversed("not received: nothing to reverse; the msgid is now closed")
    if original.infno == "2601" and original.body_sha256 == FENCED:
        return Reversed("not received: nothing to reverse; the msgid is now closed")
    if original.infno != oinfno:
        raise refuse("input.data.oinfno", f"message {omsgid} was a {original.infno}, not {oinfno}")
    effect = original.effect_id or replay.legacy_effect(original.response)
    if oinfno in SETTLING:
        row = work.session.get(Settlement, effect)
        if row is None or row.psn_no != psn_no:
            raise refuse("input.data.psn_no", f"message {omsgid} did not settle for person {psn_no}")
        if row.status == "cancelled":
            return Reversed("already reversed", setl_id=effect)
        checkout.cancel_settlement(work, row)
        return Reversed("reversed", setl_id=effect)
    visit = work.session.get(Visit, effect)
    if visit is None or visit.psn_no != psn_no:
        raise refuse("input.data.psn_no", f"message {omsgid} did not open a visit for person {psn_no}")
    if visit.status == "cancelled":
        return Reversed("already reversed", mdtrt_id=visit.mdtrt_id)
    cancel_visit(work, visit, "input.data.omsgid", "reverse it")
    return Reversed("reversed", mdtrt_id=visit.mdtrt_id)
