"""External prescriptions (外配处方, seed 004 art. 20): a hospital uploads a prescription to be filled
outside (2204 lines with rx_circ_flag 1 and rxno); a pharmacy settles it (2102 lines with the same flag and
rxno), never more than was prescribed. The hospital does not charge those lines itself."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.errors import refuse
from yibao.store.models import FeeDetail, Visit


def is_outside(raw: dict[str, Any] | None) -> bool:
    return (raw or {}).get("rx_circ_flag") == "1"


def chargeable(lines: list[FeeDetail]) -> list[FeeDetail]:
    """The lines the hospital charges: a prescription for outside filling is not one of them."""
    return [x for x in lines if not is_outside(x.raw)]


def _quantities(session: Session, psn_no: str, rxno: str, kinds: tuple[str, ...], settled: bool) -> dict[str, Decimal]:
    q = (select(FeeDetail).join(Visit, Visit.mdtrt_id == FeeDetail.mdtrt_id)
         .where(Visit.psn_no == psn_no, Visit.kind.in_(kinds), Visit.status != "cancelled"))
    if settled:
        q = q.where(FeeDetail.setl_id.is_not(None))
    out: dict[str, Decimal] = defaultdict(Decimal)
    for line in session.scalars(q):
        if is_outside(line.raw) and (line.raw or {}).get("rxno") == rxno:
            out[line.med_list_codg] += line.cnt
    return out


def check(session: Session, psn_no: str, lines: list[Any]) -> None:
    """Each outside-prescription line of a pharmacy purchase must be on the hospital's upload, within what is
    left to dispense. `lines` carry path, rxno, med_list_codg, cnt and raw."""
    wanted: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for line in lines:
        if not is_outside(line.raw):
            continue
        rxno = (line.raw or {}).get("rxno") or ""
        if not rxno:
            raise refuse(f"{line.path}.rxno", "is required with rx_circ_flag 1 (an external prescription)")
        prescribed = _quantities(session, psn_no, rxno, ("outpatient", "inpatient"), settled=False)
        if not prescribed:
            raise refuse(f"{line.path}.rxno", f"no hospital uploaded prescription {rxno} for this person")
        if line.med_list_codg not in prescribed:
            raise refuse(f"{line.path}.med_list_codg", f"{line.med_list_codg} is not on prescription {rxno}")
        wanted[(rxno, line.med_list_codg)] += line.cnt
        given = _quantities(session, psn_no, rxno, ("pharmacy",), settled=True).get(line.med_list_codg, Decimal(0))
        left = prescribed[line.med_list_codg] - given
        if wanted[(rxno, line.med_list_codg)] > left:
            raise refuse(f"{line.path}.cnt", f"prescription {rxno} has {left} of {line.med_list_codg} left to "
                                             f"dispense ({prescribed[line.med_list_codg]} prescribed, {given} "
                                             "already dispensed)")
