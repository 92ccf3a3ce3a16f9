"""Self-pay patients' records (自费病人就医信息, 4201A-4209): an institution reports the visits, diagnoses and fee
lines of patients who paid without insurance, under its own visit number (fixmedins_mdtrt_id).

Inpatient: fee lines (4201A, before or after the stay), the stay and its diagnoses (4202), then "complete"
(4203). Outpatient: visit, diagnoses and lines in one call (4205), then 4203. While a visit is complete its
records are frozen; 4203 with cplt_flag "0" reopens it for a change. 4204 deletes fee lines, 4206 an outpatient
visit. An institution sees and changes only its own records: another's visit number is simply unknown."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select, text

from yibao.errors import refuse
from yibao.money import ZERO
from yibao.platform.work import Work
from yibao.rules.setl_list import fee_line_problem
from yibao.store.models import SelfpayFee, SelfpayVisit

INPATIENT, OUTPATIENT = "inpatient", "outpatient"
#: the first half of the PostgreSQL advisory lock that stands for a self-pay visit number (see _hold)
_LOCK_CLASS = 4201


@dataclass(frozen=True)
class FeeIn:
    path: str
    fixmedins_mdtrt_id: str
    bkkp_sn: str
    fee_ocur_time: datetime
    cnt: Decimal
    pric: Decimal
    det_item_fee_sumamt: Decimal
    med_list_codg: str = ""
    medins_list_codg: str = ""
    med_chrgitm_type: str = ""
    fixmedins_code: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VisitIn:
    path: str
    fixmedins_mdtrt_id: str
    psn_cert_type: str
    certno: str
    psn_name: str
    begntime: datetime
    med_type: str = ""
    medfee_sumamt: Decimal | None = None
    fixmedins_code: str = ""
    info: dict[str, Any] = field(default_factory=dict)


def ours(work: Work, path: str, code: str) -> None:
    """A row naming an institution must name the caller: nobody reports another institution's patients."""
    if code and code != work.here.code:
        raise refuse(f"{path}.fixmedins_code", f"{code} is not the calling institution {work.here.code}")


def visit_of(work: Work, mdtrt_id: str) -> SelfpayVisit | None:
    return work.session.scalar(select(SelfpayVisit).where(SelfpayVisit.fixmedins_code == work.here.code,
                                                           SelfpayVisit.fixmedins_mdtrt_id == mdtrt_id))


def _lock_key(code: str, mdtrt_id: str) -> int:
    digest = hashlib.sha256(f"{code}\x00{mdtrt_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big", signed=True)


def _hold(work: Work, mdtrt_ids: Iterable[str]) -> dict[str, SelfpayVisit]:
    """Take the institution's visit numbers named for the rest of the transaction, each once and always in the
    same order, and answer the visits reported under them.

    The number is locked, not the visit's row: fee lines (4201A) may come before their stay is reported, and the
    first 4202/4205 of a visit has no row to lock yet. Twins that add the same new line or visit at once (a HIS
    retrying under a fresh msgid) then queue, and the second sees what the first committed instead of meeting the
    unique index. SQLite runs one writing transaction at a time, so it needs no lock."""
    ids = sorted(set(mdtrt_ids))
    if work.session.get_bind().dialect.name == "postgresql":
        for key in sorted({_lock_key(work.here.code, i) for i in ids}):
            work.session.execute(text("SELECT pg_advisory_xact_lock(:c, :k)"), {"c": _LOCK_CLASS, "k": key})
    rows = work.session.scalars(select(SelfpayVisit).where(
        SelfpayVisit.fixmedins_code == work.here.code, SelfpayVisit.fixmedins_mdtrt_id.in_(ids))
        .execution_options(populate_existing=True))
    return {v.fixmedins_mdtrt_id: v for v in rows}


def _known_visit(work: Work, path: str, mdtrt_id: str, *, lock: bool = False) -> SelfpayVisit:
    visit = _hold(work, [mdtrt_id]).get(mdtrt_id) if lock else visit_of(work, mdtrt_id)
    if visit is None:
        raise refuse(f"{path}.fixmedins_mdtrt_id", f"no self-pay visit {mdtrt_id} at this institution")
    return visit


def _open(visit: SelfpayVisit | None, path: str) -> None:
    if visit is not None and visit.cplt_flag == "1":
        raise refuse(f"{path}.fixmedins_mdtrt_id", f"the upload of visit {visit.fixmedins_mdtrt_id} was completed "
                                                   "(4203): reopen it with cplt_flag \"0\" to change it")


def _fee_rows(work: Work, mdtrt_id: str) -> list[SelfpayFee]:
    return list(work.session.scalars(select(SelfpayFee).where(
        SelfpayFee.fixmedins_code == work.here.code, SelfpayFee.fixmedins_mdtrt_id == mdtrt_id)
        .order_by(SelfpayFee.fee_ocur_time, SelfpayFee.bkkp_sn)))


