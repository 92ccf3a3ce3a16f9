"""Retail pharmacy sales (定点药店购药, med_type 41) through the platform, paid like bills (cashier/paying.py,
pay_stay): 2101 pre-settlement (kept on the sale), 2102 settlement (kept on the payment; its detlcutinfo is the lines'
split), the cash part through any channel at the counter, a failed cash leg undone by 2103. Cancelling a paid
sale refunds it: 2103 and the cash back through its channel. Meant for an institution the platform knows as a
pharmacy; the platform refuses 2102 from another kind, and the sale stays open (nothing charged)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from yibao.hospital.cashier import paying, refunds
from yibao.hospital.context import new_no
from yibao.hospital.db import KindSettlement
from yibao.hospital.errors import conflict
from yibao.hospital.inpatient import view
from yibao.hospital.kinds import TIME, insured_patient, line_amount, load
from yibao.hospital.states import SaleStatus
from yibao.money import ZERO

if TYPE_CHECKING:
    from yibao.hospital.context import Context


class Pharmacy:
    def __init__(self, hospital: Context):
        self.h = hospital

    def sell(self, patient_id: int, lines: list[dict[str, Any]], acct_used_flag: str = "1",
             channel: str | None = None, terminal: str = "desk", device: str | None = None,
             idempotency_key: str | None = None, payer_ref: str | None = None) -> dict[str, Any]:
        """Open a sale of these lines and pay it at once. A payment that fails leaves the sale open (pay())."""
        if idempotency_key:  # a retried request: the sale its key already paid
            found = paying.payment_of_key(self.h, idempotency_key)
            if found is not None:
                if not found.stay_no or found.patient_id != patient_id:
                    raise conflict(f"idempotency_key: already used for payment {found.payment_no}")
                return self.get(found.stay_no)
        paying.check(self.h, channel, terminal, acct_used_flag, device)  # before the sale is written
        patient = insured_patient(self.h, patient_id)
        now = self.h.now()
        no = new_no("YD", now)
        drugs = [{"feedetl_sn": f"{no}-{i:03d}", "rxno": x.get("rxno") or "", "rx_circ_flag": "0",
                  "fee_ocur_time": f"{now:{TIME}}", "med_list_codg": x["med_list_codg"],
                  "medins_list_codg": x.get("medins_list_codg") or "",
                  "det_item_fee_sumamt": str(line_amount(x["pric"], x["cnt"])), "cnt": str(x["cnt"]),
                  "pric": str(x["pric"]), "name": x.get("name") or ""} for i, x in enumerate(lines, 1)]
        with self.h.db.session() as s:
            s.add(KindSettlement(no=no, kind="retail", patient_id=patient_id, psn_no=patient.psn_no,
                                 insutype=patient.insutype, insuplc_admdvs=patient.insuplc_admdvs,
                                 status=SaleStatus.OPEN, acct_used_flag=acct_used_flag, lines=drugs, outs_2301=[],
                                 total=sum((Decimal(d["det_item_fee_sumamt"]) for d in drugs), ZERO),
                                 created_at=now, updated_at=now))
        return self.pay(no, acct_used_flag, channel, terminal, device, idempotency_key, payer_ref)

    def pay(self, no: str, acct_used_flag: str = "1", channel: str | None = None, terminal: str = "desk",
            device: str | None = None, idempotency_key: str | None = None,
            payer_ref: str | None = None) -> dict[str, Any]:
        load(self.h, "retail", no)
        paying.pay_stay(self.h, no, channel, terminal, idempotency_key, acct_used_flag, payer_ref, device)
        return self.get(no)

    def cancel(self, no: str, reason: str = "") -> dict[str, Any]:
        row = load(self.h, "retail", no)
        if row.status != SaleStatus.SETTLED or not row.payment_no:
            raise conflict(f"sale {no} is {row.status}: only a settled sale is cancelled")
        refunds.refund_payment(self.h, row.payment_no, reason or "cancelled at the counter")
        return self.get(no)

    def get(self, no: str) -> dict[str, Any]:
        return view(self.h, load(self.h, "retail", no))
