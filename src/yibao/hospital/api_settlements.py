"""Inpatient stays and retail pharmacy sales (inpatient.py, pharmacy.py): staff only (the desk, the bedside, the
counter). A stay or a sale is paid like bills: its answer is the stay with its payment (insurance figures, the
cash order, the slip's address); the slip is served by the /slips routes of api.py to staff and to the patient."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import Field

from yibao.hospital.api_base import Staff, Strict, plain
from yibao.hospital.fields import Id, IdempotencyHeader, Number, PathText, Text, When
from yibao.hospital.inpatient import Inpatient
from yibao.hospital.pharmacy import Pharmacy

router = APIRouter(tags=["inpatient", "pharmacy"])


class AdmissionIn(Strict):
    patient_id: Id
    begntime: When | None = None
    adm_dept_codg: Text(30) = ""
    adm_dept_name: Text(100) = ""
    med_type: Text(6, 1) = Field("21", description="21 普通住院 ...")
    diag_name: Text(200) = ""


class FeeLineIn(Strict):
    med_list_codg: Text(50, 1)
    medins_list_codg: Text(150) = ""
    name: Text(200) = ""
    pric: Number
    cnt: Number = Field(description="negative with init_feedetl_sn: a return")
    init_feedetl_sn: Text(30) = ""
    fee_ocur_time: When | None = None


class FeesIn(Strict):
    lines: list[FeeLineIn] = Field(min_length=1, max_length=500)


class PayWith(Strict):
    """How the cash part is paid: any channel, at the desk, the bedside or the counter."""

    acct_used_flag: Literal["0", "1"] = "1"
    channel: Literal["wechat", "alipay", "card", "deposit"] | None = Field(
        None, description="default: card at the desk or the bedside")
    terminal: Literal["desk", "clinic-room", "bedside"] = "desk"
    device: Text(32) | None = Field(None, description="the card terminal (default: the place's own)")
    payer_ref: Text(64) | None = None


class DischargeIn(Strict):
    endtime: When | None = None
    dscg_way: Text(6, 1) = "1"


class SettleIn(PayWith):
    endtime: When | None = None
    dscg_way: Text(6, 1) = "1"


class CancelIn(Strict):
    reason: Text(200) = ""


class SaleLineIn(Strict):
    med_list_codg: Text(50, 1)
    medins_list_codg: Text(150) = ""
    name: Text(200) = ""
    pric: Number
    cnt: Number
    rxno: Text(40) = ""


class SaleIn(PayWith):
    patient_id: Id
    lines: list[SaleLineIn] = Field(min_length=1, max_length=500)


def _pay(body: PayWith) -> dict[str, Any]:
    return {"acct_used_flag": body.acct_used_flag, "channel": body.channel, "terminal": body.terminal,
            "device": body.device, "payer_ref": body.payer_ref}


def _inpatient(request: Request) -> Inpatient:
    return Inpatient(request.app.state.hospital)


def _pharmacy(request: Request) -> Pharmacy:
    return Pharmacy(request.app.state.hospital)


@router.post("/inpatient/stays", summary="入院办理 (2401)", status_code=201)
def admit(body: AdmissionIn, request: Request, _p: Staff) -> Any:
    return plain(_inpatient(request).admit(**body.model_dump()))


@router.get("/inpatient/stays/{no}")
def stay(no: PathText(30), request: Request, _p: Staff) -> Any:
    return plain(_inpatient(request).get(no))


@router.post("/inpatient/stays/{no}/fees", summary="住院费用明细上传 (2301, output kept)")
def fees(no: PathText(30), body: FeesIn, request: Request, _p: Staff) -> Any:
    return plain(_inpatient(request).upload(no, [x.model_dump() for x in body.lines]))


@router.post("/inpatient/stays/{no}/discharge", summary="出院办理 (2402)")
def discharge(no: PathText(30), body: DischargeIn, request: Request, _p: Staff) -> Any:
    return plain(_inpatient(request).discharge(no, body.endtime, body.dscg_way))


@router.post("/inpatient/stays/{no}/settle",
             summary="出院 + 住院预结算 + 结算 + 自付部分收款 (2402, 2303, 2304, channel)")
def settle(no: PathText(30), body: SettleIn, request: Request, _p: Staff,
           idempotency_key: IdempotencyHeader = None) -> Any:
    return plain(_inpatient(request).settle(no, body.endtime, body.dscg_way, idempotency_key=idempotency_key,
                                            **_pay(body)))


@router.post("/inpatient/stays/{no}/cancel", summary="住院结算撤销 (2305) and the cash refunded")
def cancel_stay(no: PathText(30), request: Request, _p: Staff, body: CancelIn | None = None) -> Any:
    return plain(_inpatient(request).cancel(no, body.reason if body else ""))


@router.post("/pharmacy/sales", summary="药店购药: 2101 预结算 + 2102 结算 + 自付部分收款", status_code=201)
def sell(body: SaleIn, request: Request, _p: Staff, idempotency_key: IdempotencyHeader = None) -> Any:
    return plain(_pharmacy(request).sell(body.patient_id, [x.model_dump() for x in body.lines],
                                         idempotency_key=idempotency_key, **_pay(body)))


@router.post("/pharmacy/sales/{no}/pay", summary="Pay an open sale again (its last payment failed)")
def pay_sale(no: PathText(30), body: PayWith, request: Request, _p: Staff,
             idempotency_key: IdempotencyHeader = None) -> Any:
    return plain(_pharmacy(request).pay(no, idempotency_key=idempotency_key, **_pay(body)))


@router.get("/pharmacy/sales/{no}")
def sale(no: PathText(30), request: Request, _p: Staff) -> Any:
    return plain(_pharmacy(request).get(no))


@router.post("/pharmacy/sales/{no}/cancel", summary="药店结算撤销 (2103) and the cash refunded")
def cancel_sale(no: PathText(30), request: Request, _p: Staff, body: CancelIn | None = None) -> Any:
    return plain(_pharmacy(request).cancel(no, body.reason if body else ""))