def _check_lines(work: Work, lines: Sequence[FeeIn]) -> None:
    seen: set[tuple[str, str]] = set()
    for x in lines:
        ours(work, x.path, x.fixmedins_code)
        problem = fee_line_problem(x.cnt, x.pric, x.det_item_fee_sumamt)
        if problem:
            raise refuse(f"{x.path}.det_item_fee_sumamt", problem)
        key = (x.fixmedins_mdtrt_id, x.bkkp_sn)
        if key in seen:
            raise refuse(f"{x.path}.bkkp_sn", f"{x.bkkp_sn} is sent twice for visit {x.fixmedins_mdtrt_id}")
        seen.add(key)


def _store_lines(work: Work, lines: Sequence[FeeIn], *, replacing: bool = False) -> None:
    """Add the lines, or replace those already stored under their bkkp_sn (one query finds them all); the
    caller holds their visit numbers (_hold). `replacing`: the visit's lines were just deleted."""
    stored: dict[tuple[str, str], SelfpayFee] = {}
    if not replacing:
        found = work.session.scalars(select(SelfpayFee).where(
            SelfpayFee.fixmedins_code == work.here.code,
            SelfpayFee.fixmedins_mdtrt_id.in_({x.fixmedins_mdtrt_id for x in lines}),
            SelfpayFee.bkkp_sn.in_({x.bkkp_sn for x in lines})))
        stored = {(r.fixmedins_mdtrt_id, r.bkkp_sn): r for r in found}
    for x in lines:
        row = stored.get((x.fixmedins_mdtrt_id, x.bkkp_sn))
        if row is None:
            row = SelfpayFee(fixmedins_code=work.here.code, fixmedins_mdtrt_id=x.fixmedins_mdtrt_id, bkkp_sn=x.bkkp_sn)
            work.session.add(row)
        # a bookkeeping number sent again is the institution's correction of that line
        row.fee_ocur_time, row.cnt, row.pric, row.det_item_fee_sumamt = (x.fee_ocur_time, x.cnt, x.pric,
                                                                         x.det_item_fee_sumamt)
        row.med_list_codg, row.medins_list_codg = x.med_list_codg or None, x.medins_list_codg or None
        row.med_chrgitm_type, row.raw, row.uploaded_at = x.med_chrgitm_type or None, x.raw, work.now


def upload_fees(work: Work, lines: Sequence[FeeIn]) -> int:
    """4201A: an inpatient stay's fee lines, added or replaced by bkkp_sn; the stay may be reported later."""
    _check_lines(work, lines)
    visits = _hold(work, (x.fixmedins_mdtrt_id for x in lines))
    for x in lines:
        visit = visits.get(x.fixmedins_mdtrt_id)
        _open(visit, x.path)
        if visit is not None and visit.kind != INPATIENT and visit.vali_flag == "1":
            raise refuse(f"{x.path}.fixmedins_mdtrt_id", f"visit {x.fixmedins_mdtrt_id} is an outpatient visit "
                                                         "(4205): its lines come with it")
    _store_lines(work, lines)
    return len(lines)


def _store_visit(work: Work, v: VisitIn, kind: str, diagnoses: list[dict[str, Any]]) -> SelfpayVisit:
    ours(work, v.path, v.fixmedins_code)
    visit = _hold(work, [v.fixmedins_mdtrt_id]).get(v.fixmedins_mdtrt_id)
    _open(visit, v.path)
    if visit is not None and visit.kind != kind and visit.vali_flag == "1":
        raise refuse(f"{v.path}.fixmedins_mdtrt_id", f"visit {v.fixmedins_mdtrt_id} was reported as {visit.kind}")
    if visit is None:
        visit = SelfpayVisit(fixmedins_code=work.here.code, fixmedins_mdtrt_id=v.fixmedins_mdtrt_id)
        work.session.add(visit)
    visit.kind, visit.psn_cert_type, visit.certno, visit.psn_name = kind, v.psn_cert_type, v.certno, v.psn_name
    visit.med_type, visit.begntime, visit.medfee_sumamt = v.med_type or None, v.begntime, v.medfee_sumamt
    visit.vali_flag, visit.cplt_flag, visit.info, visit.diagnoses = "1", "0", v.info, diagnoses
    visit.updated_at = work.now
    work.session.flush()
    return visit


def upload_stay(work: Work, v: VisitIn, diagnoses: list[dict[str, Any]]) -> SelfpayVisit:
    """4202: the stay and its diagnoses (replacing what was reported for it)."""
    return _store_visit(work, v, INPATIENT, diagnoses)


