"""Catalog mapping 目录对照: 3301 upload, 3302 cancel, 1316 / 1317 queries (interface-integration.md 4, 2.3, 2.4;
yibao's readings in docs/mapping.md). The use cases are platform/mapping.py.

Clients disagree on the node: NT sends `data` as one object, GZ `catalogcompin` as a list, ZB 3302 under
`catalogcompin`; every spelling is accepted, one row or a list. The HIS code is `fixmedins_hilist_id` in the
spec's table and `medins_list_codg` on the fee lines; either names it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, ValidationError

from yibao.errors import Refusal, refuse
from yibao.gateway.fields import Begin, Day, Id, MaybeDay, PageNum, Whole, code
from yibao.gateway.paging import page_answer
from yibao.gateway.registry import Node, interface
from yibao.platform import mapping
from yibao.platform.work import Work
from yibao.validation import problems_of

TIME = "%Y-%m-%d %H:%M:%S"
Name = Annotated[str, Field(strict=True, max_length=200)]
ListCode = Annotated[str, Field(strict=True, max_length=50)]
#: the optional 3301 fields kept as sent and returned by 1317 (GZ adds drugadm_strdcod and pric)
EXTRAS = ("aprvno", "dosform", "exct_cont", "item_cont", "prcunt", "spec", "pacspec", "memo", "drugadm_strdcod",
          "pric")
MAX_PAGE_SIZE = 1000


def _rows(input_: Any, model: type[BaseModel]) -> list[tuple[str, Any]]:
    """(path, row) for every row under `data` or `catalogcompin`, each an object or a list of them."""
    given = [key for key in ("data", "catalogcompin") if key in input_]
    if len(given) != 1:
        raise refuse("input.data", "is required: the rows under data (or catalogcompin), not both"
                     if not given else "send the rows under data or under catalogcompin, not both")
    node = given[0]
    raw = input_[node]
    items = [(f"input.{node}", raw)] if isinstance(raw, dict) else [
        (f"input.{node}[{i}]", x) for i, x in enumerate(raw)] if isinstance(raw, list) else None
    if not items:
        raise refuse(f"input.{node}", "must be an object or a non-empty list of objects")
    out = []
    for path, item in items:
        try:
            out.append((path, model.model_validate(item)))
        except ValidationError as exc:
            raise Refusal("; ".join(f"{p}: {r}" for p, r in problems_of(exc, [path]))) from None
    return out


def _his_code(path: str, row: Any) -> str:
    """fixmedins_hilist_id (spec) or medins_list_codg (the fee lines' name): one of them, the same if both."""
    a, b = row.fixmedins_hilist_id, row.medins_list_codg
    if a and b and a != b:
        raise refuse(f"{path}.medins_list_codg", f"{b} differs from fixmedins_hilist_id {a}; they name one code")
    if not (a or b):
        raise refuse(f"{path}.fixmedins_hilist_id", "is required (the institution's own item code)")
    return a or b


class MappingInput(Node):
    """The whole `input`: validated row by row in `_rows`, so each problem names its row."""


# -- 3301 目录对照上传 -------------------------------------------------------------------------------------

class Row3301(Node):
    fixmedins_hilist_id: Id = ""
    medins_list_codg: Id = ""
    fixmedins_hilist_name: Name = ""
    medins_list_name: Name = ""
    list_type: code("list_type")
    med_list_codg: ListCode = Field(min_length=1)
    begndate: Day
    enddate: MaybeDay = None


@interface("3301", "目录对照上传", MappingInput)
def upload(work: Work, data: MappingInput) -> dict:
    rows = []
    for path, row in _rows(data.model_dump(), Row3301):
        extra = row.model_extra or {}
        rows.append(mapping.MappingIn(
            path=path, medins_list_codg=_his_code(path, row),
            medins_list_name=row.fixmedins_hilist_name or row.medins_list_name, list_type=row.list_type,
            med_list_codg=row.med_list_codg, begndate=row.begndate, enddate=row.enddate,
            info={k: str(extra[k])[:2000] for k in EXTRAS if extra.get(k) not in (None, "")}))
    done = mapping.upload(work, rows)
    # no output is documented; yibao says what it kept, which a client may ignore
    return {"result": [{"fixmedins_hilist_id": u.row.medins_list_codg, "med_list_codg": u.row.med_list_codg,
                        "rid": u.row.rid, "replaced_rid": u.replaced.rid if u.replaced else ""} for u in done]}


# -- 3302 目录对照撤销 -------------------------------------------------------------------------------------

class Row3302(Node):
    fixmedins_code: Id = ""
    fixmedins_hilist_id: Id = ""
    medins_list_codg: Id = ""
    list_type: code("list_type", empty=True) = ""
    med_list_codg: ListCode = ""


@interface("3302", "目录对照撤销", MappingInput)
def cancel(work: Work, data: MappingInput) -> dict:
    out = []
    for path, row in _rows(data.model_dump(), Row3302):
        if row.fixmedins_code and row.fixmedins_code != work.here.code:
            raise refuse(f"{path}.fixmedins_code", f"{row.fixmedins_code} is not the calling institution; an "
                                                   "institution cancels its own mappings only")
        done = mapping.cancel(work, path, _his_code(path, row), row.list_type, row.med_list_codg)
        out.append({"fixmedins_hilist_id": done.medins_list_codg, "rid": done.rid})
    return {"result": out}


# -- 1316 / 1317 queries -----------------------------------------------------------------------------------

class QueryData(Node):
    query_date: MaybeDay = None
    fixmedins_code: Id = ""
    medins_list_codg: Id = ""
    medins_list_name: Name = ""
    hilist_code: ListCode = ""
    med_list_codg: ListCode = ""
    list_type: code("list_type", empty=True) = ""
    insu_admdvs: Annotated[str, Field(strict=True, max_length=6)] = ""
    begndate: MaybeDay = None
    vali_flag: Annotated[str, Field(pattern=r"^[01]?$")] = ""
    updt_time: Begin
    page_num: PageNum
    page_size: Whole = Field(ge=1, le=MAX_PAGE_SIZE)


class QueryInput(Node):
    data: QueryData


def _page(work: Work, d: QueryData, row_of: Any) -> dict:
    if d.fixmedins_code and d.fixmedins_code != work.here.code:
        raise refuse("input.data.fixmedins_code", f"{d.fixmedins_code} is not the calling institution; an "
                                                  "institution reads its own mappings only")
    if d.hilist_code and d.med_list_codg and d.hilist_code != d.med_list_codg:
        raise refuse("input.data.hilist_code", f"differs from med_list_codg {d.med_list_codg}; in yibao they "
                                               "name the same catalog code")
    total, rows = mapping.query(work, mapping.Query(
        updt_time=d.updt_time, page_num=d.page_num, page_size=d.page_size, query_date=d.query_date,
        medins_list_codg=d.medins_list_codg, medins_list_name=d.medins_list_name,
        med_list_codg=d.med_list_codg or d.hilist_code, list_type=d.list_type, insu_admdvs=d.insu_admdvs,
        begndate=d.begndate, vali_flag=d.vali_flag))
    return page_answer(total, [row_of(work, r) for r in rows], d.page_num, d.page_size)


def _common(work: Work, r: mapping.CatalogMapping) -> dict[str, Any]:
    """The columns 1316 and 1317 share: validity, record id, who made it and who last changed it."""
    ended = r.ended_at is not None
    return {
        "list_type": r.list_type, "insu_admdvs": r.catalog_admdvs, "begndate": r.begndate.isoformat(),
        "enddate": r.enddate.isoformat() if r.enddate else "", "memo": (r.info or {}).get("memo", ""),
        "vali_flag": "1" if r.status == mapping.ACTIVE else "0", "rid": r.rid, "updt_time": _time(r.updated_at),
        "crter_id": r.opter, "crter_name": r.opter_name, "crte_time": _time(r.created_at),
        "crte_optins_no": r.fixmedins_code, "opter_id": r.ended_by if ended else r.opter,
        "opter_name": "" if ended else r.opter_name, "opt_time": _time(r.updated_at), "optins_no": r.fixmedins_code,
        "poolarea_no": r.catalog_admdvs,
        # yibao's additions: where the mapping stands and the messages that made and ended it
        "map_stas": r.status, "crte_msgid": r.msgid, "end_msgid": r.ended_msgid or "",
    }


def _time(value: datetime) -> str:
    return f"{value:{TIME}}"


def _row1316(work: Work, r: mapping.CatalogMapping) -> dict[str, Any]:
    # one catalog: the medical list code and the insurance list code are the same code in yibao
    return {"med_list_codg": r.med_list_codg, "hilist_code": r.med_list_codg,
            "medins_list_codg": r.medins_list_codg, **_common(work, r)}


def _row1317(work: Work, r: mapping.CatalogMapping) -> dict[str, Any]:
    info = r.info or {}
    return {"fixmedins_code": r.fixmedins_code, "medins_list_codg": r.medins_list_codg,
            "fixmedins_hilist_id": r.medins_list_codg, "medins_list_name": r.medins_list_name,
            "fixmedins_hilist_name": r.medins_list_name, "med_list_codg": r.med_list_codg,
            **{k: info.get(k, "") for k in EXTRAS}, **_common(work, r)}


@interface("1316", "医疗目录与医保目录匹配信息查询", QueryInput)
def match_query(work: Work, data: QueryInput) -> dict:
    return _page(work, data.data, _row1316)


@interface("1317", "医药机构目录匹配信息查询", QueryInput)
def institution_match_query(work: Work, data: QueryInput) -> dict:
    return _page(work, data.data, _row1317)
