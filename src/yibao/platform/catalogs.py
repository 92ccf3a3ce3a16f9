"""Catalog downloads (1301-1315), catalog queries (1312, 1318, 1319) and the code dictionaries (1901): what a
HIS reads to keep its catalogs in step with the platform's (docs/catalogs.md).

Every answer is the calling institution's region's: the rows the dataset published for it
(yibao.dataset.published), each with the version of its last change.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, func, or_, select

from yibao import codes
from yibao.errors import refuse
from yibao.platform import files
from yibao.platform.work import Work
from yibao.rules import catalog_file as cf
from yibao.store.models import CatalogRow, StoredFile


@dataclass(frozen=True)
class Download:
    file: StoredFile
    data_cnt: int


def _published(row: CatalogRow) -> cf.Published:
    return cf.Published(row.fields, row.vali_flag, row.rid, row.crte_time, row.updt_time, row.ver, row.ver_name)


def download(work: Work, infno: str, since: int) -> Download:
    """The file of every row of this download changed after version `since` (0: every row), oldest change first;
    an empty file when there is none (a catalog the dataset holds nothing of, or nothing new). The same request
    while the catalog has no newer version is answered with the same file (files.reusable_platform_file)."""
    region = (CatalogRow.admdvs == work.here.admdvs, CatalogRow.infno == infno)
    newest = work.session.scalar(select(func.max(CatalogRow.ver)).where(*region)) or 0
    since = min(since, newest)  # holding anything newer than the newest is holding everything: one empty file
    key = f"{work.here.admdvs}/{infno}/{since}/{newest}"
    if (kept := files.reusable_platform_file(work, key)) is not None:
        count = work.session.scalar(select(func.count()).select_from(CatalogRow).where(*region,
                                                                                      CatalogRow.ver > since))
        return Download(kept, count or 0)
    rows = list(work.session.scalars(
        select(CatalogRow).where(*region, CatalogRow.ver > since).order_by(CatalogRow.ver, CatalogRow.code)))
    stem = f"{work.now:%Y%m%d%H%M%S}{secrets.randbelow(10**13):013d}.txt"
    content = cf.zip_of(infno, (_published(r) for r in rows), stem)
    return Download(files.store_platform_file(work, stem + ".zip", content, key), len(rows))


@dataclass(frozen=True)
class Query:
    """A paged query's filters: exact field values, a part of the name, a day the row must be valid on."""

    updt_from: datetime
    page_num: int
    page_size: int
    equal: Mapping[str, str]
    name_part: str = ""
    valid_on: date | None = None
    vali_flag: str = ""
    rid: str = ""


@dataclass(frozen=True)
class Page:
    total: int
    rows: list[CatalogRow]


def _field(name: str) -> ColumnElement[str]:
    """A published field of the row, as text (NULL when the row has no such field)."""
    return CatalogRow.fields[name].as_string()


def _contains(work: Work, column: ColumnElement[str], part: str) -> ColumnElement[bool]:
    """`part` anywhere in `column`, case and all, `%` and `_` as themselves (LIKE folds ASCII case on SQLite)."""
    position = func.strpos if work.session.get_bind().dialect.name == "postgresql" else func.instr
    return position(column, part) > 0


def _conditions(work: Work, infno: str, q: Query) -> list[ColumnElement[bool]]:
    out = [CatalogRow.admdvs == work.here.admdvs, CatalogRow.infno == infno, CatalogRow.updt_time >= q.updt_from]
    for name, value in q.equal.items():
        out.append(_field(name) == value)
    if code := q.equal.get("hilist_code"):
        # the row's key is the code (1312, 1318) or code|insutype (1319): the primary key narrows the scan
        out.append(or_(CatalogRow.code == code, CatalogRow.code.startswith(code + "|", autoescape=True)))
    if q.name_part:
        out.append(_contains(work, CatalogRow.name, q.name_part))
    if q.valid_on is not None:
        day = q.valid_on.isoformat()
        begin, end = _field("begndate"), _field("enddate")
        out += [or_(func.coalesce(begin, "") == "", begin <= day), or_(func.coalesce(end, "") == "", end >= day)]
    if q.vali_flag:
        out.append(CatalogRow.vali_flag == q.vali_flag)
    if q.rid:
        out.append(CatalogRow.rid == q.rid)
    return out


def page(work: Work, infno: str, q: Query) -> Page:
    """One page of the region's rows of 1312, 1318 or 1319 updated at or after updt_from, by code. The filters,
    the count and the page are the database's: only the page's rows are read."""
    where = _conditions(work, infno, q)
    total = work.session.scalar(select(func.count()).select_from(CatalogRow).where(*where)) or 0
    rows = work.session.scalars(select(CatalogRow).where(*where).order_by(CatalogRow.code)
                                .offset((q.page_num - 1) * q.page_size).limit(q.page_size))
    return Page(total, list(rows))


def dictionary(kind: str, field: str) -> list[tuple[str, str]]:
    """(value, label) of one of the dictionaries yibao checks coded fields against (codes.DICTIONARIES)."""
    known = codes.DICTIONARIES.get(kind)
    if known is None:
        raise refuse(field, f"{kind[:30]!r} is not a dictionary yibao keeps; one of: "
                            f"{', '.join(sorted(codes.DICTIONARIES))}")
    return list(known.items())
