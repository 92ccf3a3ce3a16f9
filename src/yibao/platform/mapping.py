"""Catalog mapping 目录对照: an institution maps its own item codes to its region's catalog (3301), cancels a
mapping (3302), reads its mappings (1316/1317), and — where the region's `mapping_check` asks — its fee lines
are held to them (2204, 2301, 2101/2102). The rules are rules/mapping.py; docs/mapping.md is the reading.

An institution reads and changes its own mappings only. A newer upload of an item code ends the mapping in force
(its enddate trimmed to the day before, who/when/msgid kept); the partial unique index uq_catalog_mappings_active
keeps two racing uploads from leaving two mappings in force.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select

from yibao.errors import refuse
from yibao.platform.fees import LineIn
from yibao.platform.ids import new_id
from yibao.platform.regions import region_setting
from yibao.platform.work import Work
from yibao.rules import mapping as rules
from yibao.rules.catalog_file import list_type_for
from yibao.store.models import CatalogMapping
from yibao.store.reference import reference

ACTIVE, CLOSED, CANCELLED = "active", "closed", "cancelled"


@dataclass(frozen=True)
class MappingIn:
    """One 3301 row: `path` is where it sits in the message (input.data, input.catalogcompin[2])."""

    path: str
    medins_list_codg: str
    medins_list_name: str
    list_type: str
    med_list_codg: str
    begndate: date
    enddate: date | None
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class Uploaded:
    row: CatalogMapping
    replaced: CatalogMapping | None


def upload(work: Work, rows: list[MappingIn]) -> list[Uploaded]:
    """3301: keep every row, all or nothing; each ends the mapping in force of its item code."""
    inst = work.here
    seen: dict[str, str] = {}
    for row in rows:
        if row.medins_list_codg in seen:
            raise refuse(f"{row.path}.fixmedins_hilist_id", f"{row.medins_list_codg} is also mapped by "
                                                            f"{seen[row.medins_list_codg]}; send one mapping per code")
        seen[row.medins_list_codg] = row.path
        problem = rules.row_problem(row.list_type, row.begndate, row.enddate)
        if problem:
            raise refuse(f"{row.path}.{problem[0]}", problem[1])
    known = reference(work.session).catalog_items(work.session, inst.admdvs, {r.med_list_codg for r in rows})
    for row in rows:
        item = known.get(row.med_list_codg)
        if item is None:
            raise refuse(f"{row.path}.med_list_codg", f"{row.med_list_codg} is not in the catalog of region "
                                                      f"{inst.admdvs}")
        stated = (item.extra or {}).get("list_type")
        problem = rules.list_type_problem(row.med_list_codg, row.list_type,
                                          list_type_for(item.med_chrgitm_type, stated))
        if problem:
            raise refuse(f"{row.path}.list_type", problem)
    out = []
    for row in rows:
        old = _in_force(work, row.medins_list_codg)
        if old is not None:
            old.status, old.enddate = CLOSED, rules.closing_enddate(old.enddate, row.begndate)
            _ended(work, old)
            work.session.flush()  # the old row leaves the unique index before the new one enters it
        new = CatalogMapping(
            rid=new_id(inst.admdvs, work.now), fixmedins_code=inst.code, medins_list_codg=row.medins_list_codg,
            medins_list_name=row.medins_list_name, list_type=row.list_type, med_list_codg=row.med_list_codg,
            catalog_admdvs=inst.admdvs, begndate=row.begndate, enddate=row.enddate, status=ACTIVE, info=row.info,
            opter=work.caller.opter, opter_name=work.caller.opter_name, msgid=work.msgid, created_at=work.now,
            updated_at=work.now)
        work.session.add(new)
        out.append(Uploaded(new, old))
    work.session.flush()
    return out


def cancel(work: Work, path: str, medins_list_codg: str, list_type: str, med_list_codg: str) -> CatalogMapping:
    """3302: the mapping in force of this item code, cancelled; list_type and med_list_codg, when sent, must be
    the mapping's (a desk cancelling what it does not hold is told so)."""
    row = _in_force(work, medins_list_codg)
    if row is None:
        raise refuse(f"{path}.fixmedins_hilist_id", f"{medins_list_codg} has no mapping in force at this "
                                                    "institution")
    if list_type and list_type != row.list_type:
        raise refuse(f"{path}.list_type", f"the mapping of {medins_list_codg} has list_type {row.list_type}, "
                                          f"not {list_type}")
    if med_list_codg and med_list_codg != row.med_list_codg:
        raise refuse(f"{path}.med_list_codg", f"{medins_list_codg} is mapped to {row.med_list_codg}, "
                                              f"not {med_list_codg}")
    row.status = CANCELLED
    _ended(work, row)
    work.session.flush()
    return row


