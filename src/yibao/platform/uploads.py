"""A visit's fee lines: uploaded and split (2204 outpatient, 2301 inpatient with returns) and deleted while
unsettled (2205 a batch, 2302 a line)."""

from __future__ import annotations

from sqlalchemy import select

from yibao.errors import refuse
from yibao.platform import fees, mapping, settlement
from yibao.platform.visits import final_settlement, patient, visit_of
from yibao.platform.work import Work
from yibao.store.models import FeeDetail


def upload(work: Work, kind: str, mdtrt_id: str, psn_no: str, lines: list[fees.LineIn]) -> list[FeeDetail]:
    """Keep and split one upload of an outpatient visit's or a stay's lines, all or nothing; a settled stay
    takes no more."""
    visit = visit_of(work, mdtrt_id, psn_no, kind)
    if kind == "inpatient" and final_settlement(work, visit):
        raise refuse("input.feedetail[0].mdtrt_id", "the stay is settled; cancel the settlement (2305) first")
    person = patient(work, visit.psn_no)
    case = settlement.case_for(person, work.here, kind)
    mapping.check_lines(work, lines)  # the region's mapping_check (docs/mapping.md)
    return fees.store_lines(work.session, visit, case.catalog_admdvs, visit.insutype, lines,
                            allow_returns=kind == "inpatient")


def delete_batch(work: Work, mdtrt_id: str, psn_no: str, chrg_bchno: str) -> None:
    """2205: the unsettled lines of a batch, or of the whole visit with chrg_bchno "0000"."""
    visit = visit_of(work, mdtrt_id, psn_no, "outpatient")
    if chrg_bchno != "0000":
        settled = work.session.scalar(select(FeeDetail.setl_id).where(
            FeeDetail.mdtrt_id == visit.mdtrt_id, FeeDetail.chrg_bchno == chrg_bchno, FeeDetail.setl_id.is_not(None)))
        if settled:
            raise refuse("input.data.chrg_bchno", f"batch {chrg_bchno} is settled ({settled}); cancel it first")
    lines = fees.unsettled(work.session, visit.mdtrt_id, None if chrg_bchno == "0000" else chrg_bchno)
    if not lines:
        raise refuse("input.data.chrg_bchno", f"no unsettled fee lines of batch {chrg_bchno} in this visit")
    for line in lines:
        work.session.delete(line)


def delete_stay_line(work: Work, mdtrt_id: str, psn_no: str, feedetl_sn: str) -> None:
    """2302: one unsettled line of a stay (none of whose returns is left), or every one with "0000"."""
    visit = visit_of(work, mdtrt_id, psn_no, "inpatient")
    lines = fees.unsettled(work.session, visit.mdtrt_id)
    if feedetl_sn != "0000":
        target = [x for x in lines if x.feedetl_sn == feedetl_sn]
        if not target:
            raise refuse("input.data.feedetl_sn", f"{feedetl_sn} is not an unsettled line of this stay")
        returns = [x.feedetl_sn for x in lines if x.init_feedetl_sn == feedetl_sn]
        if returns:
            raise refuse("input.data.feedetl_sn", f"returns {', '.join(returns)} refer to it; delete them first")
        lines = target
    for line in lines:
        work.session.delete(line)
