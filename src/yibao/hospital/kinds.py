"""Stays and sales (`kind_settlements`) as the cashier and their own modules both see them: reading and writing
the row, the patient they settle, and what settles them (2303 / 2304 for a stay, 2101 / 2102 for a sale) with
the split the settlement answers. inpatient.py and pharmacy.py make them; the cashier pays them like bills."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from yibao.hospital.db import KindSettlement, Patient
from yibao.hospital.errors import invalid, not_found
from yibao.hospital.states import SALES, STAYS, Machine, SaleStatus, StayStatus
from yibao.money import ZERO, round2, to_decimal

if TYPE_CHECKING:
    from yibao.hospital.context import Context

TIME = "%Y-%m-%d %H:%M:%S"
SPLIT = ("fulamt_ownpay_amt", "overlmt_amt", "preselfpay_amt", "inscp_scp_amt")
NOUN = {"inpatient": "stay", "retail": "sale"}
#: the state a stay or sale goes back to when its payment fails or is refunded: it can be paid again
PAYABLE_AGAIN: dict[str, StayStatus | SaleStatus] = {"inpatient": StayStatus.DISCHARGED, "retail": SaleStatus.OPEN}
PAYING: dict[str, StayStatus | SaleStatus] = {"inpatient": StayStatus.PAYING, "retail": SaleStatus.PAYING}
SETTLED: dict[str, StayStatus | SaleStatus] = {"inpatient": StayStatus.SETTLED, "retail": SaleStatus.SETTLED}
#: after a refund a stay may be settled again, a sale is over
REFUNDED: dict[str, StayStatus | SaleStatus] = {"inpatient": StayStatus.DISCHARGED, "retail": SaleStatus.CANCELLED}


def machine(kind: str) -> Machine[Any]:
    """The states of a stay (inpatient) or a sale (retail)."""
    return STAYS if kind == "inpatient" else SALES


def insured_patient(h: Context, patient_id: int) -> Patient:
    with h.db.session() as s:
        patient = s.get(Patient, patient_id)
    if patient is None:
        raise not_found(f"patient {patient_id} is not known")
    if not patient.psn_no:
        raise invalid(f"patient {patient_id}: not insured (no psn_no from 1101); settle him as self-paying")
    return patient


def cert_of(patient: Patient) -> dict[str, str]:
    return {"mdtrt_cert_type": patient.mdtrt_cert_type or "02",
            "mdtrt_cert_no": patient.mdtrt_cert_no or patient.certno}


def load(h: Context, kind: str, no: str) -> KindSettlement:
    with h.db.session() as s:
        row = s.scalar(select(KindSettlement).where(KindSettlement.no == no, KindSettlement.kind == kind))
    if row is None:
        raise not_found(f"{NOUN[kind]} {no} is not known")
    return row


def save(h: Context, no: str, **values: Any) -> KindSettlement:
    """Write `values` on the stay or sale (never its status: that is its machine's)."""
    if "status" in values:
        raise ValueError("a stay's or a sale's status changes by its machine (states.py)")
    with h.db.session() as s:
        row = s.scalar(select(KindSettlement).where(KindSettlement.no == no))
        assert row is not None
        for k, v in values.items():
            setattr(row, k, v)
        row.updated_at = h.now()
        s.flush()
        return row


def line_amount(pric: Any, cnt: Any) -> Decimal:
    return round2(to_decimal(pric) * to_decimal(cnt))


def sale_input(sale: KindSettlement, patient: Patient, acct_used_flag: str) -> dict[str, Any]:
    """The 2101 / 2102 input of a sale (the same for both)."""
    drugs = [{k: x[k] for k in ("feedetl_sn", "rxno", "rx_circ_flag", "fee_ocur_time", "med_list_codg",
                                "medins_list_codg", "det_item_fee_sumamt", "cnt", "pric")} for x in sale.lines]
    return {"druginfo": {"psn_no": patient.psn_no, **cert_of(patient), "begntime": f"{sale.created_at:{TIME}}",
                         "medfee_sumamt": str(sale.total), "invono": "", "insutype": patient.insutype,
                         "acct_used_flag": acct_used_flag, "med_type": "41"},
            "drugdetail": drugs}


def settlement_messages(h: Context, stay: KindSettlement, acct_used_flag: str) -> tuple[str, str, dict[str, Any]]:
    """(pre-settlement infno, settlement infno, their input) of a stay (2303/2304) or a sale (2101/2102)."""
    patient = insured_patient(h, stay.patient_id)
    if stay.kind == "retail":
        return "2101", "2102", sale_input(stay, patient, acct_used_flag)
    sums = {k: sum((Decimal(x[k]) for x in stay.lines if x.get(k) not in (None, "")), ZERO) for k in SPLIT}
    return "2303", "2304", {"data": {
        "psn_no": stay.psn_no, **cert_of(patient), "medfee_sumamt": str(stay.total), "psn_setlway": "01",
        "mdtrt_id": stay.mdtrt_id, "insutype": stay.insutype, "acct_used_flag": acct_used_flag,
        "invono": "", "mid_setl_flag": "0", "fulamt_ownpay_amt": str(sums["fulamt_ownpay_amt"]),
        "overlmt_selfpay": str(sums["overlmt_amt"]), "preselfpay_amt": str(sums["preselfpay_amt"]),
        "inscp_scp_amt": str(sums["inscp_scp_amt"])}}


def record_split(h: Context, stay_no: str, out: dict[str, Any]) -> None:
    """A sale's lines take the 2102 split (detlcutinfo) and its mdtrt_id; a stay's split came with 2301."""
    with h.db.session() as s:
        row = s.scalar(select(KindSettlement).where(KindSettlement.no == stay_no))
        assert row is not None
        row.mdtrt_id = str(out["setlinfo"]["mdtrt_id"])
        if row.kind == "retail":
            split = {str(r["feedetl_sn"]): r for r in out.get("detlcutinfo") or []}
            row.lines = [{**x, **{k: str(split.get(x["feedetl_sn"], {}).get(k, "")) for k in SPLIT}}
                         for x in row.lines]