def _in_force(work: Work, medins_list_codg: str) -> CatalogMapping | None:
    # FOR UPDATE: a concurrent upload of the same code waits here on PostgreSQL instead of closing it twice
    return work.session.scalar(select(CatalogMapping).where(
        CatalogMapping.fixmedins_code == work.here.code, CatalogMapping.medins_list_codg == medins_list_codg,
        CatalogMapping.status == ACTIVE).with_for_update())


def _ended(work: Work, row: CatalogMapping) -> None:
    row.ended_by, row.ended_at, row.ended_msgid = work.caller.opter, work.now, work.msgid
    row.updated_at = work.now


# -- 1316 / 1317 -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Query:
    """The filters of 1316/1317 (interface-integration.md 2.3/2.4); "" and None filter nothing."""

    updt_time: datetime
    page_num: int
    page_size: int
    query_date: date | None = None
    medins_list_codg: str = ""
    medins_list_name: str = ""
    med_list_codg: str = ""
    list_type: str = ""
    insu_admdvs: str = ""
    begndate: date | None = None
    vali_flag: str = ""


def query(work: Work, q: Query) -> tuple[int, list[CatalogMapping]]:
    """This institution's mappings matching the filters (the whole history unless vali_flag or query_date
    narrow it): (how many in all, the rows of the page asked), oldest change first."""
    where: list[ColumnElement[bool]] = [CatalogMapping.fixmedins_code == work.here.code,
                                        CatalogMapping.updated_at >= q.updt_time]
    for column, value in ((CatalogMapping.medins_list_codg, q.medins_list_codg),
                          (CatalogMapping.med_list_codg, q.med_list_codg), (CatalogMapping.list_type, q.list_type),
                          (CatalogMapping.catalog_admdvs, q.insu_admdvs)):
        if value:
            where.append(column == value)
    if q.medins_list_name:
        where.append(CatalogMapping.medins_list_name.contains(q.medins_list_name, autoescape=True))
    if q.begndate is not None:
        where.append(CatalogMapping.begndate >= q.begndate)
    if q.vali_flag:
        where.append((CatalogMapping.status == ACTIVE) if q.vali_flag == "1" else (CatalogMapping.status != ACTIVE))
    if q.query_date is not None:
        where += [CatalogMapping.status != CANCELLED, CatalogMapping.begndate <= q.query_date,
                  or_(CatalogMapping.enddate.is_(None), CatalogMapping.enddate >= q.query_date)]
    total = work.session.scalar(select(func.count()).select_from(CatalogMapping).where(*where)) or 0
    rows = list(work.session.scalars(select(CatalogMapping).where(*where)
                                     .order_by(CatalogMapping.updated_at, CatalogMapping.id)
                                     .offset((q.page_num - 1) * q.page_size).limit(q.page_size)))
    return total, rows


# -- the check of fee lines ------------------------------------------------------------------------------

def check_lines(work: Work, lines: list[LineIn]) -> None:
    """Where the institution's region sets `mapping_check` to warn or refuse: every line's medins_list_codg must
    have a mapping in force on the fee's day to the med_list_codg the line names. refuse: the first line that
    has none refuses the message; warn: each such line is named in warn_msg."""
    setting = region_setting(work.session, work.here.admdvs, "mapping_check", rules.OFF)
    if setting not in (rules.WARN, rules.REFUSE):
        return
    codes = {x.medins_list_codg for x in lines if x.medins_list_codg}
    windows: dict[str, list[rules.Window]] = defaultdict(list)
    if codes:
        for m in work.session.scalars(select(CatalogMapping).where(
                CatalogMapping.fixmedins_code == work.here.code, CatalogMapping.medins_list_codg.in_(sorted(codes)),
                CatalogMapping.status != CANCELLED)):
            windows[m.medins_list_codg].append(rules.Window(m.med_list_codg, m.begndate, m.enddate))
    for line in lines:
        problem = rules.line_problem(line.medins_list_codg, line.med_list_codg, line.fee_ocur_time.date(),
                                     windows.get(line.medins_list_codg, []))
        outcome = rules.verdict(setting, problem)
        if outcome == rules.REFUSE:
            raise refuse(f"{line.path}.medins_list_codg", str(problem))
        if outcome == rules.WARN:
            work.warnings.append(f"{line.path}.medins_list_codg: {problem}")
