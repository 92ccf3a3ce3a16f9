"""Uploading fee lines: each line split by the catalog of the settlement case (rules.md sections 2-3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.errors import refuse
from yibao.money import round2
from yibao.platform import catalog
from yibao.rules import prescriptions
from yibao.rules.splitting import CATALOG_FLAGS, LineSplit, approval_refused, split_line
from yibao.store.models import FeeDetail, Visit


@dataclass(frozen=True)
class LineIn:
    """One fee line as an interface gives it (2204 feedetail, 2301 feedetail, 2101 drugdetail)."""

    path: str  # where it sits in the message, for error texts: input.feedetail[3]
    feedetl_sn: str
    med_list_codg: str
    medins_list_codg: str
    pric: Decimal
    cnt: Decimal
    det_item_fee_sumamt: Decimal
    fee_ocur_time: datetime
    chrg_bchno: str | None = None
    init_feedetl_sn: str | None = None
    dise_codg: str | None = None
    hosp_appr_flag: str = "0"
    raw: dict[str, Any] | None = None


def check_amount(line: LineIn) -> None:
    expected = round2(line.pric * line.cnt)
    if line.det_item_fee_sumamt != expected:
        raise refuse(f"{line.path}.det_item_fee_sumamt", f"{line.det_item_fee_sumamt} sent, but pric {line.pric} "
                                                         f"x cnt {line.cnt} = {expected}")


def split_lines(session: Session, catalog_admdvs: str, insutype: str, lines: list[LineIn]) -> list[LineSplit]:
    entries = catalog.catalog_entries(session, catalog_admdvs, {x.med_list_codg for x in lines}, insutype)
    return [split_line(x.pric, x.cnt, entries.get(x.med_list_codg),
                       approval_refused=approval_refused(x.hosp_appr_flag, entries.get(x.med_list_codg)))
            for x in lines]


def store_lines(session: Session, visit: Visit, catalog_admdvs: str, insutype: str, lines: list[LineIn],
                allow_returns: bool) -> list[FeeDetail]:
    """Validate, split and keep the lines of one upload; all or nothing."""
    existing = {f.feedetl_sn: f for f in session.scalars(select(FeeDetail).where(FeeDetail.mdtrt_id == visit.mdtrt_id))}
    known: dict[str, Any] = dict(existing)  # stored lines, then the earlier lines of this upload
    for line in lines:
        if line.feedetl_sn in known:
            raise refuse(f"{line.path}.feedetl_sn",
                         f"{line.feedetl_sn} was already uploaded for visit {visit.mdtrt_id}")
        check_amount(line)
        if line.cnt == 0:
            raise refuse(f"{line.path}.cnt", "must not be 0")
        if line.pric < 0:
            raise refuse(f"{line.path}.pric", "must not be negative")
        if line.cnt < 0:
            if not allow_returns:
                raise refuse(f"{line.path}.cnt", "must be positive (returns exist for inpatient lines only)")
            _check_return(line, known)
        known[line.feedetl_sn] = line
    batches: dict[str, str | None] = {}
    for line in lines:
        if line.chrg_bchno is not None:
            first = batches.setdefault(line.chrg_bchno, line.dise_codg or None)
            if first != (line.dise_codg or None):
                raise refuse(f"{line.path}.dise_codg", prescriptions.batch_problem(line.chrg_bchno, first))
    splits = split_lines(session, catalog_admdvs, insutype, lines)
    names = catalog.catalog_names(session, catalog_admdvs, {x.med_list_codg for x in lines})
    rows = []
    for line, sp in zip(lines, splits, strict=True):
        row = FeeDetail(
            mdtrt_id=visit.mdtrt_id, feedetl_sn=line.feedetl_sn, chrg_bchno=line.chrg_bchno,
            init_feedetl_sn=line.init_feedetl_sn, med_list_codg=line.med_list_codg,
            medins_list_codg=line.medins_list_codg, list_name=names.get(line.med_list_codg),
            fee_ocur_time=line.fee_ocur_time, pric=line.pric, cnt=line.cnt,
            det_item_fee_sumamt=sp.det_item_fee_sumamt, fulamt_ownpay_amt=sp.fulamt_ownpay_amt,
            overlmt_amt=sp.overlmt_amt, preselfpay_amt=sp.preselfpay_amt, inscp_scp_amt=sp.inscp_scp_amt,
            pric_uplmt_amt=sp.pric_uplmt_amt, selfpay_prop=sp.selfpay_prop, chrgitm_lv=sp.chrgitm_lv,
            med_chrgitm_type=sp.med_chrgitm_type, catalog_admdvs=catalog_admdvs, dise_codg=line.dise_codg,
            memo=sp.memo or None, raw={**(line.raw or {}), "catalog_flags": dict(sp.flags)})
        rows.append(row)
    session.add_all(rows)
    return rows


def _check_return(line: LineIn, known: dict[str, Any]) -> None:
    """A return names an earlier positive line of the same item and price, and never returns more than it."""
    if not line.init_feedetl_sn:
        raise refuse(f"{line.path}.init_feedetl_sn", "is required for a returned item (negative cnt)")
    original = known.get(line.init_feedetl_sn)
    if original is None or original.cnt <= 0:
        raise refuse(f"{line.path}.init_feedetl_sn", f"{line.init_feedetl_sn} is not an uploaded line of this visit")
    if original.med_list_codg != line.med_list_codg or original.pric != line.pric:
        raise refuse(f"{line.path}.med_list_codg", "a return must repeat the item and price of the original line")
    returned = sum((f.cnt for f in known.values() if f.init_feedetl_sn == original.feedetl_sn), Decimal(0))
    if original.cnt + returned + line.cnt < 0:
        raise refuse(f"{line.path}.cnt", f"returns {-(returned + line.cnt)} of {original.feedetl_sn} exceed the "
                                         f"{original.cnt} charged")


def split_to_line(row: FeeDetail) -> LineSplit:
    flags = tuple((row.raw or {}).get("catalog_flags", {}).items())
    return LineSplit(row.det_item_fee_sumamt, row.fulamt_ownpay_amt, row.overlmt_amt, row.preselfpay_amt,
                     row.inscp_scp_amt, row.selfpay_prop, row.pric_uplmt_amt, row.chrgitm_lv,
                     row.med_chrgitm_type or "", row.memo or "", flags)


def result_row(feedetl_sn: str, cnt: Decimal, pric: Decimal, sp: LineSplit) -> dict[str, Any]:
    """One row of 2204/2301 `result[]` and 2101/2102 `detlcutinfo[]` (interface.md 3.3)."""
    return {
        "feedetl_sn": feedetl_sn, "det_item_fee_sumamt": sp.det_item_fee_sumamt, "cnt": cnt, "pric": pric,
        "pric_uplmt_amt": sp.pric_uplmt_amt if sp.pric_uplmt_amt is not None else Decimal("0"),
        "selfpay_prop": sp.selfpay_prop, "fulamt_ownpay_amt": sp.fulamt_ownpay_amt, "overlmt_amt": sp.overlmt_amt,
        "preselfpay_amt": sp.preselfpay_amt, "inscp_scp_amt": sp.inscp_scp_amt, "chrgitm_lv": sp.chrgitm_lv,
        "med_chrgitm_type": sp.med_chrgitm_type, **{name: "0" for name in CATALOG_FLAGS}, **dict(sp.flags),
        "memo": sp.memo,
    }


def unsettled(session: Session, mdtrt_id: str, chrg_bchno: str | None = None) -> list[FeeDetail]:
    q = select(FeeDetail).where(FeeDetail.mdtrt_id == mdtrt_id, FeeDetail.setl_id.is_(None))
    if chrg_bchno:
        q = q.where(FeeDetail.chrg_bchno == chrg_bchno)
    return list(session.scalars(q.order_by(FeeDetail.id)))