def upload_outpatient(work: Work, v: VisitIn, diagnoses: list[dict[str, Any]], lines: Sequence[FeeIn]) -> SelfpayVisit:
    """4205: the whole outpatient visit in one message; sent again, it replaces the visit's lines."""
    for x in lines:
        if x.fixmedins_mdtrt_id != v.fixmedins_mdtrt_id:
            raise refuse(f"{x.path}.fixmedins_mdtrt_id", f"{x.fixmedins_mdtrt_id} is not the visit of mdtrtinfo "
                                                         f"({v.fixmedins_mdtrt_id})")
    _check_lines(work, lines)
    _sum_problem(v, lines)
    visit = _store_visit(work, v, OUTPATIENT, diagnoses)
    work.session.execute(delete(SelfpayFee).where(SelfpayFee.fixmedins_code == work.here.code,
                                                  SelfpayFee.fixmedins_mdtrt_id == v.fixmedins_mdtrt_id))
    _store_lines(work, lines, replacing=True)
    return visit


def _sum_problem(v: VisitIn, lines: Sequence[FeeIn]) -> None:
    if v.medfee_sumamt is None:
        return
    total = sum((x.det_item_fee_sumamt for x in lines), ZERO)
    if total != v.medfee_sumamt:
        raise refuse(f"{v.path}.medfee_sumamt", f"{v.medfee_sumamt} sent, but the fee lines sum to {total}")


def complete(work: Work, mdtrt_id: str, cplt_flag: str) -> SelfpayVisit:
    """4203: "1" the visit's upload is complete (its total must match its lines), "0" reopen it."""
    visit = _known_visit(work, "input", mdtrt_id, lock=True)
    if visit.vali_flag != "1":
        raise refuse("input.fixmedins_mdtrt_id", f"visit {mdtrt_id} was deleted")
    if cplt_flag == "1":
        total = sum((r.det_item_fee_sumamt for r in _fee_rows(work, mdtrt_id)), ZERO)
        if visit.medfee_sumamt is not None and total != visit.medfee_sumamt:
            raise refuse("input.fixmedins_mdtrt_id", f"visit {mdtrt_id} reports medfee_sumamt {visit.medfee_sumamt}, "
                                                     f"but its fee lines sum to {total}")
    visit.cplt_flag, visit.updated_at = cplt_flag, work.now
    return visit


def delete_fees(work: Work, mdtrt_id: str, bkkp_sns: Sequence[str]) -> int:
    """4204: the named lines of a visit, or all of them when none is named."""
    visit = _hold(work, [mdtrt_id]).get(mdtrt_id)
    _open(visit, "input.feedetail")
    rows = _fee_rows(work, mdtrt_id)
    if not rows:
        raise refuse("input.feedetail.fixmedins_mdtrt_id", f"no self-pay fee lines of visit {mdtrt_id} at this "
                                                           "institution")
    named = [sn for sn in bkkp_sns if sn]
    if named:
        by_sn = {r.bkkp_sn: r for r in rows}
        missing = [sn for sn in named if sn not in by_sn]
        if missing:
            raise refuse("input.feedetl.bkkp_sn", f"visit {mdtrt_id} has no fee line {missing[0]}")
        rows = [by_sn[sn] for sn in dict.fromkeys(named)]
    for r in rows:
        work.session.delete(r)
    return len(rows)


def delete_visit(work: Work, mdtrt_id: str) -> SelfpayVisit:
    """4206: the visit is kept, marked invalid (vali_flag "0"), and its lines are deleted."""
    visit = _known_visit(work, "input", mdtrt_id, lock=True)
    _open(visit, "input")
    if visit.vali_flag != "1":
        raise refuse("input.fixmedins_mdtrt_id", f"visit {mdtrt_id} was already deleted")
    visit.vali_flag, visit.updated_at = "0", work.now
    work.session.execute(delete(SelfpayFee).where(SelfpayFee.fixmedins_code == work.here.code,
                                                  SelfpayFee.fixmedins_mdtrt_id == mdtrt_id))
    return visit


# -- queries (4207-4209) ------------------------------------------------------------------------------------

def fees(work: Work, mdtrt_id: str) -> list[SelfpayFee]:
    """4207: the visit's lines (none for a visit number this institution never used)."""
    return _fee_rows(work, mdtrt_id)


def visit(work: Work, mdtrt_id: str) -> SelfpayVisit:
    """4208."""
    return _known_visit(work, "input", mdtrt_id)


def diagnoses(work: Work, mdtrt_id: str) -> list[dict[str, Any]]:
    """4209: the visit's diagnoses as reported (none for an unknown visit number)."""
    found = visit_of(work, mdtrt_id)
    return list(found.diagnoses or []) if found is not None else []
