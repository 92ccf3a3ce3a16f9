"""4201A-4209 自费病人就医信息: self-pay patients' visits, diagnoses and fee lines (interface-integration.md
section 8; yibao's readings in docs/setl_list.md). The nodes are not wrapped in `data`: OS and GZ put their
camelCase node names or flat keys straight under `input` (a `data` wrapper around the flat keys is accepted too).
The rules are platform/selfpay.py's."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AliasChoices, Field, model_validator

from yibao.gateway.fields import Amount, Flag, Id, Number, PageNum, Text, Time, Whole, code
from yibao.gateway.paging import page_answer
from yibao.gateway.registry import Node, interface
from yibao.platform import selfpay
from yibao.platform.work import Work

TIME = "%Y-%m-%d %H:%M:%S"
PAGE_SIZE_MAX = 1000
Visit = Annotated[str, Field(strict=True, min_length=1, max_length=30)]
#: every field stored in a column is bounded by it (store/models.py SelfpayFee, SelfpayVisit)
Sn = Annotated[str, Field(strict=True, max_length=30)]
MedListCode = Annotated[str, Field(strict=True, max_length=50)]
HisCode = Annotated[str, Field(strict=True, max_length=150)]
Required = Annotated[str, Field(strict=True, min_length=1, max_length=500)]


def _alias(*names: str) -> Any:
    return AliasChoices(*names)


class FeeRow(Node):
    fixmedins_mdtrt_id: Visit
    bkkp_sn: Visit
    fee_ocur_time: Time
    cnt: Number
    pric: Number
    det_item_fee_sumamt: Amount
    fixmedins_code: Id = ""
    med_type: code("med_type", empty=True) = ""
    med_list_codg: MedListCode = ""
    medins_list_codg: HisCode = ""
    medins_list_name: Text = ""
    med_chrgitm_type: code("med_chrgitm_type", empty=True) = ""


class MdtrtRow(Node):
    fixmedins_mdtrt_id: Visit
    psn_cert_type: code("psn_cert_type")
    certno: Annotated[str, Field(strict=True, min_length=1, max_length=50)]
    psn_name: Annotated[str, Field(strict=True, min_length=1, max_length=50)]
    begntime: Time
    fixmedins_code: Id = ""
    med_type: code("med_type", empty=True) = ""
    medfee_sumamt: Amount | None = None


class DiagRow(Node):
    diag_type: code("diag_type")
    diag_code: Required
    diag_name: Required
    maindiag_flag: Flag = "0"
    vali_flag: Flag = "1"


class Flat(Node):
    fixmedins_mdtrt_id: Visit
    fixmedins_code: Id = ""

    @model_validator(mode="before")
    @classmethod
    def _unwrap(cls, value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("data"), dict) and "fixmedins_mdtrt_id" not in value:
            return value["data"]
        return value


def _fee(row: FeeRow, path: str) -> selfpay.FeeIn:
    return selfpay.FeeIn(path, row.fixmedins_mdtrt_id, row.bkkp_sn, row.fee_ocur_time, row.cnt, row.pric,
                         row.det_item_fee_sumamt, row.med_list_codg, row.medins_list_codg, row.med_chrgitm_type,
                         row.fixmedins_code, row.model_dump(mode="json"))


def _visit(row: MdtrtRow, path: str) -> selfpay.VisitIn:
    return selfpay.VisitIn(path, row.fixmedins_mdtrt_id, row.psn_cert_type, row.certno, row.psn_name,
                           row.begntime, row.med_type, row.medfee_sumamt, row.fixmedins_code,
                           row.model_dump(mode="json"))


def _caller(work: Work, flat: Flat) -> None:
    selfpay.ours(work, "input", flat.fixmedins_code)


# -- uploads ----------------------------------------------------------------------------------------------

class Input4201A(Node):
    fsiOwnpayPatnFeeListDDTO: list[FeeRow] = Field(  # noqa: N815 (the node's name on the wire)
        min_length=1, validation_alias=_alias("fsiOwnpayPatnFeeListDDTO", "feedetail"))


@interface("4201A", "自费病人住院费用明细信息上传", Input4201A)
def upload_fees(work: Work, data: Input4201A) -> dict:
    rows = data.fsiOwnpayPatnFeeListDDTO
    n = selfpay.upload_fees(work, [_fee(r, f"input.fsiOwnpayPatnFeeListDDTO[{i}]") for i, r in enumerate(rows)])
    return {"data": {"fixmedins_mdtrt_id": sorted({r.fixmedins_mdtrt_id for r in rows}), "fee_cnt": n}}


class Input4202(Node):
    ownPayPatnMdtrtD: MdtrtRow = Field(validation_alias=_alias("ownPayPatnMdtrtD", "mdtrtinfo"))  # noqa: N815
    ownPayPatnDiagListD: list[DiagRow] = Field(  # noqa: N815
        default=[], validation_alias=_alias("ownPayPatnDiagListD", "diseinfo"))


@interface("4202", "自费病人住院就诊和诊断信息上传", Input4202)
def upload_stay(work: Work, data: Input4202) -> dict:
    visit = selfpay.upload_stay(work, _visit(data.ownPayPatnMdtrtD, "input.ownPayPatnMdtrtD"),
                                [d.model_dump(mode="json") for d in data.ownPayPatnDiagListD])
    return {"data": _visit_out(visit)}


class Input4203(Flat):
    cplt_flag: Flag


@interface("4203", "自费病人就诊以及费用明细上传完成", Input4203)
def complete(work: Work, data: Input4203) -> dict:
    _caller(work, data)
    visit = selfpay.complete(work, data.fixmedins_mdtrt_id, data.cplt_flag)
    return {"data": _visit_out(visit)}


class FeeDelete(Node):
    fixmedins_mdtrt_id: Visit
    fixmedins_code: Id = ""


class FeeDeleteSn(Node):
    bkkp_sn: Sn = ""


class Input4204(Node):
    feedetail: FeeDelete
    #: GZ spells the node feedetI; one object or a list of them; none (or an empty bkkp_sn) names every line
    feedetl: FeeDeleteSn | list[FeeDeleteSn] | None = Field(default=None,
                                                           validation_alias=_alias("feedetl", "feedetI"))


@interface("4204", "自费病人住院费用明细删除", Input4204)
def delete_fees(work: Work, data: Input4204) -> dict:
    head = data.feedetail
    selfpay.ours(work, "input.feedetail", head.fixmedins_code)
    named = data.feedetl if isinstance(data.feedetl, list) else [data.feedetl] if data.feedetl else []
    n = selfpay.delete_fees(work, head.fixmedins_mdtrt_id, [x.bkkp_sn for x in named])
    return {"data": {"fixmedins_mdtrt_id": head.fixmedins_mdtrt_id, "fee_cnt": n}}


class Input4205(Node):
    mdtrtinfo: MdtrtRow
    diseinfo: list[DiagRow] = []
    feedetail: list[FeeRow] = Field(min_length=1)


@interface("4205", "自费病人门诊就医信息上传", Input4205)
def upload_outpatient(work: Work, data: Input4205) -> dict:
    visit = selfpay.upload_outpatient(work, _visit(data.mdtrtinfo, "input.mdtrtinfo"),
                                      [d.model_dump(mode="json") for d in data.diseinfo],
                                      [_fee(r, f"input.feedetail[{i}]") for i, r in enumerate(data.feedetail)])
    return {"data": {**_visit_out(visit), "fee_cnt": len(data.feedetail)}}


class Input4206(Flat):
    pass


@interface("4206", "自费病人门诊就医信息删除", Input4206)
def delete_visit(work: Work, data: Input4206) -> dict:
    _caller(work, data)
    return {"data": _visit_out(selfpay.delete_visit(work, data.fixmedins_mdtrt_id))}


# -- queries: no sign-in (the public clients send an empty sign_no for them) ---------------------------------

class Paged(Flat):
    page_num: PageNum = 1
    page_size: Whole = Field(default=100, ge=1, le=PAGE_SIZE_MAX)


def _page(rows: list[dict], q: Paged) -> dict:
    """The national paging wrapper (gateway/paging.py) and, as before, total / page_num / page_size."""
    start = (q.page_num - 1) * q.page_size
    return {**page_answer(len(rows), rows[start:start + q.page_size], q.page_num, q.page_size),
            "total": len(rows), "page_num": q.page_num, "page_size": q.page_size}


def _visit_out(v: Any) -> dict:
    return {**(v.info or {}), "fixmedins_mdtrt_id": v.fixmedins_mdtrt_id, "fixmedins_code": v.fixmedins_code,
            "psn_cert_type": v.psn_cert_type or "", "certno": v.certno or "", "psn_name": v.psn_name or "",
            "begntime": f"{v.begntime:{TIME}}" if v.begntime else "", "med_type": v.med_type or "",
            "medfee_sumamt": v.medfee_sumamt, "mdtrt_kind": v.kind, "vali_flag": v.vali_flag,
            "cplt_flag": v.cplt_flag}


@interface("4207", "自费病人就医费用明细查询", Paged)
def query_fees(work: Work, data: Paged) -> dict:
    _caller(work, data)
    rows = [{**(r.raw or {}), "fixmedins_mdtrt_id": r.fixmedins_mdtrt_id, "fixmedins_code": r.fixmedins_code,
             "bkkp_sn": r.bkkp_sn, "fee_ocur_time": f"{r.fee_ocur_time:{TIME}}", "cnt": r.cnt, "pric": r.pric,
             "det_item_fee_sumamt": r.det_item_fee_sumamt} for r in selfpay.fees(work, data.fixmedins_mdtrt_id)]
    return _page(rows, data)


@interface("4208", "自费病人就医就诊信息查询", Paged)
def query_visit(work: Work, data: Paged) -> dict:
    _caller(work, data)
    return _page([_visit_out(selfpay.visit(work, data.fixmedins_mdtrt_id))], data)


@interface("4209", "自费病人就医诊断信息查询", Paged)
def query_diagnoses(work: Work, data: Paged) -> dict:
    _caller(work, data)
    rows = [{**d, "fixmedins_mdtrt_id": data.fixmedins_mdtrt_id}
            for d in selfpay.diagnoses(work, data.fixmedins_mdtrt_id)]
    return _page(rows, data)
