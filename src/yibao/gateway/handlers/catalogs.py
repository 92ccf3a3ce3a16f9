"""Catalog downloads 1301-1315, catalog queries 1312/1318/1319 and the dictionary query 1901
(interface-integration.md sections 1-3; yibao's readings in docs/catalogs.md). None needs a sign-in: a HIS
keeps its catalogs in step before anyone is at the desk."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import Field, field_validator

from yibao.gateway.fields import MAX_PAGE_NUM, Begin, MaybeDay, Text, Whole, code, regional_code
from yibao.gateway.paging import page_answer
from yibao.gateway.registry import Node, interface
from yibao.platform import catalogs
from yibao.platform.work import Work
from yibao.rules.catalog_file import FILES

TIME = "%Y-%m-%d %H:%M:%S"
#: the largest page a query serves: a HIS pages through a catalog, it does not take it whole
MAX_PAGE = 1000

# -- 1301-1315 downloads ---------------------------------------------------------------------------------------


#: the largest version a catalog row can carry (its column is a 64-bit integer)
MAX_VERSION = 2**63 - 1


def _version(value: Any) -> int:
    """data.ver: the highest version the HIS holds (the file's 版本号 column); "" or "0" for every row."""
    if value is None or value == "":
        return 0
    number = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 20:
        number = int(value.strip())
    if number is None or not 0 <= number <= MAX_VERSION:
        raise ValueError(f'must be the highest version held: a whole number from 0 to {MAX_VERSION}, or "0" or '
                         "empty for every row")
    return number


class DataDownload(Node):
    ver: Any = 0  # absent: every row

    @field_validator("ver", mode="before")
    @classmethod
    def _ver(cls, value: Any) -> int:
        return _version(value)


class InputDownload(Node):
    data: DataDownload


def _register_download(infno: str, name: str) -> None:
    @interface(infno, name, InputDownload)
    def run(work: Work, data: InputDownload) -> dict:
        got = catalogs.download(work, infno, data.data.ver)
        row = got.file
        # the spec's table spells the deadline dld_endtime, two clients read dld_end_time: both are sent
        end = f"{row.dld_endtime:%Y-%m-%d}"
        return {"file_qury_no": row.file_qury_no, "filename": row.filename, "dld_endtime": end,
                "dld_end_time": end, "data_cnt": got.data_cnt}


for _infno, _kind in FILES.items():
    _register_download(_infno, _kind.name + "下载")


# -- 1312, 1318, 1319 paged queries -----------------------------------------------------------------------------

class Paged(Node):
    updt_time: Begin
    page_num: Whole
    page_size: Whole
    query_date: MaybeDay = None
    insu_admdvs: Text = ""
    begndate: Text = ""
    enddate: Text = ""
    vali_flag: Text = ""
    rid: Text = ""

    @field_validator("page_num")
    @classmethod
    def _page_num(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be 1 or more")
        if value > MAX_PAGE_NUM:
            raise ValueError(f"must be at most {MAX_PAGE_NUM}: a catalog is paged through, not skipped past")
        return value

    @field_validator("page_size")
    @classmethod
    def _page_size(cls, value: int) -> int:
        if not 1 <= value <= MAX_PAGE:
            raise ValueError(f"must be from 1 to {MAX_PAGE}")
        return value

    @field_validator("vali_flag")
    @classmethod
    def _vali_flag(cls, value: str) -> str:
        if value not in ("", "0", "1"):
            raise ValueError('must be "1" (valid), "0" (no longer valid) or empty')
        return value


class Data1312(Paged):
    hilist_code: Text = ""
    hilist_name: Text = ""
    wubi: Text = ""
    pinyin: Text = ""
    med_chrgitm_type: code("med_chrgitm_type", empty=True) = ""  # type: ignore[valid-type]
    chrgitm_lv: code("chrgitm_lv", empty=True) = ""  # type: ignore[valid-type]
    list_type: code("list_type", empty=True) = ""  # type: ignore[valid-type]
    lmt_used_flag: code("lmt_used_flag", empty=True) = ""  # type: ignore[valid-type]
    med_use_flag: code("med_use_flag", empty=True) = ""  # type: ignore[valid-type]
    matn_used_flag: code("matn_used_flag", empty=True) = ""  # type: ignore[valid-type]
    hilist_use_type: regional_code("hilist_use_type", 3) = ""  # type: ignore[valid-type]
    lmt_cpnd_type: regional_code("lmt_cpnd_type", 3) = ""  # type: ignore[valid-type]


class Data1318(Paged):
    hilist_code: Text = ""
    #: the dataset's codes (docs/catalogs.md): no public dictionary
    hilist_lmtpric_type: regional_code("hilist_lmtpric_type", 50) = ""  # type: ignore[valid-type]
    overlmt_dspo_way: regional_code("overlmt_dspo_way", 50) = ""  # type: ignore[valid-type]
    tabname: Text = ""
    poolarea_no: Text = ""


class Data1319(Paged):
    hilist_code: Text = ""
    selfpay_prop_psn_type: Text = ""
    selfpay_prop_type: Text = ""
    tabname: Text = ""
    poolarea_no: Text = ""


class Input1312(Node):
    data: Data1312


class Input1318(Node):
    data: Data1318


class Input1319(Node):
    data: Data1319


#: the filters compared with the row's field of the same name, when sent
_EQUAL = {
    "1312": ("hilist_code", "insu_admdvs", "begndate", "enddate", "wubi", "pinyin", "med_chrgitm_type", "chrgitm_lv",
             "list_type", "lmt_used_flag", "med_use_flag", "matn_used_flag", "hilist_use_type", "lmt_cpnd_type"),
    "1318": ("hilist_code", "insu_admdvs", "begndate", "enddate", "hilist_lmtpric_type", "overlmt_dspo_way",
             "tabname", "poolarea_no"),
    "1319": ("hilist_code", "insu_admdvs", "begndate", "enddate", "selfpay_prop_psn_type", "selfpay_prop_type",
             "tabname", "poolarea_no"),
}
#: fields held as decimal text, answered as exact numbers
_NUMBERS = ("hilist_pric_uplmt_amt", "selfpay_prop")


def _row(row: Any) -> dict[str, Any]:
    out: dict[str, Any] = dict(row.fields)
    for name in _NUMBERS:
        if name in out:
            out[name] = Decimal(out[name])
    out["begndate"] = out.get("begndate") or f"{row.crte_time:%Y-%m-%d}"
    out.update(vali_flag=row.vali_flag, rid=row.rid, updt_time=f"{row.updt_time:{TIME}}", crter_id="",
               crter_name="yibao", crte_time=f"{row.crte_time:{TIME}}", crte_optins_no=row.admdvs, opter_id="",
               opter_name="yibao", opt_time=f"{row.updt_time:{TIME}}", optins_no=row.admdvs)
    return out


def _paged(work: Work, infno: str, d: Paged) -> dict:
    equal = {k: v for k in _EQUAL[infno] if (v := getattr(d, k, ""))}
    q = catalogs.Query(d.updt_time, d.page_num, d.page_size, equal, getattr(d, "hilist_name", ""), d.query_date,
                       d.vali_flag, d.rid)
    got = catalogs.page(work, infno, q)
    return page_answer(got.total, [_row(r) for r in got.rows], d.page_num, d.page_size)


@interface("1312", "医保目录信息查询", Input1312)
def hilist_query(work: Work, data: Input1312) -> dict:
    return _paged(work, "1312", data.data)


@interface("1318", "医保目录限价信息查询", Input1318)
def price_limit_query(work: Work, data: Input1318) -> dict:
    return _paged(work, "1318", data.data)


@interface("1319", "医保目录先自付比例信息查询", Input1319)
def selfpay_query(work: Work, data: Input1319) -> dict:
    return _paged(work, "1319", data.data)


# -- 1901 dictionaries ----------------------------------------------------------------------------------------

class Data1901(Node):
    type: Text = Field(min_length=1, max_length=30)
    parentValue: Text = ""
    admdvs: Text = ""
    date: MaybeDay = None
    # clients spell the validity flag three ways (interface-integration.md 3)
    valiFlag: Text = ""
    vali_flag: Text = ""
    vali_Flag: Text = ""


class Input1901(Node):
    data: Data1901


@interface("1901", "字典表查询", Input1901)
def dictionary_query(work: Work, data: Input1901) -> dict:
    """yibao's dictionaries are flat and all valid: parentValue does not narrow them, valiFlag "0" finds none.
    Keys whose casing clients disagree on are sent both ways."""
    d = data.data
    entries = catalogs.dictionary(d.type, "input.data.type")
    if "0" in (d.valiFlag, d.vali_flag, d.vali_Flag):
        entries = []
    today = f"{work.today:%Y-%m-%d}"
    return {"list": [{"type": d.type, "label": label, "value": value, "parentValue": "", "parent_value": "",
                      "sort": i, "valiFlag": "1", "vali_flag": "1", "createUser": "yibao", "create_user": "yibao",
                      "createDate": today, "create_date": today, "version": 1}
                     for i, (value, label) in enumerate(entries, 1)]}
